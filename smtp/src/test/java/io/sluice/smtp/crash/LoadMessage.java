package io.sluice.smtp.crash;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * The messages the crash harness sends: a unique {@code Message-ID}, the recipients, and an
 * {@code X-Crash-Check} header holding the CRC32C of the body as the client meant it (after
 * dot-unstuffing), so a destination can tell an intact copy from a torn or mixed one.
 * Immutable; any thread.
 *
 * @param messageId  the id without angle brackets, e.g. {@code c3.17.42@load.test}
 * @param recipients envelope recipients, in RCPT order
 * @param body       the body as delivered (no stuffing), CRLF lines, ending in CRLF
 */
record LoadMessage(String messageId, List<String> recipients, String body) {

    private static final Pattern MESSAGE_ID = Pattern.compile("(?im)^Message-ID:\\s*<([^>\r\n]+)>\r?$");
    private static final Pattern CHECK = Pattern.compile("(?im)^X-Crash-Check:\\s*([0-9a-f]{8})\r?$");

    LoadMessage {
        recipients = List.copyOf(recipients);
    }

    /** A body of about {@code octets} octets with lines that need dot-stuffing now and then. */
    static String body(String messageId, int octets) {
        StringBuilder b = new StringBuilder(octets + 80);
        b.append("Body of ").append(messageId).append("\r\n");
        for (int line = 0; b.length() < octets; line++) {
            b.append(line % 7 == 3 ? ".a line that starts with a dot, " : "filler line ")
                    .append(line).append(" of ").append(messageId).append("\r\n");
        }
        return b.toString();
    }

    /** Header and body as they must arrive (the stored message minus anything prepended). */
    String text() {
        return "From: <load@example.org>\r\n"
                + "To: " + String.join(", ", recipients.stream().map(r -> "<" + r + ">").toList()) + "\r\n"
                + "Message-ID: <" + messageId + ">\r\n"
                + "Subject: crash harness " + messageId + "\r\n"
                + "X-Crash-Check: " + check(body) + "\r\n"
                + "\r\n"
                + body;
    }

    /** {@link #text()} dot-stuffed for DATA, without the terminating {@code .CRLF}. */
    String wire() {
        return text().replace("\r\n.", "\r\n..");
    }

    /** What a destination makes of one delivered copy. */
    record Parsed(String messageId, boolean intact) {
    }

    /**
     * Finds the Message-ID and checks the body against X-Crash-Check. Whatever a destination
     * prepends (Return-Path, Delivered-To, Received) is in the header, so the body is the part
     * after the first empty line.
     *
     * @return the parsed copy; {@code messageId} is {@code null} when there is none
     */
    static Parsed parse(byte[] delivered) {
        String text = new String(delivered, StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        if (end < 0) {
            return new Parsed(null, false);
        }
        String header = text.substring(0, end + 2);
        Matcher id = MESSAGE_ID.matcher(header);
        Matcher check = CHECK.matcher(header);
        String messageId = id.find() ? id.group(1) : null;
        boolean intact = check.find() && check.group(1).equals(check(text.substring(end + 4)));
        return new Parsed(messageId, intact);
    }

    private static String check(String body) {
        CRC32C crc = new CRC32C();
        crc.update(body.getBytes(StandardCharsets.ISO_8859_1));
        return String.format("%08x", crc.getValue());
    }
}
