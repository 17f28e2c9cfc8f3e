package io.sluice.smtp.server;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.jctools.queues.MpscArrayQueue;

/**
 * One key=value line per connection, message and notable event, written to a stream by a
 * background thread so that no session loop ever blocks on a terminal or a pipe. Lines are handed
 * over through a bounded lock-free queue; when it is full a line is dropped and counted, never
 * waited for. Loggable from any thread.
 */
public final class EventLog implements AutoCloseable {

    /** Severity, lowest first; a line below the configured level is not even formatted. */
    public enum Level { DEBUG, INFO, WARN, ERROR }

    private static final int CAPACITY = 64 * 1024;

    private final Level threshold;
    private final MpscArrayQueue<String> lines = new MpscArrayQueue<>(CAPACITY);
    private final AtomicLong dropped = new AtomicLong();
    private final OutputStream out;
    private final Thread writer;
    private final boolean writing;
    private volatile boolean running = true;

    private static final EventLog SILENT = new EventLog(Level.ERROR, OutputStream.nullOutputStream(), false);
    /** Idle waits grow from 1 ms to this: a quiet log wakes 20 times a second, not 1,000. */
    private static final long MAX_IDLE_PARK_NANOS = 50_000_000L;

    public EventLog(Level threshold, PrintStream out) {
        this(threshold, out, true);
    }

    private EventLog(Level threshold, OutputStream out, boolean writing) {
        this.threshold = threshold;
        this.out = out;
        this.writing = writing;
        this.writer = writing ? new Thread(this::drainLoop, "sluice-log") : null;
        if (writer != null) {
            writer.setDaemon(true);
            writer.start();
        }
    }

    /** A log that writes nothing and owns no thread (tests, benchmarks); closing it is optional. */
    public static EventLog silent() {
        return SILENT;
    }

    public boolean enabled(Level level) {
        return writing && level.ordinal() >= threshold.ordinal();
    }

    /**
     * Logs {@code event} with alternating keys and values; values are quoted when they hold
     * spaces, quotes or control characters, so a line stays one parseable line whatever a
     * client sent.
     */
    public void log(Level level, String event, Object... keyValues) {
        if (!enabled(level)) {
            return;
        }
        StringBuilder line = new StringBuilder(128);
        line.append(Instant.now()).append(' ').append(level).append(' ').append(event);
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
            line.append(' ').append(keyValues[i]).append('=');
            appendValue(line, String.valueOf(keyValues[i + 1]));
        }
        line.append('\n');
        if (!lines.relaxedOffer(line.toString())) {
            dropped.incrementAndGet();
        }
    }

    public long dropped() {
        return dropped.get();
    }

    private static void appendValue(StringBuilder line, String value) {
        boolean plain = !value.isEmpty();
        for (int i = 0; i < value.length() && plain; i++) {
            char c = value.charAt(i);
            plain = c > ' ' && c != '"' && c != '\\' && c != 0x7f;
        }
        if (plain) {
            line.append(value);
            return;
        }
        line.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                line.append('\\').append(c);
            } else if (c < ' ' || c == 0x7f) {
                line.append(String.format("\\x%02x", (int) c));
            } else {
                line.append(c);
            }
        }
        line.append('"');
    }

    private void drainLoop() {
        long parkNanos = 1_000_000L;
        boolean unflushed = false;
        while (running || !lines.isEmpty()) {
            int n = lines.drain(this::write, 1024);
            if (n > 0) {
                unflushed = true;
                parkNanos = 1_000_000L;
                continue;
            }
            if (unflushed) {
                flush();
                unflushed = false;
            }
            LockSupport.parkNanos(parkNanos);
            parkNanos = Math.min(parkNanos * 2, MAX_IDLE_PARK_NANOS);
        }
        flush();
    }

    private void write(String line) {
        try {
            out.write(line.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            dropped.incrementAndGet();
        }
    }

    private void flush() {
        try {
            out.flush();
        } catch (IOException e) {
            dropped.incrementAndGet();
        }
    }

    /** Writes what is queued and stops the writer thread. */
    @Override
    public void close() {
        running = false;
        if (writer == null) {
            return;
        }
        LockSupport.unpark(writer);
        try {
            writer.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
