package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
}
