package io.sluice.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.smtp.config.ListenerMode;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.server.SmtpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code sluice load --ledger}: one line per message attempt, with the outcome the client saw. */
@Timeout(60)
class LoadLedgerTest {

    private static LoadOptions.Builder options(InetSocketAddress target, Path ledger) {
        return LoadOptions.builder(target).threads(2).progress(false).replyTimeoutNanos(10_000_000_000L)
                .ledgerFile(ledger);
    }

    @Test
    void everyMessageAcceptedByARealSinkIsAcknowledged(@TempDir Path dir) throws Exception {
        SmtpServer sink = SmtpServer.start(SluiceConfig.load(null, Map.of("listen", "127.0.0.1:0",
                "hostname", "sink.test", "reactor.threads", "1", "tls.level", "none",
                "spool.dir", dir.resolve("spool").toString())), SmtpServer.Mode.SINK, EventLog.silent());
        Path ledger = dir.resolve("ledger");
        try {
            LoadResult result = new LoadGenerator(options(new InetSocketAddress("127.0.0.1",
                    sink.boundAddress(ListenerMode.SMTP).getPort()), ledger)
                    .connections(3).messagesPerConnection(7).totalMessages(42).build(), null).run();

            assertEquals(42, result.messagesOk());
        } finally {
            sink.close();
        }
        List<LedgerLine> lines = LedgerLine.read(ledger);
        assertEquals(42, lines.size());
        assertEquals(42, lines.stream().map(LedgerLine::messageId).distinct().count(), "one line per message");
        for (LedgerLine line : lines) {
            assertEquals(LedgerOutcome.ACKNOWLEDGED, line.outcome(), line.toString());
            assertEquals(250, line.code(), line.toString());
            assertTrue(line.messageId().matches("[0-9a-f]{16}\\.[0-9a-f]{16}@load\\.sluice\\.test"), line.messageId());
        }
    }

    @Test
    void theLedgerNamesTheMessageIdsTheServerReceived(@TempDir Path dir) throws Exception {
        Path ledger = dir.resolve("ledger");
        try (TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain())) {
            new LoadGenerator(options(server.address(), ledger).connections(4).messagesPerConnection(3)
                    .totalMessages(30).build(), null).run();

            Set<String> received = server.messageIds.stream().map(h -> h.substring("Message-ID: <".length(),
                    h.length() - 1)).collect(Collectors.toSet());
            assertEquals(received, ids(LedgerLine.read(ledger), LedgerOutcome.ACKNOWLEDGED));
            assertEquals(30, received.size());
        }
    }

    @Test
    void refusedRecipientsAreNotSentWithTheRcptCode(@TempDir Path dir) throws Exception {
        Path ledger = dir.resolve("ledger");
        for (boolean pipelining : new boolean[] {true, false}) {
            try (TestSmtpServer server = new TestSmtpServer(new TestSmtpServer.Settings(TlsMode.NONE, pipelining,
                    "550 5.1.1 no such user"))) {
                new LoadGenerator(options(server.address(), ledger).connections(2).messagesPerConnection(5)
                        .totalMessages(10).build(), null).run();

                List<LedgerLine> lines = LedgerLine.read(ledger);
                assertEquals(10, lines.size(), "pipelining " + pipelining);
                assertEquals(List.of(new LedgerLine(lines.get(0).messageId(), LedgerOutcome.NOT_SENT, 550)),
                        List.of(lines.get(0)));
                assertTrue(lines.stream().allMatch(l -> l.outcome() == LedgerOutcome.NOT_SENT && l.code() == 550),
                        lines.toString());
                assertEquals(0, server.messages.get());
            }
        }
    }

    @Test
    void aConnectionResetMidDataIsCut(@TempDir Path dir) throws Exception {
        Path ledger = dir.resolve("ledger");
        try (ScriptedSmtpServer server = new ScriptedSmtpServer(ScriptedSmtpServer.Script.RESET_MID_DATA)) {
            // 16 MiB: more than loopback socket buffers and the connection's queue can hold, so the
            // final dot is still in this process when the reset comes.
            LoadResult result = new LoadGenerator(options(server.address(), ledger).connections(1).threads(1)
                    .sizes(SizeDistribution.fixed(16 << 20)).totalMessages(3).build(), null).run();

            assertEquals(0, result.messagesOk());
            assertEquals(List.of(LedgerOutcome.CUT, LedgerOutcome.CUT, LedgerOutcome.CUT),
                    outcomes(LedgerLine.read(ledger)));
            assertTrue(LedgerLine.read(ledger).stream().allMatch(l -> l.code() == 0));
        }
    }

    @Test
    void aConnectionClosedAfterTheFinalDotIsInFlight(@TempDir Path dir) throws Exception {
        Path ledger = dir.resolve("ledger");
        try (ScriptedSmtpServer server = new ScriptedSmtpServer(ScriptedSmtpServer.Script.CLOSE_AFTER_DOT)) {
            new LoadGenerator(options(server.address(), ledger).connections(1).threads(1).totalMessages(4).build(),
                    null).run();

            List<LedgerLine> lines = LedgerLine.read(ledger);
            assertEquals(List.of(LedgerOutcome.IN_FLIGHT, LedgerOutcome.IN_FLIGHT, LedgerOutcome.IN_FLIGHT,
                    LedgerOutcome.IN_FLIGHT), outcomes(lines));
            assertEquals(server.completeMessageIds, ids(lines, LedgerOutcome.IN_FLIGHT), "the same messages");
        }
    }

    @Test
    void aRejectedFinalDotIsRejectedWithItsCode(@TempDir Path dir) throws Exception {
        Path ledger = dir.resolve("ledger");
        try (ScriptedSmtpServer server = new ScriptedSmtpServer(ScriptedSmtpServer.Script.REJECT_DOT)) {
            new LoadGenerator(options(server.address(), ledger).connections(1).threads(1).messagesPerConnection(2)
                    .totalMessages(4).build(), null).run();

            List<LedgerLine> lines = LedgerLine.read(ledger);
            assertEquals(4, lines.size());
            assertTrue(lines.stream().allMatch(l -> l.outcome() == LedgerOutcome.REJECTED && l.code() == 554),
                    lines.toString());
            assertEquals(server.completeMessageIds, ids(lines, LedgerOutcome.REJECTED));
        }
    }

    /** Without --max-errors the run keeps reconnecting to a dead server until its messages are used up. */
    @Test
    void aRefusingServerGetsNewConnectionsUntilTheMessagesAreUsedUp(@TempDir Path dir) throws Exception {
        InetSocketAddress closed;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = new InetSocketAddress(InetAddress.getLoopbackAddress(), socket.getLocalPort());
        }
        Path ledger = dir.resolve("ledger");
        LoadResult result = new LoadGenerator(options(closed, ledger).connections(2).totalMessages(30).build(),
                null).run();

        assertEquals(30, result.messagesFailed());
        assertTrue(result.errors(ErrorKind.CONNECT_REFUSED) >= 30, "refused=" + result.errors(ErrorKind.CONNECT_REFUSED));
        assertEquals(1, result.exitStatus());
        List<LedgerLine> lines = LedgerLine.read(ledger);
        assertEquals(30, lines.size());
        assertTrue(lines.stream().allMatch(l -> l.outcome() == LedgerOutcome.NOT_SENT && l.code() == 0), lines.toString());
    }

    private static List<LedgerOutcome> outcomes(List<LedgerLine> lines) {
        return lines.stream().map(LedgerLine::outcome).toList();
    }

    private static Set<String> ids(List<LedgerLine> lines, LedgerOutcome outcome) {
        Set<String> ids = new HashSet<>();
        for (LedgerLine line : lines) {
            if (line.outcome() == outcome) {
                ids.add(line.messageId());
            }
        }
        return ids;
    }

    @Test
    void bdatMessagesAreAcknowledgedRejectedInFlightOrCutAsTheChunksWent(@TempDir Path dir) throws Exception {
        // 64 KiB in chunks of 16 KiB, one at a time: 4 chunks, the last one LAST.
        assertEquals(Map.of(LedgerOutcome.ACKNOWLEDGED, 3L), bdatLedger(dir.resolve("ok"), server -> { }));
        assertEquals(Map.of(LedgerOutcome.REJECTED, 3L), bdatLedger(dir.resolve("refused"),
                server -> server.refuseChunksAfterOctets = 40_000));
        assertEquals(Map.of(LedgerOutcome.CUT, 3L), bdatLedger(dir.resolve("cut"), server -> server.closeAfterChunks = 2));
        assertEquals(Map.of(LedgerOutcome.IN_FLIGHT, 3L), bdatLedger(dir.resolve("in-flight"),
                server -> server.closeAfterChunks = 4));
        List<LedgerLine> refused = LedgerLine.read(dir.resolve("refused"));
        assertTrue(refused.stream().allMatch(line -> line.code() == 552), refused.toString());
    }

    /** Outcome counts of 3 BDAT messages, one connection each, against a server set up by {@code script}. */
    private static Map<LedgerOutcome, Long> bdatLedger(Path ledger, java.util.function.Consumer<TestSmtpServer> script)
            throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain())) {
            server.chunking = true;
            script.accept(server);
            new LoadGenerator(options(server.address(), ledger).threads(1).connections(1).messagesPerConnection(1)
                    .totalMessages(3).bdat(BdatMode.ON).chunkOctets(16 * 1024).pipelining(false)
                    .sizes(SizeDistribution.fixed(64 * 1024)).build(), null).run();
        }
        return LedgerLine.read(ledger).stream().collect(Collectors.groupingBy(LedgerLine::outcome, Collectors.counting()));
    }
}
