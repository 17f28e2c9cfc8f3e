package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.cli.Main;

/**
 * The {@code sluice} command as an operator meets it, run in process through {@link Main#run} (the
 * {@code ./sluice} launcher only adds the build and JVM options): version, and bad configuration
 * refused with one line that names the key, before anything binds or opens a spool.
 */
class CommandLineInteropTest {

    @TempDir
    Path dir;

    /** What one {@code Main.run} printed. */
    private record Run(int status, String out, String err) {
        List<String> errLines() {
            return err.lines().filter(l -> !l.isBlank()).toList();
        }

        @Override
        public String toString() {
            return "status " + status + "\n--- out\n" + out + "\n--- err\n" + err;
        }
    }

    @Test
    void versionNamesSluiceAndJava() {
        Run run = run("--version");
        assertEquals(0, run.status(), run.toString());
        assertTrue(run.out().startsWith("sluice "), run.toString());
        assertTrue(run.out().contains("Java " + Runtime.version()), run.toString());
    }

    @Test
    void unknownKeyIsOneLineNamingTheKey() {
        Run run = run("serve", "--set", "nope=1", "--set", "spool.dir=" + dir.resolve("spool"));
        assertNotEquals(0, run.status(), run.toString());
        assertEquals(1, run.errLines().size(), "one line: " + run);
        assertTrue(run.errLines().get(0).contains("nope"), run.toString());
        assertTrue(run.out().isEmpty(), run.toString());
        assertTrue(!dir.resolve("spool").toFile().exists(), "nothing was started");
    }

    @Test
    void badValueIsOneLineNamingTheKeyAndTheLimit() {
        Run run = run("serve", "--set", "smtp.max_recipients=5", "--set", "spool.dir=" + dir.resolve("spool"));
        assertNotEquals(0, run.status(), run.toString());
        assertEquals(1, run.errLines().size(), "one line: " + run);
        assertTrue(run.errLines().get(0).contains("smtp.max_recipients"), run.toString());
        assertTrue(run.errLines().get(0).contains("100"), "names the RFC minimum: " + run);
    }

    @Test
    void setWithoutEqualsIsOneLine() {
        Run run = run("serve", "--set", "hostname", "--set", "spool.dir=" + dir.resolve("spool"));
        assertNotEquals(0, run.status(), run.toString());
        assertEquals(1, run.errLines().size(), "one line: " + run);
        assertTrue(run.errLines().get(0).contains("hostname"), run.toString());
    }

    @Test
    void queueListOnAMissingSpoolFailsWithOneLine() {
        Run run = run("queue", "list", "--spool", dir.resolve("absent").toString());
        assertNotEquals(0, run.status(), run.toString());
        assertEquals(1, run.errLines().size(), "one line: " + run);
        assertTrue(run.errLines().get(0).contains("absent"), run.toString());
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream originalOut = System.out;
        PrintStream originalErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = Main.run(args);
        } finally {
            System.setOut(originalOut);
            System.setErr(originalErr);
        }
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
