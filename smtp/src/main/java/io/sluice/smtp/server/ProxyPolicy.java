package io.sluice.smtp.server;

import java.net.InetAddress;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * The PROXY protocol rules of a {@code +proxy} listener: which peers may send a header (the load
 * balancers) and how long the header may take. Immutable; any thread.
 *
 * @param trustedBalancers   true for a peer allowed to name the client; called once per connection
 * @param headerTimeoutNanos from connect to the end of the header
 */
public record ProxyPolicy(Predicate<InetAddress> trustedBalancers, long headerTimeoutNanos) {

    /** Checks the predicate is there and the timeout positive. */
    public ProxyPolicy {
        Objects.requireNonNull(trustedBalancers, "trustedBalancers");
        if (headerTimeoutNanos <= 0) {
            throw new IllegalArgumentException("headerTimeoutNanos=" + headerTimeoutNanos + " <= 0");
        }
    }
}
