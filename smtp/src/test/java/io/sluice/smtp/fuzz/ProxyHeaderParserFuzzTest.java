package io.sluice.smtp.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

import io.sluice.smtp.proxy.ProxyHeaderParser;
import io.sluice.smtp.proxy.ProxyHeaderParser.Result;

/**
 * Fuzzes {@link ProxyHeaderParser} with arbitrary octets behind an optional valid prefix ("PROXY "
 * or the v2 signature, so the fuzzer reaches the grammar quickly). Checked for every input: no
 * exception; only PROXIED and LOCAL consume, and then at most the version's limit; INCOMPLETE only
 * below that limit; a refusal says why; and every prefix of the input is INCOMPLETE or has the
 * whole input's outcome (as the connection presents a header split across reads).
 *
 * <p>Input layout: first octet selects the prefix (0: none, 1: "PROXY ", 2: the v2 signature), the
 * rest is the wire after it.
 */
class ProxyHeaderParserFuzzTest {

    static {
        JazzerOutput.pin();
    }

    private static final byte[] V1 = {'P', 'R', 'O', 'X', 'Y', ' '};
    private static final byte[] V2 = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private final ProxyHeaderParser parser = new ProxyHeaderParser();

    @FuzzTest(maxDuration = "2m")
    void anyInputIsReadOrRefusedWithinTheBounds(FuzzedDataProvider data) {
        int selector = data.consumeInt(0, 2);
        byte[] rest = data.consumeRemainingAsBytes();
        byte[] prefix = selector == 1 ? V1 : selector == 2 ? V2 : new byte[0];
        byte[] wire = Arrays.copyOf(prefix, prefix.length + rest.length);
        System.arraycopy(rest, 0, wire, prefix.length, rest.length);

        ByteBuffer in = ByteBuffer.wrap(wire);
        Result whole = parser.parse(in);
        int consumed = in.position();
        InetAddress source = whole == Result.PROXIED ? parser.sourceAddress() : null;
        switch (whole) {
            case PROXIED, LOCAL -> {
                int limit = parser.version() == 1 ? ProxyHeaderParser.V1_MAX_OCTETS : ProxyHeaderParser.V2_MAX_OCTETS;
                assertTrue(consumed > 0 && consumed <= limit, "consumed " + consumed);
            }
            case INCOMPLETE -> {
                assertEquals(0, consumed);
                assertTrue(wire.length < ProxyHeaderParser.V2_MAX_OCTETS, "INCOMPLETE past every limit");
            }
            default -> {
                assertEquals(0, consumed);
                assertNotNull(parser.problem());
            }
        }
        int end = whole == Result.PROXIED || whole == Result.LOCAL ? consumed : wire.length;
        for (int split = 0; split < end; split++) {
            ByteBuffer part = ByteBuffer.wrap(wire, 0, split);
            Result r = parser.parse(part);
            assertTrue(r == Result.INCOMPLETE || r == whole && whole != Result.PROXIED && whole != Result.LOCAL,
                    "prefix of " + split + " octets: " + r + ", whole: " + whole);
            assertEquals(0, part.position());
        }
        if (source != null) {
            parser.parse(ByteBuffer.wrap(wire));
            assertEquals(source, parser.sourceAddress(), "the same input names the same client");
        }
    }
}
