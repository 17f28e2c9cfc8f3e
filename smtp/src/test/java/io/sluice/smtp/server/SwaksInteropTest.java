package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ListenerMode;
import io.sluice.smtp.spool.QueuedMessage;

/**
 * Command-line SMTP peers: swaks (STARTTLS, implicit TLS, PIPELINING), Postfix's posttls-finger
 * (the TLS a Postfix client negotiates with us) and Postfix's smtp-source (many parallel sessions).
 * Each is skipped, with the reason, when its program is not installed.
 */
class SwaksInteropTest {

    private static final String SWAKS = "/usr/bin/swaks";
    private static final Pattern QUEUED = Pattern.compile("<[-~]\\s+250 2\\.0\\.0 Ok: queued as (\\w+)");

    @TempDir
    Path dir;
    private TestServer server;

    @BeforeEach
    void start() throws IOException {
        server = new TestServer(dir);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void swaksStartTls() throws Exception {
        PeerProcess.Result result = swaks(server.port(), "--tls");
        assertTrue(result.stdout().contains("=== TLS started with cipher TLSv1.3:"), result.both());
        QueuedMessage m = assertQueued(result);
        assertEquals("ESMTPS", m.envelope().protocol());
    }

    @Test
    void swaksImplicitTls() throws Exception {
        PeerProcess.Result result = swaks(server.address(ListenerMode.SMTPS).getPort(), "--tlsc");
        assertTrue(result.stdout().contains("=== TLS started with cipher TLSv1.3:"), result.both());
        assertEquals("ESMTPS", assertQueued(result).envelope().protocol());
    }

    @Test
    void swaksPipelining() throws Exception {
        PeerProcess.Result result = swaks(server.port(), "--pipeline");
        // swaks writes MAIL, RCPT and DATA in one go and then reads the three replies
        assertTrue(result.stdout().contains(" -> MAIL FROM:<a@example.org>\n -> RCPT TO:<b@example.net>\n -> DATA\n"),
                result.both());
        assertEquals("ESMTP", assertQueued(result).envelope().protocol());
    }

    @Test
    void postfixPosttlsFingerNegotiatesTls13() throws Exception {
        String finger = requirePostfixTool("posttls-finger");
        // Postfix tools read main.cf; an empty one means every default. posttls-finger exits 0
        // even when it cannot connect, so the log line below is the assertion, not the status.
        Path config = Files.createDirectories(dir.resolve("postfix"));
        Files.writeString(config.resolve("main.cf"),
                "myhostname = client.example\ninet_protocols = ipv4\nsmtp_dns_support_level = disabled\n");
        for (boolean wrapper : new boolean[] {false, true}) {
            List<String> command = new ArrayList<>(List.of(finger, "-c", "-l", "encrypt", "-t", "10", "-T", "10"));
            int port = server.port();
            if (wrapper) {
                command.add("-w"); // SMTPS: TLS from the first byte
                port = server.address(ListenerMode.SMTPS).getPort();
            }
            command.add("[127.0.0.1]:" + port);
            PeerProcess.Result result = PeerProcess.run(command, Map.of("MAIL_CONFIG", config.toString()), new byte[0], 30);
            String out = result.stdout() + result.stderr();
            assertEquals(0, result.exitCode(), result.both());
            assertTrue(Pattern.compile("TLS connection established to 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:" + port
                    + ": TLSv1\\.3 with cipher ").matcher(out).find(), result.both());
        }
        assertTrue(TestServer.await(Duration.ofSeconds(5), () -> server.server.stats().tlsFailures() == 0),
                "no failed handshakes: " + server.server.stats().tlsFailures());
    }

    @Test
    void postfixSmtpSourceDeliversHundredMessages() throws Exception {
        String source = requirePostfixTool("smtp-source");
        List<String> command = List.of(source, "-4", "-s", "5", "-m", "100", "-l", "2048", "-M", "client.example",
                "-f", "a@example.org", "-t", "b@example.net", "-S", "smtp-source", "127.0.0.1:" + server.port());
        PeerProcess.Result result = PeerProcess.run(command, new byte[0], 60);
        assertEquals(0, result.exitCode(), result.both());
        List<QueuedMessage> queued = server.queued();
        assertEquals(100, queued.size(), result.both());
        for (QueuedMessage m : queued) {
            assertEquals("a@example.org", m.envelope().sender());
            assertEquals(List.of("b@example.net"), m.envelope().recipients());
            assertEquals("client.example", m.envelope().heloName());
        }
        String body = server.body(queued.get(0));
        assertTrue(body.contains("Subject: smtp-source\r\n"), body);
        assertTrue(body.length() > 2048, "payload of at least 2048 octets: " + body.length());
    }

    private PeerProcess.Result swaks(int port, String option) throws Exception {
        Assumptions.assumeTrue(PeerProcess.find(SWAKS).isPresent(), SWAKS + " not installed: swaks interop skipped");
        List<String> command = List.of(SWAKS, "--server", "127.0.0.1:" + port, "--helo", "client.example",
                "--to", "b@example.net", "--from", "a@example.org", "--timeout", "10", option);
        PeerProcess.Result result = PeerProcess.run(command, new byte[0], 30);
        assertEquals(0, result.exitCode(), result.both());
        return result;
    }

    /** The one message swaks saw acknowledged, checked against the spool. */
    private QueuedMessage assertQueued(PeerProcess.Result result) throws IOException {
        Set<String> acknowledged = new TreeSet<>();
        Matcher m = QUEUED.matcher(result.stdout());
        while (m.find()) {
            acknowledged.add(m.group(1));
        }
        List<QueuedMessage> queued = server.queued();
        assertEquals(1, queued.size(), result.both());
        assertEquals(Set.of(queued.get(0).id().toString()), acknowledged);
        QueuedMessage only = queued.get(0);
        assertEquals("a@example.org", only.envelope().sender());
        assertEquals(List.of("b@example.net"), only.envelope().recipients());
        String body = server.body(only);
        assertTrue(body.contains("\r\nSubject: test "), body);
        assertTrue(body.contains("This is a test mailing\r\n"), body);
        return only;
    }

    private static String requirePostfixTool(String name) {
        Path tool = PeerProcess.find(name).orElse(null);
        Assumptions.assumeTrue(tool != null, name + " not installed (Postfix tools): " + name + " interop skipped");
        return tool.toString();
    }
}
