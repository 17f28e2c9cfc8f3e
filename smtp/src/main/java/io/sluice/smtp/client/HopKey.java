package io.sluice.smtp.client;

import java.net.InetSocketAddress;

import io.sluice.smtp.config.ClientTlsLevel;

/**
 * What makes two outbound connections interchangeable: the address, whether it speaks LMTP, the
 * TLS level, the host name TLS checks and remembers, and the credentials it authenticated with
 * (so a pooled connection never carries a message for another identity, and an unauthenticated
 * one never serves a destination that needs AUTH). The connection pool's key. A value.
 *
 * @param address the next hop's IP address and port
 * @param lmtp    LMTP (LHLO, a reply per recipient) rather than SMTP
 * @param level   the TLS level the connection was opened under
 * @param tlsName the MX or next-hop host name (SNI, {@code verify}, TLS memory)
 * @param credentials what the connection authenticates with (compared by identity: one per
 *                    configured destination), or null for none
 */
record HopKey(InetSocketAddress address, boolean lmtp, ClientTlsLevel level, String tlsName,
        SmtpCredentials credentials) {

    /** {@code name[ip]:port} as logs and DSNs show a peer. */
    String describe() {
        return tlsName + "[" + address.getAddress().getHostAddress() + "]:" + address.getPort();
    }
}
