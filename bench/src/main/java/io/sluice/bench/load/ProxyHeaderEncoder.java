package io.sluice.bench.load;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * Writes the PROXY protocol header (proxy-protocol.txt, v1 or v2) that names a connection's own
 * ends, client first: what HAProxy's {@code send-proxy} / {@code send-proxy-v2} would send for it.
 * Two IPv4 ends make TCP4 / AF_INET; anything else TCP6 / AF_INET6, an IPv4 end written IPv4-mapped.
 * v1 addresses are written in full (dotted quad, eight hex groups), the form every reader takes.
 *
 * <p>Stateless; any thread. Allocates only what {@link InetAddress#getAddress()} returns, once per
 * connection (not per message).
 */
final class ProxyHeaderEncoder {

    /** Room for the longest header written: a v1 TCP6 line is at most 104 octets, v2 AF_INET6 52. */
    static final int MAX_OCTETS = 108;

    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    private static final byte V2_PROXY_COMMAND = 0x21;
    private static final byte V2_TCP4 = 0x11;
    private static final byte V2_TCP6 = 0x21;
    private static final byte[] HEX = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private ProxyHeaderEncoder() {
    }

    /**
     * Writes the header for a connection from {@code source} (the client: our local end) to
     * {@code destination} (the server) into {@code out} from index 0.
     *
     * @return the header's length in octets
     * @throws IllegalArgumentException for {@link ProxyMode#NONE}, or an {@code out} shorter than {@link #MAX_OCTETS}
     */
    static int encode(ProxyMode mode, InetSocketAddress source, InetSocketAddress destination, byte[] out) {
        if (out.length < MAX_OCTETS) {
            throw new IllegalArgumentException("out.length=" + out.length + " < MAX_OCTETS=" + MAX_OCTETS);
        }
        InetAddress from = source.getAddress();
        InetAddress to = destination.getAddress();
        boolean ipv4 = from instanceof Inet4Address && to instanceof Inet4Address;
        byte[] fromOctets = octets(from, ipv4);
        byte[] toOctets = octets(to, ipv4);
        return switch (mode) {
            case V1 -> v1(ipv4, fromOctets, toOctets, source.getPort(), destination.getPort(), out);
            case V2 -> v2(ipv4, fromOctets, toOctets, source.getPort(), destination.getPort(), out);
            case NONE -> throw new IllegalArgumentException("no header for ProxyMode.NONE");
        };
    }

    /** 4 octets for TCP4; 16 for TCP6, an IPv4 address as ::ffff:a.b.c.d. */
    private static byte[] octets(InetAddress address, boolean ipv4) {
        byte[] raw = address.getAddress();
        if (ipv4 || raw.length == 16) {
            return raw;
        }
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xFF;
        mapped[11] = (byte) 0xFF;
        System.arraycopy(raw, 0, mapped, 12, 4);
        return mapped;
    }

    private static int v1(boolean ipv4, byte[] from, byte[] to, int fromPort, int toPort, byte[] out) {
        int at = ascii(ipv4 ? "PROXY TCP4 " : "PROXY TCP6 ", out, 0);
        at = address(from, out, at);
        out[at++] = ' ';
        at = address(to, out, at);
        out[at++] = ' ';
        at = decimal(fromPort, out, at);
        out[at++] = ' ';
        at = decimal(toPort, out, at);
        out[at++] = '\r';
        out[at++] = '\n';
        return at;
    }

    private static int v2(boolean ipv4, byte[] from, byte[] to, int fromPort, int toPort, byte[] out) {
        System.arraycopy(V2_SIGNATURE, 0, out, 0, V2_SIGNATURE.length);
        int at = V2_SIGNATURE.length;
        int block = 2 * from.length + 4;
        out[at++] = V2_PROXY_COMMAND;
        out[at++] = ipv4 ? V2_TCP4 : V2_TCP6;
        out[at++] = (byte) (block >>> 8);
        out[at++] = (byte) block;
        System.arraycopy(from, 0, out, at, from.length);
        at += from.length;
        System.arraycopy(to, 0, out, at, to.length);
        at += to.length;
        at = port(fromPort, out, at);
        return port(toPort, out, at);
    }

    private static int address(byte[] octets, byte[] out, int at) {
        if (octets.length == 4) {
            for (int i = 0; i < 4; i++) {
                if (i > 0) {
                    out[at++] = '.';
                }
                at = decimal(octets[i] & 0xFF, out, at);
            }
            return at;
        }
        for (int group = 0; group < 8; group++) {
            if (group > 0) {
                out[at++] = ':';
            }
            at = hex((octets[2 * group] & 0xFF) << 8 | octets[2 * group + 1] & 0xFF, out, at);
        }
        return at;
    }

    /** Without leading zeros, as v1 requires of ports and IPv4 octets. */
    private static int decimal(int value, byte[] out, int at) {
        if (value >= 10) {
            at = decimal(value / 10, out, at);
        }
        out[at] = (byte) ('0' + value % 10);
        return at + 1;
    }

    private static int hex(int value, byte[] out, int at) {
        if (value >= 16) {
            at = hex(value >>> 4, out, at);
        }
        out[at] = HEX[value & 0xF];
        return at + 1;
    }

    private static int port(int port, byte[] out, int at) {
        out[at] = (byte) (port >>> 8);
        out[at + 1] = (byte) port;
        return at + 2;
    }

    private static int ascii(String text, byte[] out, int at) {
        for (int i = 0; i < text.length(); i++) {
            out[at++] = (byte) text.charAt(i);
        }
        return at;
    }
}
