package io.sluice.smtp.mtasts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The policy cache file: round trip, expiry, damaged lines, a foreign file, the cap (oldest dropped). */
class PolicyStoreTest {
    private static final long NOW = 1_800_000_000_000L;

    @TempDir
    Path dir;

    @Test
    void policiesSurviveARoundTrip() throws Exception {
        PolicyStore store = new PolicyStore(dir.resolve(PolicyStore.FILE_NAME));
        StsPolicy enforce = new StsPolicy(StsMode.ENFORCE, List.of("mx.example.com", "*.example.net"), 86_400);
        StsPolicy none = new StsPolicy(StsMode.NONE, List.of(), 600);
        store.save(List.of(new PolicyStore.Entry("example.com", "20260101", enforce, NOW - 1000),
                new PolicyStore.Entry("gone.test", "x1", none, NOW)), 10);
        PolicyStore.Loaded loaded = store.load(NOW, 10);
        assertEquals(0, loaded.skippedLines());
        assertEquals(2, loaded.entries().size());
        PolicyStore.Entry first = loaded.entries().get(1);
        assertEquals("example.com", first.domain());
        assertEquals("20260101", first.id());
        assertEquals(enforce, first.policy());
        assertEquals(NOW - 1000, first.fetchedAtMillis());
        assertEquals(none, loaded.entries().get(0).policy(), "newest first");
        assertFalse(Files.exists(dir.resolve(PolicyStore.FILE_NAME + ".tmp")), "the temp file was renamed");
    }

    @Test
    void expiredPoliciesAreNotLoaded() throws Exception {
        PolicyStore store = new PolicyStore(dir.resolve(PolicyStore.FILE_NAME));
        StsPolicy p = new StsPolicy(StsMode.ENFORCE, List.of("mx.test"), 60);
        store.save(List.of(new PolicyStore.Entry("old.test", "1", p, NOW - 61_000),
                new PolicyStore.Entry("live.test", "1", p, NOW - 59_000)), 10);
        List<PolicyStore.Entry> loaded = store.load(NOW, 10).entries();
        assertEquals(1, loaded.size());
        assertEquals("live.test", loaded.get(0).domain());
    }

    @Test
    void damagedLinesAreSkippedAndCounted() throws Exception {
        Path file = dir.resolve(PolicyStore.FILE_NAME);
        Files.writeString(file, PolicyStore.HEADER + "\n"
                + "ok.test 1 enforce 86400 " + NOW + " mx.ok.test\n"
                + "bad.test 1 enforce 86400 " + NOW + "\n" // a field missing (a torn line)
                + "mode.test 1 strict 86400 " + NOW + " mx.test\n" // not a mode
                + "mx.test 1 enforce 86400 " + NOW + " -\n" // enforce without mx
                + "id.test not-an-id! enforce 86400 " + NOW + " mx.test\n"
                + "BAD DOMAIN 1 enforce 86400 " + NOW + " mx.test\n", StandardCharsets.US_ASCII);
        PolicyStore.Loaded loaded = new PolicyStore(file).load(NOW, 10);
        assertEquals(1, loaded.entries().size());
        assertEquals("ok.test", loaded.entries().get(0).domain());
        assertEquals(5, loaded.skippedLines());
        assertTrue(loaded.firstProblem().startsWith("line 3:"), loaded.firstProblem());
    }

    @Test
    void aFileWithoutOurHeaderIsRefused() throws Exception {
        Path file = dir.resolve(PolicyStore.FILE_NAME);
        Files.write(file, new byte[] {0, 1, 2, (byte) 0xff, '\n'});
        assertThrows(IOException.class, () -> new PolicyStore(file).load(NOW, 10));
        Files.writeString(file, "", StandardCharsets.US_ASCII);
        assertThrows(IOException.class, () -> new PolicyStore(file).load(NOW, 10));
    }

    @Test
    void noFileAndNoPathLoadNothing() throws Exception {
        assertTrue(new PolicyStore(dir.resolve("absent")).load(NOW, 10).entries().isEmpty());
        PolicyStore memoryOnly = new PolicyStore(null);
        memoryOnly.save(List.of(), 10);
        assertTrue(memoryOnly.load(NOW, 10).entries().isEmpty());
    }

    @Test
    void beyondTheCapTheOldestAreDropped() throws Exception {
        PolicyStore store = new PolicyStore(dir.resolve(PolicyStore.FILE_NAME));
        StsPolicy p = new StsPolicy(StsMode.ENFORCE, List.of("mx.test"), 86_400);
        List<PolicyStore.Entry> entries = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            entries.add(new PolicyStore.Entry("d" + i + ".test", "1", p, NOW - 1000L * i));
        }
        store.save(entries, 3);
        List<PolicyStore.Entry> saved = store.load(NOW, 10).entries();
        assertEquals(List.of("d0.test", "d1.test", "d2.test"), saved.stream().map(PolicyStore.Entry::domain).toList());
        List<PolicyStore.Entry> capped = store.load(NOW, 2).entries();
        assertEquals(List.of("d0.test", "d1.test"), capped.stream().map(PolicyStore.Entry::domain).toList());
    }

    /** MtaStsPolicies keys an IDN by its A-labels, which the file keeps; a U-label never reaches it, and would not be written. */
    @Test
    void anIdnIsStoredUnderItsALabelsAndAULabelIsNotWritten() throws Exception {
        PolicyStore store = new PolicyStore(dir.resolve(PolicyStore.FILE_NAME));
        StsPolicy p = new StsPolicy(StsMode.ENFORCE, List.of("mx.test"), 86_400);
        String aLabel = MtaStsPolicies.canonical("B\u00fccher.TEST.");
        assertEquals("xn--bcher-kva.test", aLabel);
        store.save(List.of(new PolicyStore.Entry(aLabel, "1", p, NOW), new PolicyStore.Entry("b\u00fccher.test", "1", p, NOW),
                new PolicyStore.Entry("ok.test", "1", p, NOW - 1)), 10);
        PolicyStore.Loaded loaded = store.load(NOW, 10);
        assertEquals(0, loaded.skippedLines());
        assertEquals(List.of(aLabel, "ok.test"), loaded.entries().stream().map(PolicyStore.Entry::domain).toList());
    }

    /** A damaged octet (a bit flip, a torn sector) costs its line only, not the whole file. */
    @Test
    void aNonAsciiOctetOnOneLineCostsThatLineOnly() throws Exception {
        Path file = dir.resolve(PolicyStore.FILE_NAME);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes((PolicyStore.HEADER + "\n"
                + "ok.test 1 enforce 86400 " + NOW + " mx.ok.test\n"
                + "bad.test 1 enforce 86400 " + NOW + " mx.bad").getBytes(StandardCharsets.US_ASCII));
        bytes.write(0xE9); // one flipped bit: 'i' (0x69) became 0xE9
        bytes.writeBytes(".test\n".getBytes(StandardCharsets.US_ASCII));
        Files.write(file, bytes.toByteArray());
        PolicyStore.Loaded loaded = new PolicyStore(file).load(NOW, 10);
        assertEquals(List.of("ok.test"), loaded.entries().stream().map(PolicyStore.Entry::domain).toList());
        assertEquals(1, loaded.skippedLines());
        assertTrue(loaded.firstProblem().startsWith("line 3: "), loaded.firstProblem());
    }

    /** A line past MAX_LINE_OCTETS (garbage without line ends) is skipped unread, not held whole. */
    @Test
    void anOverlongLineIsSkipped() throws Exception {
        Path file = dir.resolve(PolicyStore.FILE_NAME);
        Files.writeString(file, PolicyStore.HEADER + "\n"
                + "x".repeat(PolicyStore.MAX_LINE_OCTETS + 1) + "\n"
                + "ok.test 1 enforce 86400 " + NOW + " mx.ok.test\n", StandardCharsets.US_ASCII);
        PolicyStore.Loaded loaded = new PolicyStore(file).load(NOW, 10);
        assertEquals(List.of("ok.test"), loaded.entries().stream().map(PolicyStore.Entry::domain).toList());
        assertEquals(1, loaded.skippedLines());
        assertTrue(loaded.firstProblem().contains("MAX_LINE_OCTETS"), loaded.firstProblem());
    }
}
