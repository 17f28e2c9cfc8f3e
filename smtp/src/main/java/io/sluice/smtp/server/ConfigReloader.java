package io.sluice.smtp.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import io.sluice.tls.FileChangeWatcher;

/**
 * Reloads, without a restart, what a server reads from files that may change while it runs: the
 * TLS certificates, the AUTH users, the DKIM keys (each a {@link Part}). SIGHUP reloads every part
 * (through the process's one handler, {@link HangupSignal}); a poll every
 * {@code reload.poll_interval} reloads a part whose files changed and settled
 * ({@link FileChangeWatcher}: a broken file is tried once, not on every poll).
 *
 * <p>Each part swaps its new state in with one volatile write, so sessions and signer workers
 * never wait for a reload, and a failed reload keeps the state in use. Every reload logs one line,
 * {@code reload what=users ok=true trigger=file detail="users=3"} at INFO, or WARN with the reason
 * (never a password or key material), and is counted ({@link #reloads}, {@link #failedReloads}).
 *
 * <p>Threading: add parts, then start the triggers, from the thread that starts the server. The
 * triggers run reloads on one daemon thread, {@code sluice-reload}; {@link #reloadAll} and
 * {@link #reload} run on the caller's thread (never a loop: they read files and check keys).
 * Reloads are serialized.
 */
public final class ConfigReloader implements AutoCloseable {

    /**
     * One thing that reloads.
     *
     * @param name   its {@code what=} in the log and the metric: {@code tls}, {@code users}, {@code dkim}
     * @param files  what the poller watches for it
     * @param reload reads the files and swaps the new state in, or keeps the old one and says why
     */
    public record Part(String name, List<Path> files, Supplier<Outcome> reload) {
        /** Copies {@code files}. */
        public Part {
            files = List.copyOf(files);
        }
    }

    /**
     * What one reload of a part did.
     *
     * @param succeeded true when the new state is in use; false when a file could not be used and
     *                  what it held was kept (a part made of several files, dkim, may have swapped
     *                  in the others: a partial reload counts as failed, its detail says which)
     * @param detail    counts on success ({@code users=3}), the reason on failure
     */
    public record Outcome(boolean succeeded, String detail) {
    }

    /** A part with its counters and, once polling starts, its watcher (touched under the reloader's lock only). */
    private static final class PartState {
        final Part part;
        /** The files' state taken before they were first read, or null: then taken at watchFiles. */
        final FileChangeWatcher sinceLoad;
        final AtomicLong reloads = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        FileChangeWatcher watcher;

        PartState(Part part, FileChangeWatcher sinceLoad) {
            this.part = part;
            this.sinceLoad = sinceLoad;
        }
    }

    /** How long {@link #close} waits for a reload under way (a reload reads a few files and signs a probe each). */
    private static final long CLOSE_WAIT_SECONDS = 10;

    private final EventLog log;
    /** Added to before the triggers start, read by scrapes at any time: copy-on-write. */
    private final List<PartState> parts = new CopyOnWriteArrayList<>();
    private final AtomicLong polls = new AtomicLong();
    private final ScheduledExecutorService thread;
    /** The same instance registers and unregisters. */
    private final Runnable onHangup = this::hangup;
    private boolean hangupRegistered;
    /** Set by close(); a trigger's reload that starts after it does nothing. */
    private volatile boolean closed;

    /** A reloader that logs to {@code log}; starts its thread at once (daemon, idle until a trigger). */
    public ConfigReloader(EventLog log) {
        this.log = log;
        this.thread = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread t = new Thread(task, "sluice-reload");
            t.setDaemon(true);
            return t;
        });
    }

    /** Adds {@code part}, its files' state taken when polling starts; before any trigger starts. */
    public synchronized ConfigReloader add(Part part) {
        parts.add(new PartState(part, null));
        return this;
    }

    /**
     * Adds {@code part} with {@code sinceLoad}, a watcher of its files created before they were
     * first read: an edit made while the server started is then reloaded by the first polls
     * instead of being missed. Before any trigger starts.
     */
    public synchronized ConfigReloader add(Part part, FileChangeWatcher sinceLoad) {
        if (!sinceLoad.files().equals(part.files())) {
            throw new IllegalArgumentException("watcher of " + sinceLoad.files() + " for part " + part.name()
                    + " of " + part.files());
        }
        parts.add(new PartState(part, sinceLoad));
        return this;
    }

    /** The parts' names, in the order they were added. */
    public List<String> partNames() {
        return parts.stream().map(s -> s.part.name()).toList();
    }

    /**
     * Polls every part's files every {@code interval} (nothing when it is zero) and reloads a part
     * whose files changed and then looked the same on the next poll. Call once.
     */
    public synchronized ConfigReloader watchFiles(Duration interval) {
        if (interval.isZero() || closed) {
            return this;
        }
        boolean anyFiles = false;
        for (PartState state : parts) {
            state.watcher = state.part.files().isEmpty() ? null
                    : state.sinceLoad != null ? state.sinceLoad : new FileChangeWatcher(state.part.files());
            anyFiles |= state.watcher != null;
        }
        if (!anyFiles) {
            return this; // nothing to poll: the thread stays asleep until a SIGHUP
        }
        long periodNanos = interval.toNanos();
        thread.scheduleWithFixedDelay(this::poll, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
        return this;
    }

    /**
     * Reloads every part on SIGHUP. Returns false, after one WARN, where this JVM cannot handle
     * SIGHUP; the poller still works. Call once.
     */
    public synchronized boolean reloadOnHangup() {
        if (hangupRegistered || closed) {
            return hangupRegistered;
        }
        try {
            HangupSignal.register(onHangup);
            hangupRegistered = true;
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            log.log(EventLog.Level.WARN, "reload", "what", "sighup", "ok", false,
                    "detail", "reload on SIGHUP is unavailable (" + e.getMessage() + "); only the file poll (reload.poll_interval) reloads");
        }
        return hangupRegistered;
    }

    /**
     * What SIGHUP does: hands {@link #reloadAll} to the reload thread and returns at once. Any
     * thread (the JVM's signal thread; tests call it to stand for the signal).
     */
    public void hangup() {
        try {
            thread.execute(() -> reloadAll("sighup"));
        } catch (RejectedExecutionException e) {
            // A SIGHUP racing close(): nothing to reload any more.
        }
    }

    /** Reloads every part now, on this thread (not a loop); their outcomes in {@link #partNames} order. */
    public List<Outcome> reloadAll() {
        return reloadAll("api");
    }

    /** Reloads the part called {@code name} now, on this thread (not a loop). */
    public synchronized Outcome reload(String name) {
        return run(state(name), "api");
    }

    private synchronized List<Outcome> reloadAll(String trigger) {
        if (closed && !trigger.equals("api")) {
            return List.of(); // a SIGHUP queued behind close(): the server is going away
        }
        if (parts.isEmpty()) {
            log.log(EventLog.Level.INFO, "reload", "what", "-", "ok", true, "trigger", trigger,
                    "detail", "nothing reloads here (no TLS, auth.users or dkim keys)");
        }
        List<Outcome> outcomes = new ArrayList<>(parts.size());
        for (PartState state : parts) {
            outcomes.add(run(state, trigger));
        }
        return outcomes;
    }

    private synchronized void poll() {
        if (closed) {
            return;
        }
        polls.incrementAndGet();
        for (PartState state : parts) {
            if (state.watcher != null && state.watcher.changedAndSettled()) {
                run(state, "file");
            }
        }
    }

    private Outcome run(PartState state, String trigger) {
        if (state.watcher != null && !trigger.equals("file")) {
            // What this reload reads is loaded: the poller must not load the same edit again. The
            // state is taken before the reload, so an edit made while it runs is still seen.
            state.watcher.accept();
        }
        Outcome outcome;
        try {
            outcome = state.part.reload().get();
        } catch (RuntimeException e) {
            // A bug in a part must not end the poller (a scheduled task that throws is never run again).
            outcome = new Outcome(false, "reload failed: " + e);
        }
        (outcome.succeeded() ? state.reloads : state.failed).incrementAndGet();
        log.log(outcome.succeeded() ? EventLog.Level.INFO : EventLog.Level.WARN, "reload", "what", state.part.name(),
                "ok", outcome.succeeded(), "trigger", trigger, "detail", outcome.detail());
        return outcome;
    }

    private PartState state(String name) {
        for (PartState state : parts) {
            if (state.part.name().equals(name)) {
                return state;
            }
        }
        throw new IllegalArgumentException("no reloadable part " + name + " (have " + partNames() + ")");
    }

    /** Reloads of {@code name} that put a new state in use. */
    public long reloads(String name) {
        return state(name).reloads.get();
    }

    /** Reloads of {@code name} that failed and kept the state in use. */
    public long failedReloads(String name) {
        return state(name).failed.get();
    }

    /** File polls done so far (tests wait on it instead of sleeping). */
    public long polls() {
        return polls.get();
    }

    /**
     * Stops the triggers and gives SIGHUP back; the states in use stay. Waits (at most
     * {@value #CLOSE_WAIT_SECONDS} s) for a reload under way to finish rather than interrupt it:
     * an interrupted file read would log a WARN and count a failure that is only the shutdown.
     * Idempotent; not from the reload thread.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (hangupRegistered) {
                HangupSignal.unregister(onHangup);
                hangupRegistered = false;
            }
        }
        // Outside the lock: the reload under way holds it until it is done.
        thread.shutdown(); // no new poll; a queued SIGHUP task finds closed and does nothing
        try {
            if (!thread.awaitTermination(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
                thread.shutdownNow();
            }
        } catch (InterruptedException e) {
            thread.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
