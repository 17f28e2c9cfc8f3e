package io.sluice.bench.load;

import java.nio.charset.StandardCharsets;

/**
 * The SMTP commands of a run, encoded once. The envelope is one array, MAIL then every RCPT then
 * DATA, so a pipelining session sends it in one write and a non-pipelining one writes slices of
 * it. Immutable after construction; every loop thread may read it.
 */
final class CommandBytes {

    final byte[] ehlo;
    final byte[] starttls = ascii("STARTTLS\r\n");
    final byte[] rset = ascii("RSET\r\n");
    final byte[] quit = ascii("QUIT\r\n");
    /** MAIL, RCPT x recipients, DATA. */
    final byte[] envelope;
    /** Offset in {@link #envelope} of RCPT i; index recipients is the DATA command. */
    final int[] offsets;

    CommandBytes(String heloName, String sender, String rcptDomain, int recipients) {
        ehlo = ascii("EHLO " + heloName + "\r\n");
        StringBuilder text = new StringBuilder("MAIL FROM:<").append(sender).append(">\r\n");
        offsets = new int[recipients + 1];
        for (int i = 0; i < recipients; i++) {
            offsets[i] = text.length();
            text.append("RCPT TO:<").append(recipient(i, rcptDomain)).append(">\r\n");
        }
        offsets[recipients] = text.length();
        text.append("DATA\r\n");
        envelope = ascii(text.toString());
    }

    /** The address of recipient {@code i}. */
    static String recipient(int i, String rcptDomain) {
        return "rcpt" + i + "@" + rcptDomain;
    }

    /** Length of MAIL alone. */
    int mailLength() {
        return offsets[0];
    }

    /** Length of RCPT {@code i} alone. */
    int rcptLength(int i) {
        return offsets[i + 1] - offsets[i];
    }

    /** Offset of DATA alone. */
    int dataOffset() {
        return offsets[offsets.length - 1];
    }

    int dataLength() {
        return envelope.length - dataOffset();
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}
