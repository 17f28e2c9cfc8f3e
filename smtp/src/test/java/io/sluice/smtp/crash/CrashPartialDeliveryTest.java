package io.sluice.smtp.crash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 4, "a recipient already delivered is not sent again": one message for two recipients,
 * the first delivered, the second deferred (its maildir path is blocked by a plain file); SIGKILL;
 * the block is removed and the server restarted. The first recipient must not get a second copy:
 * its delivery was acknowledged long before the kill (u7 was retried since), not in flight.
 */
class CrashPartialDeliveryTest {

    @TempDir
    Path dir;

    private ServeChild child;

    @AfterEach
    void kill() {
        if (child != null) {
            child.close();
        }
    }

    @Test
    void aRecipientDeliveredBeforeTheKillIsNotDeliveredAgain() throws Exception {
        MaildirDestination mail = new MaildirDestination(dir.resolve("mail"));
        Path blocked = dir.resolve("mail/example.net/u7");
        Files.createDirectories(blocked.getParent());
        Files.writeString(blocked, "not a maildir: deliveries to u7 defer with 4.3.0 until this file goes\n");
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("spool.dir", dir.resolve("spool").toString());
        settings.put("hostname", "mx.test");
        settings.put("tls.level", "none");
        settings.put("reactor.threads", "1");
        settings.put("domains", "example.net");
        settings.put("transport.*", mail.transport());
        settings.put("delivery.retry_schedule", "1s");

        start(mail, 1, settings);
        LoadMessage m = new LoadMessage("partial.1@load.test", List.of("u6@example.net", "u7@example.net"),
                LoadMessage.body("partial.1@load.test", 2000));
        send(m);
        assertTrue(await(() -> copies(mail, "u6@example.net") == 1), "u6 delivered before the kill");
        // The maildir file exists before the queue manager has journalled u6's outcome; a kill in
        // between is the "acknowledgement in flight" case, which may deliver twice. Wait until u7
        // has been retried (retry_schedule 1s): u6's outcome is then long written.
        assertTrue(await(() -> deferrals(child.output(), "u7@example.net") >= 2), child.output());
        assertTrue(child.kill(), "SIGKILL took effect");

        Files.delete(blocked);
        start(mail, 2, settings);
        assertTrue(await(() -> copies(mail, "u7@example.net") == 1), "u7 delivered after the restart");
        assertTrue(await(this::spoolEmpty), "message left the spool");
        assertEquals(1, copies(mail, "u6@example.net"), "u6 got its copy again after the restart");
    }

    private void start(MaildirDestination mail, int epoch, Map<String, String> settings) throws Exception {
        child = ServeChild.start(settings, dir.resolve("serve-" + epoch + ".log"));
        mail.serverStarted(epoch, child.pid());
        assertTrue(await(() -> child.greets() || !child.isAlive()) && child.isAlive(), child.output());
    }

    private boolean spoolEmpty() {
        try (io.sluice.smtp.spool.Spool spool = io.sluice.smtp.spool.Spool.openReadOnly(dir.resolve("spool"))) {
            return spool.list().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    private static long deferrals(String log, String recipient) {
        return log.lines().filter(l -> l.contains(" rcpt=" + recipient + " ") && l.contains(" status=deferred ")).count();
    }

    private static long copies(MaildirDestination mail, String recipient) {
        try {
            return mail.deliveries().stream().filter(d -> d.recipient().equals(recipient)).count();
        } catch (IOException e) {
            return -1;
        }
    }

    private void send(LoadMessage m) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", child.port()), 5_000);
            s.setSoTimeout(60_000);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            expect(in, "220");
            out.write("EHLO load.test\r\n".getBytes(StandardCharsets.US_ASCII));
            expect(in, "250");
            StringBuilder envelope = new StringBuilder("MAIL FROM:<load@example.org>\r\n");
            for (String r : m.recipients()) {
                envelope.append("RCPT TO:<").append(r).append(">\r\n");
            }
            out.write(envelope.append("DATA\r\n").toString().getBytes(StandardCharsets.US_ASCII));
            expect(in, "250");
            for (int i = 0; i < m.recipients().size(); i++) {
                expect(in, "250");
            }
            expect(in, "354");
            out.write((m.wire() + ".\r\nQUIT\r\n").getBytes(StandardCharsets.ISO_8859_1));
            expect(in, "250");
        }
    }

    /** Reads one reply (all lines) and checks its code. */
    private static void expect(InputStream in, String code) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int b; (b = in.read()) >= 0; ) {
            line.append((char) b);
            if (b == '\n') {
                if (line.length() >= 4 && line.charAt(3) == '-') {
                    line.setLength(0);
                    continue;
                }
                assertTrue(line.toString().startsWith(code), "expected " + code + ", got " + line);
                return;
            }
        }
        throw new IOException("connection closed, expected " + code);
    }

    private static boolean await(BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + 90_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }
}
