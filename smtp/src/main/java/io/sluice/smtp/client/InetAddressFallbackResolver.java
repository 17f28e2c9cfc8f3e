package io.sluice.smtp.client;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

import io.sluice.smtp.dns.NextHop;
import io.sluice.smtp.dns.NextHopLookupException;
import io.sluice.smtp.dns.NextHopResolver;

/**
 * A stand-in {@link NextHopResolver} that does no MX lookup: it resolves the domain's own A/AAAA
 * records with the JDK's blocking resolver on the given executor (never an event loop). Wired
 * only until the dnsjava MX resolver is on main; every failure is temporary (the JDK cannot tell
 * NXDOMAIN from SERVFAIL). Thread-safe.
 */
public final class InetAddressFallbackResolver implements NextHopResolver {
    private final Executor executor;

    /** @param executor runs the blocking lookups */
    public InetAddressFallbackResolver(Executor executor) {
        this.executor = executor;
    }

    @Override
    public CompletableFuture<List<NextHop>> resolve(String domain, int port) {
        String name = domain.toLowerCase(Locale.ROOT);
        return CompletableFuture.supplyAsync(() -> {
            try {
                List<NextHop> hops = new ArrayList<>();
                for (InetAddress address : InetAddress.getAllByName(name)) {
                    hops.add(new NextHop(name, address, port, 0));
                }
                return hops;
            } catch (UnknownHostException e) {
                throw new java.util.concurrent.CompletionException(
                        new NextHopLookupException(false, "4.4.3", "cannot resolve " + name + ": " + e.getMessage()));
            }
        }, executor);
    }
}
