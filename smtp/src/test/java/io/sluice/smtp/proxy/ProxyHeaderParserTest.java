package io.sluice.smtp.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import io.sluice.smtp.proxy.ProxyHeaderParser.Result;

class ProxyHeaderParserTest {

    private static final byte[] SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    private static final byte[] SMTP = "EHLO client.example\r\nMAIL FROM:<a@b.example>\r\n".getBytes(StandardCharsets.US_ASCII);

    private final ProxyHeaderParser parser = new ProxyHeaderParser();

    // ---- what a whole header gives --------------------------------------------------------

    @Test
    void v1Tcp4NamesTheClient() throws Exception {
        Outcome o = parseAtEverySplit(ascii("PROXY TCP4 192.0.2.10 198.51.100.1 56324 25\r\n"), SMTP);
        assertEquals(Result.PROXIED, o.result);
        assertEquals(InetAddress.getByName("192.0.2.10"), o.source);
        assertEquals(56324, o.port);
        assertEquals(1, o.version);
    }

    @Test
    void v1Tcp6NamesTheClient() throws Exception {
        Outcome o = parseAtEverySplit(ascii("PROXY TCP6 2001:db8::1:2 2001:db8::ff 65535 25\r\n"), SMTP);
        assertEquals(Result.PROXIED, o.result);
        assertEquals(InetAddress.getByName("2001:db8::1:2"), o.source);
        assertEquals(65535, o.port);
    }

    @ParameterizedTest
    @ValueSource(strings = {"::1", "::", "1::", "1:2:3:4:5:6:7:8", "1::8", "fe80::AbCd:1", "::ffff:192.0.2.7",
        "64:ff9b::192.0.2.33", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "0:0:0:0:0:0:0:0"})
    void v1Tcp6AddressesAsTheJdkReadsThem(String text) throws Exception {
        Outcome o = parseAtEverySplit(ascii("PROXY TCP6 " + text + " ::1 1 25\r\n"), new byte[0]);
        assertEquals(Result.PROXIED, o.result, text);
        assertEquals(InetAddress.getByName(text), o.source, text);
    }

    @Test
    void v1UnknownKeepsTheBalancer() {
        assertEquals(Result.LOCAL, parseAtEverySplit(ascii("PROXY UNKNOWN\r\n"), SMTP).result);
        // proxy-protocol.txt 2.1: whatever follows UNKNOWN up to the CRLF is ignored.
        assertEquals(Result.LOCAL, parseAtEverySplit(ascii("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), SMTP).result);
    }

    @Test
    void v1OfTheLongestLengthIsRead() {
        String head = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        assertEquals(104, head.length()); // the spec's worst case of a valid line; UNKNOWN may go to 107
        assertEquals(Result.PROXIED, parseAtEverySplit(ascii(head), SMTP).result);
        String unknown = "PROXY UNKNOWN " + "x".repeat(107 - 16) + "\r\n";
        assertEquals(107, unknown.length());
        assertEquals(Result.LOCAL, parseAtEverySplit(ascii(unknown), SMTP).result);
    }

    @Test
    void v2Ipv4NamesTheClient() throws Exception {
        byte[] header = v2(0x21, 0x11, block(bytes(192, 0, 2, 10), bytes(198, 51, 100, 1), 40000, 25));
        Outcome o = parseAtEverySplit(header, SMTP);
        assertEquals(Result.PROXIED, o.result);
        assertEquals(InetAddress.getByName("192.0.2.10"), o.source);
        assertEquals(40000, o.port);
        assertEquals(2, o.version);
    }

    @Test
    void v2Ipv6NamesTheClient() throws Exception {
        byte[] src = InetAddress.getByName("2001:db8::7").getAddress();
        byte[] dst = InetAddress.getByName("2001:db8::25").getAddress();
        Outcome o = parseAtEverySplit(v2(0x21, 0x21, block(src, dst, 1, 25)), SMTP);
        assertEquals(Result.PROXIED, o.result);
        assertEquals(InetAddress.getByName("2001:db8::7"), o.source);
        assertEquals(1, o.port);
    }

    @Test
    void v2TlvsAreSkipped() throws Exception {
        byte[] tlvs = concat(tlv(0x01, ascii("smtp")), tlv(0x02, ascii("mx.example")), tlv(0x05, new byte[128]),
                tlv(0x04, new byte[0]), tlv(0xEA, new byte[300]));
        byte[] header = v2(0x21, 0x11, concat(block(bytes(10, 1, 2, 3), bytes(10, 0, 0, 1), 5, 25), tlvs));
        Outcome o = parseAtEverySplit(header, SMTP);
        assertEquals(Result.PROXIED, o.result);
        assertEquals(InetAddress.getByName("10.1.2.3"), o.source);
    }

    @Test
    void v2LocalKeepsTheBalancerWhateverItsBlock() {
        assertEquals(Result.LOCAL, parseAtEverySplit(v2(0x20, 0x00, new byte[0]), SMTP).result);
        // A LOCAL command's address block (HAProxy's health checks send one) is ignored.
        byte[] block = block(bytes(127, 0, 0, 1), bytes(127, 0, 0, 1), 1, 2);
        assertEquals(Result.LOCAL, parseAtEverySplit(v2(0x20, 0x11, block), SMTP).result);
    }

    @Test
    void v2UnspecAndUnixKeepTheBalancer() {
        assertEquals(Result.LOCAL, parseAtEverySplit(v2(0x21, 0x00, new byte[0]), SMTP).result);
        assertEquals(Result.LOCAL, parseAtEverySplit(v2(0x21, 0x31, new byte[216]), SMTP).result);
    }

    @Test
    void v2OfTheLargestLengthIsRead() {
        byte[] body = concat(block(bytes(10, 0, 0, 1), bytes(10, 0, 0, 2), 1, 2),
                tlv(0xEE, new byte[ProxyHeaderParser.V2_MAX_OCTETS - 16 - 12 - 3]));
        assertEquals(Result.PROXIED, parse(concat(v2(0x21, 0x11, body), SMTP)).result);
    }

    @Test
    void aHeaderAloneLeavesAnEmptyBuffer() {
        ByteBuffer in = ByteBuffer.wrap(ascii("PROXY UNKNOWN\r\n"));
        assertEquals(Result.LOCAL, parser.parse(in));
        assertEquals(0, in.remaining());
    }

    @Test
    void theSourceAddressIsOnlyThereAfterProxied() {
        parser.parse(ByteBuffer.wrap(ascii("PROXY UNKNOWN\r\n")));
        assertThrows(IllegalStateException.class, parser::sourceAddress);
        parser.parse(ByteBuffer.wrap(ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n")));
        assertEquals("1.2.3.4", parser.sourceAddress().getHostAddress());
        parser.parse(ByteBuffer.wrap(ascii("PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n")));
        assertThrows(IllegalStateException.class, parser::sourceAddress);
    }

    @Test
    void nothingYetIsIncomplete() {
        assertEquals(Result.INCOMPLETE, parser.parse(ByteBuffer.allocate(0)));
    }

    // ---- refusals -------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {
        "EHLO client.example\r\n",
        "GET / HTTP/1.1\r\n",
        "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
        "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
        "PROXY TCP4\r\n",
        "PROXY\r\n",
        "PROXY \r\n",
        "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY UNKNOWNX\r\n",
        "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
        "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8. 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7 1 2\r\n",
        "PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
        "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
        "PROXY TCP6 ::1 1.2.3.4 1 2\r\n",
        "PROXY TCP6 :1 ::1 1 2\r\n",
        "PROXY TCP6 1: ::1 1 2\r\n",
        "PROXY TCP6 1:::2 ::1 1 2\r\n",
        "PROXY TCP6 1::2::3 ::1 1 2\r\n",
        "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n",
        "PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n",
        "PROXY TCP6 1:2:3:4:5:6:7:8::1 ::1 1 2\r\n",
        "PROXY TCP6 12345::1 ::1 1 2\r\n",
        "PROXY TCP6 g::1 ::1 1 2\r\n",
        "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
        "PROXY TCP6 [::1] ::1 1 2\r\n",
        "PROXY TCP6 1:2:3:4:5:6:7:1.2.3.4 ::1 1 2\r\n",
        "PROXY TCP6 ::1.2.3 ::1 1 2\r\n",
        "PROXY TCP6 ::1.2.3.4:5 ::1 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2x\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n",
        "PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\u0000\r\n",
        "PROXY UNKNOWN\u0001\r\n",
    })
    void v1MalformedIsRefusedAtEverySplit(String header) {
        Outcome o = parseAtEverySplit(latin1(header), SMTP);
        assertEquals(Result.MALFORMED, o.result, header);
        assertNotNull(parser.problem());
    }

    @Test
    void v1OverTheLimitIsTooLong() {
        String unknown = "PROXY UNKNOWN " + "x".repeat(108 - 16) + "\r\n";
        assertEquals(108, unknown.length());
        assertEquals(Result.TOO_LONG, parseAtEverySplit(ascii(unknown), SMTP).result);
        // No CRLF at all: refused after 107 octets, not kept waiting for more.
        assertEquals(Result.TOO_LONG, parse(ascii("PROXY UNKNOWN " + "x".repeat(200))).result);
        assertEquals(Result.INCOMPLETE, parse(ascii("PROXY UNKNOWN " + "x".repeat(92))).result);
    }

    static Stream<Arguments> v2Malformed() {
        byte[] inet = block(bytes(10, 0, 0, 1), bytes(10, 0, 0, 2), 1, 2);
        return Stream.of(
            Arguments.of("version 1", v2(0x11, 0x11, inet)),
            Arguments.of("version 3", v2(0x31, 0x11, inet)),
            Arguments.of("command 2", v2(0x22, 0x11, inet)),
            Arguments.of("command F", v2(0x2F, 0x11, inet)),
            Arguments.of("family 4", v2(0x21, 0x41, inet)),
            Arguments.of("protocol 3", v2(0x21, 0x13, inet)),
            Arguments.of("dgram", v2(0x21, 0x12, inet)),
            Arguments.of("unspec protocol", v2(0x21, 0x10, inet)),
            Arguments.of("unspec family, stream", v2(0x21, 0x01, inet)),
            Arguments.of("inet block short", v2(0x21, 0x11, Arrays.copyOf(inet, 11))),
            Arguments.of("inet6 block short", v2(0x21, 0x21, new byte[35])),
            Arguments.of("unix block short", v2(0x21, 0x31, new byte[215])),
            Arguments.of("tlv header cut", v2(0x21, 0x11, concat(inet, new byte[] {1, 0}))),
            Arguments.of("tlv value cut", v2(0x21, 0x11, concat(inet, new byte[] {1, 0, 5, 'a', 'b'}))),
            Arguments.of("inet6 cut tlv", v2(0x21, 0x21, new byte[37])),
            Arguments.of("bad signature", concat(Arrays.copyOf(SIGNATURE, 11), new byte[] {0x0B, 0x21, 0x11, 0, 12}, inet)),
            Arguments.of("signature only half", concat(Arrays.copyOf(SIGNATURE, 6), ascii("EHLO x\r\n"))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("v2Malformed")
    void v2MalformedIsRefusedAtEverySplit(String name, byte[] header) {
        assertEquals(Result.MALFORMED, parseAtEverySplit(header, SMTP).result, name);
        assertNotNull(parser.problem());
    }

    @Test
    void v2OverTheLimitIsTooLongBeforeItsBodyComes() {
        byte[] fixed = concat(SIGNATURE, new byte[] {0x21, 0x11, (byte) (2033 >>> 8), (byte) 2033});
        // The declared length alone decides: the 2033 octets are not waited for.
        assertEquals(Result.TOO_LONG, parse(fixed).result);
        byte[] max = concat(SIGNATURE, new byte[] {0x21, 0x11, (byte) 0xFF, (byte) 0xFF});
        assertEquals(Result.TOO_LONG, parse(max).result);
    }

    @Test
    void aRefusalConsumesNothingAndSaysWhy() {
        ByteBuffer in = ByteBuffer.wrap(ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 70000\r\n"));
        assertEquals(Result.MALFORMED, parser.parse(in));
        assertEquals(0, in.position());
        assertEquals("v1: bad port", parser.problem());
        parser.parse(ByteBuffer.wrap(ascii("PROXY UNKNOWN\r\n")));
        assertNull(parser.problem());
    }

    // ---- harness ----------------------------------------------------------------------------

    private record Outcome(Result result, InetAddress source, int port, int version) {
    }

    /** One parse of the whole input; on success the rest must be exactly what followed the header. */
    private Outcome parse(byte[] input) {
        ByteBuffer in = ByteBuffer.wrap(input);
        Result result = parser.parse(in);
        return new Outcome(result, result == Result.PROXIED ? parser.sourceAddress() : null, parser.sourcePort(),
                parser.version());
    }

    /**
     * Feeds header then {@code after} as a connection does: what has arrived so far, again and again
     * with more appended (the connection keeps unconsumed bytes), so every split point is one prefix.
     * A valid header is INCOMPLETE until its last octet and then gives the one outcome, leaving the
     * bytes behind it untouched in the same buffer; an invalid one is INCOMPLETE and then refused,
     * never accepted, and once refused stays refused. Nothing is consumed but a whole header.
     */
    private Outcome parseAtEverySplit(byte[] header, byte[] after) {
        byte[] input = concat(header, after);
        Outcome whole = parseWithRest(input, header.length, after);
        boolean accepted = whole.result == Result.PROXIED || whole.result == Result.LOCAL;
        boolean refused = false;
        for (int split = 0; split <= input.length; split++) {
            ByteBuffer prefix = ByteBuffer.wrap(Arrays.copyOf(input, split));
            Result r = parser.parse(prefix);
            if (accepted && split >= header.length) {
                assertEquals(whole, parseWithRest(Arrays.copyOf(input, split), header.length,
                        Arrays.copyOfRange(after, 0, split - header.length)), "split at " + split);
                continue;
            }
            assertEquals(0, prefix.position(), "split at " + split + ": nothing consumed");
            if (accepted) {
                assertEquals(Result.INCOMPLETE, r, "split at " + split + ": before the header's end");
            } else if (!refused) {
                if (r == Result.INCOMPLETE) {
                    continue;
                }
                assertEquals(whole.result, r, "split at " + split);
                refused = true;
            } else {
                assertEquals(whole.result, r, "split at " + split + ": refused, then not");
            }
        }
        return whole;
    }

    /** Parses {@code input} from offset 3 of a larger buffer: the parser must use the position, not 0. */
    private Outcome parseWithRest(byte[] input, int headerLength, byte[] after) {
        byte[] padded = concat(new byte[] {'x', 'y', 'z'}, input);
        ByteBuffer in = ByteBuffer.wrap(padded);
        in.position(3);
        Result result = parser.parse(in);
        if (result == Result.PROXIED || result == Result.LOCAL) {
            assertEquals(3 + headerLength, in.position(), "the header and nothing more is consumed");
            byte[] rest = new byte[in.remaining()];
            in.get(rest);
            assertEquals(new String(after, StandardCharsets.ISO_8859_1), new String(rest, StandardCharsets.ISO_8859_1));
        } else {
            assertEquals(3, in.position(), "nothing consumed");
        }
        assertEquals(padded.length, in.limit());
        return new Outcome(result, result == Result.PROXIED ? parser.sourceAddress() : null,
                result == Result.PROXIED ? parser.sourcePort() : 0, parser.version());
    }

    static byte[] v2(int versionCommand, int familyProtocol, byte[] body) {
        return concat(SIGNATURE, new byte[] {(byte) versionCommand, (byte) familyProtocol,
            (byte) (body.length >>> 8), (byte) body.length}, body);
    }

    static byte[] block(byte[] source, byte[] destination, int sourcePort, int destinationPort) {
        return concat(source, destination, new byte[] {(byte) (sourcePort >>> 8), (byte) sourcePort,
            (byte) (destinationPort >>> 8), (byte) destinationPort});
    }

    static byte[] tlv(int type, byte[] value) {
        return concat(new byte[] {(byte) type, (byte) (value.length >>> 8), (byte) value.length}, value);
    }

    static byte[] bytes(int... octets) {
        byte[] out = new byte[octets.length];
        for (int i = 0; i < octets.length; i++) {
            out[i] = (byte) octets[i];
        }
        return out;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] latin1(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
