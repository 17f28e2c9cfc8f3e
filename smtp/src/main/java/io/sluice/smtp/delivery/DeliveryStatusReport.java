package io.sluice.smtp.delivery;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;

import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueuedMessage;

/**
 * Builds the bounce for a message: an RFC 3464 delivery status notification
 * ({@code multipart/report; report-type=delivery-status}) from {@code MAILER-DAEMON@hostname} to
 * the envelope sender, with a human-readable part, the {@code message/delivery-status} part (one
 * block per failed recipient) and the original headers as {@code text/rfc822-headers}; and its
 * envelope, with the null sender so that it is never bounced in turn. Stateless; any thread.
 */
final class DeliveryStatusReport {
    private static final DateTimeFormatter DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);

    private DeliveryStatusReport() {
    }

    /** The bounce's envelope: from {@code <>} to the original sender. */
    static Envelope envelope(QueuedMessage original, String hostname, long nowMillis, boolean eightBit) {
        Envelope e = original.envelope();
        return new Envelope("", List.of(e.sender()), "127.0.0.1", hostname, "LOCAL", nowMillis,
                eightBit ? BodyType.EIGHT_BIT_MIME : BodyType.SEVEN_BIT, e.smtpUtf8());
    }

    /**
     * The report's bytes, CRLF lines.
     *
     * @param failed          one result per failed recipient (its status and diagnostic)
     * @param originalHeaders the original header block (CRLF lines, no blank line), maybe truncated
     */
    static byte[] build(String hostname, QueuedMessage original, List<RecipientResult> failed, byte[] originalHeaders,
            long nowMillis) {
        return build(hostname, original, failed, originalHeaders, nowMillis, 0);
    }

    /**
     * The delay notification's bytes: the same report with {@code Action: delayed} for each
     * deferred recipient (its last error as the diagnostic) and {@code Will-Retry-Until}.
     *
     * @param deferred        the last (deferral) result of each recipient still being retried
     * @param retryUntilMillis when the message will be given up, epoch milliseconds
     */
    static byte[] buildDelay(String hostname, QueuedMessage original, List<RecipientResult> deferred,
            byte[] originalHeaders, long nowMillis, long retryUntilMillis) {
        return build(hostname, original, deferred, originalHeaders, nowMillis, retryUntilMillis);
    }

    /** {@code retryUntilMillis} 0 = a failure report, else a delay report. */
    private static byte[] build(String hostname, QueuedMessage original, List<RecipientResult> failed,
            byte[] originalHeaders, long nowMillis, long retryUntilMillis) {
        boolean delay = retryUntilMillis != 0;
        // At most 70 characters (RFC 2046), so not the host name.
        String boundary = original.id() + "." + nowMillis + "/sluice-report";
        String now = DATE.format(Instant.ofEpochMilli(nowMillis));
        StringBuilder m = new StringBuilder(2048);
        m.append("From: MAILER-DAEMON@").append(hostname).append(" (Mail Delivery System)\r\n");
        m.append("To: <").append(original.envelope().sender()).append(">\r\n");
        m.append(delay ? "Subject: Delayed Mail (still being retried)\r\n"
                : "Subject: Undelivered Mail Returned to Sender\r\n");
        m.append("Date: ").append(now).append("\r\n");
        m.append("Message-ID: <").append(original.id()).append('.').append(nowMillis).append("@").append(hostname)
                .append(">\r\n");
        m.append("Auto-Submitted: auto-replied\r\n");
        m.append("MIME-Version: 1.0\r\n");
        m.append("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"")
                .append(boundary).append("\"\r\n");
        m.append("\r\nThis is a MIME-encapsulated message.\r\n\r\n");
        part(m, boundary, "Notification", "text/plain; charset=us-ascii");
        human(m, hostname, failed, delay);
        part(m, boundary, "Delivery report", "message/delivery-status");
        status(m, hostname, original, failed, now, delay ? DATE.format(Instant.ofEpochMilli(retryUntilMillis)) : null);
        part(m, boundary, delay ? "Delayed Message Headers" : "Undelivered Message Headers", "text/rfc822-headers");
        byte[] head = m.toString().getBytes(StandardCharsets.UTF_8);
        byte[] tail = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[head.length + originalHeaders.length + tail.length];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(originalHeaders, 0, out, head.length, originalHeaders.length);
        System.arraycopy(tail, 0, out, head.length + originalHeaders.length, tail.length);
        return out;
    }

    private static void part(StringBuilder m, String boundary, String description, String type) {
        m.append("--").append(boundary).append("\r\n");
        m.append("Content-Description: ").append(description).append("\r\n");
        m.append("Content-Type: ").append(type).append("\r\n\r\n");
    }

    private static void human(StringBuilder m, String hostname, List<RecipientResult> failed, boolean delay) {
        m.append("This is the mail system at host ").append(ascii(hostname)).append(".\r\n\r\n");
        m.append(delay ? "Your message could not be delivered yet to one or more recipients.\r\n"
                + "It will be retried; you need not send it again.\r\n"
                : "Your message could not be delivered to one or more recipients.\r\n");
        m.append("It is attached below (headers only).\r\n\r\n");
        for (RecipientResult r : failed) {
            m.append("<").append(ascii(r.recipient())).append(">: ").append(ascii(r.reply())).append("\r\n");
        }
        m.append("\r\n");
    }

    private static void status(StringBuilder m, String hostname, QueuedMessage original, List<RecipientResult> failed,
            String now, String retryUntil) {
        m.append("Reporting-MTA: dns; ").append(hostname).append("\r\n");
        m.append("X-Sluice-Queue-ID: ").append(original.id()).append("\r\n");
        m.append("Arrival-Date: ").append(DATE.format(Instant.ofEpochMilli(original.arrivalMillis()))).append("\r\n");
        for (RecipientResult r : failed) {
            m.append("\r\n");
            // RFC 6533: a non-ASCII address is a utf-8 address type.
            m.append("Final-Recipient: ").append(isAscii(r.recipient()) ? "rfc822; " : "utf-8; ")
                    .append(r.recipient()).append("\r\n");
            m.append(retryUntil == null ? "Action: failed\r\n" : "Action: delayed\r\n");
            m.append("Status: ").append(status(r)).append("\r\n");
            m.append("Diagnostic-Code: smtp; ").append(ascii(r.reply())).append("\r\n");
            m.append("Last-Attempt-Date: ").append(now).append("\r\n");
            if (retryUntil != null) {
                m.append("Will-Retry-Until: ").append(retryUntil).append("\r\n");
            }
        }
        m.append("\r\n");
    }

    /** The enhanced code, or the class's generic one when the transport gave none. */
    private static String status(RecipientResult r) {
        String code = r.enhancedCode();
        if (code.matches("[245]\\.[0-9]{1,3}\\.[0-9]{1,3}")) {
            return code;
        }
        return r.replyCode() >= 500 ? "5.0.0" : "4.0.0";
    }

    private static boolean isAscii(String s) {
        return s.chars().allMatch(c -> c < 0x80);
    }

    /** Text in the human and status parts stays 7-bit: anything else becomes '?'. */
    private static String ascii(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            out.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return out.toString();
    }
}
