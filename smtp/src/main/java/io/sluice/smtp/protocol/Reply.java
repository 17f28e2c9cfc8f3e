package io.sluice.smtp.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * An SMTP reply encoded once into its wire form: {@code code SP [enhanced SP] text CRLF}, or the
 * multi-line form {@code code-line CRLF ... code SP last CRLF}. Built at class-init or config time
 * ({@link #of}, {@link #multiline}); immutable afterwards, so one instance may be written by every
 * session loop at once. The text is printable US-ASCII only, so a reply can never carry a line break.
 */
public final class Reply {
    private final int code;
    private final String enhanced;
    private final String text;
    private final byte[] bytes;

    private Reply(int code, String enhanced, String text, byte[] bytes) {
        this.code = code;
        this.enhanced = enhanced;
        this.text = text;
        this.bytes = bytes;
    }

    /**
     * Builds a single-line reply.
     *
     * @param code     three-digit reply code, 200..599 (RFC 5321 4.2)
     * @param enhanced RFC 3463 status such as "2.1.0" whose class matches the code's first digit,
     *                 or null for replies that carry none (220 greeting, 354)
     * @param text     printable US-ASCII, no CR/LF
     * @throws IllegalArgumentException on any violation
     */
    public static Reply of(int code, String enhanced, String text) {
        checkCode(code);
        if (enhanced != null) {
            checkEnhanced(code, enhanced);
        }
        checkText(text);
        String line = code + " " + (enhanced == null ? "" : enhanced + " ") + text;
        return new Reply(code, enhanced, text, (line + "\r\n").getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * A SASL challenge (RFC 4954): {@code 334} and base64 text, which may be empty ({@code "334 "}
     * asks for an initial response).
     */
    public static Reply challenge(String base64) {
        if (!base64.isEmpty()) {
            checkText(base64);
        }
        return new Reply(334, null, base64, ("334 " + base64 + "\r\n").getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * Builds a multi-line reply such as the EHLO response: {@code multiline(250, "mx.example",
     * "PIPELINING", "SIZE 1000")} encodes {@code 250-mx.example}, {@code 250-PIPELINING},
     * {@code 250 SIZE 1000}. {@link #text()} is the lines joined with a single LF.
     */
    public static Reply multiline(int code, String... lines) {
        checkCode(code);
        if (lines.length == 0) {
            throw new IllegalArgumentException("lines.length=0 < MIN=1");
        }
        StringBuilder wire = new StringBuilder();
        for (int i = 0; i < lines.length; i++) {
            checkText(lines[i]);
            wire.append(code).append(i == lines.length - 1 ? ' ' : '-').append(lines[i]).append("\r\n");
        }
        return new Reply(code, null, String.join("\n", lines), wire.toString().getBytes(StandardCharsets.US_ASCII));
    }

    /** @return the three-digit reply code */
    public int code() {
        return code;
    }

    /** @return the RFC 3463 enhanced status code ("5.1.3"), or null when the reply has none */
    public String enhanced() {
        return enhanced;
    }

    /** @return the human-readable text (multi-line: lines joined with LF), without code or CRLF */
    public String text() {
        return text;
    }

    /**
     * @return the encoded reply, CRLF included. The array is shared by every caller and must never
     *         be modified; it is returned as is so writing a reply allocates nothing.
     */
    public byte[] bytes() {
        return bytes;
    }

    /** @return the encoded length in octets */
    public int length() {
        return bytes.length;
    }

    /**
     * Copies the encoded reply into {@code out} at its position.
     *
     * @throws java.nio.BufferOverflowException when {@code out.remaining() < length()}
     */
    public void writeTo(ByteBuffer out) {
        out.put(bytes);
    }

    /** @return true for 5xx (the client must not retry the same command unchanged) */
    public boolean isPermanent() {
        return code >= 500;
    }

    /** @return true for 4xx (the client may retry later) */
    public boolean isTransient() {
        return code >= 400 && code < 500;
    }

    @Override
    public String toString() {
        return new String(bytes, 0, bytes.length - 2, StandardCharsets.US_ASCII);
    }

    private static void checkCode(int code) {
        if (code < 200 || code > 599) {
            throw new IllegalArgumentException("code=" + code + " outside 200..599");
        }
    }

    private static void checkEnhanced(int code, String enhanced) {
        String[] parts = enhanced.split("\\.", -1);
        boolean ok = parts.length == 3
                && parts[0].equals(String.valueOf(code / 100))
                && isDigits(parts[1], 3) && isDigits(parts[2], 3)
                && (code / 100 == 2 || code / 100 == 4 || code / 100 == 5);
        if (!ok) {
            throw new IllegalArgumentException("enhanced=" + enhanced + " is not class.subject.detail matching code=" + code);
        }
    }

    private static boolean isDigits(String s, int maxDigits) {
        if (s.isEmpty() || s.length() > maxDigits) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    private static void checkText(String text) {
        if (text.isEmpty()) {
            throw new IllegalArgumentException("text is empty");
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c > 0x7E) {
                throw new IllegalArgumentException("text has octet " + (int) c + " at " + i + ": printable US-ASCII only");
            }
        }
    }
}
