package io.sluice.smtp.mtasts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

import io.sluice.reactor.NanoClock;
import io.sluice.smtp.dns.DnsLookup;
import io.sluice.smtp.server.EventLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The policy cache across restarts: a stored fetched_at in the future (the wall clock was ahead
 * when it was fetched, then corrected) counts as a fetch at load time and is written back, so a
 * restart never grants a policy a new max_age.
 */
class MtaStsPoliciesRestartTest {
    private static final long DAY_MILLIS = 86_400_000L;
    private static final long REAL_FETCH = 1_800_000_000_000L;

    @TempDir
    Path dir;

    private static MtaStsPolicies start(Path file, long wallMillis) throws Exception {
        DnsLookup dns = new DnsLookup() {
            @Override
            public CompletableFuture<List<String>> txt(String name) {
                return CompletableFuture.failedFuture(new java.io.IOException("no DNS in this test"));
            }

            @Override
            public CompletableFuture<List<InetAddress>> addresses(String host) {
                return CompletableFuture.failedFuture(new java.io.IOException("no DNS in this test"));
            }
        };
        PolicyFetcher fetcher = new PolicyFetcher(PolicyFetcher.trusting(Optional.empty()), 1, Duration.ofSeconds(1));
        EventLog log = new EventLog(EventLog.Level.ERROR, new PrintStream(new ByteArrayOutputStream(), true,
                StandardCharsets.UTF_8));
        return new MtaStsPolicies(dns, fetcher, Duration.ofSeconds(1), NanoClock.SYSTEM, () -> wallMillis,
                new PolicyStore(file), Duration.ofHours(1), log);
    }

    @Test
    void aFutureFetchTimeDoesNotRenewMaxAgeAtEveryRestart() throws Exception {
        Path file = dir.resolve(PolicyStore.FILE_NAME);
        StsPolicy enforce = new StsPolicy(StsMode.ENFORCE, List.of("mx.example.com"), 86_400); // max_age 1 day
        // Fetched at REAL_FETCH while the wall clock read 30 days ahead.
        new PolicyStore(file).save(List.of(new PolicyStore.Entry("example.com", "1", enforce,
                REAL_FETCH + 30 * DAY_MILLIS)), 10);
        try (MtaStsPolicies first = start(file, REAL_FETCH + 3_600_000L)) { // clock corrected, restart an hour later
            assertNotNull(first.cachedPolicy("example.com"), "within max_age of the real fetch: kept (fine)");
        }
        try (MtaStsPolicies later = start(file, REAL_FETCH + 5 * DAY_MILLIS)) { // restart 5 days after the fetch
            assertNull(later.cachedPolicy("example.com"),
                    "5 days after a fetch with max_age 1 day the policy must be gone, not renewed by the restart");
        }
    }
    @Test
    void anIdnPolicySurvivesARestartUnderItsALabels() throws Exception {
        Path file = dir.resolve(PolicyStore.FILE_NAME);
        StsPolicy enforce = new StsPolicy(StsMode.ENFORCE, List.of("mx.example.com"), 86_400);
        new PolicyStore(file).save(List.of(new PolicyStore.Entry("xn--bcher-kva.test", "1", enforce, REAL_FETCH)), 10);
        try (MtaStsPolicies policies = start(file, REAL_FETCH + 3_600_000L)) {
            assertEquals(enforce, policies.cachedPolicy("b\u00fccher.test"), "the U-label finds the stored A-label");
            assertEquals(enforce, policies.cachedPolicy("B\u00dcCHER.test."));
            assertEquals(1, policies.cachedPolicies(), "one key for both forms");
        }
    }
}
