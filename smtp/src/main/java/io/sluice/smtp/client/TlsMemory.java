package io.sluice.smtp.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * Which next-hop hosts did STARTTLS, and until when they must keep doing it (RFC 3207 §6):
 * {@code tls.client.remember}. Kept in a small text file ({@code host epochMillis} per line) so it
 * survives a restart; written off the loops through the given executor, atomically (temp file and
 * rename), at most once per change burst. Thread-safe: sessions call {@link #remember} and
 * {@link #requiresTls} on their loops (lock-free map reads and writes).
 */
public final class TlsMemory {
    private static final long REFRESH_FRACTION = 8;

    private final Path file;
    private final long rememberMillis;
    private final LongSupplier clockMillis;
    private final Executor writer;
    private final Map<String, Long> until = new ConcurrentHashMap<>();
    private final AtomicBoolean saveQueued = new AtomicBoolean();

    /**
     * @param file           where the memory lives (read now if it exists); null = memory only
     * @param rememberMillis how long one successful handshake is remembered
     * @param clockMillis    epoch milliseconds
     * @param writer         runs the file writes (never an event loop)
     */
    public TlsMemory(Path file, long rememberMillis, LongSupplier clockMillis, Executor writer) throws IOException {
        this.file = file;
        this.rememberMillis = rememberMillis;
        this.clockMillis = clockMillis;
        this.writer = writer;
        if (file != null && Files.exists(file)) {
            load(Files.readAllLines(file, StandardCharsets.US_ASCII));
        }
    }

    private void load(List<String> lines) {
        long now = clockMillis.getAsLong();
        for (String line : lines) {
            String[] parts = line.trim().split(" ");
            if (parts.length == 2) {
                try {
                    long expiry = Long.parseLong(parts[1]);
                    if (expiry > now) {
                        until.put(parts[0], expiry);
                    }
                } catch (NumberFormatException ignored) {
                    // a damaged line forgets one host: it is re-learnt at its next handshake
                }
            }
        }
    }

    /** True when {@code host} did TLS within the remembered time. Any thread. */
    public boolean requiresTls(String host) {
        Long expiry = until.get(host);
        return expiry != null && expiry > clockMillis.getAsLong();
    }

    /** {@code host} completed a handshake now. Any thread; saves in the background when it changed. */
    public void remember(String host) {
        long now = clockMillis.getAsLong();
        Long old = until.get(host);
        if (old != null && old - now > rememberMillis - rememberMillis / REFRESH_FRACTION) {
            return; // refreshed recently: spare the file a write per message
        }
        until.put(host, now + rememberMillis);
        if (file != null && saveQueued.compareAndSet(false, true)) {
            writer.execute(this::save);
        }
    }

    /** Writes the file now (the writer thread; also called at shutdown). */
    public void save() {
        saveQueued.set(false);
        if (file == null) {
            return;
        }
        StringBuilder text = new StringBuilder();
        until.forEach((host, expiry) -> text.append(host).append(' ').append(expiry).append('\n'));
        try {
            Path temp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(temp, text, StandardCharsets.US_ASCII);
            try {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            // The memory still works for this run; the next change tries again.
            System.getLogger(TlsMemory.class.getName()).log(System.Logger.Level.WARNING,
                    "cannot save " + file + ": " + e.getMessage());
        }
    }
}
