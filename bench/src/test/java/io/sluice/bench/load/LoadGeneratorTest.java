package io.sluice.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import io.sluice.bench.plot.JsonTree;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The generator against {@link TestSmtpServer} on loopback: counts, pipelining, TLS, errors. */
@Timeout(60)
class LoadGeneratorTest {

    private static LoadOptions.Builder options(TestSmtpServer server) {
        return LoadOptions.builder(server.address()).threads(2).progress(false)
                .replyTimeoutNanos(10_000_000_000L);
    }

    private static LoadResult run(LoadOptions options) throws Exception {
        return new LoadGenerator(options, null).run();
    }

    @Test
    void closedModelSendsExactlyConnectionsTimesMessages() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain())) {
            LoadResult result = run(options(server).connections(4).messagesPerConnection(5).totalMessages(20).build());

            assertEquals(20, result.messagesOk());
            assertEquals(0, result.messagesFailed());
            assertEquals(20, server.messages.get());
            assertEquals(20, server.messageIds.size(), "every Message-ID is unique");
            assertEquals(20, server.stampedMessages.get(), "every message carries X-Sluice-Sent");
            assertEquals(20, result.latencyMicros(Phase.MESSAGE).getTotalCount());
            assertEquals(result.sessionsOk(), result.latencyMicros(Phase.SESSION).getTotalCount());
            assertTrue(result.sessionsOk() >= 4, "sessions=" + result.sessionsOk());
            assertEquals(0, result.errors());
            assertEquals(0, result.exitStatus());
            assertEquals(20, result.replyCodes().get(354));
            assertEquals(20 * 1024L, result.messageBytes());
        }
    }

    @Test
    void pipeliningSendsMailRcptAndDataInOneWrite() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain())) {
            LoadResult result = run(options(server).connections(2).messagesPerConnection(10).totalMessages(20)
                    .recipients(3).pipelining(true).build());

            assertEquals(20, server.messages.get());
            assertEquals(60, server.rcpts.get());
            assertEquals(20, server.pipelinedEnvelopes.get());
            assertEquals(60, result.replyCodes().get(250) - 20 - 20 - result.connections(),
                    "MAIL, 3 RCPT, end of data and EHLO each got a 250");
        }
    }

    /**
     * Like Haraka, {@link TestSmtpServer} answers each pipelined command with its own write and
     * leaves Nagle's algorithm on, so its second reply waits until we acknowledge the first. Linux
     * delays that ACK by 40 ms when we have nothing to send, and every pipelined envelope stalled
     * that long (issue 5: pipelining against Haraka ran at 0.22x of smtp-source).
     */
    @Test
    void pipelinedEnvelopeDoesNotWaitForADelayedAck() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain())) {
            LoadResult result = run(options(server).threads(1).connections(1).messagesPerConnection(30)
                    .totalMessages(30).pipelining(true).build());

            assertEquals(30, result.messagesOk());
            assertEquals(30, server.pipelinedEnvelopes.get());
            long p50Micros = result.latencyMicros(Phase.ENVELOPE).getValueAtPercentile(50);
            assertTrue(p50Micros < 20_000, "envelope p50 " + p50Micros + " µs: the replies waited for a delayed ACK");
        }
    }

    /** The client lets the server close after 221; one that does not is closed after a short wait. */
    @Test
    void aServerThatKeepsTheConnectionAfterQuitIsClosedByUsWithoutAnError() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain())) {
            server.holdOpenAfterQuit = true;
            long start = System.nanoTime();
            LoadResult result = run(options(server).threads(1).connections(1).messagesPerConnection(1)
                    .totalMessages(3).build());
            long elapsedNanos = System.nanoTime() - start;

            assertEquals(3, result.messagesOk());
            assertEquals(3, result.sessionsOk());
            assertEquals(0, result.errors());
            assertEquals(0, server.bytesAfterQuit.get(), "nothing after QUIT");
            assertEquals(3, server.clientClosedAfterQuit.get());
            assertTrue(elapsedNanos >= 3 * LoadSession.SERVER_CLOSE_WAIT_NANOS, "each slot waited for the server");
        }
    }

    @Test
    void pipeliningOffWaitsForEachReply() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain())) {
            LoadResult result = run(options(server).connections(2).messagesPerConnection(10).totalMessages(20)
                    .recipients(3).pipelining(false).build());

            assertEquals(20, result.messagesOk());
            assertEquals(60, server.rcpts.get());
            assertEquals(0, server.pipelinedEnvelopes.get());
        }
    }

    @Test
    void noPipeliningWhenTheServerDoesNotOfferIt() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(new TestSmtpServer.Settings(TlsMode.NONE, false, "250 ok"))) {
            LoadResult result = run(options(server).connections(1).messagesPerConnection(5).totalMessages(5)
                    .pipelining(true).build());

            assertEquals(5, result.messagesOk());
            assertEquals(0, server.pipelinedEnvelopes.get());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"conscrypt", "jdk"})
    void starttlsWithEachProvider(String provider) throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(new TestSmtpServer.Settings(TlsMode.STARTTLS, true, "250 ok"))) {
            LoadResult result = run(options(server).tlsMode(TlsMode.STARTTLS).tlsProvider(provider)
                    .connections(3).messagesPerConnection(2).totalMessages(12).build());

            assertEquals(12, result.messagesOk());
            assertEquals(12, server.messages.get());
            assertEquals(server.handshakes.get(), result.handshakes());
            assertEquals(result.connections(), result.handshakes());
            assertTrue(result.handshakes() >= 6, "handshakes=" + result.handshakes());
            assertEquals(result.handshakes(), result.latencyMicros(Phase.TLS_HANDSHAKE).getTotalCount());
            assertEquals(0, result.errors());
        }
    }

    /** One slot, one message per connection: every handshake after the first can resume. */
    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void conscryptClientResumesAndTheResultSaysSo(String protocol) throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(new TestSmtpServer.Settings(TlsMode.STARTTLS, true, "250 ok"))) {
            LoadResult result = run(options(server).tlsMode(TlsMode.STARTTLS).tlsProvider("conscrypt")
                    .protocols(List.of(protocol)).connections(1).messagesPerConnection(1).totalMessages(5).build());

            assertEquals(5, result.handshakes());
            assertEquals(4, result.handshakesResumed(), "the first handshake is full, the others resume");
            @SuppressWarnings("unchecked")
            Map<String, Object> totals = (Map<String, Object>) ((Map<String, Object>) JsonTree.parse(result.toJson())).get("totals");
            assertEquals(1.0, totals.get("handshakes_full"));
            assertEquals(4.0, totals.get("handshakes_resumed"));
        }
    }

    /**
     * {@code --resume off} with one context for the run: every handshake full, for both providers
     * and protocols, whether the target is an address (engines without a peer) or a host name (a
     * new cache-key port per engine). The same run with resumption on resumes, so the server would.
     */
    @ParameterizedTest(name = "{0} {1} {2}")
    @CsvSource({
        "conscrypt, TLSv1.3, 127.0.0.1", "conscrypt, TLSv1.2, 127.0.0.1", "jdk, TLSv1.3, 127.0.0.1", "jdk, TLSv1.2, 127.0.0.1",
        "conscrypt, TLSv1.3, localhost", "conscrypt, TLSv1.2, localhost", "jdk, TLSv1.3, localhost", "jdk, TLSv1.2, localhost"})
    void resumeOffMakesOnlyFullHandshakesAgainstAServerThatResumes(String provider, String protocol, String host)
            throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(new TestSmtpServer.Settings(TlsMode.STARTTLS, true, "250 ok"))) {
            InetSocketAddress target = new InetSocketAddress(host, server.address().getPort());
            assertEquals(host, target.getHostString());
            for (boolean resume : new boolean[] {false, true}) {
                LoadResult result = run(LoadOptions.builder(target).threads(1).progress(false)
                        .replyTimeoutNanos(10_000_000_000L).tlsMode(TlsMode.STARTTLS).tlsProvider(provider)
                        .resume(resume).protocols(List.of(protocol)).connections(1).messagesPerConnection(1)
                        .totalMessages(4).build());

                assertEquals(4, result.messagesOk(), "resume " + resume);
                assertEquals(4, result.handshakes(), "resume " + resume);
                if (resume) {
                    assertTrue(result.handshakesResumed() >= 2, "resumed " + result.handshakesResumed()
                            + ": the server must resume for the test to mean anything");
                } else {
                    assertEquals(0, result.handshakesResumed());
                }
            }
        }
    }

    @Test
    void handshakeOnlyCompletesHandshakesWithoutMail() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(new TestSmtpServer.Settings(TlsMode.STARTTLS, true, "250 ok"))) {
            LoadResult result = run(options(server).tlsMode(TlsMode.STARTTLS).handshakeOnly(true)
                    .connections(3).totalMessages(9).build());

            assertEquals(9, result.sessionsOk());
            assertEquals(9, result.handshakes());
            assertEquals(9, server.handshakes.get());
            assertEquals(0, server.messages.get());
            assertEquals(0, result.messagesOk());
            assertEquals(9, result.replyCodes().get(221));
            assertEquals(0, result.exitStatus());
        }
    }

    @Test
    void implicitTls() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(new TestSmtpServer.Settings(TlsMode.IMPLICIT, true, "250 ok"))) {
            LoadResult result = run(options(server).tlsMode(TlsMode.IMPLICIT).connections(2)
                    .messagesPerConnection(3).totalMessages(6).build());

            assertEquals(6, result.messagesOk());
            assertEquals(6, server.messages.get());
            assertEquals(result.connections(), result.handshakes());
            assertEquals(result.connections(), result.latencyMicros(Phase.GREETING).getTotalCount());
        }
    }

    @Test
    void rejectedRecipientsAreCountedByCodeAndFailTheRun() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(new TestSmtpServer.Settings(TlsMode.NONE, true, "451 4.3.0 later"))) {
            LoadResult result = run(options(server).connections(2).messagesPerConnection(5).totalMessages(10).build());

            assertEquals(0, result.messagesOk());
            assertEquals(10, result.messagesFailed());
            assertEquals(10, result.replyCodes().get(451));
            assertEquals(10, result.replyCodes().get(554), "DATA refused after every RCPT failed");
            assertEquals(20, result.errors(ErrorKind.UNEXPECTED_REPLY));
            assertEquals(0, server.messages.get());
            assertEquals(1, result.exitStatus());
        }
    }

    @Test
    void aQuitAnsweredWithoutA221CountsOneErrorPerSession() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain())) {
            server.quitReply = "500 5.5.2 not now";
            LoadResult result = run(options(server).connections(2).messagesPerConnection(3).totalMessages(6).build());

            assertEquals(6, result.messagesOk());
            long sessions = result.sessionsOk() + result.sessionsFailed();
            assertEquals(result.connections(), sessions);
            assertEquals(sessions, result.replyCodes().get(500), "one reply to each QUIT");
            assertEquals(sessions, result.errors(ErrorKind.UNEXPECTED_REPLY));
            assertEquals(sessions, result.errors(), "once per QUIT: no second error when the server then closes");
            assertEquals(0, result.sessionsFailed(), "the session ended; only its QUIT reply was wrong");
            assertEquals(1, result.exitStatus());
        }
    }

    @Test
    void maxErrorsStopsTheRunEarly() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(new TestSmtpServer.Settings(TlsMode.NONE, false, "550 5.1.1 no"))) {
            LoadResult result = run(options(server).connections(1).messagesPerConnection(1000).totalMessages(100_000)
                    .maxErrors(5).build());

            assertTrue(result.stoppedByErrors());
            assertTrue(result.messagesFailed() < 100, "failed=" + result.messagesFailed());
            assertEquals(1, result.exitStatus());
        }
    }

    @Test
    void refusedConnectionsAreCounted() throws Exception {
        InetSocketAddress closed;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = new InetSocketAddress(InetAddress.getLoopbackAddress(), socket.getLocalPort());
        }
        LoadResult result = run(LoadOptions.builder(closed).threads(1).progress(false).connections(2)
                .totalMessages(1000).maxErrors(3).build());

        assertTrue(result.errors(ErrorKind.CONNECT_REFUSED) >= 4, "refused=" + result.errors(ErrorKind.CONNECT_REFUSED));
        assertEquals(0, result.messagesOk());
        assertEquals(1, result.exitStatus());
    }

    @Test
    void sizeDistributionSendsEachSize() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain())) {
            LoadResult result = run(options(server).connections(2).messagesPerConnection(50).totalMessages(100)
                    .sizes(SizeDistribution.parse("1KiB:1,64KiB:1")).build());

            assertEquals(100, server.messages.get());
            assertEquals(result.messageBytes(), server.messageBytes.get());
            assertTrue(result.messageBytes() > 100 * 1024L && result.messageBytes() < 100 * 64 * 1024L,
                    "bytes=" + result.messageBytes());
        }
    }

    @Test
    void openModelRunsAtASmallRate() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain())) {
            LoadResult result = run(options(server).connections(2).messagesPerConnection(10).totalMessages(10)
                    .ratePerSecond(200).build());

            assertEquals(10, result.messagesOk());
            assertEquals(10, server.messages.get());
        }
    }

    @Test
    void stopEndsARunWithoutALimitReached() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain())) {
            LoadGenerator generator = new LoadGenerator(options(server).connections(1).durationNanos(3_600_000_000_000L)
                    .build(), null);
            generator.stop();
            LoadResult result = generator.run();

            assertEquals(0, result.messagesOk());
            assertEquals(0, server.messages.get());
        }
    }
}
