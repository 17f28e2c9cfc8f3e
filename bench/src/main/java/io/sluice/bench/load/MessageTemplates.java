package io.sluice.bench.load;

import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * The pre-built wire bytes of every message size of a run: a small header block with fixed-width
 * fields for a unique {@code Message-ID} and the {@code X-Sluice-Sent} timestamp, and a body
 * shared by every session (76-character lines that never start with a dot, so no dot-stuffing is
 * needed, ending with the {@code CRLF.CRLF} terminator). A session copies the headers once
 * ({@link #copyHeaders(int)}) and stamps its copy in place per message ({@link #stamp}), so sending
 * a message allocates nothing. Immutable after construction; the shared arrays are never written,
 * so every loop thread may read them.
 */
final class MessageTemplates {

    /** Body line length without CRLF (RFC 5322 recommends at most 78). */
    static final int LINE_CHARS = 76;
    /** Hex digits of each half of the Message-ID local part. */
    static final int ID_HEX_DIGITS = 16;
    /** Decimal digits of the epoch-microseconds timestamp (enough until the year 2286). */
    static final int SENT_DIGITS = 16;
    /** The header that carries the send time, in microseconds since the epoch. */
    static final String SENT_HEADER = "X-Sluice-Sent";

    /** The domain part of every Message-ID. */
    static final String ID_DOMAIN = "load.sluice.test";

    private static final byte[] TERMINATOR = {'.', '\r', '\n'};
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private final byte[][] headers;
    private final byte[][] bodies;
    private final int idOffset;
    private final int sentOffset;
    /** {@code RUNID.}: what every Message-ID of this run starts with (without the angle bracket). */
    private final String idPrefix;

    /**
     * @param runId      distinguishes this run's Message-IDs from another run's
     */
    MessageTemplates(SizeDistribution sizes, String sender, String recipient, long runId) {
        int count = sizes.count();
        headers = new byte[count][];
        bodies = new byte[count][];
        String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now());
        this.idPrefix = hex(runId) + ".";
        String idHeader = "Message-ID: <" + this.idPrefix;
        String sentPrefix = SENT_HEADER + ": ";
        for (int i = 0; i < count; i++) {
            String head = "From: <" + sender + ">\r\n"
                    + "To: <" + recipient + ">\r\n"
                    + "Date: " + date + "\r\n"
                    // Fixed width: every size's stamp fields must sit at the same offsets (stamp() uses one).
                    + "Subject: sluice load " + String.format(Locale.ROOT, "%10d", sizes.sizeBytes(i)) + " bytes\r\n"
                    + idHeader + "0".repeat(ID_HEX_DIGITS) + "@" + ID_DOMAIN + ">\r\n"
                    + sentPrefix + "0".repeat(SENT_DIGITS) + "\r\n"
                    + "\r\n";
            headers[i] = head.getBytes(StandardCharsets.US_ASCII);
            bodies[i] = buildBody(Math.max(0, sizes.sizeBytes(i) - headers[i].length));
        }
        String first = new String(headers[0], StandardCharsets.US_ASCII);
        idOffset = first.indexOf(idHeader) + idHeader.length();
        sentOffset = first.indexOf(sentPrefix) + sentPrefix.length();
        for (byte[] header : headers) {
            String text = new String(header, StandardCharsets.US_ASCII);
            if (text.indexOf(sentPrefix) + sentPrefix.length() != sentOffset || text.indexOf(idHeader) + idHeader.length() != idOffset) {
                throw new IllegalStateException("stamp offsets differ between sizes: " + sizes);
            }
        }
    }

    /**
     * What every Message-ID of this run starts with, up to the sequence's hex digits: the whole id
     * is {@code RUNID.SEQUENCE@load.sluice.test}, both parts 16 hex digits.
     */
    String messageIdPrefix() {
        return idPrefix;
    }

    /** A private, stampable copy of the headers of size {@code index}; one per session, at setup. */
    byte[] copyHeaders(int index) {
        return headers[index].clone();
    }

    /** The shared body of size {@code index}, terminator included. Never write to it. */
    byte[] body(int index) {
        return bodies[index];
    }

    /** Header plus body bytes of size {@code index}, without the terminator: what a server stores. */
    int messageBytes(int index) {
        return headers[index].length + bodies[index].length - TERMINATOR.length;
    }

    /** Writes {@code messageId} and {@code sentEpochMicros} into a header copy, in place. */
    void stamp(byte[] headerCopy, long messageId, long sentEpochMicros) {
        for (int i = ID_HEX_DIGITS - 1, at = idOffset; i >= 0; i--) {
            headerCopy[at + i] = HEX[(int) (messageId >>> (4 * (ID_HEX_DIGITS - 1 - i))) & 0xf];
        }
        long rest = sentEpochMicros;
        for (int i = SENT_DIGITS - 1; i >= 0; i--) {
            headerCopy[sentOffset + i] = (byte) ('0' + rest % 10);
            rest /= 10;
        }
    }

    /**
     * {@code bodyBytes} (at least 2 when not 0) of lines of at most 76 characters, each ending in
     * CRLF, followed by the terminator. No line starts with a dot.
     */
    static byte[] buildBody(int bodyBytes) {
        int total = bodyBytes == 1 ? 2 : bodyBytes;
        byte[] body = new byte[total + TERMINATOR.length];
        int fullLines = total / (LINE_CHARS + 2);
        int rest = total % (LINE_CHARS + 2);
        int at = 0;
        int line = 0;
        if (rest == 1) {
            // 79 bytes cannot be one line: write 75 characters and an empty line instead.
            fullLines--;
            at = line(body, at, line++, LINE_CHARS - 1);
            at = line(body, at, line++, 0);
        }
        for (int i = 0; i < fullLines; i++) {
            at = line(body, at, line++, LINE_CHARS);
        }
        if (rest >= 2) {
            at = line(body, at, line, rest - 2);
        }
        System.arraycopy(TERMINATOR, 0, body, at, TERMINATOR.length);
        return body;
    }

    /** Writes {@code chars} letters and CRLF at {@code at}; returns the index after the line. */
    private static int line(byte[] body, int at, int lineNumber, int chars) {
        for (int c = 0; c < chars; c++) {
            body[at++] = (byte) ALPHABET.charAt((lineNumber + c) % ALPHABET.length());
        }
        body[at++] = '\r';
        body[at++] = '\n';
        return at;
    }

    private static String hex(long value) {
        return String.format(Locale.ROOT, "%016x", value);
    }
}
