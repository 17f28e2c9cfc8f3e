package io.sluice.smtp.mtasts;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Review s8c: one damaged octet over 0x7F on one line (a bit flip, a torn sector) makes load throw
 * for the whole file, so every cached policy is dropped (the §10.2 window the cache closes opens
 * again), where a damaged line is otherwise skipped and counted.
 */
class PolicyStoreDamageReviewTest {
    private static final long NOW = 1_800_000_000_000L;

    @TempDir
    Path dir;

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
    }
}
