package io.sluice.smtp.mtasts;

import java.io.IOException;
import java.net.IDN;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

import io.sluice.reactor.NanoClock;
import io.sluice.smtp.dns.DnsLookup;
import io.sluice.smtp.server.EventLog;

/**
 * The MTA-STS policy of each recipient domain (RFC 8461 §3, §5.1): the {@code _mta-sts} TXT id
 * through our resolver (its answers, negative ones included, cached for their TTL), the policy
 * fetched over HTTPS on this class's own two threads when the id is new or the cached policy has
 * passed its {@code max_age}; concurrent requests for one domain share one fetch. At most
 * {@link #MAX_QUEUED_FETCHES} fetches wait for a thread; one more is refused at once and counts as
 * failed (slow policy hosts must not hold every other domain's policy). When DNS or HTTPS fails, an unexpired cached policy is kept; a failed fetch is not retried for
 * {@link #FAILED_FETCH_BACKOFF} (per domain and id), so a broken policy host costs one fetch,
 * not one per message.
 *
 * <p>The cache survives restarts through a {@link PolicyStore} (RFC 8461 §10.2): read when this
 * is made (expired entries dropped, a damaged file logged once and ignored), written whole on this
 * class's cache thread at most {@link #SAVE_DELAY} after a successful fetch (a burst coalesced into
 * one write) and at {@link #close()}. The same
 * thread sweeps the cache every {@code refreshSweep}: a policy that a delivery used within its
 * {@code max_age} and that has less than {@link #refreshMargin} left is fetched again in the
 * background (TXT asked first; a changed id, a missing record or a failed lookup all still fetch),
 * at most {@link #MAX_REFRESHES_IN_FLIGHT} at a time, their fetches one at a time on a refresh
 * thread of their own (never queued ahead of a delivery's fetch), so enforce never lapses for a
 * domain we keep sending to; a failed refresh keeps the cached policy (§5.1).
 *
 * <p>Threading: any thread; futures complete on the resolver's or this class's threads, never
 * on the caller's event loop.
 */
public final class MtaStsPolicies implements AutoCloseable {
    /** How long a failed fetch of one (domain, id) is not repeated. */
    public static final Duration FAILED_FETCH_BACKOFF = Duration.ofMinutes(5);
    /** Most domains whose policies (and, apart, failed fetches) are kept; past it, expired ones are dropped, then new ones not kept. */
    public static final int MAX_DOMAINS = 100_000;
    /** Most fetches waiting for one of the two fetch threads. */
    public static final int MAX_QUEUED_FETCHES = 64;
    /**
     * How long a save waits for more changes: a burst of fetches (a cold start with many domains)
     * costs one file write a second, not one per fetch. A crash loses at most this much of the cache.
     */
    public static final Duration SAVE_DELAY = Duration.ofSeconds(1);
    /** How often the cache is swept for policies to refresh, by default. */
    public static final Duration REFRESH_SWEEP = Duration.ofMinutes(1);
    /** Most background refreshes (TXT lookup and fetch) under way at once; the sweep skips the rest until its next pass. */
    public static final int MAX_REFRESHES_IN_FLIGHT = 16;
    /** The longest lead a refresh takes before expiry (RFC 8461 leaves the schedule to the sender). */
    public static final long MAX_REFRESH_MARGIN_SECONDS = 86_400;
    /** The {@code dns.timeout} default, for the constructor without one. */
    private static final Duration DEFAULT_DNS_TIMEOUT = Duration.ofSeconds(5);

    private final DnsLookup dns;
    private final PolicyFetcher fetcher;
    private final NanoClock clock;
    private final EventLog log;
    private final MtaStsStats stats = new MtaStsStats();
    private final ExecutorService fetchThreads;
    /**
     * Background refreshes fetch on their own thread, never on {@link #fetchThreads}: a slow host
     * being refreshed must not hold a delivery's first fetch of another domain past {@link #waitLimit()}.
     */
    private final ExecutorService refreshThread;
    private final Duration dnsTimeout;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();
    private final Map<String, Failed> failed = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<StsPolicy>> inFlight = new ConcurrentHashMap<>();
    private final PolicyStore store;
    private final LongSupplier wallMillis;
    private final long refreshSweepNanos;
    /** Saves the cache file and sweeps for refreshes: one daemon thread, so saves never overlap. */
    private final ScheduledThreadPoolExecutor cacheThread;
    /** A save is queued on the cache thread (coalesces a burst of fetches into one write). */
    private final AtomicBoolean saveQueued = new AtomicBoolean();
    /** The cache changed since the last save began. */
    private final AtomicBoolean dirty = new AtomicBoolean();
    /** Domains being refreshed (TXT lookup, then fetch): one refresh per domain, at most {@link #MAX_REFRESHES_IN_FLIGHT}. */
    private final Set<String> refreshing = ConcurrentHashMap.newKeySet();
    private final AtomicLong sweeps = new AtomicLong();

    /**
     * One cached policy. {@code usedAtNanos} is written by every delivery that applies the policy
     * (a volatile write, on workers and resolver threads, not the loops); the sweep reads it.
     */
    private static final class Cached {
        final String id;
        final StsPolicy policy;
        final long fetchedAtMillis;
        final long expiresAtNanos;
        volatile boolean used;
        volatile long usedAtNanos;

        Cached(String id, StsPolicy policy, long fetchedAtMillis, long expiresAtNanos) {
            this.id = id;
            this.policy = policy;
            this.fetchedAtMillis = fetchedAtMillis;
            this.expiresAtNanos = expiresAtNanos;
        }

        String id() {
            return id;
        }

        StsPolicy policy() {
            return policy;
        }

        long expiresAtNanos() {
            return expiresAtNanos;
        }
    }

    private record Failed(String id, long untilNanos) {
    }

    /** As below, with the default {@code dns.timeout} (5 s). */
    public MtaStsPolicies(DnsLookup dns, PolicyFetcher fetcher, NanoClock clock, EventLog log) {
        this(dns, fetcher, DEFAULT_DNS_TIMEOUT, clock, log);
    }

    /**
     * @param dns        TXT and address lookups (the delivery resolver)
     * @param fetcher    the HTTPS client
     * @param dnsTimeout {@code dns.timeout} of that resolver, for {@link #waitLimit()}
     * @param clock      for max_age and the failure backoff
     * @param log        fetch results
     */
    public MtaStsPolicies(DnsLookup dns, PolicyFetcher fetcher, Duration dnsTimeout, NanoClock clock, EventLog log) {
        this(dns, fetcher, dnsTimeout, clock, System::currentTimeMillis, new PolicyStore(null), REFRESH_SWEEP, log);
    }

    /**
     * As above, with the cache kept in {@code store} (read now; startup code) and the refresh
     * sweep every {@code refreshSweep}.
     *
     * @param wallMillis   epoch milliseconds, for the fetch times in the file
     * @param store        the cache file ({@code new PolicyStore(null)}: memory only)
     * @param refreshSweep how often cached policies are checked for a background refresh
     */
    public MtaStsPolicies(DnsLookup dns, PolicyFetcher fetcher, Duration dnsTimeout, NanoClock clock,
            LongSupplier wallMillis, PolicyStore store, Duration refreshSweep, EventLog log) {
        this.dns = dns;
        this.store = store;
        this.wallMillis = wallMillis;
        this.refreshSweepNanos = refreshSweep.toNanos();
        this.fetcher = fetcher;
        this.dnsTimeout = dnsTimeout;
        this.clock = clock;
        this.log = log;
        AtomicInteger n = new AtomicInteger();
        this.fetchThreads = fetchPool(2, MAX_QUEUED_FETCHES, () -> "sluice-mta-sts-" + n.incrementAndGet());
        this.refreshThread = fetchPool(1, MAX_REFRESHES_IN_FLIGHT, () -> "sluice-mta-sts-refresh");
        load();
        this.cacheThread = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "sluice-mta-sts-cache");
            t.setDaemon(true);
            return t;
        });
        // close() drops a pending delayed save (it saves itself); the JDK's shutdown then lets the
        // idle worker go. Clearing the queue by hand instead strands it in take() until the delay
        // it was waiting for, then forever: close() waited its full 5 s and skipped its save.
        cacheThread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        cacheThread.scheduleWithFixedDelay(this::sweep, refreshSweepNanos, refreshSweepNanos, TimeUnit.NANOSECONDS);
        if (dirty.get()) {
            saveSoon(); // corrected fetch times reach the file without waiting for a fetch
        }
    }

    /** Daemon threads that end when idle for 30 s; at most {@code queued} tasks wait. */
    private static ExecutorService fetchPool(int threads, int queued, Supplier<String> name) {
        ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(queued), r -> {
            Thread t = new Thread(r, name.get());
            t.setDaemon(true);
            return t;
        });
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    /** Startup: the stored policies into the cache; a file we cannot use costs one WARN, never the start. */
    private void load() {
        PolicyStore.Loaded loaded;
        try {
            loaded = store.load(wallMillis.getAsLong(), MAX_DOMAINS);
        } catch (IOException | RuntimeException e) {
            log.log(EventLog.Level.WARN, "mta-sts-cache-ignored", "file", store.file(), "error", e.getMessage(),
                    "effect", "policies are fetched again as deliveries need them");
            return;
        }
        if (loaded.skippedLines() > 0) {
            log.log(EventLog.Level.WARN, "mta-sts-cache-damaged", "file", store.file(), "skipped_lines", loaded.skippedLines(),
                    "first", loaded.firstProblem());
        }
        long nowMillis = wallMillis.getAsLong();
        long nowNanos = clock.nanoTime();
        for (PolicyStore.Entry e : loaded.entries()) {
            // A fetch time in the future (the wall clock ran ahead, then was set back) counts as a
            // fetch now and is written back: kept as is, every restart would grant a new max_age.
            long fetchedAtMillis = Math.min(e.fetchedAtMillis(), nowMillis);
            if (fetchedAtMillis != e.fetchedAtMillis()) {
                dirty.set(true);
            }
            long leftMillis = fetchedAtMillis + e.policy().maxAgeSeconds() * 1000 - nowMillis;
            cache.put(e.domain(), new Cached(e.id(), e.policy(), fetchedAtMillis,
                    nowNanos + TimeUnit.MILLISECONDS.toNanos(leftMillis)));
        }
        if (store.file() != null) {
            log.log(EventLog.Level.INFO, "mta-sts-cache-loaded", "file", store.file(), "policies", cache.size());
        }
    }

    /** Counters since start. */
    public MtaStsStats stats() {
        return stats;
    }

    /**
     * How long a delivery should wait for {@link #policyFor} before going on with
     * {@link #cachedPolicy}: the fetch timeout plus the DNS timeout.
     */
    public Duration waitLimit() {
        return fetcher.timeout().plus(dnsTimeout);
    }

    /** The unexpired cached policy of a domain, or null; no lookup, no fetch. Any thread. */
    public StsPolicy cachedPolicy(String domain) {
        Cached c = live(canonical(domain));
        if (c == null) {
            return null;
        }
        touch(c);
        return c.policy();
    }

    /** A delivery applies this policy now: the sweep keeps it fresh. */
    private void touch(Cached c) {
        c.usedAtNanos = clock.nanoTime();
        c.used = true;
    }

    /** The number of policies cached now (expired ones not yet dropped included). */
    public int cachedPolicies() {
        return cache.size();
    }

    /**
     * The policy in force for a domain.
     *
     * @param domain the recipient domain (the MX route's target)
     * @return completes with the policy, or null when the domain has none (or none could be
     *         learnt and none is cached); never fails
     */
    public CompletableFuture<StsPolicy> policyFor(String domain) {
        String name = canonical(domain);
        return dns.txt("_mta-sts." + name)
                .handle((records, failure) -> records == null ? null : StsTxtRecord.idOf(records))
                .thenCompose(id -> decide(name, id))
                .whenComplete((policy, never) -> {
                    Cached c = policy == null ? null : cache.get(name);
                    if (c != null) {
                        touch(c);
                    }
                });
    }

    private CompletableFuture<StsPolicy> decide(String domain, String id) {
        Cached cached = live(domain);
        if (id == null || (cached != null && cached.id().equals(id))) {
            return CompletableFuture.completedFuture(cached == null ? null : cached.policy());
        }
        Failed recent = failed.get(domain);
        if (recent != null && recent.id().equals(id) && clock.nanoTime() - recent.untilNanos() < 0) {
            return CompletableFuture.completedFuture(cached == null ? null : cached.policy());
        }
        return fetch(domain, id, fetchThreads);
    }

    /**
     * The policy of {@code mta-sts.<domain>} fetched on {@code threads} (the fetch threads for
     * deliveries, the refresh thread for background refreshes), or the fetch already under way.
     */
    private CompletableFuture<StsPolicy> fetch(String domain, String id, ExecutorService threads) {
        CompletableFuture<StsPolicy> mine = new CompletableFuture<>();
        CompletableFuture<StsPolicy> theirs = inFlight.putIfAbsent(domain, mine);
        if (theirs != null) {
            return theirs;
        }
        String host = "mta-sts." + domain;
        dns.addresses(host).whenComplete((addresses, failure) -> {
            try {
                threads.execute(() -> finish(mine, domain, id, fetchOn(host, addresses, failure)));
            } catch (RejectedExecutionException e) {
                finish(mine, domain, id, new FetchOutcome(null, threads.isShutdown()
                        ? new PolicyFetchException(FetchResult.IO, "closed")
                        : new PolicyFetchException(FetchResult.QUEUE_FULL, host + ": " + MAX_QUEUED_FETCHES
                                + " fetches already waiting")));
            }
        });
        return mine;
    }

    /** A fetch thread: the policy, or why there is none. */
    private FetchOutcome fetchOn(String host, List<InetAddress> addresses, Throwable lookupFailure) {
        try {
            if (addresses == null) {
                throw new PolicyFetchException(FetchResult.NO_ADDRESS, host + ": " + lookupFailure.getMessage());
            }
            String body = fetcher.fetch(host, addresses);
            try {
                return new FetchOutcome(StsPolicy.parse(body), null);
            } catch (InvalidPolicyException e) {
                throw new PolicyFetchException(FetchResult.BAD_POLICY, host + ": " + e.getMessage());
            }
        } catch (PolicyFetchException e) {
            return new FetchOutcome(null, e);
        } catch (RuntimeException e) { // a bug; the delivery must still go on
            return new FetchOutcome(null, new PolicyFetchException(FetchResult.IO, host + ": " + e));
        }
    }

    private record FetchOutcome(StsPolicy policy, PolicyFetchException failure) {
    }

    private void finish(CompletableFuture<StsPolicy> mine, String domain, String id, FetchOutcome outcome) {
        StsPolicy result;
        if (outcome.policy() != null) {
            StsPolicy p = outcome.policy();
            stats.fetched(FetchResult.OK);
            Cached fresh = new Cached(id, p, wallMillis.getAsLong(), clock.nanoTime() + TimeUnit.SECONDS.toNanos(p.maxAgeSeconds()));
            Cached before = cache.get(domain);
            if (before != null && before.used) { // a refresh: the domain stays as recently used as it was
                fresh.usedAtNanos = before.usedAtNanos;
                fresh.used = true;
            }
            keep(domain, fresh);
            failed.remove(domain);
            saveSoon();
            log.log(EventLog.Level.INFO, "mta-sts-policy", "domain", domain, "id", id,
                    "mode", p.mode().name().toLowerCase(Locale.ROOT), "max_age", p.maxAgeSeconds(), "mx", String.join(",", p.mxPatterns()));
            result = p;
        } else {
            stats.fetched(outcome.failure().result());
            long now = clock.nanoTime();
            if (failed.size() >= MAX_DOMAINS) {
                failed.values().removeIf(f -> now - f.untilNanos() >= 0);
            }
            // Still full: not remembered, so the next attempt refetches. Nor is a refused fetch: it cost
            // nothing, and the next delivery should try again once the queue has room.
            if (failed.size() < MAX_DOMAINS && outcome.failure().result() != FetchResult.QUEUE_FULL) {
                failed.put(domain, new Failed(id, now + FAILED_FETCH_BACKOFF.toNanos()));
            }
            Cached cached = live(domain);
            log.log(EventLog.Level.WARN, "mta-sts-fetch-failed", "domain", domain, "id", id,
                    "result", outcome.failure().result().label(), "detail", outcome.failure().getMessage(),
                    "using", cached == null ? "no policy" : "cached policy id " + cached.id());
            result = cached == null ? null : cached.policy();
        }
        inFlight.remove(domain, mine);
        mine.complete(result);
    }

    private Cached live(String domain) {
        Cached c = cache.get(domain);
        if (c != null && clock.nanoTime() - c.expiresAtNanos() >= 0) {
            cache.remove(domain, c);
            return null;
        }
        return c;
    }

    private void keep(String domain, Cached entry) {
        if (cache.size() >= MAX_DOMAINS) {
            long now = clock.nanoTime();
            cache.values().removeIf(c -> now - c.expiresAtNanos() >= 0);
            failed.values().removeIf(f -> now - f.untilNanos() >= 0);
            if (cache.size() >= MAX_DOMAINS && !cache.containsKey(domain)) {
                return;
            }
        }
        cache.put(domain, entry);
    }

    // ---------------------------------------------------------------- the cache thread

    /** Any thread: the cache file is rewritten on the cache thread within {@link #SAVE_DELAY} (one write for a burst). */
    private void saveSoon() {
        dirty.set(true);
        if (store.file() != null && saveQueued.compareAndSet(false, true)) {
            try {
                cacheThread.schedule(this::save, SAVE_DELAY.toNanos(), TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                saveQueued.set(false); // closing: close() saves
            }
        }
    }

    /** The cache thread (or the owner at close): the unexpired policies to the file. */
    private void save() {
        saveQueued.set(false);
        dirty.set(false);
        long now = clock.nanoTime();
        List<PolicyStore.Entry> entries = new ArrayList<>(cache.size());
        cache.forEach((domain, c) -> {
            if (now - c.expiresAtNanos() < 0) {
                entries.add(new PolicyStore.Entry(domain, c.id(), c.policy(), c.fetchedAtMillis));
            }
        });
        try {
            store.save(entries, MAX_DOMAINS);
        } catch (IOException | RuntimeException e) {
            dirty.set(true);
            log.log(EventLog.Level.WARN, "mta-sts-cache-save-failed", "file", store.file(), "error", e.toString(),
                    "effect", "the policies stay cached in memory; the next fetch tries again");
        }
    }

    /**
     * How long before expiry a used policy is refreshed: a quarter of its {@code max_age}, at
     * most {@link #MAX_REFRESH_MARGIN_SECONDS}, plus one sweep interval (the sweep may come that late).
     */
    public Duration refreshMargin(StsPolicy policy) {
        return Duration.ofNanos(refreshMarginNanos(policy));
    }

    private long refreshMarginNanos(StsPolicy policy) {
        long quarterNanos = TimeUnit.SECONDS.toNanos(policy.maxAgeSeconds()) / 4;
        return Math.min(quarterNanos, TimeUnit.SECONDS.toNanos(MAX_REFRESH_MARGIN_SECONDS)) + refreshSweepNanos;
    }

    /** The cache thread: drops expired policies, refreshes used ones close to expiry. */
    private void sweep() {
        try {
            long now = clock.nanoTime();
            for (Map.Entry<String, Cached> e : cache.entrySet()) {
                Cached c = e.getValue();
                long maxAgeNanos = TimeUnit.SECONDS.toNanos(c.policy().maxAgeSeconds());
                if (now - c.expiresAtNanos() >= 0) {
                    cache.remove(e.getKey(), c);
                } else if (c.used && now - c.usedAtNanos < maxAgeNanos && c.expiresAtNanos() - now < refreshMarginNanos(c.policy())) {
                    refresh(e.getKey(), c, now);
                }
            }
        } catch (RuntimeException e) { // a bug; the next sweep must still run
            log.log(EventLog.Level.WARN, "mta-sts-sweep-failed", "error", e.toString());
        }
        sweeps.incrementAndGet();
    }

    /** Sweeps of the cache finished since start (diagnostics; tests wait on it). */
    public long sweeps() {
        return sweeps.get();
    }

    /**
     * A background refresh of a used policy close to expiry: the TXT id, then the policy, even
     * when the id is unchanged (that is what extends {@code max_age}), the record is gone or the
     * lookup failed (RFC 8461 §10.2: an attacker may strip it). Skipped while a fetch of the domain
     * is under way, within the failure backoff, or when {@link #MAX_REFRESHES_IN_FLIGHT} are.
     */
    private void refresh(String domain, Cached c, long now) {
        Failed recent = failed.get(domain);
        if (inFlight.containsKey(domain) || (recent != null && now - recent.untilNanos() < 0)) {
            return;
        }
        // Only the sweep thread adds, so size-then-add cannot overshoot the bound.
        if (refreshing.size() >= MAX_REFRESHES_IN_FLIGHT || !refreshing.add(domain)) {
            return;
        }
        stats.refreshed();
        dns.txt("_mta-sts." + domain)
                .handle((records, failure) -> records == null ? null : StsTxtRecord.idOf(records))
                .thenCompose(id -> fetch(domain, id != null ? id : c.id(), refreshThread))
                .whenComplete((policy, never) -> refreshing.remove(domain));
    }

    /**
     * The cache key and lookup name of a domain: lower case, no final dot, A-labels (the form
     * DNS and the policy host use; one key per domain, and an IDN's policy survives in the file). A name
     * IDNA refuses stays as given: its lookups fail as they would have.
     */
    static String canonical(String domain) {
        String name = domain.endsWith(".") ? domain.substring(0, domain.length() - 1) : domain;
        if (name.chars().anyMatch(c -> c >= 0x80)) { // the usual ASCII name skips IDNA
            try {
                name = IDN.toASCII(name);
            } catch (IllegalArgumentException e) {
                // not a valid IDN: kept as given
            }
        }
        return name.toLowerCase(Locale.ROOT);
    }

    /**
     * Stops the fetch threads (fetches in flight may never complete) and the cache thread, then
     * writes the cache file if it changed since the last save (not if the cache thread, maybe mid-save,
     * did not stop within 5 s: one WARN). The owner's thread; blocks on the disk.
     */
    @Override
    public void close() {
        fetchThreads.shutdownNow();
        refreshThread.shutdownNow();
        cacheThread.shutdown(); // not shutdownNow: an interrupt would close a save's FileChannel mid-write
        boolean stopped = false;
        try {
            stopped = cacheThread.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!stopped) { // a save may still run there: a second writer would share its temp file
            log.log(EventLog.Level.WARN, "mta-sts-cache-not-saved", "file", store.file(),
                    "reason", "the cache thread did not stop within 5 s", "effect", "changes since its last save are lost");
        } else if (dirty.get() && store.file() != null) {
            save();
        }
    }
}
