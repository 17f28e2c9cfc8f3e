package io.sluice.smtp.dns;

import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Plain DNS questions beyond MX routing, answered through the same resolver, cache and timeouts
 * (so {@code dns.resolver} points them at a test stub too): TXT strings and host addresses. The
 * MTA-STS discovery (RFC 8461 §3) asks these. Non-blocking: futures complete on a resolver
 * thread. Thread-safe.
 */
public interface DnsLookup {

    /**
     * The TXT records of a name, each one's character strings joined; CNAMEs followed.
     *
     * @return the records, empty for no such name or no TXT; fails with a temporary
     *         {@link NextHopLookupException} on SERVFAIL or timeout
     */
    CompletableFuture<List<String>> txt(String name);

    /**
     * The IPv4 then IPv6 addresses of a host; CNAMEs followed.
     *
     * @return the addresses, empty when the host has none; fails with a temporary
     *         {@link NextHopLookupException} when neither lookup answered
     */
    CompletableFuture<List<InetAddress>> addresses(String host);
}
