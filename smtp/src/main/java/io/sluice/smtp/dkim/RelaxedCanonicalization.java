package io.sluice.smtp.dkim;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * The "relaxed" canonicalization of RFC 6376 §3.4.2 (header) and §3.4.4 (body), on octets: a
 * field becomes {@code lowercase-name:value CRLF} with the value unfolded, blank runs made one
 * space and blanks at both ends of the value removed; the body loses blanks at line ends, has
 * blank runs made one space and loses empty lines at its end, and a non-empty body ends with
 * CRLF. Line ends are CRLF only (what the client sends); a lone CR or LF is an ordinary octet.
 * Stateless; any thread.
 */
final class RelaxedCanonicalization {
    private static final int SCRATCH_OCTETS = 8192;

    private RelaxedCanonicalization() {
    }

    /** Appends field {@code field} of {@code header} in relaxed form, with its CRLF. */
    static void header(HeaderBlock header, int field, ByteArrayOutputStream out) {
        byte[] b = header.bytes();
        int nameEnd = header.colon(field);
        while (nameEnd > header.start(field) && HeaderBlock.isWsp(b[nameEnd - 1])) {
            nameEnd--;
        }
        for (int i = header.start(field); i < nameEnd; i++) {
            int c = b[i];
            out.write(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
        }
        out.write(':');
        value(b, header.colon(field) + 1, header.end(field), out);
        out.write('\r');
        out.write('\n');
    }

    /**
     * Appends a field given as text (our own DKIM-Signature while it is signed: no CRLF at the
     * end, RFC 6376 §3.7), without its CRLF.
     */
    static void headerWithoutCrlf(String name, String value, ByteArrayOutputStream out) {
        byte[] v = value.getBytes(StandardCharsets.ISO_8859_1);
        String lower = name.toLowerCase(Locale.ROOT).strip();
        out.writeBytes(lower.getBytes(StandardCharsets.ISO_8859_1));
        out.write(':');
        value(v, 0, v.length, out);
    }

    /** The value unfolded, blank runs as one SP, no blanks at either end. */
    private static void value(byte[] b, int from, int to, ByteArrayOutputStream out) {
        boolean blank = false;
        boolean any = false;
        for (int i = from; i < to; i++) {
            byte c = b[i];
            if (c == '\r' && i + 1 < to && b[i + 1] == '\n') {
                i++; // unfold: the CRLF goes, the blank after it is a blank like any other
                continue;
            }
            if (HeaderBlock.isWsp(c)) {
                blank = true;
                continue;
            }
            if (blank && any) {
                out.write(' ');
            }
            blank = false;
            any = true;
            out.write(c);
        }
    }

    /** SHA-256 of the relaxed body {@code b[from, to)} (the {@code bh=} value before base64). */
    static byte[] bodyHash(byte[] b, int from, int to) {
        MessageDigest sha256 = sha256();
        // One scratch array per message on a worker thread: the canonical form is fed to the
        // digest in 8 KiB pieces instead of one update call per run of octets.
        byte[] scratch = new byte[SCRATCH_OCTETS];
        int n = 0;
        int pendingLineEnds = 0;
        boolean blank = false;
        boolean any = false;
        for (int i = from; i < to; i++) {
            byte c = b[i];
            if (c == '\r' && i + 1 < to && b[i + 1] == '\n') {
                i++;
                pendingLineEnds++;
                blank = false; // blanks at the end of a line go
                continue;
            }
            if (HeaderBlock.isWsp(c)) {
                blank = true;
                continue;
            }
            while (pendingLineEnds > 0) {
                if (n + 2 > scratch.length) {
                    sha256.update(scratch, 0, n);
                    n = 0;
                }
                scratch[n++] = '\r';
                scratch[n++] = '\n';
                pendingLineEnds--;
            }
            if (n + 2 > scratch.length) {
                sha256.update(scratch, 0, n);
                n = 0;
            }
            if (blank) {
                scratch[n++] = ' ';
                blank = false;
            }
            scratch[n++] = c;
            any = true;
        }
        sha256.update(scratch, 0, n);
        if (any) {
            sha256.update(new byte[] {'\r', '\n'}); // the last line's end; empty lines after it are dropped
        }
        return sha256.digest();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
