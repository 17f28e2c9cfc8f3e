package io.sluice.smtp.delivery;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Delivers into maildirs (one per recipient, from a {@link MaildirPath} template): the file is
 * written in {@code tmp/} under a unique name ({@code SECONDS.MMICROS P PID Q COUNTER.HOST}),
 * fsynced, renamed into {@code new/}, and {@code new/} is fsynced, so a {@code 2xx} result means
 * the message survives a power cut. The maildir ({@code tmp}, {@code new}, {@code cur}) is created
 * when missing. Each file starts with {@code Return-Path: <sender>} and, when configured,
 * {@code Delivered-To: <recipient>}, then the stored content byte for byte (copied with
 * {@code transferTo}). Without Delivered-To every recipient's file has the same bytes, so the
 * first is written and the others are hard links to it (a copy where linking fails).
 *
 * <p>Blocking: the queue manager runs it on its delivery workers only. Thread-safe.
 */
public final class MaildirTransport implements Transport {
    private static final AtomicLong COUNTER = new AtomicLong();
    private static final long PID = ProcessHandle.current().pid();

    private final MaildirPath template;
    private final String localDomain;
    private final String hostPart;
    private final boolean deliveredTo;
    private final AtomicLong fileSyncs = new AtomicLong();
    private final AtomicLong directorySyncs = new AtomicLong();
    private final AtomicLong links = new AtomicLong();

    /**
     * @param template    e.g. {@code /var/mail/{domain}/{user}}
     * @param hostname    our host name: in file names, and the domain of a recipient without one
     * @param deliveredTo whether each file carries {@code Delivered-To:} (then no hard links)
     */
    public MaildirTransport(String template, String hostname, boolean deliveredTo) {
        this.template = new MaildirPath(template);
        this.localDomain = hostname;
        this.hostPart = hostname.replace("/", "\\057").replace(":", "\\072");
        this.deliveredTo = deliveredTo;
    }

    @Override
    public boolean blocking() {
        return true;
    }

    @Override
    public void deliver(DeliveryJob job, DeliveryCallback callback) {
        Path shared = null;
        for (String recipient : job.recipients()) {
            Path maildir;
            try {
                maildir = template.resolve(recipient, localDomain);
            } catch (IllegalArgumentException e) {
                callback.completed(RecipientResult.failed(recipient, "5.1.3",
                        "Bad destination mailbox for maildir: " + e.getMessage()));
                continue;
            }
            try {
                Path delivered = shared != null ? linkOrWrite(job, recipient, maildir, shared)
                        : write(job, recipient, maildir);
                if (!deliveredTo && shared == null) {
                    shared = delivered;
                }
                callback.completed(RecipientResult.delivered(recipient, "Delivered to maildir as "
                        + delivered.getFileName()));
            } catch (IOException | RuntimeException e) {
                callback.completed(RecipientResult.deferred(recipient, "4.3.0",
                        "maildir " + maildir + ": " + e.getClass().getSimpleName() + " " + e.getMessage()));
            }
        }
    }

    /** A new file in {@code maildir/new}; returns its path. */
    private Path write(DeliveryJob job, String recipient, Path maildir) throws IOException {
        ensureMaildir(maildir);
        String name = uniqueName();
        Path tmp = maildir.resolve("tmp").resolve(name);
        try {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer headers = ByteBuffer.wrap(headers(job.sender(), recipient));
                while (headers.hasRemaining()) {
                    out.write(headers);
                }
                job.copyContent(out);
                out.force(true);
                fileSyncs.incrementAndGet();
            }
            Path target = maildir.resolve("new").resolve(name);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(maildir.resolve("new"));
            return target;
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /** Another name for an already durable file with the same bytes, else a fresh copy. */
    private Path linkOrWrite(DeliveryJob job, String recipient, Path maildir, Path existing) throws IOException {
        ensureMaildir(maildir);
        Path target = maildir.resolve("new").resolve(uniqueName());
        try {
            Files.createLink(target, existing);
        } catch (IOException | UnsupportedOperationException e) {
            // Another file system, or the first file already moved to cur/ by a reader.
            return write(job, recipient, maildir);
        }
        links.incrementAndGet();
        syncDirectory(maildir.resolve("new"));
        return target;
    }

    private byte[] headers(String sender, String recipient) {
        StringBuilder h = new StringBuilder(64 + sender.length() + recipient.length());
        h.append("Return-Path: <").append(headerSafe(sender)).append(">\r\n");
        if (deliveredTo) {
            h.append("Delivered-To: ").append(headerSafe(recipient)).append("\r\n");
        }
        return h.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The parser never lets CR or LF into a path; this keeps a header one line regardless. */
    private static String headerSafe(String address) {
        StringBuilder out = new StringBuilder(address.length());
        for (int i = 0; i < address.length(); i++) {
            char c = address.charAt(i);
            out.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return out.toString();
    }

    private void ensureMaildir(Path maildir) throws IOException {
        if (Files.isDirectory(maildir.resolve("new")) && Files.isDirectory(maildir.resolve("tmp"))) {
            return;
        }
        Path parent = maildir.getParent();
        Files.createDirectories(parent);
        boolean created = !Files.isDirectory(maildir);
        for (String sub : new String[] {"tmp", "new", "cur"}) {
            Files.createDirectories(maildir.resolve(sub));
        }
        // The new directories' entries must be durable before a file in them is reported delivered.
        syncDirectory(maildir);
        if (created) {
            syncDirectory(parent);
        }
    }

    private void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
        directorySyncs.incrementAndGet();
    }

    /** Unique per host (PID), per process (counter) and over restarts (time): Bernstein's maildir naming. */
    private String uniqueName() {
        Instant now = Instant.now();
        return now.getEpochSecond() + ".M" + (now.getNano() / 1000) + "P" + PID + "Q" + COUNTER.incrementAndGet()
                + "." + hostPart;
    }

    /** Files fsynced so far. */
    public long fileSyncs() {
        return fileSyncs.get();
    }

    /** Directories fsynced so far. */
    public long directorySyncs() {
        return directorySyncs.get();
    }

    /** Deliveries made as hard links instead of copies. */
    public long links() {
        return links.get();
    }

    @Override
    public String toString() {
        return "maildir:" + template;
    }
}
