package io.sluice.smtp.client;

import java.net.InetSocketAddress;

import io.sluice.smtp.config.ClientTlsLevel;

/**
 * What makes two outbound connections interchangeable: the address, whether it speaks LMTP, the
 * TLS level and the host name TLS checks and remembers. The connection pool's key. A value.
 *
 * @param address the next hop's IP address and port
 * @param lmtp    LMTP (LHLO, a reply per recipient) rather than SMTP
 * @param level   the TLS level the connection was opened under
 * @param tlsName the MX or next-hop host name (SNI, {@code verify}, TLS memory)
 */
record HopKey(InetSocketAddress address, boolean lmtp, ClientTlsLevel level, String tlsName) {

    /** {@code name[ip]:port} as logs and DSNs show a peer. */
    String describe() {
        return tlsName + "[" + address.getAddress().getHostAddress() + "]:" + address.getPort();
    }
}
