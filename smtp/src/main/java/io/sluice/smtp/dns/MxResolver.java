package io.sluice.smtp.dns;

import io.sluice.reactor.NanoClock;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.dns.DnsAnswerCache.Question;
import io.sluice.smtp.dns.RrSet.Outcome;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * The {@link NextHopResolver} of RFC 5321 §5.1 over dnsjava: MX hosts in preference order,
 * shuffled among equal preferences, each resolved to its IPv4 addresses then its IPv6 ones; the
 * domain's own A/AAAA (an implicit MX of preference 0) when it has no MX; null MX (RFC 7505)
 * refused with 5.1.10; NXDOMAIN 5.1.2; SERVFAIL, timeouts and other resolver errors 4.4.3. At
 * most {@link #MAX_HOPS} hops, from at most {@link #MAX_MX_HOSTS} MX hosts; an address listed
 * twice is tried once. An MX host whose lookup fails is skipped; when no host gives an address
 * the outcome is temporary if any host failed temporarily, else 5.4.4. MX targets that are
 * CNAMEs are followed (the hop keeps the MX name); MX targets written as an IPv4 address are
 * used as that address, as Postfix does.
 *
 * <p>Every answer (positive, NXDOMAIN and no-data alike) is cached for its TTL (negative ones per
 * RFC 2308 from the SOA, capped at 3 h; positive ones capped at a day), in a bounded LRU cache;
 * concurrent lookups of one question share one query. Temporary failures are not cached.
 *
 * <p>Thread-safe. {@link #resolve} never blocks and never completes its future on the caller's
 * thread: the work runs on the resolver's executor (one daemon thread, {@code sluice-dns}, when
 * built by {@link #fromConfig}); dnsjava's I/O thread only hands answers to that executor.
 */
public final class MxResolver implements NextHopResolver, DnsLookup, AutoCloseable {
    /** Most hops one resolution returns. */
    public static final int MAX_HOPS = 10;
    /** Most MX hosts whose addresses are looked up, lowest preference first. */
    public static final int MAX_MX_HOSTS = 10;
    /** Answers the cache built by {@link #fromConfig} keeps. */
    public static final int DEFAULT_CACHE_ENTRIES = 10_000;
    /** Longest CNAME chain followed across queries. */
    static final int MAX_ALIAS_QUERIES = 8;

    private final Resolver dns;
    private final Duration timeout;
    private final Executor executor;
    private final ExecutorService ownedExecutor;
    private final Random random;
    private final DnsAnswerCache cache;
    private final ConcurrentHashMap<Question, CompletableFuture<RrSet>> inFlight = new ConcurrentHashMap<>();

    /**
     * @param dns           the DNS client, its own timeouts already set
     * @param timeout       hard limit per question, on top of the client's own
     * @param executor      where lookups run and futures complete; dnsjava completes on it too
     * @param ownedExecutor shut down by {@link #close()}, or null
     * @param clock         for TTLs
     * @param random        shuffles MX hosts of equal preference
     * @param cacheEntries  most answers kept
     */
    MxResolver(Resolver dns, Duration timeout, Executor executor, ExecutorService ownedExecutor,
               NanoClock clock, Random random, int cacheEntries) {
        this.dns = dns;
        this.timeout = timeout;
        this.executor = executor;
        this.ownedExecutor = ownedExecutor;
        this.random = random;
        this.cache = new DnsAnswerCache(cacheEntries, clock);
    }

    /**
     * The resolver configured by {@code dns.resolver} (empty = the system's resolvers, read by
     * dnsjava from /etc/resolv.conf) and {@code dns.timeout}, with its own daemon thread. Close it
     * at shutdown. Call from any thread.
     */
    public static MxResolver fromConfig(SluiceConfig config) {
        Duration timeout = config.get(ConfigKeys.DNS_TIMEOUT);
        ExecutorService thread = Executors.newSingleThreadExecutor(task -> {
            Thread t = new Thread(task, "sluice-dns");
            t.setDaemon(true);
            return t;
        });
        return new MxResolver(dnsClient(config.get(ConfigKeys.DNS_RESOLVER), timeout), timeout, thread, thread,
                NanoClock.SYSTEM, new Random(), DEFAULT_CACHE_ENTRIES);
    }

    /**
     * A dnsjava client for one server or the system's: each server gets a third of the time per
     * try, so a lost UDP datagram is retried within the same {@code timeout}.
     */
    static Resolver dnsClient(Optional<InetSocketAddress> server, Duration timeout) {
        ExtendedResolver client = server.isPresent()
                ? new ExtendedResolver(new Resolver[] {new SimpleResolver(server.get())})
                : new ExtendedResolver();
        Duration perTry = timeout.dividedBy(3).compareTo(Duration.ofMillis(100)) < 0
                ? Duration.ofMillis(100)
                : timeout.dividedBy(3);
        for (Resolver each : client.getResolvers()) {
            each.setTimeout(perTry);
        }
        client.setTimeout(timeout);
        return client;
    }

    @Override
    public CompletableFuture<List<NextHop>> resolve(String domain, int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port=" + port + " outside 1..65535");
        }
        Objects.requireNonNull(domain, "domain");
        CompletableFuture<List<NextHop>> out = new CompletableFuture<>();
        try {
            executor.execute(() -> startInto(out, domain, port));
        } catch (RejectedExecutionException e) {
            // Only after close(): the one case that completes on the caller's thread.
            out.completeExceptionally(Failures.allTemporary(domain, "resolver closed"));
        }
        return out;
    }

    @Override
    public CompletableFuture<List<String>> txt(String name) {
        return onResolverThread(name, () -> lookup(DomainNames.toName(name), Type.TXT, 0).thenApply(set -> {
            List<String> out = new ArrayList<>();
            for (Record r : set.outcome() == Outcome.FOUND ? set.records() : List.<Record>of()) {
                out.add(String.join("", ((TXTRecord) r).getStrings()));
            }
            return List.copyOf(out);
        }));
    }

    @Override
    public CompletableFuture<List<InetAddress>> addresses(String host) {
        return onResolverThread(host, () -> hostHops(DomainNames.toName(host), 0, 1).thenApply(found -> {
            if (found.hops().isEmpty() && found.temporaryFailure() != null) {
                throw new CompletionException(found.temporaryFailure());
            }
            List<InetAddress> out = new ArrayList<>();
            found.hops().forEach(hop -> out.add(hop.address()));
            return List.copyOf(out);
        }));
    }

    /** A lookup started on the resolver's executor: one that names nothing valid fails, never throws. */
    private <T> CompletableFuture<T> onResolverThread(String name, LookupStart<T> start) {
        CompletableFuture<T> out = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                CompletableFuture<T> work;
                try {
                    work = start.begin();
                } catch (NextHopLookupException | RuntimeException e) {
                    work = CompletableFuture.failedFuture(e);
                }
                work.whenComplete((value, failure) -> {
                    if (failure == null) {
                        out.complete(value);
                    } else {
                        out.completeExceptionally(Failures.of(failure, name));
                    }
                });
            });
        } catch (RejectedExecutionException e) {
            out.completeExceptionally(Failures.allTemporary(name, "resolver closed"));
        }
        return out;
    }

    /** The first step of a lookup, which may reject the name. */
    private interface LookupStart<T> {
        CompletableFuture<T> begin() throws NextHopLookupException;
    }

    /** Stops the thread {@link #fromConfig} started; lookups in flight may never complete. */
    @Override
    public void close() {
        if (ownedExecutor != null) {
            ownedExecutor.shutdownNow();
        }
    }

    private void startInto(CompletableFuture<List<NextHop>> out, String domain, int port) {
        CompletableFuture<List<NextHop>> work;
        try {
            work = start(domain, port);
        } catch (RuntimeException e) { // a bug, but the caller must still hear back
            work = CompletableFuture.failedFuture(e);
        }
        work.whenComplete((hops, failure) -> {
            if (failure == null) {
                out.complete(hops);
            } else {
                out.completeExceptionally(Failures.of(failure, domain));
            }
        });
    }

    private CompletableFuture<List<NextHop>> start(String domain, int port) {
        InetAddress literal = DomainNames.ipLiteral(domain);
        if (literal != null) {
            return CompletableFuture.completedFuture(List.of(
                    new NextHop(DomainNames.literalText(domain), literal, port, 0)));
        }
        Name name;
        try {
            name = DomainNames.toName(domain);
        } catch (NextHopLookupException e) {
            return CompletableFuture.failedFuture(e);
        }
        return lookup(name, Type.MX, 0).thenCompose(mx -> afterMx(name, mx, port));
    }

    private CompletableFuture<List<NextHop>> afterMx(Name domain, RrSet mx, int port) {
        String domainText = DomainNames.text(domain);
        switch (mx.outcome()) {
            case NO_DOMAIN:
                return CompletableFuture.failedFuture(Failures.noSuchDomain(domainText));
            case FOUND:
                return viaMxHosts(domainText, mx.records(), port);
            default: // NO_DATA: RFC 5321 §5.1, the domain itself is an implicit MX of preference 0.
                return hostHops(domain, 0, port).thenApply(host -> {
                    if (!host.hops().isEmpty()) {
                        return host.hops().subList(0, Math.min(MAX_HOPS, host.hops().size()));
                    }
                    throw new CompletionException(host.temporaryFailure() != null
                            ? host.temporaryFailure()
                            : Failures.noAddress(domainText, "no MX and no A/AAAA record"));
                });
        }
    }

    private CompletableFuture<List<NextHop>> viaMxHosts(String domain, List<Record> records, int port) {
        List<MXRecord> hosts = inPreferenceOrder(records, random);
        if (hosts.isEmpty()) {
            // Only "." targets: RFC 7505 null MX (any preference; there is nowhere else to go).
            return CompletableFuture.failedFuture(Failures.nullMx(domain));
        }
        List<CompletableFuture<HostHops>> lookups = new ArrayList<>();
        for (MXRecord mx : hosts.subList(0, Math.min(MAX_MX_HOSTS, hosts.size()))) {
            lookups.add(hostHops(mx.getTarget(), mx.getPriority(), port));
        }
        return CompletableFuture.allOf(lookups.toArray(new CompletableFuture<?>[0]))
                .thenApply(done -> combine(domain, lookups));
    }

    /**
     * MX records without null targets and duplicates, lowest preference first, shuffled among
     * equal preferences: a shuffle followed by a stable sort.
     */
    static List<MXRecord> inPreferenceOrder(List<Record> records, Random random) {
        Map<Name, MXRecord> byTarget = new LinkedHashMap<>();
        for (Record r : records) {
            MXRecord mx = (MXRecord) r;
            MXRecord seen = byTarget.get(mx.getTarget());
            if (!mx.getTarget().equals(Name.root) && (seen == null || seen.getPriority() > mx.getPriority())) {
                byTarget.put(mx.getTarget(), mx);
            }
        }
        List<MXRecord> out = new ArrayList<>(byTarget.values());
        Collections.shuffle(out, random);
        out.sort(Comparator.comparingInt(MXRecord::getPriority));
        return out;
    }

    private static List<NextHop> combine(String domain, List<CompletableFuture<HostHops>> lookups) {
        List<NextHop> hops = new ArrayList<>();
        Set<InetAddress> seen = new HashSet<>();
        NextHopLookupException temporary = null;
        for (CompletableFuture<HostHops> lookup : lookups) {
            HostHops host = lookup.join(); // done: allOf completed, and hostHops never fails
            for (NextHop hop : host.hops()) {
                if (hops.size() < MAX_HOPS && seen.add(hop.address())) {
                    hops.add(hop);
                }
            }
            temporary = temporary == null ? host.temporaryFailure() : temporary;
        }
        if (!hops.isEmpty()) {
            return hops;
        }
        throw new CompletionException(temporary != null
                ? Failures.allTemporary(domain, "no MX host could be resolved: " + temporary.getMessage())
                : Failures.noAddress(domain, "no MX host has an A or AAAA record"));
    }

    /** One host's hops, or why there are none; a future that never fails. */
    private record HostHops(List<NextHop> hops, NextHopLookupException temporaryFailure) {
    }

    private CompletableFuture<HostHops> hostHops(Name host, int preference, int port) {
        String hostText = DomainNames.text(host);
        InetAddress literal = DomainNames.ipLiteral(hostText);
        if (literal instanceof Inet4Address) {
            // "MX 10 192.0.2.1." is wrong but seen; Postfix connects to the address, so do we.
            return CompletableFuture.completedFuture(
                    new HostHops(List.of(new NextHop(hostText, literal, port, preference)), null));
        }
        CompletableFuture<RrSet> v4 = lookup(host, Type.A, 0);
        CompletableFuture<RrSet> v6 = lookup(host, Type.AAAA, 0);
        return v4.handle((a, aFailure) -> v6.handle((aaaa, aaaaFailure) -> {
            List<NextHop> hops = new ArrayList<>();
            addHops(hops, a, hostText, preference, port);
            addHops(hops, aaaa, hostText, preference, port);
            NextHopLookupException temporary = aFailure != null ? Failures.of(aFailure, host, Type.A)
                    : aaaaFailure != null ? Failures.of(aaaaFailure, host, Type.AAAA) : null;
            return new HostHops(List.copyOf(hops), temporary);
        })).thenCompose(f -> f);
    }

    private static void addHops(List<NextHop> out, RrSet set, String host, int preference, int port) {
        if (set == null || set.outcome() != Outcome.FOUND) {
            return;
        }
        for (Record r : set.records()) {
            InetAddress address = r instanceof ARecord ? ((ARecord) r).getAddress() : ((AAAARecord) r).getAddress();
            out.add(new NextHop(host, address, port, preference));
        }
    }

    /** The answer to (name, type), CNAMEs followed; fails only with a temporary error. */
    private CompletableFuture<RrSet> lookup(Name name, int type, int aliasQueries) {
        return answer(new Question(name, type)).thenCompose(set -> {
            if (set.outcome() != Outcome.ALIAS) {
                return CompletableFuture.completedFuture(set);
            }
            if (aliasQueries >= MAX_ALIAS_QUERIES) {
                return CompletableFuture.completedFuture(RrSet.noData(0)); // a CNAME loop
            }
            return lookup(set.alias(), type, aliasQueries + 1);
        });
    }

    /** From the cache, from a query already in flight, or from a new query. */
    private CompletableFuture<RrSet> answer(Question question) {
        RrSet cached = cache.get(question);
        if (cached != null) {
            return CompletableFuture.completedFuture(cached);
        }
        CompletableFuture<RrSet> mine = new CompletableFuture<>();
        CompletableFuture<RrSet> theirs = inFlight.putIfAbsent(question, mine);
        if (theirs != null) {
            return theirs;
        }
        // Registered before the query is sent, so the removal below always finds it. Async: a
        // timeout completes on the JDK's delay thread; the rest of the work belongs on ours.
        query(question).whenCompleteAsync((set, failure) -> {
            inFlight.remove(question, mine);
            if (failure == null) {
                cache.put(question, set);
                mine.complete(set);
            } else {
                mine.completeExceptionally(Failures.of(failure, question.name(), question.type()));
            }
        }, executor);
        return mine;
    }

    private CompletableFuture<RrSet> query(Question question) {
        Message query = Message.newQuery(Record.newRecord(question.name(), question.type(), DClass.IN));
        CompletableFuture<Message> sent;
        try {
            sent = dns.sendAsync(query, executor).toCompletableFuture();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        return sent.orTimeout(timeout.toNanos(), TimeUnit.NANOSECONDS)
                .thenApply(response -> RrSet.read(response, question.name(), question.type()));
    }
}
