package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ListenerMode;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;

/**
 * OpenSSL's s_client as a real TLS peer: {@code -starttls smtp} with TLS 1.3 and with
 * {@code -tls1_2}, implicit TLS on the smtps listener, and an old protocol refused. The SMTP
 * dialogue is typed on its stdin step by step, each step waiting (bounded) for the server's reply.
 * {@code -brief} instead of {@code -quiet}: both keep s_client's session dump out of stdout, but
 * only {@code -brief} reports the negotiated protocol (on stderr). {@code -nocommands}: otherwise a
 * line starting with Q (QUIT) makes s_client hang up and one starting with R (RCPT) renegotiates.
 */
class OpensslInteropTest {

    private static final Duration STEP = Duration.ofSeconds(10);
    private static final Pattern QUEUED = Pattern.compile("250 2\\.0\\.0 Ok: queued as (\\w+)\r?\n");

    @TempDir
    Path dir;
    private TestServer server;

    @BeforeAll
    static void requireOpenssl() {
        Assumptions.assumeTrue(PeerProcess.find("openssl").isPresent(), "openssl not found on PATH: OpenSSL interop skipped");
    }

    @BeforeEach
    void start() throws IOException {
        server = new TestServer(dir);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void startTlsNegotiatesTls13() throws Exception {
        PeerProcess.Result result = sendThrough(List.of("-starttls", "smtp", "-name", "client.example"), server.port());
        assertTrue(result.stderr().contains("Protocol version: TLSv1.3"), result.both());
        assertQueuedOnce(result, "TLSv1.3");
    }

    @Test
    void startTlsWithTls12Only() throws Exception {
        PeerProcess.Result result = sendThrough(List.of("-starttls", "smtp", "-tls1_2"), server.port());
        assertTrue(result.stderr().contains("Protocol version: TLSv1.2"), result.both());
        assertQueuedOnce(result, "TLSv1.2");
    }

    @Test
    void implicitTlsOnTheSmtpsListener() throws Exception {
        PeerProcess.Result result = sendThrough(List.of(), server.address(ListenerMode.SMTPS).getPort());
        assertTrue(result.stdout().startsWith("220 mx.test ESMTP Sluice\r\n"), result.both());
        assertTrue(result.stderr().contains("Protocol version: TLSv1.3"), result.both());
        assertQueuedOnce(result, "TLSv1.3");
    }

    @Test
    void tls11IsRefusedAndTheServerKeepsServing() throws Exception {
        // SECLEVEL=0 lets this OpenSSL offer TLS 1.1 at all; the refusal must come from our server.
        List<String> command = sClient(List.of("-starttls", "smtp", "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"), server.port());
        PeerProcess.Result result = PeerProcess.run(command, new byte[0], 20);
        assertTrue(result.exitCode() != 0, result.both());
        assertFalse(result.stderr().contains("Protocol version: TLSv1.1"), result.both());
        assertTrue(TestServer.await(STEP, () -> server.server.stats().tlsFailures() == 1),
                "the server saw the TLS 1.1 ClientHello and counted one failed handshake: "
                        + server.server.stats().tlsFailures() + "\n" + result.both());
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            assertEquals("220 mx.test ESMTP Sluice\r\n", c.reply());
        }
        assertTrue(server.queued().isEmpty());
    }

    /** Runs one transaction through s_client; every write waits for the reply it depends on. */
    private PeerProcess.Result sendThrough(List<String> options, int port) throws Exception {
        try (PeerProcess peer = PeerProcess.start(sClient(options, port))) {
            expect(peer, "Protocol version: ", true);
            peer.write("EHLO client.example\r\n");
            expect(peer, "250 BINARYMIME\r\n", false); // the last keyword inside TLS without AUTH
            peer.write("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
            expect(peer, "354 ", false);
            peer.write("Subject: openssl\r\n\r\nsent through s_client\r\n.\r\n");
            expect(peer, "queued as ", false);
            peer.write("QUIT\r\n");
            expect(peer, "221 2.0.0 Bye\r\n", false);
            return peer.finish(10);
        }
    }

    private static void expect(PeerProcess peer, String text, boolean onStderr) throws InterruptedException {
        boolean seen = onStderr
                ? TestServer.await(STEP, () -> peer.stderr().contains(text))
                : peer.awaitStdout(text, STEP);
        assertTrue(seen, "s_client never showed \"" + text.strip() + "\"\n--- stdout\n" + peer.stdout()
                + "\n--- stderr\n" + peer.stderr());
    }

    private static List<String> sClient(List<String> options, int port) {
        List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-brief", "-no_ign_eof", "-nocommands"));
        command.addAll(options);
        return command;
    }

    private void assertQueuedOnce(PeerProcess.Result result, String tlsVersion) throws IOException {
        assertEquals(0, result.exitCode(), result.both());
        Matcher m = QUEUED.matcher(result.stdout());
        assertTrue(m.find(), result.both());
        List<QueuedMessage> queued = server.queued();
        assertEquals(1, queued.size());
        assertEquals(QueueId.parse(m.group(1)), queued.get(0).id());
        assertEquals("ESMTPS", queued.get(0).envelope().protocol());
        String stored = server.content(queued.get(0));
        assertTrue(stored.contains("(using " + tlsVersion + " with cipher "), stored);
        assertTrue(stored.endsWith("\r\nSubject: openssl\r\n\r\nsent through s_client\r\n"), stored);
    }
}
