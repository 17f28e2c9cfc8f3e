package io.sluice.smtp.dns;

import java.net.InetAddress;
import java.util.Objects;

/**
 * One address to try when delivering to a domain: an MX host (or the domain itself when it has
 * no MX) resolved to one IP address. Immutable; any thread.
 *
 * @param hostName   the MX host name (or the domain for the A/AAAA fallback), lower case, no trailing dot;
 *                   what {@code verify} TLS matches the certificate against and what SNI names
 * @param address    the IP address to connect to
 * @param port       the TCP port
 * @param preference the MX preference (0 for the fallback), lower first
 */
public record NextHop(String hostName, InetAddress address, int port, int preference) {

    /** Validates the fields. */
    public NextHop {
        Objects.requireNonNull(hostName, "hostName");
        Objects.requireNonNull(address, "address");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port=" + port + " outside 1..65535");
        }
    }
}
