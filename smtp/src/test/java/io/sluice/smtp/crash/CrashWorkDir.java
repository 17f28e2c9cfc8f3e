package io.sluice.smtp.crash;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import io.sluice.smtp.spool.Spool;

/**
 * What both crash harnesses (this module's and the one in bench that drives {@code sluice load})
 * do with their work folder and the spool in it: clear it, wait on a condition, check the spool
 * drained and nothing was quarantined. Static, any thread.
 */
final class CrashWorkDir {

    private CrashWorkDir() {
    }

    /** Removes the previous run's spool, destinations and logs, and creates {@code dir} again. */
    static void clear(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> old = Files.walk(dir)) {
                for (Path p : old.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        Files.createDirectories(dir);
    }

    /** Polls {@code condition} every 50 ms; false when {@code seconds} pass first. */
    static boolean await(int seconds, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                return false;
            }
            Thread.sleep(50);
        }
        return true;
    }

    /** True when a read-only look at the spool finds no message (false when it cannot be read). */
    static boolean spoolEmpty(Path spoolDir) {
        try (Spool spool = Spool.openReadOnly(spoolDir)) {
            return spool.list().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    /** Segment files recovery set aside as corrupt. */
    static List<Path> corruptSegments(Path spoolDir) throws IOException {
        try (Stream<Path> files = Files.list(spoolDir.resolve("segments"))) {
            return files.filter(p -> p.getFileName().toString().endsWith(".corrupt")).toList();
        }
    }
}
