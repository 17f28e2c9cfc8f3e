package io.sluice.bench.load;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sluice.smtp.proxy.ProxyHeaderParser;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The headers `sluice load --proxy` sends: exact bytes, and read back by the server's own parser. */
class ProxyHeaderEncoderTest {

    private final byte[] out = new byte[ProxyHeaderEncoder.MAX_OCTETS];

    @Test
    void v1Tcp4IsOneCanonicalLine() throws Exception {
        int n = ProxyHeaderEncoder.encode(ProxyMode.V1, at("192.0.2.10", 40000), at("198.51.100.1", 25), out);
        assertEquals("PROXY TCP4 192.0.2.10 198.51.100.1 40000 25\r\n", new String(out, 0, n, StandardCharsets.US_ASCII));
    }

    @Test
    void v1Tcp6WritesEightGroupsAndMapsAnIpv4End() throws Exception {
        int n = ProxyHeaderEncoder.encode(ProxyMode.V1, at("2001:db8::25", 1), at("127.0.0.1", 65535), out);
        assertEquals("PROXY TCP6 2001:db8:0:0:0:0:0:25 0:0:0:0:0:ffff:7f00:1 1 65535\r\n",
                new String(out, 0, n, StandardCharsets.US_ASCII));
    }

    @Test
    void v2Tcp4IsSignatureCommandFamilyLengthAndBlock() throws Exception {
        int n = ProxyHeaderEncoder.encode(ProxyMode.V2, at("192.0.2.10", 0x1234), at("198.51.100.1", 25), out);
        assertArrayEquals(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
            0x21, 0x11, 0, 12, (byte) 192, 0, 2, 10, (byte) 198, 51, 100, 1, 0x12, 0x34, 0, 25}, Arrays.copyOf(out, n));
    }

    @ParameterizedTest
    @CsvSource({"V1, 192.0.2.10, 127.0.0.1", "V2, 192.0.2.10, 127.0.0.1", "V1, ::1, ::1", "V2, 2001:db8::7, ::1",
        "V1, fe80::1:2:3:4, 10.0.0.1", "V2, 203.0.113.5, ::1", "V1, 255.255.255.255, 0.0.0.0",
        "V1, ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff, ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"})
    void theServersParserReadsTheClientBack(ProxyMode mode, String client, String server) throws Exception {
        int n = ProxyHeaderEncoder.encode(mode, at(client, 54321), at(server, 2525), out);
        ByteBuffer in = ByteBuffer.allocate(n + 6);
        in.put(out, 0, n).put("EHLO\r\n".getBytes(StandardCharsets.US_ASCII)).flip();
        ProxyHeaderParser parser = new ProxyHeaderParser();
        assertEquals(ProxyHeaderParser.Result.PROXIED, parser.parse(in), () -> String.valueOf(parser.problem()));
        assertEquals(mode == ProxyMode.V1 ? 1 : 2, parser.version());
        assertEquals(InetAddress.getByName(client), parser.sourceAddress());
        assertEquals(54321, parser.sourcePort());
        assertEquals(n, in.position(), "exactly the header consumed");
        assertEquals(true, n <= (mode == ProxyMode.V1 ? ProxyHeaderParser.V1_MAX_OCTETS : 52));
    }

    @Test
    void noneAndAShortBufferAreRefused() throws Exception {
        assertThrows(IllegalArgumentException.class,
                () -> ProxyHeaderEncoder.encode(ProxyMode.NONE, at("192.0.2.1", 1), at("192.0.2.2", 2), out));
        assertThrows(IllegalArgumentException.class,
                () -> ProxyHeaderEncoder.encode(ProxyMode.V2, at("192.0.2.1", 1), at("192.0.2.2", 2), new byte[52]));
    }

    private static InetSocketAddress at(String address, int port) throws Exception {
        return new InetSocketAddress(InetAddress.getByName(address), port);
    }
}
