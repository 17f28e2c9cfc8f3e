package io.sluice.smtp.dns;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Finds where mail for a domain goes (RFC 5321 §5.1): its MX hosts in preference order
 * (randomised among equals), each resolved to its addresses, or the domain's own A/AAAA when it
 * has no MX. Non-blocking: the future completes later on a resolver thread, never on the caller's.
 * Thread-safe.
 */
public interface NextHopResolver {

    /**
     * Resolves a domain.
     *
     * @param domain the recipient domain (or an {@code smtp:DOMAIN} route's target), any case
     * @param port   the port every returned hop carries
     * @return the hops to try in order, never empty; or completes exceptionally with a
     *         {@link NextHopLookupException} saying whether the failure is permanent
     */
    CompletableFuture<List<NextHop>> resolve(String domain, int port);
}
