package io.sluice.smtp.server;

import java.net.Inet4Address;
import java.net.InetAddress;

/**
 * Turns a client address into the 64-bit key that the per-client limits ({@link ConnectionLimiter},
 * {@link ClientRateLimiter}) count under: an IPv4 address (also written as IPv4-mapped IPv6,
 * {@code ::ffff:a.b.c.d}) by the whole address, any other IPv6 address by its first
 * {@link #ipv6PrefixBits()} bits, because one IPv6 client usually holds a whole /64 and can rotate
 * through it. Immutable; any thread. {@link #of} builds no {@code InetAddress}: it hashes the prefix
 * bytes into a {@code long}, so a session computes its key once and the limiters take it unboxed.
 */
public final class ClientKey {

    /** The usual end-site allocation: what one IPv6 host (or subscriber) can rotate through. */
    public static final int DEFAULT_IPV6_PREFIX_BITS = 64;
    /** IPv6 clients by /64, IPv4 clients by address. */
    public static final ClientKey DEFAULT = new ClientKey(DEFAULT_IPV6_PREFIX_BITS);

    /** Tells the two families apart before mixing, so 10.0.0.1 and ::a00:1 never share a key. */
    private static final long IPV4_TAG = 0x4L << 32;

    private final int ipv6PrefixBits;

    /** @param ipv6PrefixBits leading bits of an IPv6 address that identify a client, 0..128 */
    public ClientKey(int ipv6PrefixBits) {
        if (ipv6PrefixBits < 0 || ipv6PrefixBits > 128) {
            throw new IllegalArgumentException("ipv6PrefixBits=" + ipv6PrefixBits + " not in [0, 128]");
        }
        this.ipv6PrefixBits = ipv6PrefixBits;
    }

    public int ipv6PrefixBits() {
        return ipv6PrefixBits;
    }

    /** The key {@code client} is counted under; equal for addresses in one IPv6 prefix. */
    public long of(InetAddress client) {
        if (client instanceof Inet4Address) {
            return ipv4(client.hashCode()); // Inet4Address.hashCode() is the address itself
        }
        // getAddress() copies the 16 octets (no API lends them); it is called once per connection,
        // next to the InetSocketAddress and InetAddress the channel has already made for this peer.
        byte[] a = client.getAddress();
        if (a.length == 4) {
            return ipv4(int32(a, 0));
        }
        long high = (long) int32(a, 0) << 32 | int32(a, 4) & 0xFFFF_FFFFL;
        long low = (long) int32(a, 8) << 32 | int32(a, 12) & 0xFFFF_FFFFL;
        if (high == 0 && low >>> 32 == 0xFFFF) { // ::ffff:0:0/96, an IPv4 client on a dual-stack socket
            return ipv4((int) low);
        }
        return mix(mix(keepFirst(high, ipv6PrefixBits) ^ ipv6PrefixBits) ^ keepFirst(low, ipv6PrefixBits - 64));
    }

    private static long ipv4(int address) {
        return mix(IPV4_TAG | address & 0xFFFF_FFFFL);
    }

    /** The first (most significant) {@code bits} of {@code word}, the rest zero. */
    private static long keepFirst(long word, int bits) {
        if (bits <= 0) {
            return 0;
        }
        return bits >= 64 ? word : word & -1L << (64 - bits);
    }

    /** The big-endian int of four octets, as Inet4Address.hashCode() gives it. */
    private static int int32(byte[] a, int at) {
        return (a[at] & 0xFF) << 24 | (a[at + 1] & 0xFF) << 16 | (a[at + 2] & 0xFF) << 8 | a[at + 3] & 0xFF;
    }

    /** murmur3's 64-bit finalizer: every input bit moves about half the output bits. */
    private static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb53a185ce4bbL;
        h ^= h >>> 33;
        return h;
    }
}
