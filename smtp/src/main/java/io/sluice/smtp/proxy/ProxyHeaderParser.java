package io.sluice.smtp.proxy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Reads the PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a TCP load
 * balancer sends before the client's first byte, straight from the read buffer with absolute gets:
 * no copy and no allocation. Strict and bounded: v1 is one line of at most {@link #V1_MAX_OCTETS}
 * ending in CRLF with single spaces and canonical numbers; v2 is the 12-octet signature, version
 * 2, command LOCAL or PROXY, a family and a length of at most {@link #V2_MAX_OCTETS} in all, whose
 * address block fits the family and whose TLVs exactly fill the rest (they are walked, not kept).
 *
 * <p>{@link #parse} keeps no state between calls: given the bytes received so far it either needs
 * more ({@link Result#INCOMPLETE}, nothing consumed; the connection keeps them and presents them
 * again with more appended), or consumes exactly the header and leaves whatever followed it (the
 * client's pipelined SMTP, or its TLS ClientHello) in the buffer, or refuses. A header split at
 * any point is therefore read the same as one in a single read. The outcome's source address
 * stays in this object until the next call, so one parser serves every session of a loop; use it
 * on that loop's thread only.
 */
public final class ProxyHeaderParser {

    /** What {@link #parse} found. */
    public enum Result {
        /** Not a whole header yet, and nothing wrong so far: read more. Nothing consumed. */
        INCOMPLETE,
        /** A proxied TCP connection: {@link #sourceAddress()} is the client. Header consumed. */
        PROXIED,
        /**
         * v2 LOCAL, v1 UNKNOWN, or v2 PROXY over AF_UNSPEC or AF_UNIX: the balancer's own
         * connection (a health check) or no usable address; keep the socket's peer. Header consumed.
         */
        LOCAL,
        /** Not a valid header; {@link #problem()} says why. Nothing consumed. */
        MALFORMED,
        /** Longer than the limit for its version; {@link #problem()} says which. Nothing consumed. */
        TOO_LONG
    }

    /** proxy-protocol.txt 2.1: a v1 line is at most 107 octets, CRLF included. */
    public static final int V1_MAX_OCTETS = 107;
    /**
     * Largest v2 header we read, signature, address block and TLVs: the largest address block
     * (AF_UNIX, 216) leaves 1,816 octets of TLVs, several times what HAProxy, AWS NLB or GCP send
     * (authority at most 255, unique-id at most 128, SSL details, VPC endpoint ids), and well
     * inside a connection's 16 KiB pooled buffer.
     */
    public static final int V2_MAX_OCTETS = 2048;

    /** v2: {@code \r\n\r\n\0\r\nQUIT\n}. */
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    private static final int V2_FIXED_OCTETS = 16;
    private static final byte[] V1_PREFIX = {'P', 'R', 'O', 'X', 'Y', ' '};
    private static final int INET_BLOCK = 12;
    private static final int INET6_BLOCK = 36;
    private static final int UNIX_BLOCK = 216;
    private static final int TLV_HEADER = 3;
    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final byte SP = ' ';

    private final byte[] source = new byte[16];
    /** The destination is checked, not kept: a reused array rather than one per header. */
    private final byte[] destinationScratch = new byte[16];
    private int sourceLength;
    private int sourcePort;
    private int version;
    private String problem;

    /**
     * Looks for a header at {@code in}'s position. On {@link Result#PROXIED} and {@link Result#LOCAL}
     * the position moves past the header, and only then; the limit is never changed.
     */
    public Result parse(ByteBuffer in) {
        sourceLength = 0;
        sourcePort = 0;
        version = 0;
        problem = null;
        if (!in.hasRemaining()) {
            return Result.INCOMPLETE;
        }
        byte first = in.get(in.position());
        if (first == V1_PREFIX[0]) {
            version = 1;
            return parseV1(in);
        }
        if (first == V2_SIGNATURE[0]) {
            version = 2;
            return parseV2(in);
        }
        return malformed("no PROXY signature");
    }

    /** The version of the header last parsed (1 or 2), 0 when it was neither. */
    public int version() {
        return version;
    }

    /** Why the last {@link #parse} refused; {@code null} after any other result. A constant: safe to log. */
    public String problem() {
        return problem;
    }

    /** The client's port after {@link Result#PROXIED}. */
    public int sourcePort() {
        return sourcePort;
    }

    /**
     * The client's address after {@link Result#PROXIED}, as the JDK represents it (an IPv4-mapped
     * IPv6 address comes back as IPv4, as it does from a dual-stack socket). Allocates the
     * address, once per proxied connection: the session keeps it as the client's identity.
     *
     * @throws IllegalStateException after any other result
     */
    public InetAddress sourceAddress() {
        if (sourceLength == 0) {
            throw new IllegalStateException("no source address: the last header was not PROXIED");
        }
        try {
            return InetAddress.getByAddress(sourceLength == 4 ? Arrays.copyOf(source, 4) : source.clone());
        } catch (UnknownHostException e) {
            throw new AssertionError("4 or 16 octets are always an address", e);
        }
    }

    // ---- version 1 ------------------------------------------------------------------------

    private Result parseV1(ByteBuffer in) {
        int start = in.position();
        int available = Math.min(in.remaining(), V1_MAX_OCTETS);
        for (int i = 0; i < Math.min(available, V1_PREFIX.length); i++) {
            if (in.get(start + i) != V1_PREFIX[i]) {
                return malformed("v1: no \"PROXY \"");
            }
        }
        int end = -1; // index of the CR of the line's CRLF
        for (int i = 0; i < available; i++) {
            byte b = in.get(start + i);
            if (b == CR) {
                if (i + 1 == available) {
                    break; // its LF may still come
                }
                if (in.get(start + i + 1) != LF) {
                    return malformed("v1: bare CR");
                }
                end = start + i;
                break;
            }
            if (b == LF) {
                return malformed("v1: bare LF");
            }
            if (b < 0x20 || b > 0x7E) {
                return malformed("v1: not printable ASCII");
            }
        }
        if (end < 0) {
            return in.remaining() >= V1_MAX_OCTETS ? tooLong("v1: no CRLF within 107 octets") : Result.INCOMPLETE;
        }
        Result result = parseV1Line(in, start + V1_PREFIX.length, end);
        if (result != Result.MALFORMED) {
            in.position(end + 2);
        }
        return result;
    }

    /** The line after "PROXY " up to (not including) its CR at {@code end}. */
    private Result parseV1Line(ByteBuffer in, int at, int end) {
        int protocolEnd = indexOf(in, SP, at, end);
        if (matches(in, at, end, "UNKNOWN")) {
            return Result.LOCAL; // proxy-protocol.txt 2.1: the rest of an UNKNOWN line is ignored
        }
        if (protocolEnd < 0) {
            return malformed("v1: no addresses");
        }
        int family;
        if (matches(in, at, protocolEnd, "TCP4")) {
            family = 4;
        } else if (matches(in, at, protocolEnd, "TCP6")) {
            family = 16;
        } else if (matches(in, at, protocolEnd, "UNKNOWN")) {
            return Result.LOCAL;
        } else {
            return malformed("v1: protocol not TCP4, TCP6 or UNKNOWN");
        }
        int sourceEnd = indexOf(in, SP, protocolEnd + 1, end);
        int destinationEnd = sourceEnd < 0 ? -1 : indexOf(in, SP, sourceEnd + 1, end);
        int sourcePortEnd = destinationEnd < 0 ? -1 : indexOf(in, SP, destinationEnd + 1, end);
        if (sourcePortEnd < 0 || indexOf(in, SP, sourcePortEnd + 1, end) >= 0) {
            return malformed("v1: not four fields after the protocol");
        }
        int written = family == 4 ? InetText.parseIpv4(in, protocolEnd + 1, sourceEnd, source, 0)
                : InetText.parseIpv6(in, protocolEnd + 1, sourceEnd, source);
        if (written < 0) {
            return malformed(family == 4 ? "v1: bad TCP4 source address" : "v1: bad TCP6 source address");
        }
        byte[] scratch = destinationScratch;
        int destination = family == 4 ? InetText.parseIpv4(in, sourceEnd + 1, destinationEnd, scratch, 0)
                : InetText.parseIpv6(in, sourceEnd + 1, destinationEnd, scratch);
        if (destination < 0) {
            return malformed(family == 4 ? "v1: bad TCP4 destination address" : "v1: bad TCP6 destination address");
        }
        int port = InetText.parsePort(in, destinationEnd + 1, sourcePortEnd);
        if (port < 0 || InetText.parsePort(in, sourcePortEnd + 1, end) < 0) {
            return malformed("v1: bad port");
        }
        sourceLength = family;
        sourcePort = port;
        return Result.PROXIED;
    }

    private static int indexOf(ByteBuffer in, byte b, int from, int end) {
        for (int i = from; i < end; i++) {
            if (in.get(i) == b) {
                return i;
            }
        }
        return -1;
    }

    private static boolean matches(ByteBuffer in, int from, int end, String word) {
        if (end - from != word.length()) {
            return false;
        }
        for (int i = 0; i < word.length(); i++) {
            if (in.get(from + i) != word.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    // ---- version 2 ------------------------------------------------------------------------

    private Result parseV2(ByteBuffer in) {
        int start = in.position();
        int available = in.remaining();
        for (int i = 0; i < Math.min(available, V2_SIGNATURE.length); i++) {
            if (in.get(start + i) != V2_SIGNATURE[i]) {
                return malformed("v2: bad signature");
            }
        }
        if (available < V2_FIXED_OCTETS) {
            if (available > 12 && (in.get(start + 12) & 0xF0) != 0x20) {
                return malformed("v2: version not 2"); // say so early rather than wait for the length
            }
            return Result.INCOMPLETE;
        }
        int versionCommand = in.get(start + 12) & 0xFF;
        int familyProtocol = in.get(start + 13) & 0xFF;
        int length = (in.get(start + 14) & 0xFF) << 8 | in.get(start + 15) & 0xFF;
        if (versionCommand >>> 4 != 2) {
            return malformed("v2: version not 2");
        }
        int command = versionCommand & 0x0F;
        if (command > 1) {
            return malformed("v2: command not LOCAL or PROXY");
        }
        if (V2_FIXED_OCTETS + length > V2_MAX_OCTETS) {
            return tooLong("v2: length > 2032");
        }
        if (available < V2_FIXED_OCTETS + length) {
            return Result.INCOMPLETE;
        }
        int body = start + V2_FIXED_OCTETS;
        Result result = command == 0 ? Result.LOCAL : v2Addresses(in, familyProtocol, body, length);
        if (result == Result.MALFORMED) {
            return result;
        }
        in.position(body + length);
        return result;
    }

    /** The PROXY command's address block and TLVs, {@code length} octets from {@code body}. */
    private Result v2Addresses(ByteBuffer in, int familyProtocol, int body, int length) {
        int family = familyProtocol >>> 4;
        int protocol = familyProtocol & 0x0F;
        if (family > 3) {
            return malformed("v2: unknown address family");
        }
        if (protocol > 2) {
            return malformed("v2: unknown transport protocol");
        }
        if (family == 0) {
            // AF_UNSPEC (0x00 only: 2.2 has receivers reject any pair it does not list), block ignored.
            return protocol == 0 ? Result.LOCAL : malformed("v2: AF_UNSPEC with a transport protocol");
        }
        if (protocol == 2) {
            return malformed("v2: DGRAM on a stream listener");
        }
        if (protocol == 0) {
            return malformed("v2: PROXY with UNSPEC transport protocol");
        }
        int block = family == 1 ? INET_BLOCK : family == 2 ? INET6_BLOCK : UNIX_BLOCK;
        if (length < block) {
            return malformed("v2: address block shorter than its family needs");
        }
        if (!tlvsFit(in, body + block, body + length)) {
            return malformed("v2: TLVs do not fill the header exactly");
        }
        if (family == 3) {
            return Result.LOCAL; // AF_UNIX: no address a per-IP rule could use
        }
        int octets = family == 1 ? 4 : 16;
        for (int i = 0; i < octets; i++) {
            source[i] = in.get(body + i);
        }
        int port = body + 2 * octets;
        sourceLength = octets;
        sourcePort = (in.get(port) & 0xFF) << 8 | in.get(port + 1) & 0xFF;
        return Result.PROXIED;
    }

    /** Walks the TLVs from {@code at} to {@code end}: each one's header and value must fit. */
    private static boolean tlvsFit(ByteBuffer in, int at, int end) {
        while (at < end) {
            if (end - at < TLV_HEADER) {
                return false;
            }
            int valueLength = (in.get(at + 1) & 0xFF) << 8 | in.get(at + 2) & 0xFF;
            at += TLV_HEADER + valueLength;
        }
        return at == end;
    }

    private Result malformed(String why) {
        problem = why;
        sourceLength = 0;
        return Result.MALFORMED;
    }

    private Result tooLong(String why) {
        problem = why;
        return Result.TOO_LONG;
    }
}
