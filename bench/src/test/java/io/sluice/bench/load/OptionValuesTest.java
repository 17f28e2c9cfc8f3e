package io.sluice.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OptionValuesTest {

    @Test
    void sizes() {
        assertEquals(1024, OptionValues.parseSizeBytes("1KiB"));
        assertEquals(1024, OptionValues.parseSizeBytes("1k"));
        assertEquals(100, OptionValues.parseSizeBytes("100"));
        assertEquals(256 * 1024, OptionValues.parseSizeBytes("256KiB"));
        assertEquals(2 * 1024 * 1024, OptionValues.parseSizeBytes("2MiB"));
    }

    /** 2^44 + 1 MiB is 2^64 + 2^20 octets: a wrapping multiply would read it as 1 MiB and pass the bound. */
    @ParameterizedTest
    @ValueSource(strings = {"17592186044417MiB", "9223372036854775807k", "99999999999999999999"})
    void sizesPastALongAreRefusedNotWrapped(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OptionValues.parseSizeBytes(text));
        assertEquals("size=" + text + " > MAX=" + (Integer.MAX_VALUE / 2) + " bytes", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LoadCommand.chunkOctets(text), "--chunk-size " + text);
    }

    @Test
    void durations() {
        assertEquals(500_000_000L, OptionValues.parseDurationNanos("500ms"));
        assertEquals(60_000_000_000L, OptionValues.parseDurationNanos("60s"));
        assertEquals(1_500_000_000L, OptionValues.parseDurationNanos("1.5"));
        assertEquals(120_000_000_000L, OptionValues.parseDurationNanos("2m"));
    }

    @Test
    void rates() {
        assertEquals(2000.0, OptionValues.parseRatePerSecond("2000/s"));
        assertEquals(2.0, OptionValues.parseRatePerSecond("120/m"));
        assertEquals(5.0, OptionValues.parseRatePerSecond("5"));
    }

    @Test
    void targets() {
        InetSocketAddress v4 = OptionValues.parseTarget("127.0.0.1:2525");
        assertEquals("127.0.0.1", v4.getHostString());
        assertEquals(2525, v4.getPort());
        assertEquals("::1", OptionValues.parseTarget("[::1]:25").getHostString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"KiB", "1XB", "-1", "99999MiB"})
    void badSizes(String text) {
        assertThrows(IllegalArgumentException.class, () -> OptionValues.parseSizeBytes(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"host", "host:", ":25", "::1:25", "h:0", "h:70000", "h:x"})
    void badTargets(String text) {
        assertThrows(IllegalArgumentException.class, () -> OptionValues.parseTarget(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"0/s", "-5", "x/s", "5/d"})
    void badRates(String text) {
        assertThrows(IllegalArgumentException.class, () -> OptionValues.parseRatePerSecond(text));
    }

    @Test
    void sizeDistribution() {
        SizeDistribution dist = SizeDistribution.parse("1KiB:70,16KiB:25,256KiB:5");
        assertEquals(3, dist.count());
        assertEquals(16 * 1024, dist.sizeBytes(1));
        assertEquals(0.25, dist.share(1), 1e-9);
        int[] picks = new int[3];
        for (long r = 0; r < 100; r++) {
            picks[dist.pick(r)]++;
        }
        assertEquals(70, picks[0]);
        assertEquals(25, picks[1]);
        assertEquals(5, picks[2]);
        assertEquals("1024:70,16384:25,262144:5", dist.toString());
        assertThrows(IllegalArgumentException.class, () -> SizeDistribution.parse("1KiB:0"));
        assertThrows(IllegalArgumentException.class, () -> SizeDistribution.parse("1KiB:70,,2KiB"));
    }
}
