package io.sluice.smtp.spool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SIGKILLs a JVM that is writing the spool and checks every acknowledged message survived. */
class SpoolCrashTest {
    private static final int KILL_AFTER_COMMITS = 300;

    @TempDir
    Path dir;

    static byte[] body(int seed) {
        return SpoolTestSupport.content(seed, 200 + (seed * 389) % 6000);
    }

    @Test
    void everyAcknowledgedMessageSurvivesSigkillAndThePartialOneIsGone() throws Exception {
        String java = ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                SpoolCrashChild.class.getName(), dir.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        String partial = null;
        List<String> acknowledged = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
            String line;
            while (acknowledged.size() < KILL_AFTER_COMMITS && (line = out.readLine()) != null) {
                assertFalse(line.startsWith("FAILED"), line);
                if (line.startsWith("PARTIAL ")) {
                    partial = line.substring(8);
                } else if (line.startsWith("COMMITTED ")) {
                    acknowledged.add(line.substring(10));
                }
            }
            child.destroyForcibly();
            assertTrue(child.waitFor(SpoolTestSupport.AWAIT_SECONDS, TimeUnit.SECONDS), "child died");
        } finally {
            child.destroyForcibly();
        }
        assertNotNull(partial, "child started a partial message");
        assertEquals(KILL_AFTER_COMMITS, acknowledged.size(), "child printed enough before dying");

        try (Spool spool = Spool.open(dir, SpoolOptions.defaults())) {
            Set<String> recovered = new HashSet<>();
            for (QueuedMessage m : spool.list()) {
                recovered.add(m.id().toString());
                String rcpt = m.envelope().recipients().get(0);
                int seed = Integer.parseInt(rcpt.substring(1, rcpt.indexOf('@')));
                assertArrayEquals(body(seed), SpoolTestSupport.read(spool, m.id()), "content of " + m.id());
            }
            assertTrue(recovered.containsAll(acknowledged), "every acknowledged id recovered");
            assertFalse(recovered.contains(partial), "mid-DATA message absent");
            QueueId after = spool.appender(0).begin(SpoolTestSupport.envelope("after@example.com"));
            for (String id : recovered) {
                assertTrue(after.compareTo(QueueId.parse(id)) > 0, "new ids continue after " + id);
            }
        }
    }
}
