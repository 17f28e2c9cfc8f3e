package io.sluice.bench.load;

/**
 * Whether a load session opens each connection with a PROXY protocol header (HAProxy's
 * proxy-protocol.txt), as a TCP load balancer in front of the server would. An immutable
 * constant; any thread.
 */
public enum ProxyMode {
    /** No header: the session speaks SMTP (or TLS) from the first byte. */
    NONE,
    /** A v1 text line: {@code PROXY TCP4|TCP6 src dst srcport dstport CRLF}. */
    V1,
    /** A v2 binary header: signature, PROXY over STREAM, AF_INET or AF_INET6, no TLVs. */
    V2
}
