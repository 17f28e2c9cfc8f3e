package io.sluice.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.sluice.smtp.config.ListenerMode;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.server.SmtpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code --bdat} against real servers: {@code sluice sink} (in this JVM; offers CHUNKING), Postfix
 * smtpd (offers CHUNKING), and two that do not, Postfix's {@code smtp-sink} (3.7 has no BDAT) and
 * Haraka, where {@code auto} falls back to DATA and {@code on} fails each message. The outside
 * peers come from the shared {@code peers.sh} (beside the checkout, as {@code .ci/run} finds it,
 * or {@code -Dsluice.peers=FILE}); a test whose peer is missing or will not start is skipped with
 * the reason. Every peer listens on 127.0.0.1 on a port free when the test starts, and is stopped
 * by that port.
 */
@Timeout(180)
class LoadBdatPeersTest {

    private static final long PEER_TIMEOUT_SECONDS = 90;

    @ParameterizedTest(name = "pipelining {0}")
    @ValueSource(booleans = {true, false})
    void sluiceSinkTakesChunkedMessagesAndTimesEachStamp(boolean pipelining, @TempDir Path dir) throws Exception {
        SmtpServer sink = SmtpServer.start(SluiceConfig.load(null, Map.of("listen", "127.0.0.1:0",
                "hostname", "sink.test", "reactor.threads", "1", "tls.level", "none",
                "spool.dir", dir.resolve("spool").toString())), SmtpServer.Mode.SINK, EventLog.silent());
        try {
            InetSocketAddress target = new InetSocketAddress("127.0.0.1", sink.boundAddress(ListenerMode.SMTP).getPort());
            LoadResult result = run(LoadOptions.builder(target).bdat(BdatMode.ON).chunkOctets(3000)
                    .pipelining(pipelining).sizes(SizeDistribution.parse("1KiB:1,20KiB:1")).connections(2)
                    .messagesPerConnection(10).totalMessages(20).build());

            assertEquals(20, result.messagesOk(), "errors " + result.errors());
            assertEquals(0, result.errors());
            assertNull(result.replyCodes().get(354), "no DATA");
            Histogram e2e = sink.endToEndLatency().takeInterval();
            assertEquals(20, e2e.getTotalCount(), "the sink found every stamp in the chunked text");
            assertEquals(0, sink.endToEndLatency().unstamped());
        } finally {
            sink.close();
        }
    }

    @Test
    void postfixSmtpdTakesChunkedMessages() throws Exception {
        withPeer("start-postfix", target -> {
            LoadResult result = run(LoadOptions.builder(target).bdat(BdatMode.ON).chunkOctets(4096)
                    .sizes(SizeDistribution.fixed(20 * 1024)).connections(2).messagesPerConnection(5)
                    .totalMessages(10).build());

            assertEquals(10, result.messagesOk(), "errors " + result.errors() + ", replies " + result.replyCodes());
            assertEquals(0, result.errors());
            assertNull(result.replyCodes().get(354), "no DATA");
        });
    }

    @Test
    void postfixSmtpSinkOffersNoChunking() throws Exception {
        withPeer("start-sink", LoadBdatPeersTest::autoFallsBackOnFails);
    }

    @Test
    void harakaOffersNoChunking() throws Exception {
        withPeer("start-haraka", LoadBdatPeersTest::autoFallsBackOnFails);
    }

    private static void autoFallsBackOnFails(InetSocketAddress target) throws Exception {
        LoadResult auto = run(LoadOptions.builder(target).bdat(BdatMode.AUTO).connections(1)
                .messagesPerConnection(5).totalMessages(5).build());
        assertEquals(5, auto.messagesOk(), "auto: DATA; errors " + auto.errors());
        assertEquals(5, auto.replyCodes().get(354));

        LoadResult on = run(LoadOptions.builder(target).bdat(BdatMode.ON).connections(1)
                .messagesPerConnection(5).totalMessages(3).build());
        assertEquals(0, on.messagesOk());
        assertEquals(3, on.messagesFailed());
        assertEquals(3, on.errors(ErrorKind.CHUNKING_NOT_OFFERED));
        assertNull(on.replyCodes().get(354), "on: no fallback to DATA");
        assertEquals(1, on.exitStatus());
    }

    private static LoadResult run(LoadOptions options) throws Exception {
        LoadOptions quiet = LoadOptions.builder(options.target()).bdat(options.bdat()).chunkOctets(options.chunkOctets())
                .pipelining(options.pipelining()).sizes(options.sizes()).connections(options.connections())
                .messagesPerConnection(options.messagesPerConnection()).totalMessages(options.totalMessages())
                .threads(1).progress(false).replyTimeoutNanos(20_000_000_000L).build();
        return new LoadGenerator(quiet, null).run();
    }

    /** What a test does with a started peer. */
    private interface PeerTest {
        void accept(InetSocketAddress target) throws Exception;
    }

    /** Starts a peer with {@code peers.sh START PORT}, runs {@code test}, stops it; skips if it cannot start. */
    private static void withPeer(String start, PeerTest test) throws Exception {
        Optional<Path> script = peersScript();
        Assumptions.assumeTrue(script.isPresent(),
                "no peers.sh (set -Dsluice.peers=FILE, or put the shared folder beside the checkout): " + start + " skipped");
        int port = freePort();
        String started = peers(script.get(), start, Integer.toString(port));
        Assumptions.assumeTrue(started == null, () -> "peers.sh " + start + " failed, peer missing? skipped:\n" + started);
        try {
            test.accept(new InetSocketAddress("127.0.0.1", port));
        } finally {
            peers(script.get(), "stop", Integer.toString(port));
        }
    }

    /** Runs peers.sh; null on success, else its exit status and output. */
    private static String peers(Path script, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", script.toString()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.PIPE)
                .start();
        process.getOutputStream().close();
        // The peers' own output goes to their logs; what is printed here is short.
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(PEER_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            return "timed out after " + PEER_TIMEOUT_SECONDS + " s";
        }
        return process.exitValue() == 0 ? null
                : "exit " + process.exitValue() + ": " + new String(output, StandardCharsets.UTF_8);
    }

    private static Optional<Path> peersScript() {
        String configured = System.getProperty("sluice.peers", System.getenv("SLUICE_PEERS"));
        if (configured != null) {
            return Optional.of(Path.of(configured)).filter(Files::isRegularFile);
        }
        // Maven runs tests in the module folder: the checkout's parent holds shared/.
        return Stream.of(Path.of("../../shared/peers.sh"), Path.of("/work/shared/peers.sh"))
                .filter(Files::isRegularFile).findFirst();
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
