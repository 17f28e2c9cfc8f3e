package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The log of a message's whole life through a real server: one key=value line when it is queued,
 * one per recipient attempt (Postfix's relay=, delay=, dsn=, status=), the bounce and the removal,
 * every one carrying the queue id; and one line per connection.
 */
class EventLogMessageLifeTest {

    /** Timestamp, level, event, then key=value pairs whose values are bare or quoted with escapes. */
    private static final Pattern LINE = Pattern.compile(
            "\\d{4}-\\d\\d-\\d\\dT\\S+Z (DEBUG|INFO|WARN|ERROR) [a-z_-]+( [a-z_]+=([^\\s\"]+|\"([^\"\\\\]|\\\\.)*\"))*");

    @TempDir
    Path dir;

    @Test
    void everyLineOfAMessagesLifeCarriesItsQueueId() throws Exception {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        EventLog log = new EventLog(EventLog.Level.INFO, new PrintStream(captured, true, StandardCharsets.UTF_8));
        String id;
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE, Map.of(
                "listen", "127.0.0.1:0", "tls.level", "none", // no TLS here: spares generating a key
                "transport.example.net", "discard",
                "transport.example.com", "error:5.1.1 No such user",
                "transport.example.org", "discard"), log)) {
            id = send(server);
            // The message is removed after its bounce is queued; the bounce is then sent and removed too.
            assertTrue(TestServer.await(Duration.ofSeconds(10), () -> server.server.queue().bounces() == 1
                    && server.server.queue().delivered() == 2 && server.queued().isEmpty()), "delivered, bounced, removed");
        } finally {
            log.close();
        }
        String text = captured.toString(StandardCharsets.UTF_8);
        if (java.nio.file.Files.isDirectory(Path.of("target"))) {
            java.nio.file.Files.writeString(Path.of("target", "message-life.log"), text); // an example for the docs
        }
        List<String> lines = List.of(text.split("\n"));
        for (String line : lines) {
            assertTrue(LINE.matcher(line).matches(), "key=value line: " + line);
        }
        List<String> life = new ArrayList<>();
        for (String line : lines) {
            if (line.contains(" id=" + id)) {
                life.add(line);
            }
        }
        assertEquals(5, life.size(), String.join("\n", life));
        // One line per message, written on the spool writer once the message is durable and before
        // delivery may start: always the first of its life, and before the connection's line.
        String queued = life.get(0);
        assertTrue(queued.contains(" INFO queued client=127.0.0.1 id=" + id
                + " from=a@example.org to=b@example.net,c@example.com rcpts=2 size="), queued);
        assertTrue(queued.endsWith(" proto=ESMTP auth=- result=250"), queued);
        assertTrue(lines.indexOf(queued) < lines.indexOf(find(lines, " disconnect ")), "queued before disconnect");
        String sent = find(life, "rcpt=b@example.net");
        assertTrue(sent.contains(" delivery id=" + id + " rcpt=b@example.net relay=discard route=discard delay="), sent);
        assertTrue(sent.matches(".* delay=\\d+\\.\\d\\d attempt=1 dsn=2\\.0\\.0 status=sent reply=.*"), sent);
        String bounced = find(life, "rcpt=c@example.com");
        assertTrue(bounced.matches(".* dsn=5\\.1\\.1 status=bounced reply=\"550 5\\.1\\.1 No such user\""), bounced);
        String bounce = find(life, " bounce id=");
        assertTrue(bounce.contains(" bounce id=" + id + " dsn_id="), bounce);
        assertTrue(life.get(life.size() - 1).endsWith(" removed id=" + id), String.join("\n", life));

        String dsnId = value(bounce, "dsn_id");
        List<String> bounceLife = lines.stream().filter(l -> l.contains(" id=" + dsnId)).toList();
        assertEquals(2, bounceLife.size(), String.join("\n", bounceLife));
        assertTrue(bounceLife.get(0).contains("rcpt=a@example.org") && bounceLife.get(0).contains("status=sent"));
        assertTrue(bounceLife.get(1).endsWith(" removed id=" + dsnId));

        String disconnect = find(lines, " disconnect ");
        assertTrue(disconnect.matches(".* INFO disconnect client=127\\.0\\.0\\.1 messages=1 errors=0 tls=-"), disconnect);
    }

    private static String send(TestServer server) throws Exception {
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            c.reply();
            c.send("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
                    + "RCPT TO:<c@example.com>\r\nDATA\r\n");
            c.reply();
            c.reply();
            c.reply();
            c.reply();
            assertTrue(c.reply().startsWith("354"));
            c.send("Subject: life\r\n\r\nHello log.\r\n.\r\nQUIT\r\n");
            String queued = c.reply();
            assertTrue(queued.startsWith("250 2.0.0 Ok: queued as "), queued);
            c.reply();
            return queued.substring("250 2.0.0 Ok: queued as ".length()).trim();
        }
    }

    private static String find(List<String> lines, String part) {
        return lines.stream().filter(l -> l.contains(part)).findFirst()
                .orElseThrow(() -> new AssertionError("no line with " + part + " in\n" + String.join("\n", lines)));
    }

    private static String value(String line, String key) {
        Matcher m = Pattern.compile(" " + key + "=(\\S+)").matcher(line);
        assertTrue(m.find(), line);
        return m.group(1);
    }
}
