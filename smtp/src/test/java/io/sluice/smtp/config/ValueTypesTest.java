package io.sluice.smtp.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ValueTypesTest {

    private static String reason(ValueType<?> type, String text) {
        return assertThrows(IllegalArgumentException.class, () -> type.parse(text)).getMessage();
    }

    @Test
    void integerAcceptsItsBoundsAndNothingBeyond() {
        ValueType<Integer> t = ValueTypes.integer(100, 200);
        assertEquals(100, t.parse("100"));
        assertEquals(200, t.parse(" 200 "));
        assertEquals("expected a whole number from 100 to 200", reason(t, "99"));
        reason(t, "201");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "abc", "+5", "-5", "5.0", "1e3", "0x10", "1 000", "99999999999999999999"})
    void integerRefusesAnythingButPlainDigits(String text) {
        assertTrue(reason(ValueTypes.integer(0, Integer.MAX_VALUE), text).contains("a whole number >= 0"));
    }

    @Test
    void integerTopOfIntRange() {
        ValueType<Integer> t = ValueTypes.integer(0, Integer.MAX_VALUE);
        assertEquals(Integer.MAX_VALUE, t.parse("2147483647"));
        reason(t, "2147483648");
    }

    @Test
    void negativeIntegerOnlyWhenMinimumIsNegative() {
        assertEquals(-3, ValueTypes.integer(-5, 5).parse("-3"));
        reason(ValueTypes.integer(-5, 5), "-6");
    }

    @ParameterizedTest
    @CsvSource({"0,0", "512,512", "1k,1024", "1K,1024", "10KiB,10240", "10M,10485760", "10MiB,10485760",
            "1G,1073741824", "1GiB,1073741824", "2TiB,2199023255552", "32MiB,33554432"})
    void sizeUnitsAreBinary(String text, long bytes) {
        assertEquals(bytes, ValueTypes.size(0, Long.MAX_VALUE).parse(text));
    }

    @Test
    void sizeRefusesDecimalAndUnknownUnits() {
        ValueType<Long> t = ValueTypes.size(0, Long.MAX_VALUE);
        assertTrue(reason(t, "10MB").startsWith("unit MB is ambiguous"), reason(t, "10MB"));
        assertTrue(reason(t, "10kB").contains("use KiB, MiB or GiB"));
        assertTrue(reason(t, "10x").startsWith("unknown unit x"));
        assertTrue(reason(t, "MiB").startsWith("expected a size"));
        assertTrue(reason(t, "-1").startsWith("expected a size"));
        assertTrue(reason(t, "10 MiB").startsWith("no space allowed before the unit"));
        assertTrue(reason(t, "9000000000TiB").startsWith("too large"));
    }

    @Test
    void sizeBoundsAreShownWithUnits() {
        ValueType<Long> t = ValueTypes.size(1024, 1 << 20);
        assertEquals(1024L, t.parse("1k"));
        assertEquals(1048576L, t.parse("1M"));
        String r = reason(t, "1023");
        assertTrue(r.endsWith("from 1KiB to 1MiB"), r);
        reason(t, "1025k");
    }

    @ParameterizedTest
    @CsvSource({"0ms,0", "500ms,500", "30s,30000", "5m,300000", "2h,7200000", "5d,432000000"})
    void durationUnits(String text, long millis) {
        assertEquals(Duration.ofMillis(millis), ValueTypes.duration(Duration.ZERO, Duration.ofDays(10)).parse(text));
    }

    @Test
    void durationNeedsAUnitAndStaysInRange() {
        ValueType<Duration> t = ValueTypes.duration(Duration.ofSeconds(1), Duration.ofDays(1));
        String bare = reason(t, "30");
        assertTrue(bare.startsWith("a unit is needed; expected a duration with a unit"), bare);
        assertTrue(bare.endsWith("from 1s to 1d"), bare);
        assertTrue(reason(t, "999ms").startsWith("expected a duration"));
        assertEquals(Duration.ofSeconds(1), t.parse("1000ms"));
        assertEquals(Duration.ofDays(1), t.parse("24h"));
        reason(t, "25h");
        assertTrue(reason(t, "5w").startsWith("unknown unit w"));
        assertTrue(reason(t, "5S").startsWith("unknown unit S"));
        assertTrue(reason(t, "5 s").startsWith("no space allowed"));
        assertTrue(reason(t, "1.5s").startsWith("unknown unit .5s"));
        assertTrue(reason(t, "s").startsWith("expected"));
        assertTrue(reason(t, "999999999999999999d").startsWith("too large"));
    }

    @ParameterizedTest
    @CsvSource({"true,true", "yes,true", "on,true", "TRUE,true", "false,false", "no,false", "off,false", "Off,false"})
    void booleans(String text, boolean value) {
        assertEquals(value, ValueTypes.bool().parse(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "1", "0", "y", "enabled"})
    void booleanRefusals(String text) {
        assertEquals("expected true|false|yes|no|on|off", reason(ValueTypes.bool(), text));
    }

    @Test
    void enumsAreLowerCase() {
        ValueType<LoopAssignment> t = ValueTypes.enumeration(LoopAssignment.class);
        assertEquals(LoopAssignment.LEAST_LOADED, t.parse("least_loaded"));
        assertEquals("expected one of round_robin|least_loaded", reason(t, "ROUND_ROBIN"));
        reason(t, "round-robin");
    }

    @Test
    void textIsPrintableAndBounded() {
        ValueType<String> t = ValueTypes.text(5);
        assertEquals("a b", t.parse("a b"));
        assertEquals("", t.parse(""));
        reason(t, "abcdef");
        reason(t, "a\u0007b");
        reason(t, "caf\u00e9");
    }

    @Test
    void hostNames() {
        ValueType<String> t = ValueTypes.hostName();
        assertEquals("mx.example.com", t.parse("MX.Example.com"));
        assertEquals("localhost", t.parse("localhost"));
        assertEquals("a-b.c1", t.parse("a-b.c1"));
        for (String bad : new String[] {"", "-a.com", "a-.com", "a..com", ".a", "a_b.com", "1.2.3.4", "1.2.3",
                "x".repeat(64) + ".com", "[::1]"}) {
            reason(t, bad);
        }
    }

    @Test
    void emptyHostNameMeansThisMachine() {
        String local = ValueTypes.hostNameOrLocal().parse("");
        assertTrue(InetLiterals.isHostName(local), local);
        assertEquals("mx.example.com", ValueTypes.hostNameOrLocal().parse("mx.example.com"));
    }

    @Test
    void listsAreTrimmedAndNameTheBadEntry() {
        ValueType<List<Integer>> t = ValueTypes.list(ValueTypes.integer(0, 9), true);
        assertEquals(List.of(1, 2, 3), t.parse(" 1 , 2,3, "));
        assertEquals(List.of(), t.parse(""));
        assertEquals("entry '12': expected a whole number from 0 to 9", reason(t, "1, 12"));
        String empty = reason(ValueTypes.list(ValueTypes.integer(0, 9), false), " , ");
        assertTrue(empty.startsWith("the list is empty"), empty);
    }

    @Test
    void oneOfIgnoresCaseAndReturnsCanonical() {
        ValueType<List<String>> t = ValueTypes.list(ValueTypes.oneOf("TLSv1.3", "TLSv1.2"), false);
        assertEquals(List.of("TLSv1.3", "TLSv1.2"), t.parse("tlsv1.3, TLSv1.2"));
        assertTrue(reason(t, "TLSv1.1").contains("one of TLSv1.3|TLSv1.2"));
    }

    @Test
    void optionalReadableFile(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("cert.pem"), "x");
        ValueType<Optional<Path>> t = ValueTypes.optionalReadableFile();
        assertEquals(Optional.empty(), t.parse(""));
        assertEquals(Optional.of(file), t.parse(file.toString()));
        assertTrue(reason(t, dir.resolve("missing.pem").toString()).startsWith("no readable file there"));
        assertTrue(reason(t, dir.toString()).startsWith("no readable file there"));
    }

    @Test
    void pathRefusesEmptyAndNul() {
        assertEquals(Path.of("var/spool"), ValueTypes.path().parse("var/spool"));
        reason(ValueTypes.path(), "");
        reason(ValueTypes.path(), "a\u0000b");
    }

    @Test
    void formatters() {
        assertEquals("32MiB", ValueTypes.formatSize(32L << 20));
        assertEquals("1000", ValueTypes.formatSize(1000));
        assertEquals("0", ValueTypes.formatSize(0));
        assertEquals("5m", ValueTypes.formatDuration(Duration.ofMinutes(5)));
        assertEquals("1500ms", ValueTypes.formatDuration(Duration.ofMillis(1500)));
        assertEquals("0s", ValueTypes.formatDuration(Duration.ZERO));
        assertFalse(ValueTypes.formatDuration(Duration.ofDays(2)).isEmpty());
    }
}
