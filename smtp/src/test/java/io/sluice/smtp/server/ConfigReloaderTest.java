package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.tls.FileChangeWatcher;

/** The reloader's triggers against a part that only counts: which edit is loaded by whom, and how often. */
class ConfigReloaderTest {

    @TempDir
    Path dir;

    /** One edit reloaded by SIGHUP (or the API) is not reloaded again by the poller: one WARN for one broken file. */
    @Test
    void oneEditReloadedBySighupIsNotReloadedAgainByThePoller() throws Exception {
        Path users = Files.writeString(dir.resolve("users"), "one", StandardCharsets.US_ASCII);
        AtomicInteger loads = new AtomicInteger();
        try (ConfigReloader reloader = new ConfigReloader(EventLog.silent())) {
            reloader.add(new ConfigReloader.Part("users", List.of(users), () -> {
                loads.incrementAndGet();
                return new ConfigReloader.Outcome(false, "broken");
            }));
            reloader.watchFiles(Duration.ofMillis(10));
            Files.writeString(users, "two, broken", StandardCharsets.US_ASCII);
            reloader.reloadAll(); // the operator's systemctl reload right after the edit
            long pollsBefore = reloader.polls();
            assertTrue(TestServer.await(Duration.ofSeconds(5), () -> reloader.polls() >= pollsBefore + 4), "the poller ran");
            assertEquals(1, loads.get(), "one edit, one reload (one WARN)");
            assertEquals(1, reloader.failedReloads("users"));
        }
    }

    /**
     * close() waits for a reload under way instead of interrupting it (an interrupted file read
     * would log a WARN and count a failure at every shutdown), and a SIGHUP after it reloads nothing.
     */
    @Test
    void closeWaitsForAReloadUnderWayAndALaterSighupReloadsNothing() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean interrupted = new AtomicBoolean();
        AtomicInteger loads = new AtomicInteger();
        ConfigReloader reloader = new ConfigReloader(EventLog.silent());
        reloader.add(new ConfigReloader.Part("users", List.of(), () -> {
            loads.incrementAndGet();
            started.countDown();
            try {
                release.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                interrupted.set(true);
            }
            interrupted.compareAndSet(false, Thread.currentThread().isInterrupted());
            return new ConfigReloader.Outcome(!interrupted.get(), "done");
        }));
        reloader.hangup();
        assertTrue(started.await(5, TimeUnit.SECONDS), "the SIGHUP reload started");
        CountDownLatch closed = new CountDownLatch(1);
        Thread closer = new Thread(() -> {
            reloader.close();
            closed.countDown();
        });
        closer.start();
        release.countDown();
        assertTrue(closed.await(5, TimeUnit.SECONDS), "close returned");
        assertFalse(interrupted.get(), "the reload under way was not interrupted");
        assertEquals(1, reloader.reloads("users"), "counted ok, finished before close returned");
        assertEquals(0, reloader.failedReloads("users"));
        reloader.hangup(); // after close: nothing runs
        assertEquals(1, loads.get());
    }

    /** With no part that has files, watchFiles starts no poll (the thread does not wake every interval). */
    @Test
    void partsWithoutFilesAreNotPolled() throws Exception {
        try (ConfigReloader reloader = new ConfigReloader(EventLog.silent())) {
            reloader.add(new ConfigReloader.Part("users", List.of(), () -> new ConfigReloader.Outcome(true, "ok")));
            reloader.watchFiles(Duration.ofMillis(1));
            assertFalse(TestServer.await(Duration.ofMillis(200), () -> reloader.polls() > 0), "no poll in 200 intervals");
        }
    }

    /** An edit made while the server started (after the watcher's snapshot, before polling) is reloaded, not missed. */
    @Test
    void anEditDuringStartIsReloadedByTheFirstPolls() throws Exception {
        Path users = Files.writeString(dir.resolve("users"), "one", StandardCharsets.US_ASCII);
        FileChangeWatcher sinceLoad = new FileChangeWatcher(List.of(users)); // before the server reads it
        Files.writeString(users, "two, written while the server started", StandardCharsets.US_ASCII);
        AtomicInteger loads = new AtomicInteger();
        try (ConfigReloader reloader = new ConfigReloader(EventLog.silent())) {
            reloader.add(new ConfigReloader.Part("users", List.of(users), () -> {
                loads.incrementAndGet();
                return new ConfigReloader.Outcome(true, "users=2");
            }), sinceLoad);
            reloader.watchFiles(Duration.ofMillis(10));
            assertTrue(TestServer.await(Duration.ofSeconds(5), () -> reloader.reloads("users") == 1), "reloaded");
            long pollsAfter = reloader.polls();
            assertTrue(TestServer.await(Duration.ofSeconds(5), () -> reloader.polls() >= pollsAfter + 3), "the poller ran");
            assertEquals(1, loads.get(), "once");
        }
    }
}
