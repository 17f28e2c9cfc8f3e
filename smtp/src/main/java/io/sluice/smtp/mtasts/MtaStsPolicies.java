package io.sluice.smtp.mtasts;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

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
 * not one per message. The cache is in memory only (a restart refetches).
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
    /** The {@code dns.timeout} default, for the constructor without one. */
    private static final Duration DEFAULT_DNS_TIMEOUT = Duration.ofSeconds(5);

    private final DnsLookup dns;
    private final PolicyFetcher fetcher;
    private final NanoClock clock;
    private final EventLog log;
    private final MtaStsStats stats = new MtaStsStats();
    private final ExecutorService fetchThreads;
    private final Duration dnsTimeout;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();
    private final Map<String, Failed> failed = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<StsPolicy>> inFlight = new ConcurrentHashMap<>();

    private record Cached(String id, StsPolicy policy, long expiresAtNanos) {
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
        this.dns = dns;
        this.fetcher = fetcher;
        this.dnsTimeout = dnsTimeout;
        this.clock = clock;
        this.log = log;
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(MAX_QUEUED_FETCHES), r -> {
            Thread t = new Thread(r, "sluice-mta-sts-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        pool.allowCoreThreadTimeOut(true);
        this.fetchThreads = pool;
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
        return c == null ? null : c.policy();
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
                .thenCompose(id -> decide(name, id));
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
        CompletableFuture<StsPolicy> mine = new CompletableFuture<>();
        CompletableFuture<StsPolicy> theirs = inFlight.putIfAbsent(domain, mine);
        if (theirs != null) {
            return theirs;
        }
        String host = "mta-sts." + domain;
        dns.addresses(host).whenComplete((addresses, failure) -> {
            try {
                fetchThreads.execute(() -> finish(mine, domain, id, fetchOn(host, addresses, failure)));
            } catch (RejectedExecutionException e) {
                finish(mine, domain, id, new FetchOutcome(null, fetchThreads.isShutdown()
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
            keep(domain, new Cached(id, p, clock.nanoTime() + TimeUnit.SECONDS.toNanos(p.maxAgeSeconds())));
            failed.remove(domain);
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

    private static String canonical(String domain) {
        String lower = domain.toLowerCase(Locale.ROOT);
        return lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
    }

    /** Stops the fetch threads; fetches in flight may never complete. */
    @Override
    public void close() {
        fetchThreads.shutdownNow();
    }
}
