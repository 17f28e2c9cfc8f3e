package io.sluice.tls;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import io.sluice.reactor.ProcessSignal;

/**
 * A server {@link TlsContext} whose certificates can be replaced without a restart. Loops call
 * {@link #current()} once per new connection (one volatile read) and keep the layer they made:
 * a live connection finishes with the certificate it started with, new ones get the newest.
 *
 * <p>{@link #reload()} rebuilds the whole context from the same {@link TlsContext.Builder}, so
 * every {@link CertificateSource} re-reads its files, and swaps it in only if the build succeeds;
 * a failed reload keeps serving the old certificates and says why (result, log warning, listener).
 * Triggers: {@link #watchFiles(Duration)} polls the certificate files on a daemon thread, and
 * {@link #reloadOnHangup()} reloads on SIGHUP. Reloads are serialized; {@code reload()} may be called
 * from any thread but reads files and does key checks, so never from a loop.
 *
 * <p>A rebuilt context is a new {@code SSLContext}: its session cache and session ticket keys are
 * new too, so sessions and tickets issued before a reload no longer resume (clients fall back to
 * a full handshake). That makes a reload also the way to rotate ticket keys on demand. Handshake
 * counters ({@link TlsContext#stats()}) carry over.
 */
public final class ReloadingTlsContext implements AutoCloseable {

    /** Default interval of {@link #watchFiles(Duration)} polls: a certificate change is live within about two. */
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(5);

    private static final System.Logger LOG = System.getLogger(ReloadingTlsContext.class.getName());

    private final TlsContext.Builder builder;
    private final TlsStats stats = new TlsStats();
    private final List<Path> files;
    /** The files' state taken before the first build read them (confined to this constructor and copy()). */
    private final FileChangeWatcher sinceBuild;
    private final AtomicLong reloads = new AtomicLong();
    private final AtomicLong failedReloads = new AtomicLong();
    private volatile TlsContext current;
    private volatile ReloadResult lastResult;
    private volatile Consumer<ReloadResult> listener = result -> { };
    /** Guarded by {@code this}: started triggers. */
    private ScheduledExecutorService reloadThread;
    private ProcessSignal hangup;
    private boolean closed;

    private ReloadingTlsContext(TlsContext.Builder builder) throws IOException, GeneralSecurityException {
        this.builder = builder;
        this.files = builder.certificateFiles();
        this.sinceBuild = new FileChangeWatcher(files); // before the read: an edit during it is seen
        this.current = builder.build(stats);
    }

    /**
     * Builds the first context (failing like {@link TlsContext.Builder#build()}) and keeps
     * {@code builder} for reloads; the caller must not change the builder afterwards.
     */
    public static ReloadingTlsContext build(TlsContext.Builder builder) throws IOException, GeneralSecurityException {
        return new ReloadingTlsContext(builder);
    }

    /** The context for a new connection; any thread, lock-free. */
    public TlsContext current() {
        return current;
    }

    /**
     * Rebuilds the context from the certificate sources and swaps it in if that succeeds. Blocking
     * (file reads, key checks); any thread but a loop; concurrent calls run one after the other.
     *
     * @return whether the new context is in use, and if not, why
     */
    public synchronized ReloadResult reload() {
        ReloadResult result;
        try {
            current = builder.build(stats);
            reloads.incrementAndGet();
            result = new ReloadResult(true, "TLS certificates reloaded from " + files, Instant.now());
            LOG.log(Level.INFO, result.message());
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            failedReloads.incrementAndGet();
            result = new ReloadResult(false, "TLS reload failed, still serving the previous certificates: " + e,
                    Instant.now());
            LOG.log(Level.WARNING, result.message());
        }
        lastResult = result;
        notifyListener(result);
        return result;
    }

    private void notifyListener(ReloadResult result) {
        try {
            listener.accept(result);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "TLS reload listener failed: " + e);
        }
    }

    /** Called after every reload (any trigger) on the thread that ran it; set before starting triggers. */
    public ReloadingTlsContext onReload(Consumer<ReloadResult> reloadListener) {
        this.listener = reloadListener;
        return this;
    }

    /**
     * Polls the certificate files every {@code pollInterval} on a daemon thread and reloads once a
     * change has settled (see {@link FileChangeWatcher}: a {@code stat} per file and poll, no
     * {@code WatchService}, because certificate files are usually symbolic links). Does nothing
     * when every certificate is held in memory. Call once.
     */
    public synchronized ReloadingTlsContext watchFiles(Duration pollInterval) {
        if (files.isEmpty() || closed) {
            return this;
        }
        FileChangeWatcher watcher = watcherSinceBuild();
        long periodNanos = pollInterval.toNanos();
        reloadThread().scheduleWithFixedDelay(() -> {
            if (watcher.changedAndSettled()) {
                reload();
            }
        }, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
        return this;
    }

    /**
     * Rebuilds the context every {@code interval} whether or not a file changed: fresh session
     * ticket keys on both providers (see {@link TlsContext} on rotation), at the price of one full
     * handshake per returning client after each rebuild. Call once.
     */
    public synchronized ReloadingTlsContext reloadEvery(Duration interval) {
        if (!closed) {
            long periodNanos = interval.toNanos();
            reloadThread().scheduleAtFixedRate(this::reload, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
        }
        return this;
    }

    /**
     * Reloads on SIGHUP (the reload runs on this context's daemon thread). Returns false, after
     * one log line, where the JVM cannot hand SIGHUP to us ({@code -Xrs}, no {@code jdk.unsupported},
     * no SIGHUP on the platform, SIGHUP ignored since the process started); the file watcher still works. Only one SIGHUP handler is active
     * per JVM: the last installed wins until {@link #close()} restores the previous one. So a
     * process that reloads more than certificates (the SMTP server: users, DKIM keys) does not call
     * this nor {@link #watchFiles}: its own single handler and poller call {@link #reload()}, and
     * {@link #watchedFiles()} says what to poll.
     */
    public synchronized boolean reloadOnHangup() {
        if (hangup != null || closed) {
            return hangup != null;
        }
        ScheduledExecutorService thread = reloadThread();
        try {
            hangup = ProcessSignal.install("HUP", () -> reloadOn(thread), "sluice TLS reload on SIGHUP");
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            LOG.log(Level.WARNING, "TLS reload on SIGHUP is unavailable (" + e.getMessage()
                    + "); certificate files are still watched");
            return false;
        }
        if (hangup.ignoredBefore()) {
            // Started under nohup: HotSpot keeps SIGHUP ignored, so the handler would never run.
            hangup.restore();
            hangup = null;
            LOG.log(Level.WARNING, "TLS reload on SIGHUP is unavailable (SIGHUP is ignored in this process,"
                    + " started under nohup?); certificate files are still watched");
            return false;
        }
        return true;
    }

    private void reloadOn(ScheduledExecutorService thread) {
        try {
            thread.execute(this::reload);
        } catch (RejectedExecutionException closed) {
            // A SIGHUP racing close(): nothing to reload any more.
        }
    }

    private ScheduledExecutorService reloadThread() {
        if (reloadThread == null) {
            reloadThread = Executors.newSingleThreadScheduledExecutor(task -> {
                Thread thread = new Thread(task, "sluice-tls-reload");
                thread.setDaemon(true);
                return thread;
            });
        }
        return reloadThread;
    }

    /**
     * A watcher of {@link #watchedFiles} whose accepted state was taken just before the first build
     * read them, for a poller of its own (the server's reloader); each call gives a new one.
     */
    public synchronized FileChangeWatcher watcherSinceBuild() {
        return sinceBuild.copy();
    }

    /** The files the certificate sources read: what {@link #watchFiles} polls. */
    public List<Path> watchedFiles() {
        return files;
    }

    /** Reloads that swapped in a new context. */
    public long reloads() {
        return reloads.get();
    }

    /** Reloads that failed and kept the previous context. */
    public long failedReloads() {
        return failedReloads.get();
    }

    /** The outcome of the latest reload, or {@code null} before the first. */
    public ReloadResult lastResult() {
        return lastResult;
    }

    /** Stops the file watcher and gives SIGHUP back to its previous handler; the current context stays usable. */
    @Override
    public synchronized void close() {
        closed = true;
        if (hangup != null) {
            hangup.restore();
            hangup = null;
        }
        if (reloadThread != null) {
            reloadThread.shutdownNow();
            reloadThread = null;
        }
    }

    /**
     * What one {@link #reload()} did.
     *
     * @param succeeded true when the new context is in use
     * @param message what happened; on failure, the reason (file, parse or key mismatch error)
     * @param at when the reload finished
     */
    public record ReloadResult(boolean succeeded, String message, Instant at) {
    }
}
