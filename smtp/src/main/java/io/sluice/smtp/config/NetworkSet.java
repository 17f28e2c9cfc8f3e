package io.sluice.smtp.config;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A set of IPv4 and IPv6 networks (CIDR prefixes), e.g. {@code relay.networks}. Immutable; any
 * thread may call {@link #contains} concurrently.
 *
 * <p>Networks are kept as precomputed value/mask arrays (one int per IPv4 network, two longs per
 * IPv6 network), so a lookup is a few AND/compare operations and allocates nothing, with one
 * exception documented on {@link #contains(InetAddress)}. An IPv4-mapped IPv6 address
 * ({@code ::ffff:a.b.c.d}) is matched against the IPv4 networks.
 */
public final class NetworkSet {
    /** The empty set: contains nothing. */
    public static final NetworkSet EMPTY = new NetworkSet(new int[0], new int[0], new long[0], List.of());

    /**
     * OpenJDK's Inet4Address.hashCode() is the address as a big-endian int; using it avoids the
     * array copy that getAddress() makes. Verified once here so a JDK that differs falls back.
     */
    private static final boolean V4_HASH_IS_ADDRESS = checkV4Hash();

    private final int[] v4Values;
    private final int[] v4Masks;
    /** Per IPv6 network four longs: value high, value low, mask high, mask low. */
    private final long[] v6;
    private final List<String> canonical;

    private NetworkSet(int[] v4Values, int[] v4Masks, long[] v6, List<String> canonical) {
        this.v4Values = v4Values;
        this.v4Masks = v4Masks;
        this.v6 = v6;
        this.canonical = canonical;
    }

    /**
     * Parses a comma-separated list of networks: {@code 127.0.0.0/8, ::1/128, 10.1.2.3}. A bare
     * address is a single host (/32 or /128). Host names are refused (no DNS at startup).
     *
     * @throws IllegalArgumentException with a one-line reason naming the bad entry
     */
    public static NetworkSet parse(String text) {
        return ValueTypes.networks().parse(text);
    }

    static NetworkSet of(List<byte[]> addresses, List<Integer> prefixes) {
        int v4Count = 0;
        for (byte[] a : addresses) {
            v4Count += a.length == 4 ? 1 : 0;
        }
        int[] values = new int[v4Count];
        int[] masks = new int[v4Count];
        long[] v6 = new long[(addresses.size() - v4Count) * 4];
        List<String> canonical = new ArrayList<>(addresses.size());
        int i4 = 0;
        int i6 = 0;
        for (int i = 0; i < addresses.size(); i++) {
            byte[] a = addresses.get(i);
            int prefix = prefixes.get(i);
            if (a.length == 4) {
                masks[i4] = prefix == 0 ? 0 : -1 << (32 - prefix);
                values[i4++] = toInt(a, 0);
            } else {
                v6[i6] = toLong(a, 0);
                v6[i6 + 1] = toLong(a, 8);
                v6[i6 + 2] = prefix == 0 ? 0 : prefix >= 64 ? -1L : -1L << (64 - prefix);
                v6[i6 + 3] = prefix <= 64 ? 0 : prefix == 128 ? -1L : -1L << (128 - prefix);
                i6 += 4;
            }
            canonical.add(InetLiterals.format(a) + "/" + prefix);
        }
        return new NetworkSet(values, masks, v6, List.copyOf(canonical));
    }

    /**
     * True when the address is in one of the networks. Allocates nothing for IPv4; for IPv6 the
     * JDK offers no way to read the address without copying its 16 bytes, so callers on a hot
     * path should decide once per connection (or keep the bytes and use {@link #contains(byte[])}).
     */
    public boolean contains(InetAddress address) {
        if (address instanceof Inet4Address) {
            return containsV4(V4_HASH_IS_ADDRESS ? address.hashCode() : toInt(address.getAddress(), 0));
        }
        return contains(address.getAddress());
    }

    /** True when the 4- or 16-byte address is in one of the networks. Allocates nothing. */
    public boolean contains(byte[] address) {
        if (address.length == 4) {
            return containsV4(toInt(address, 0));
        }
        if (address.length != 16) {
            return false;
        }
        if (isV4Mapped(address)) {
            return containsV4(toInt(address, 12));
        }
        return containsV6(toLong(address, 0), toLong(address, 8));
    }

    /** True when no network is configured. */
    public boolean isEmpty() {
        return canonical.isEmpty();
    }

    /** The networks in canonical form, e.g. {@code [127.0.0.0/8, ::1/128]}. */
    public List<String> networks() {
        return canonical;
    }

    private boolean containsV4(int a) {
        for (int i = 0; i < v4Values.length; i++) {
            if ((a & v4Masks[i]) == v4Values[i]) {
                return true;
            }
        }
        return false;
    }

    private boolean containsV6(long hi, long lo) {
        for (int i = 0; i < v6.length; i += 4) {
            if ((hi & v6[i + 2]) == v6[i] && (lo & v6[i + 3]) == v6[i + 1]) {
                return true;
            }
        }
        return false;
    }

    private static boolean isV4Mapped(byte[] a) {
        for (int i = 0; i < 10; i++) {
            if (a[i] != 0) {
                return false;
            }
        }
        return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
    }

    static int toInt(byte[] a, int from) {
        return (a[from] & 0xff) << 24 | (a[from + 1] & 0xff) << 16 | (a[from + 2] & 0xff) << 8 | (a[from + 3] & 0xff);
    }

    private static long toLong(byte[] a, int from) {
        return (long) toInt(a, from) << 32 | (toInt(a, from + 4) & 0xffffffffL);
    }

    private static boolean checkV4Hash() {
        try {
            for (byte[] sample : new byte[][] {{10, 1, 2, 3}, {(byte) 192, (byte) 168, 0, (byte) 255}}) {
                if (InetAddress.getByAddress(sample).hashCode() != toInt(sample, 0)) {
                    return false;
                }
            }
            return true;
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NetworkSet other && canonical.equals(other.canonical);
    }

    @Override
    public int hashCode() {
        return canonical.hashCode();
    }

    /** The configuration form, e.g. {@code 127.0.0.0/8, ::1/128}. */
    @Override
    public String toString() {
        return String.join(", ", canonical);
    }
}
