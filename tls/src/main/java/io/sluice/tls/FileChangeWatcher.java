package io.sluice.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Decides, one poll at a time, whether a set of files (certificates, and in the server the AUTH
 * users file and DKIM keys) changed and have settled. Polled (not
 * a {@code WatchService}) on purpose: certificate files are usually symbolic links (certbot's
 * {@code live/} into {@code archive/}, Kubernetes' {@code ..data} swap), and inotify watches the
 * link's directory, not the target's; a {@code stat} of a few files every few seconds sees every
 * kind of replacement (rewrite, rename over, link retarget) and costs nothing.
 *
 * <p>Debounce: a change is reported only once the files look the same on two consecutive polls,
 * so a certificate written a moment before its key is not loaded half-updated. After a report
 * the new state is the accepted one whether the reload then succeeds or not: a broken file is
 * reported once, not on every poll. Create on any thread; then confined to one thread at a time
 * (the one that polls, or whoever holds the lock the poller holds).
 */
public final class FileChangeWatcher {

    private final List<Path> files;
    private List<FileState> accepted;
    private List<FileState> pending;

    /**
     * Watches {@code files}, taking their state now as the accepted one: create it before the
     * files are first read, so that an edit made while they load is seen by the first polls.
     */
    public FileChangeWatcher(List<Path> files) {
        this.files = List.copyOf(files);
        this.accepted = snapshot();
    }

    private FileChangeWatcher(FileChangeWatcher from) {
        this.files = from.files;
        this.accepted = from.accepted;
        this.pending = from.pending;
    }

    /** Another watcher of the same files from the same accepted state (for a second poller). */
    public FileChangeWatcher copy() {
        return new FileChangeWatcher(this);
    }

    /** True when the files differ from the accepted state and did not change since the last poll. */
    public boolean changedAndSettled() {
        List<FileState> now = snapshot();
        if (now.equals(accepted)) {
            pending = null;
            return false;
        }
        if (now.equals(pending)) {
            accepted = now;
            pending = null;
            return true;
        }
        pending = now;
        return false;
    }

    /**
     * Takes the files' state now as the accepted one: called just before a reload another trigger
     * (SIGHUP, an API call) runs, so that the poller does not load the same edit again.
     */
    public void accept() {
        accepted = snapshot();
        pending = null;
    }

    /** The watched files. */
    public List<Path> files() {
        return files;
    }

    private List<FileState> snapshot() {
        List<FileState> states = new ArrayList<>(files.size());
        for (Path file : files) {
            states.add(FileState.of(file));
        }
        return states;
    }

    /** What a poll can see of one file without reading it; {@code null} fields when it is missing. */
    private record FileState(Path realPath, Object fileKey, long modifiedNanos, long sizeBytes) {

        static FileState of(Path file) {
            try {
                BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
                return new FileState(file.toRealPath(), attributes.fileKey(),
                        attributes.lastModifiedTime().to(TimeUnit.NANOSECONDS), attributes.size());
            } catch (IOException missing) {
                return new FileState(null, null, -1, -1);
            }
        }

    }
}
