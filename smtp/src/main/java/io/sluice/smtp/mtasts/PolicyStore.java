package io.sluice.smtp.mtasts;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The MTA-STS policy cache on disk ({@value #FILE_NAME} in the spool directory), so that a restart
 * does not forget enforce policies (RFC 8461 §10.2: an attacker who blocks the policy fetch or
 * strips the TXT record after a restart would otherwise downgrade every enforce domain). A text
 * file, one policy a line after a version header:
 * {@code domain id mode max_age fetched_at_epoch_millis mx,mx,...} ({@code -} for no mx). Written
 * whole and atomically (temp file, fsync, rename, directory fsync); a line that does not parse is
 * skipped, a file with another header is ignored, and neither stops the server.
 *
 * <p>Threading: {@link #load} once at start, {@link #save} from one thread at a time (the MTA-STS
 * cache thread, then the owner at close); never an event loop (both block on the disk).
 */
public final class PolicyStore {
    /** The file name in the spool directory. */
    public static final String FILE_NAME = "mta-sts-policies";
    static final String HEADER = "# sluice mta-sts policy cache v1";

    /**
     * The longest line {@link #load} reads (a policy of {@link StsPolicy#MAX_MX_PATTERNS} mx of 253
     * octets, with room to spare); a longer one is skipped unread, so a damaged file cannot fill the heap.
     */
    static final int MAX_LINE_OCTETS = 17 * 1024;

    private final Path file;

    /** One cached policy as stored: what it takes to rebuild the cache entry after a restart. */
    public record Entry(String domain, String id, StsPolicy policy, long fetchedAtMillis) {
        /** Epoch milliseconds past which the policy may no longer be used. */
        public long expiresAtMillis() {
            return fetchedAtMillis + policy.maxAgeSeconds() * 1000;
        }
    }

    /** What {@link #load} found: the entries, and how many lines it skipped (with the first reason). */
    public record Loaded(List<Entry> entries, int skippedLines, String firstProblem) {
    }

    /** @param file where the cache lives; null = memory only (load finds nothing, save does nothing) */
    public PolicyStore(Path file) {
        this.file = file;
    }

    /** The file, or null when memory only. */
    public Path file() {
        return file;
    }

    /**
     * The unexpired entries of the file at {@code nowMillis}, newest first, at most {@code max}
     * (the oldest beyond it dropped). No file: none. A
     * line that does not parse, holds an octet that is not printable ASCII or is longer than
     * {@link #MAX_LINE_OCTETS} is skipped and counted.
     *
     * @throws IOException when the file exists but cannot be read, or its header is not ours
     */
    public Loaded load(long nowMillis, int max) throws IOException {
        if (file == null) {
            return new Loaded(List.of(), 0, null);
        }
        List<Entry> entries = new ArrayList<>();
        int skipped = 0;
        String firstProblem = null;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            LineReader lines = new LineReader(in);
            if (lines.next() != LineReader.LINE || !lines.text().equals(HEADER)) {
                throw new IOException(file + ": the first line is not \"" + HEADER + "\"");
            }
            for (int n = 2, read; (read = lines.next()) != LineReader.END; n++) {
                String problem = null;
                if (read == LineReader.TOO_LONG) {
                    problem = "longer than MAX_LINE_OCTETS=" + MAX_LINE_OCTETS;
                } else if (read == LineReader.NOT_ASCII) {
                    problem = "an octet that is not printable ASCII";
                } else if (!lines.text().isEmpty()) {
                    try {
                        Entry e = parse(lines.text());
                        if (e.expiresAtMillis() > nowMillis) {
                            entries.add(e);
                            if (entries.size() - max > max) { // a file longer than save writes: bounded memory
                                newestFirst(entries, max);
                            }
                        }
                    } catch (InvalidPolicyException | RuntimeException e) {
                        problem = e.getMessage();
                    }
                }
                if (problem != null) {
                    skipped++;
                    if (firstProblem == null) {
                        firstProblem = "line " + n + ": " + problem;
                    }
                }
            }
        } catch (NoSuchFileException e) {
            return new Loaded(List.of(), 0, null);
        }
        newestFirst(entries, max);
        return new Loaded(entries, skipped, firstProblem);
    }

    /** Sorts newest first and drops all but the first {@code max}. */
    private static void newestFirst(List<Entry> entries, int max) {
        entries.sort(Comparator.comparingLong(Entry::fetchedAtMillis).reversed());
        if (entries.size() > max) {
            entries.subList(max, entries.size()).clear();
        }
    }

    /**
     * Replaces the file with these entries (the newest {@code max} of them): temp file, fsync,
     * atomic rename, directory fsync. Nothing when memory only.
     */
    public void save(List<Entry> entries, int max) throws IOException {
        if (file == null) {
            return;
        }
        List<Entry> newestFirst = new ArrayList<>(entries);
        newestFirst.sort(Comparator.comparingLong(Entry::fetchedAtMillis).reversed());
        StringBuilder text = new StringBuilder(HEADER).append('\n');
        int written = 0;
        for (int i = 0; i < newestFirst.size() && written < max; i++) {
            if (validDomain(newestFirst.get(i).domain())) { // a U-label domain stays in memory only
                format(newestFirst.get(i), text);
                written++;
            }
        }
        Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer bytes = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.US_ASCII));
            while (bytes.hasRemaining()) {
                out.write(bytes);
            }
            out.force(true); // the content is durable before the name points at it
        }
        try {
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
        }
        syncDirectory(file.toAbsolutePath().getParent());
    }

    /** Reads the file a line at a time, at most {@link #MAX_LINE_OCTETS} of each kept (load only). */
    private static final class LineReader {
        static final int END = 0;
        static final int LINE = 1;
        static final int TOO_LONG = 2;
        static final int NOT_ASCII = 3;

        private final InputStream in;
        private final byte[] line = new byte[MAX_LINE_OCTETS];
        private int length;

        LineReader(InputStream in) {
            this.in = in;
        }

        /** The next line (its end, LF, not included): what it is, or {@link #END} at the end of the file. */
        int next() throws IOException {
            length = 0;
            boolean tooLong = false;
            boolean notAscii = false;
            int b = in.read();
            if (b < 0) {
                return END;
            }
            for (; b >= 0 && b != '\n'; b = in.read()) {
                notAscii |= b < 0x20 || b > 0x7E;
                if (length < line.length) {
                    line[length++] = (byte) b;
                } else {
                    tooLong = true; // the rest of it is read and dropped
                }
            }
            return tooLong ? TOO_LONG : notAscii ? NOT_ASCII : LINE;
        }

        /** The last {@link #LINE}. */
        String text() {
            return new String(line, 0, length, StandardCharsets.US_ASCII);
        }
    }

    /** Makes the rename durable; some file systems (and platforms) cannot open a directory, which is no error. */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // the rename is done; only its durability across a power cut is not assured
        }
    }

    static void format(Entry e, StringBuilder out) {
        out.append(e.domain()).append(' ').append(e.id()).append(' ')
                .append(e.policy().mode().name().toLowerCase(Locale.ROOT)).append(' ')
                .append(e.policy().maxAgeSeconds()).append(' ').append(e.fetchedAtMillis()).append(' ')
                .append(e.policy().mxPatterns().isEmpty() ? "-" : String.join(",", e.policy().mxPatterns())).append('\n');
    }

    /** One line back into an entry, every field checked as when it was first learnt (id, policy rules, domain). */
    static Entry parse(String line) throws InvalidPolicyException {
        String[] f = line.split(" ", -1);
        if (f.length != 6) {
            throw new InvalidPolicyException(f.length + " fields, not 6");
        }
        String domain = f[0];
        if (!validDomain(domain)) {
            throw new InvalidPolicyException("domain " + domain + " is not a lower-case domain name");
        }
        if (StsTxtRecord.parseId("v=STSv1; id=" + f[1]) == null) {
            throw new InvalidPolicyException("id " + f[1] + " is not 1 to 32 letters and digits");
        }
        StringBuilder body = new StringBuilder("version: STSv1\nmode: ").append(f[2]).append("\nmax_age: ").append(f[3]).append('\n');
        if (!f[5].equals("-")) {
            for (String mx : f[5].split(",", -1)) {
                body.append("mx: ").append(mx).append('\n');
            }
        }
        StsPolicy policy = StsPolicy.parse(body.toString());
        long fetchedAt;
        try {
            fetchedAt = Long.parseLong(f[4]);
        } catch (NumberFormatException e) {
            throw new InvalidPolicyException("fetched_at " + f[4] + " is not a number");
        }
        return new Entry(domain, f[1], policy, fetchedAt);
    }

    private static boolean validDomain(String domain) {
        if (domain.isEmpty() || domain.length() > 253) {
            return false;
        }
        for (int i = 0; i < domain.length(); i++) {
            char c = domain.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
            if (!ok) {
                return false;
            }
        }
        return true;
    }
}
