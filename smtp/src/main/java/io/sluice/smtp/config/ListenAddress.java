package io.sluice.smtp.config;

import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.Objects;

/**
 * One configured listening socket: an address (already resolved) and what it speaks. Immutable;
 * any thread.
 *
 * @param address the local address and port to bind (port 0 = ephemeral, for tests)
 * @param mode what the socket speaks
 * @param proxy every connection starts with a PROXY protocol header from a load balancer
 *              (written {@code +proxy} after the mode)
 */
public record ListenAddress(InetSocketAddress address, ListenerMode mode, boolean proxy) {

    /** The suffix of a mode that marks a PROXY protocol listener. */
    public static final String PROXY_SUFFIX = "+proxy";

    /** Checks both parts are present. */
    public ListenAddress {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(mode, "mode");
    }

    /** A listener whose clients connect directly (no PROXY header). */
    public ListenAddress(InetSocketAddress address, ListenerMode mode) {
        this(address, mode, false);
    }

    /** The form it is written in the configuration, e.g. {@code [::1]:2525 smtps}. */
    @Override
    public String toString() {
        String host = address.getAddress() == null
                ? address.getHostString()
                : InetLiterals.format(address.getAddress().getAddress());
        if (address.getAddress() instanceof Inet6Address) {
            host = "[" + host + "]";
        }
        return host + ":" + address.getPort() + " " + mode.name().toLowerCase(Locale.ROOT) + (proxy ? PROXY_SUFFIX : "");
    }
}
