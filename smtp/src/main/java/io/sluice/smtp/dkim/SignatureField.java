package io.sluice.smtp.dkim;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.util.Base64;
import java.util.List;

/**
 * Writes our DKIM-Signature field: tags {@code v a c d s t h bh b} in that order, folded so that
 * no line is longer than {@link #MAX_COLUMNS} (inside {@code h=} after a colon, inside {@code b=}
 * anywhere: both allow folding whitespace there), and computes {@code b=} over the selected header
 * fields and the field itself with an empty {@code b=} (RFC 6376 §3.5, §3.7). Stateless; any thread.
 */
final class SignatureField {
    /** Folded at 78 columns (RFC 5322 §2.1.1's SHOULD), not counting the CRLF. */
    static final int MAX_COLUMNS = 78;
    static final String NAME = "DKIM-Signature";

    private SignatureField() {
    }

    /**
     * The field up to and including {@code b=}, folded, without a line end: what is signed
     * (relaxed) and what the signature is appended to.
     */
    static String unsigned(DkimKey key, long epochSeconds, List<String> signedNames, byte[] bodyHash) {
        Folder f = new Folder(NAME + ":");
        f.tag("v=1;");
        f.tag("a=" + key.algorithm().tag() + ";");
        f.tag("c=relaxed/relaxed;");
        f.tag("d=" + key.domain() + ";");
        f.tag("s=" + key.selector() + ";");
        f.tag("t=" + epochSeconds + ";");
        f.list("h=", signedNames, ":", ";");
        f.tag("bh=" + Base64.getEncoder().encodeToString(bodyHash) + ";");
        f.tag("b=");
        return f.text();
    }

    /** The whole field with its CRLF: {@code unsigned} and the base64 signature, folded anywhere. */
    static byte[] complete(String unsigned, byte[] signature) {
        String b64 = Base64.getEncoder().encodeToString(signature);
        StringBuilder out = new StringBuilder(unsigned.length() + b64.length() + 32).append(unsigned);
        int column = unsigned.length() - unsigned.lastIndexOf('\n') - 1;
        int at = 0;
        while (at < b64.length()) {
            if (column >= MAX_COLUMNS) {
                out.append("\r\n ");
                column = 1;
            }
            int take = Math.min(b64.length() - at, MAX_COLUMNS - column);
            out.append(b64, at, at + take);
            column += take;
            at += take;
        }
        return out.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Signs: the fields named in {@code signedNames} (each name takes the last unused field of
     * that name, bottom up; a name with none left adds nothing, which is how over-signing works,
     * RFC 6376 §5.4.2), then the unsigned DKIM-Signature field without its CRLF.
     *
     * @param unsignedField the DKIM-Signature field text with an empty {@code b=} (its name, a colon and value)
     */
    static byte[] signature(DkimAlgorithm algorithm, PrivateKey key, HeaderBlock header,
            List<String> signedNames, String unsignedField) throws GeneralSecurityException {
        ByteArrayOutputStream data = new ByteArrayOutputStream(1024);
        canonicalHeaders(header, signedNames, data);
        int colon = unsignedField.indexOf(':');
        RelaxedCanonicalization.headerWithoutCrlf(unsignedField.substring(0, colon), unsignedField.substring(colon + 1), data);
        return algorithm.sign(key, data.toByteArray());
    }

    /** Appends the relaxed form of the fields {@code signedNames} selects. */
    static void canonicalHeaders(HeaderBlock header, List<String> signedNames, ByteArrayOutputStream out) {
        boolean[] used = new boolean[header.count()];
        for (String name : signedNames) {
            for (int i = header.count() - 1; i >= 0; i--) {
                if (!used[i] && header.named(i, name)) {
                    used[i] = true;
                    RelaxedCanonicalization.header(header, i, out);
                    break;
                }
            }
        }
    }

    /** Lays out tags on lines of at most {@link #MAX_COLUMNS} columns. */
    private static final class Folder {
        private final StringBuilder out = new StringBuilder(512);
        private int column;

        Folder(String start) {
            out.append(start);
            column = start.length();
        }

        /** One unbreakable piece after a space, or on a new line when it does not fit. */
        void tag(String piece) {
            piece(piece, true);
        }

        /** {@code start} then the items joined by {@code separator} (fold points), then {@code end}. */
        void list(String start, List<String> items, String separator, String end) {
            for (int i = 0; i < items.size(); i++) {
                String piece = (i == 0 ? start : "") + items.get(i) + (i == items.size() - 1 ? end : separator);
                piece(piece, i == 0);
            }
        }

        private void piece(String piece, boolean spaced) {
            int needed = piece.length() + (spaced ? 1 : 0);
            if (column + needed > MAX_COLUMNS) {
                out.append("\r\n ");
                column = 1;
            } else if (spaced) {
                out.append(' ');
                column++;
            }
            out.append(piece);
            column += piece.length();
        }

        String text() {
            return out.toString();
        }
    }
}
