package io.sluice.smtp.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AddressTypesTest {

    private static String reason(ValueType<?> type, String text) {
        return assertThrows(IllegalArgumentException.class, () -> type.parse(text)).getMessage();
    }

    private static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal); // literals only: no DNS
    }

    @Test
    void listenForms() throws Exception {
        List<ListenAddress> got = ValueTypes.listenAddresses()
                .parse("127.0.0.1:2525, [::1]:2525 smtps, 0.0.0.0:587 submission, localhost:0");
        assertEquals(new ListenAddress(new InetSocketAddress(ip("127.0.0.1"), 2525), ListenerMode.SMTP), got.get(0));
        assertEquals(new ListenAddress(new InetSocketAddress(ip("::1"), 2525), ListenerMode.SMTPS), got.get(1));
        assertTrue(got.get(1).address().getAddress() instanceof Inet6Address);
        assertEquals(ListenerMode.SUBMISSION, got.get(2).mode());
        assertTrue(got.get(2).address().getAddress().isAnyLocalAddress());
        assertTrue(got.get(3).address().getAddress().isLoopbackAddress());
        assertEquals(0, got.get(3).address().getPort());
        assertEquals("[::1]:2525 smtps", got.get(1).toString());
        assertEquals("127.0.0.1:2525 smtp", got.get(0).toString());
    }

    @Test
    void listenProxySuffixMarksAPROXYProtocolListener() throws Exception {
        List<ListenAddress> got = ValueTypes.listenAddresses()
                .parse("0.0.0.0:25 smtp+proxy, [::1]:465 smtps+proxy, 127.0.0.1:587 submission");
        assertEquals(new ListenAddress(new InetSocketAddress(ip("0.0.0.0"), 25), ListenerMode.SMTP, true), got.get(0));
        assertEquals(ListenerMode.SMTPS, got.get(1).mode());
        assertTrue(got.get(1).proxy());
        assertFalse(got.get(2).proxy());
        assertEquals("[::1]:465 smtps+proxy", got.get(1).toString());
        assertEquals(got, ValueTypes.listenAddresses().parse(String.join(", ", got.stream().map(Object::toString).toList())),
                "toString reads back");
        ValueType<List<ListenAddress>> t = ValueTypes.listenAddresses();
        assertTrue(reason(t, "127.0.0.1:25 +proxy").contains("unknown mode +proxy"));
        assertTrue(reason(t, "127.0.0.1:25 lmtp+proxy").contains("unknown mode lmtp+proxy"));
        assertTrue(reason(t, "127.0.0.1:25 smtp +proxy").contains("[+proxy]"));
    }

    @Test
    void listenIpv6WildcardAndFullForm() throws Exception {
        List<ListenAddress> got = ValueTypes.listenAddresses().parse("[::]:25,[0:0:0:0:0:0:0:1]:465 smtps");
        assertTrue(got.get(0).address().getAddress().isAnyLocalAddress());
        assertEquals(ip("::1"), got.get(1).address().getAddress());
    }

    @Test
    void listenErrorsSayWhatIsWrong() {
        ValueType<List<ListenAddress>> t = ValueTypes.listenAddresses();
        assertTrue(reason(t, "::1:25").contains("an IPv6 address needs brackets"));
        assertTrue(reason(t, "127.0.0.1").contains("a port is needed"));
        assertTrue(reason(t, "127.0.0.1:65536").contains("bad port 65536"));
        assertTrue(reason(t, "127.0.0.1:-1").contains("bad port -1"));
        assertTrue(reason(t, "127.0.0.1:25 lmtp").contains("unknown mode lmtp"));
        assertTrue(reason(t, "127.0.0.1:25 smtp extra").contains("expected ADDR:PORT [smtp|smtps|submission]"));
        assertTrue(reason(t, "[::g]:25").contains("bad IPv6 address ::g"));
        assertTrue(reason(t, "[::1]25").contains("expected ADDR:PORT"));
        assertTrue(reason(t, "256.0.0.1:25").contains("bad address 256.0.0.1"));
        assertTrue(reason(t, "127.0.0.1:25, 127.0.0.1:25 smtps").contains("listed twice"));
        assertTrue(reason(t, "").startsWith("the list is empty"));
        assertTrue(reason(t, "no-such-host.invalid:25").contains("cannot resolve host no-such-host.invalid"));
        String r = reason(t, "127.0.0.1:2525, 10.0.0.1:x");
        assertTrue(r.startsWith("entry '10.0.0.1:x': bad port x"), r);
    }

    @Test
    void ipv4LiteralIsStrict() {
        assertEquals(4, InetLiterals.parseIpv4("255.255.255.255").length);
        for (String bad : new String[] {"1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.256", "1..3.4", "1.2.3.4.", "a.b.c.d",
                "1.2.3.1234", ""}) {
            assertEquals(null, InetLiterals.parseIpv4(bad), bad);
        }
    }

    @Test
    void ipv6Formatting() throws Exception {
        assertEquals("::1", InetLiterals.format(ip("::1").getAddress()));
        assertEquals("::", InetLiterals.format(new byte[16]));
        assertEquals("2001:db8::1:0:0:1", InetLiterals.format(ip("2001:db8:0:0:1:0:0:1").getAddress()));
        assertEquals("fe80::", InetLiterals.format(ip("fe80::").getAddress()));
        assertEquals("1:0:2:0:3:0:4:0", InetLiterals.format(ip("1:0:2:0:3:0:4:0").getAddress()));
    }

    @Test
    void networksIpv4() throws Exception {
        NetworkSet s = NetworkSet.parse("127.0.0.0/8, 10.1.2.3, 192.168.0.0/16");
        assertTrue(s.contains(ip("127.255.0.1")));
        assertTrue(s.contains(ip("10.1.2.3")));
        assertFalse(s.contains(ip("10.1.2.4")));
        assertTrue(s.contains(ip("192.168.200.1")));
        assertFalse(s.contains(ip("192.169.0.1")));
        assertFalse(s.contains(ip("128.0.0.1")));
        assertFalse(s.contains(ip("::1")));
        assertEquals("127.0.0.0/8, 10.1.2.3/32, 192.168.0.0/16", s.toString());
    }

    @Test
    void networksIpv6() throws Exception {
        NetworkSet s = NetworkSet.parse("::1/128, 2001:db8::/32, fd00:1:2:3:4::/80");
        assertTrue(s.contains(ip("::1")));
        assertFalse(s.contains(ip("::2")));
        assertTrue(s.contains(ip("2001:db8:ffff::1")));
        assertFalse(s.contains(ip("2001:db9::1")));
        assertTrue(s.contains(ip("fd00:1:2:3:4:0:ffff:1")));
        assertFalse(s.contains(ip("fd00:1:2:3:5::1")));
        assertFalse(s.contains(ip("127.0.0.1")));
        assertEquals(List.of("::1/128", "2001:db8::/32", "fd00:1:2:3:4::/80"), s.networks());
    }

    @Test
    void mappedAddressesMatchIpv4Networks() throws Exception {
        NetworkSet s = NetworkSet.parse("10.0.0.0/8");
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        mapped[12] = 10;
        mapped[15] = 7;
        assertTrue(s.contains(mapped));
        mapped[12] = 11;
        assertFalse(s.contains(mapped));
        // Written in IPv6 syntax, a mapped network is an IPv4 network with 96 fewer prefix bits.
        NetworkSet m = NetworkSet.parse("::ffff:10.0.0.0/104");
        assertTrue(m.contains(ip("10.9.9.9")));
        assertFalse(m.contains(ip("11.0.0.1")));
        assertEquals("10.0.0.0/8", m.toString());
        assertTrue(NetworkSet.parse("::ffff:0:0/96").contains(ip("203.0.113.9")));
    }

    @Test
    void zeroPrefixesMatchTheirWholeFamily() throws Exception {
        NetworkSet s = NetworkSet.parse("0.0.0.0/0");
        assertTrue(s.contains(ip("1.2.3.4")));
        assertFalse(s.contains(ip("::1")));
        NetworkSet six = NetworkSet.parse("::/0");
        assertTrue(six.contains(ip("2001:db8::1")));
        assertFalse(six.contains(ip("1.2.3.4")));
    }

    @Test
    void prefixBoundariesAtEveryBit() throws Exception {
        for (int prefix = 1; prefix <= 128; prefix++) {
            byte[] base = ip("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff").getAddress();
            byte[] network = base.clone();
            for (int bit = prefix; bit < 128; bit++) {
                network[bit / 8] &= (byte) ~(0x80 >> (bit % 8));
            }
            NetworkSet s = NetworkSet.parse(InetLiterals.format(network) + "/" + prefix);
            assertTrue(s.contains(base), "prefix " + prefix);
            byte[] flipped = base.clone();
            flipped[(prefix - 1) / 8] ^= (byte) (0x80 >> ((prefix - 1) % 8));
            assertFalse(s.contains(flipped), "prefix " + prefix);
        }
    }

    @Test
    void emptyNetworks() throws Exception {
        NetworkSet s = NetworkSet.parse(" ");
        assertTrue(s.isEmpty());
        assertFalse(s.contains(ip("127.0.0.1")));
        assertFalse(s.contains(new byte[5]));
    }

    @ParameterizedTest
    @ValueSource(strings = {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.0/x",
            "10.0.0", "example.com", "::ffff:10.0.0.0/95", "::g/64", "10.0.0.1/8"})
    void badNetworksNameTheEntry(String entry) {
        String r = reason(ValueTypes.networks(), "127.0.0.0/8, " + entry);
        assertTrue(r.startsWith("entry '" + entry + "': "), r);
        assertTrue(r.endsWith("(127.0.0.0/8, ::1/128, 10.1.2.3)"), r);
    }

    @Test
    void hostBitsSetSuggestsTheNetwork() {
        assertTrue(reason(ValueTypes.networks(), "10.1.2.3/8").contains("did you mean 10.0.0.0/8?"));
        assertTrue(reason(ValueTypes.networks(), "2001:db8::1/32").contains("did you mean 2001:db8::/32?"));
        assertTrue(reason(ValueTypes.networks(), "example.com").contains("host names are not allowed"));
    }
}
