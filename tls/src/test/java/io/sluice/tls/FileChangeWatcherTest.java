package io.sluice.tls;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The poll-and-debounce decision, without threads. */
class FileChangeWatcherTest {

    @TempDir
    Path dir;

    @Test
    void aChangeIsReportedOnceAfterItSettled() throws Exception {
        Path cert = Files.writeString(dir.resolve("cert.pem"), "one", StandardCharsets.US_ASCII);
        Path key = Files.writeString(dir.resolve("key.pem"), "one", StandardCharsets.US_ASCII);
        FileChangeWatcher watcher = new FileChangeWatcher(List.of(cert, key));
        assertFalse(watcher.changedAndSettled(), "nothing changed");

        Files.writeString(cert, "two!", StandardCharsets.US_ASCII);
        assertFalse(watcher.changedAndSettled(), "first sight of a change waits one poll");
        Files.writeString(key, "two!", StandardCharsets.US_ASCII);
        assertFalse(watcher.changedAndSettled(), "still changing");
        assertTrue(watcher.changedAndSettled(), "settled");
        assertFalse(watcher.changedAndSettled(), "reported once");
    }

    @Test
    void aSymbolicLinkRetargetedToAnEqualLookingFileIsAChange() throws Exception {
        FileTime sameTime = FileTime.fromMillis(1_700_000_000_000L);
        Path a = Files.setLastModifiedTime(Files.writeString(dir.resolve("a.pem"), "same", StandardCharsets.US_ASCII), sameTime);
        Path b = Files.setLastModifiedTime(Files.writeString(dir.resolve("b.pem"), "same", StandardCharsets.US_ASCII), sameTime);
        Path link = Files.createSymbolicLink(dir.resolve("cert.pem"), a);
        FileChangeWatcher watcher = new FileChangeWatcher(List.of(link));

        Files.delete(link);
        Files.createSymbolicLink(link, b);

        assertFalse(watcher.changedAndSettled());
        assertTrue(watcher.changedAndSettled());
    }

    @Test
    void aMissingFileIsAChangeAndItsReturnIsAnother() throws Exception {
        Path cert = Files.writeString(dir.resolve("cert.pem"), "one", StandardCharsets.US_ASCII);
        FileChangeWatcher watcher = new FileChangeWatcher(List.of(cert));
        Files.delete(cert);
        assertFalse(watcher.changedAndSettled());
        assertTrue(watcher.changedAndSettled(), "missing, settled: the reload will fail and say so");
        Files.writeString(cert, "back", StandardCharsets.US_ASCII);
        assertFalse(watcher.changedAndSettled());
        assertTrue(watcher.changedAndSettled());
    }

    @Test
    void aChangeAcceptedByAnotherTriggerIsNotReported() throws Exception {
        Path cert = Files.writeString(dir.resolve("cert.pem"), "one", StandardCharsets.US_ASCII);
        FileChangeWatcher watcher = new FileChangeWatcher(List.of(cert));
        Files.writeString(cert, "two, longer", StandardCharsets.US_ASCII);
        assertFalse(watcher.changedAndSettled(), "first sight");
        watcher.accept(); // a SIGHUP reload read it
        assertFalse(watcher.changedAndSettled());
        assertFalse(watcher.changedAndSettled(), "loaded once, by the SIGHUP");
        Files.writeString(cert, "three, longer still", StandardCharsets.US_ASCII);
        assertFalse(watcher.changedAndSettled());
        assertTrue(watcher.changedAndSettled(), "a later edit is still seen");
    }
}
