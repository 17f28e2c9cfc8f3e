package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The spool on a 2 MiB tmpfs: fill it over SMTP until {@code 452 4.3.1}, then every acknowledged
 * message must survive a restart, and freeing space must let new mail in without a restart.
 * Needs {@code mount} (root); skipped with the reason otherwise.
 */
@Tag("slow")
class DiskFullTest {

    private static final Pattern QUEUED = Pattern.compile("250 2\\.0\\.0 Ok: queued as (\\w{13})\r\n");
    private static final Map<String, String> SETTINGS = Map.of("tls.level", "none", "listen", "127.0.0.1:0 smtp",
            "transport.*", "error:4.3.0 held by the test");
    private static Path mount;

    @BeforeAll
    static void mountTmpfs() throws Exception {
        mount = Files.createTempDirectory("sluice-diskfull");
        PeerProcess.Result result;
        try {
            result = PeerProcess.run(List.of("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mount.toString()),
                    new byte[0], 20);
        } catch (IOException e) {
            result = new PeerProcess.Result(-1, "", e.toString());
        }
        boolean mounted = result.exitCode() == 0;
        if (!mounted) {
            Files.deleteIfExists(mount);
        }
        Assumptions.assumeTrue(mounted, "cannot mount a tmpfs here (needs root): " + result.both());
    }

    @AfterAll
    static void unmount() throws Exception {
        if (mount != null && Files.exists(mount)) {
            PeerProcess.run(List.of("umount", mount.toString()), new byte[0], 20);
            Files.deleteIfExists(mount);
        }
    }

    @Test
    void fullDiskAnswers452KeepsAcknowledgedMailAndRecoversWhenSpaceReturns() throws Exception {
        Path filler = mount.resolve("filler");
        Files.write(filler, new byte[512 * 1024]); // ours to delete when the spool is full
        List<String> acknowledged = new ArrayList<>();
        String body = ("y".repeat(998) + "\r\n").repeat(64); // 64 KiB
        TestServer server = new TestServer(mount, SmtpServer.Mode.SERVE, SETTINGS);
        try (TestServer.Client c = new TestServer.Client(server.port())) {
            GracefulShutdownTest.greetAndEhlo(c);
            String reply = "";
            for (int i = 0; i < 100; i++) {
                reply = send(c, "m" + i, body);
                Matcher queued = QUEUED.matcher(reply);
                if (!queued.matches()) {
                    break;
                }
                acknowledged.add(queued.group(1));
            }
            assertEquals("452 4.3.1 Insufficient system storage\r\n", reply, "after " + acknowledged.size() + " messages");
            assertTrue(acknowledged.size() >= 5, "some mail fitted first: " + acknowledged.size());

            Files.delete(filler);
            // Whole lines only: a cut line would put the final dot mid-line, and DATA would go on.
            String afterReply = send(c, "after", body.substring(0, 4 * 1000));
            Matcher again = QUEUED.matcher(afterReply);
            assertTrue(again.matches(), "accepted again once space returned, without a restart");
            acknowledged.add(again.group(1));
        } finally {
            server.close();
        }
        server = new TestServer(mount, SmtpServer.Mode.SERVE, SETTINGS);
        try {
            List<String> recovered = server.queued().stream().map(m -> m.id().toString()).toList();
            assertTrue(recovered.containsAll(acknowledged), "every acknowledged message is back after a restart: "
                    + acknowledged.size() + " acknowledged, " + recovered.size() + " recovered");
            assertEquals(acknowledged.size(), recovered.size(), "and nothing that was refused");
        } finally {
            server.close();
        }
    }

    private static String send(TestServer.Client c, String subject, String body) throws IOException {
        c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
        String mail = c.reply();
        if (!mail.startsWith("250")) {
            return mail;
        }
        c.reply();
        String data = c.reply();
        if (!data.startsWith("354")) {
            return data;
        }
        c.send("Subject: " + subject + "\r\n\r\n" + body + ".\r\n");
        return c.reply();
    }
}
