package io.sluice.smtp.mtasts;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counters of MTA-STS since start: policy fetches by {@link FetchResult}, and what policies did to
 * deliveries by {@link Outcome}. Updated from the MTA-STS and resolver threads and the loops, read
 * from any thread.
 */
public final class MtaStsStats {
    /** What a policy did to one delivery attempt (the label of {@code sluice_outbound_mta_sts_total}). */
    public enum Outcome {
        /** enforce: the attempt went to the matching MX hosts only, with verified TLS. */
        ENFORCED,
        /** enforce: no MX host matched the policy; deferred with nothing sent. */
        REFUSED_MX,
        /** enforce: every matching MX host failed TLS or its certificate check; deferred. */
        REFUSED_TLS,
        /** testing: an MX host outside the policy was kept and logged. */
        TESTING_MISMATCH,
        /** testing: a hop went on without TLS (not offered, refused, or a failed handshake), logged. */
        TESTING_NO_TLS,
        /** testing: a hop's certificate would fail {@code verify} (chain or name), logged; delivered anyway. */
        TESTING_BAD_CERTIFICATE,
        /** testing or none: delivered as without a policy. */
        NOT_ENFORCED
    }

    private final AtomicLong refreshes = new AtomicLong();
    private final AtomicLong certificateChecks = new AtomicLong();
    private final Map<FetchResult, AtomicLong> fetches = new EnumMap<>(FetchResult.class);
    private final Map<Outcome, AtomicLong> outcomes = new EnumMap<>(Outcome.class);

    /** All counters at zero. */
    public MtaStsStats() {
        for (FetchResult r : FetchResult.values()) {
            fetches.put(r, new AtomicLong());
        }
        for (Outcome o : Outcome.values()) {
            outcomes.put(o, new AtomicLong());
        }
    }

    void fetched(FetchResult result) {
        fetches.get(result).incrementAndGet();
    }

    void refreshed() {
        refreshes.incrementAndGet();
    }

    /** Background refreshes started (a used policy close to expiry); each fetch is also counted by result. */
    public long refreshes() {
        return refreshes.get();
    }

    /** Counts one testing-mode certificate check, whatever its result (the client calls this). */
    public void certificateChecked() {
        certificateChecks.incrementAndGet();
    }

    /** Certificates checked as {@code verify} would under testing policies (those that failed are {@link Outcome#TESTING_BAD_CERTIFICATE}). */
    public long certificateChecks() {
        return certificateChecks.get();
    }

    /** Counts one outcome (the client calls this). */
    public void count(Outcome outcome) {
        outcomes.get(outcome).incrementAndGet();
    }

    /** Fetches that ended with this result. */
    public long fetches(FetchResult result) {
        return fetches.get(result).get();
    }

    /** Attempts with this outcome. */
    public long outcomes(Outcome outcome) {
        return outcomes.get(outcome).get();
    }
}
