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
    private volatile boolean running = true;

    public EventLog(Level threshold, PrintStream out) {
        this.threshold = threshold;
        this.out = out;
        this.writer = new Thread(this::drainLoop, "sluice-log");
        writer.setDaemon(true);
        writer.start();
    }

    /** A log that writes nothing (tests, benchmarks). */
    public static EventLog silent() {
        return new EventLog(Level.ERROR, new PrintStream(OutputStream.nullOutputStream(), false, StandardCharsets.UTF_8));
    }

    public boolean enabled(Level level) {
        return level.ordinal() >= threshold.ordinal();
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
        while (running || !lines.isEmpty()) {
            int n = lines.drain(this::write, 1024);
            if (n == 0) {
                flush();
                LockSupport.parkNanos(1_000_000L);
            }
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
        try {
            writer.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
