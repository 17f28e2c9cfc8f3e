package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** Which addresses the per-client limits count as one client. */
class ClientKeyTest {

    private final ClientKey slash64 = ClientKey.DEFAULT;

    @Test
    void addressesInOneSlash64ShareAKey() throws Exception {
        long first = slash64.of(ip("2001:db8:aa:bb::1"));
        assertEquals(first, slash64.of(ip("2001:db8:aa:bb::2")));
        assertEquals(first, slash64.of(ip("2001:db8:aa:bb:ffff:ffff:ffff:ffff")));
        assertEquals(first, slash64.of(ip("2001:db8:aa:bb:8000::")));
        assertEquals(first, slash64.of(ip("2001:db8:aa:bb::")));
    }

    @Test
    void differentSlash64sDoNot() throws Exception {
        Set<Long> keys = new HashSet<>();
        keys.add(slash64.of(ip("2001:db8:aa:bb::1")));
        keys.add(slash64.of(ip("2001:db8:aa:bc::1"))); // last bit of the prefix
        keys.add(slash64.of(ip("2001:db8:aa:ba::1")));
        keys.add(slash64.of(ip("3001:db8:aa:bb::1"))); // first bit of the prefix
        keys.add(slash64.of(ip("2001:db8:ab:bb::1")));
        assertEquals(5, keys.size(), "five /64s, five keys");
    }

    @Test
    void ipv4ByTheWholeAddress() throws Exception {
        assertNotEquals(slash64.of(ip("192.0.2.1")), slash64.of(ip("192.0.2.2")));
        assertNotEquals(slash64.of(ip("192.0.2.1")), slash64.of(ip("193.0.2.1")));
        assertEquals(slash64.of(ip("192.0.2.1")), slash64.of(ip("192.0.2.1")));
    }

    @Test
    void ipv4MappedIpv6CountsAsItsIpv4Address() throws Exception {
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        mapped[12] = (byte) 192;
        mapped[14] = 2;
        mapped[15] = 1;
        // getByAddress(byte[]) would unmap it already; this factory keeps the IPv6 form a socket may report.
        InetAddress v6 = Inet6Address.getByAddress(null, mapped, -1);
        assertEquals(16, v6.getAddress().length);
        assertEquals(slash64.of(ip("192.0.2.1")), slash64.of(v6));
        mapped[15] = 2;
        assertNotEquals(slash64.of(ip("192.0.2.1")), slash64.of(Inet6Address.getByAddress(null, mapped, -1)),
                "two mapped addresses of one /64 are two IPv4 clients");
        assertNotEquals(slash64.of(ip("::c000:201")), slash64.of(ip("192.0.2.1")), "IPv4-compatible is not mapped");
    }

    @Test
    void ipv4AndIpv6NeverShareAKeyByConstruction() throws Exception {
        InetAddress v4 = ip("10.0.0.1");
        assertTrue(v4 instanceof Inet4Address);
        assertNotEquals(new ClientKey(128).of(ip("::a00:1")), new ClientKey(128).of(v4));
    }

    @Test
    void otherPrefixLengthsIncludingUnalignedOnes() throws Exception {
        ClientKey slash48 = new ClientKey(48);
        assertEquals(slash48.of(ip("2001:db8:aa:1::1")), slash48.of(ip("2001:db8:aa:ffff::9")));
        assertNotEquals(slash48.of(ip("2001:db8:aa::1")), slash48.of(ip("2001:db8:ab::1")));
        ClientKey slash60 = new ClientKey(60);
        assertEquals(slash60.of(ip("2001:db8:0:10::1")), slash60.of(ip("2001:db8:0:1f::1")), "same /60");
        assertNotEquals(slash60.of(ip("2001:db8:0:10::1")), slash60.of(ip("2001:db8:0:20::1")), "next /60");
        ClientKey slash120 = new ClientKey(120);
        assertEquals(slash120.of(ip("2001:db8::1:100")), slash120.of(ip("2001:db8::1:1ff")));
        assertNotEquals(slash120.of(ip("2001:db8::1:100")), slash120.of(ip("2001:db8::1:200")));
        ClientKey slash128 = new ClientKey(128);
        assertNotEquals(slash128.of(ip("2001:db8::1")), slash128.of(ip("2001:db8::2")));
        ClientKey slash0 = new ClientKey(0);
        assertEquals(slash0.of(ip("2001:db8::1")), slash0.of(ip("fe80::1")), "/0: all IPv6 clients are one");
        assertNotEquals(slash0.of(ip("2001:db8::1")), slash0.of(ip("192.0.2.1")));
        assertNotEquals(slash64.of(ip("2001:db8::")), new ClientKey(63).of(ip("2001:db8::")),
                "the prefix length is part of the key");
    }

    @Test
    void prefixLengthOutsideZeroTo128IsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ClientKey(-1));
        assertThrows(IllegalArgumentException.class, () -> new ClientKey(129));
        assertEquals(64, ClientKey.DEFAULT.ipv6PrefixBits());
    }

    private static InetAddress ip(String literal) throws UnknownHostException {
        return InetAddress.getByName(literal);
    }
}
