package io.sluice.smtp.delivery;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import io.sluice.smtp.protocol.Xtext;
import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueuedMessage;

/**
 * Builds the delivery status notifications for a message: RFC 3464 reports
 * ({@code multipart/report; report-type=delivery-status}) from {@code MAILER-DAEMON@hostname} to
 * the envelope sender, with a human-readable part, the {@code message/delivery-status} part (one
 * block per recipient: {@code Action: failed}, {@code delayed}, {@code delivered} or
 * {@code relayed}) and the original: its headers as {@code text/rfc822-headers}, or for a bounce
 * of a {@code RET=FULL} message the whole of it as {@code message/rfc822} (see {@link Quote}).
 * The DSN parameters the sender gave (RFC 3461) appear as {@code Original-Envelope-Id} and
 * {@code Original-Recipient}. The envelope has the null sender so that a report is never
 * reported on in turn. Stateless; any thread.
 */
final class DeliveryStatusReport {
    private static final DateTimeFormatter DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);

    /** What a report says happened to its recipients. */
    enum Kind {
        /** A bounce: every recipient {@code Action: failed}. */
        FAILURE,
        /** A delay notice: {@code Action: delayed} and {@code Will-Retry-Until}. */
        DELAY,
        /** A success report (NOTIFY=SUCCESS): {@code Action: delivered} or {@code relayed} per recipient. */
        SUCCESS
    }

    /**
     * What a report carries of the original.
     *
     * @param octets the header block (CRLF lines, no blank line) or the whole message
     * @param whole  true when {@code octets} is the whole message ({@code message/rfc822})
     * @param note   why a RET=FULL message is returned as headers only, or null
     */
    record Quote(byte[] octets, boolean whole, String note) {
        static Quote headers(byte[] headers) {
            return new Quote(headers, false, null);
        }
    }

    /**
     * One recipient's block: its result and its place in the envelope, which finds its own NOTIFY
     * and ORCPT even when the address is given twice (two aliases that expanded to one mailbox).
     *
     * @param envelopeIndex the recipient's index in {@link Envelope#recipients()}
     * @param result        what happened to it
     */
    record Row(int envelopeIndex, RecipientResult result) {
        /** Rows for results given in envelope order, one per envelope recipient from the first (tests). */
        static List<Row> inEnvelopeOrder(List<RecipientResult> results) {
            List<Row> rows = new ArrayList<>(results.size());
            for (int i = 0; i < results.size(); i++) {
                rows.add(new Row(i, results.get(i)));
            }
            return rows;
        }
    }

    private DeliveryStatusReport() {
    }

    /** The report's envelope: from {@code <>} to the original sender. */
    static Envelope envelope(QueuedMessage original, String hostname, long nowMillis, boolean eightBit) {
        Envelope e = original.envelope();
        return new Envelope("", List.of(e.sender()), "127.0.0.1", hostname, "LOCAL", nowMillis,
                eightBit ? BodyType.EIGHT_BIT_MIME : BodyType.SEVEN_BIT, e.smtpUtf8());
    }

    /**
     * The bounce's bytes, CRLF lines, quoting the original's headers.
     *
     * @param failed          one result per failed recipient (its status and diagnostic)
     * @param originalHeaders the original header block (CRLF lines, no blank line), maybe truncated
     */
    static byte[] build(String hostname, QueuedMessage original, List<Row> failed, byte[] originalHeaders,
            long nowMillis) {
        return buildFailure(hostname, original, failed, Quote.headers(originalHeaders), nowMillis);
    }

    /** The bounce's bytes, quoting the original as {@code quote} says (whole for RET=FULL within the limit). */
    static byte[] buildFailure(String hostname, QueuedMessage original, List<Row> failed, Quote quote,
            long nowMillis) {
        return build(hostname, original, Kind.FAILURE, failed, Collections.nCopies(failed.size(), "failed"), quote,
                nowMillis, 0);
    }

    /**
     * The delay notification's bytes: the same report with {@code Action: delayed} for each
     * deferred recipient (its last error as the diagnostic) and {@code Will-Retry-Until}.
     *
     * @param deferred        the last (deferral) result of each recipient still being retried
     * @param retryUntilMillis when the message will be given up, epoch milliseconds
     */
    static byte[] buildDelay(String hostname, QueuedMessage original, List<Row> deferred,
            byte[] originalHeaders, long nowMillis, long retryUntilMillis) {
        return build(hostname, original, Kind.DELAY, deferred, Collections.nCopies(deferred.size(), "delayed"),
                Quote.headers(originalHeaders), nowMillis, retryUntilMillis);
    }

    /**
     * The success report's bytes (RFC 3461 6.2.2): {@code Action: delivered} for a final delivery
     * (maildir, LMTP), {@code relayed} for a next hop that does not offer DSN.
     *
     * @param done    the delivered recipients' results
     * @param actions {@code "delivered"} or {@code "relayed"} for each, in the same order
     */
    static byte[] buildSuccess(String hostname, QueuedMessage original, List<Row> done,
            List<String> actions, byte[] originalHeaders, long nowMillis) {
        return build(hostname, original, Kind.SUCCESS, done, actions, Quote.headers(originalHeaders), nowMillis, 0);
    }

    private static byte[] build(String hostname, QueuedMessage original, Kind kind, List<Row> rows,
            List<String> actions, Quote quote, long nowMillis, long retryUntilMillis) {
        // At most 70 characters (RFC 2046), so not the host name.
        String boundary = original.id() + "." + nowMillis + "/sluice-report";
        String now = DATE.format(Instant.ofEpochMilli(nowMillis));
        StringBuilder m = new StringBuilder(2048);
        m.append("From: MAILER-DAEMON@").append(hostname).append(" (Mail Delivery System)\r\n");
        m.append("To: <").append(original.envelope().sender()).append(">\r\n");
        m.append(subject(kind));
        m.append("Date: ").append(now).append("\r\n");
        m.append("Message-ID: <").append(original.id()).append('.').append(nowMillis).append(kind == Kind.SUCCESS ? ".s" : "")
                .append("@").append(hostname).append(">\r\n");
        m.append("Auto-Submitted: auto-replied\r\n");
        m.append("MIME-Version: 1.0\r\n");
        m.append("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"")
                .append(boundary).append("\"\r\n");
        m.append("\r\nThis is a MIME-encapsulated message.\r\n\r\n");
        part(m, boundary, "Notification", "text/plain; charset=us-ascii");
        human(m, hostname, kind, rows, quote);
        part(m, boundary, "Delivery report", "message/delivery-status");
        String retryUntil = kind == Kind.DELAY ? DATE.format(Instant.ofEpochMilli(retryUntilMillis)) : null;
        status(m, hostname, original, rows, actions, now, retryUntil);
        if (quote.whole()) {
            part(m, boundary, "Undelivered Message", "message/rfc822");
        } else {
            part(m, boundary, kind == Kind.DELAY ? "Delayed Message Headers"
                    : kind == Kind.SUCCESS ? "Delivered Message Headers" : "Undelivered Message Headers",
                    "text/rfc822-headers");
        }
        byte[] head = m.toString().getBytes(StandardCharsets.UTF_8);
        byte[] quoted = quote.octets();
        // A whole message ends with its CRLF already; the boundary's CRLF is part of the delimiter.
        String close = quote.whole() && endsWithCrlf(quoted) ? "--" + boundary + "--\r\n" : "\r\n--" + boundary + "--\r\n";
        byte[] tail = close.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[head.length + quoted.length + tail.length];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(quoted, 0, out, head.length, quoted.length);
        System.arraycopy(tail, 0, out, head.length + quoted.length, tail.length);
        return out;
    }

    private static boolean endsWithCrlf(byte[] b) {
        return b.length >= 2 && b[b.length - 2] == '\r' && b[b.length - 1] == '\n';
    }

    private static String subject(Kind kind) {
        switch (kind) {
            case DELAY:
                return "Subject: Delayed Mail (still being retried)\r\n";
            case SUCCESS:
                return "Subject: Successful Mail Delivery Report\r\n";
            default:
                return "Subject: Undelivered Mail Returned to Sender\r\n";
        }
    }

    private static void part(StringBuilder m, String boundary, String description, String type) {
        m.append("--").append(boundary).append("\r\n");
        m.append("Content-Description: ").append(description).append("\r\n");
        m.append("Content-Type: ").append(type).append("\r\n\r\n");
    }

    private static void human(StringBuilder m, String hostname, Kind kind, List<Row> rows, Quote quote) {
        m.append("This is the mail system at host ").append(ascii(hostname)).append(".\r\n\r\n");
        switch (kind) {
            case DELAY:
                m.append("Your message could not be delivered yet to one or more recipients.\r\n"
                        + "It will be retried; you need not send it again.\r\n");
                break;
            case SUCCESS:
                m.append("Your message was delivered to the recipients below, as you asked (NOTIFY=SUCCESS).\r\n"
                        + "A recipient marked \"relayed\" was handed to a mail system that does not report\r\n"
                        + "delivery; you may hear nothing more about it.\r\n");
                break;
            default:
                m.append("Your message could not be delivered to one or more recipients.\r\n");
                break;
        }
        if (quote.whole()) {
            m.append("It is attached below.\r\n\r\n");
        } else if (quote.note() != null) {
            m.append("Only its headers are attached below: ").append(ascii(quote.note())).append(".\r\n\r\n");
        } else {
            m.append("It is attached below (headers only).\r\n\r\n");
        }
        for (Row row : rows) {
            RecipientResult r = row.result();
            m.append("<").append(ascii(r.recipient())).append(">: ").append(ascii(r.reply())).append("\r\n");
        }
        m.append("\r\n");
    }

    private static void status(StringBuilder m, String hostname, QueuedMessage original, List<Row> rows,
            List<String> actions, String now, String retryUntil) {
        Envelope e = original.envelope();
        if (!e.dsn().envelopeId().isEmpty()) {
            m.append("Original-Envelope-Id: ").append(Xtext.decode(e.dsn().envelopeId())).append("\r\n");
        }
        m.append("Reporting-MTA: dns; ").append(hostname).append("\r\n");
        m.append("X-Sluice-Queue-ID: ").append(original.id()).append("\r\n");
        m.append("Arrival-Date: ").append(DATE.format(Instant.ofEpochMilli(original.arrivalMillis()))).append("\r\n");
        for (int i = 0; i < rows.size(); i++) {
            RecipientResult r = rows.get(i).result();
            m.append("\r\n");
            String orcpt = e.dsn().recipient(rows.get(i).envelopeIndex()).originalRecipient();
            if (!orcpt.isEmpty()) {
                m.append("Original-Recipient: ").append(originalRecipient(orcpt)).append("\r\n");
            }
            // RFC 6533: a non-ASCII address is a utf-8 address type.
            m.append("Final-Recipient: ").append(isAscii(r.recipient()) ? "rfc822; " : "utf-8; ")
                    .append(r.recipient()).append("\r\n");
            m.append("Action: ").append(actions.get(i)).append("\r\n");
            m.append("Status: ").append(status(r)).append("\r\n");
            m.append("Diagnostic-Code: smtp; ").append(ascii(r.reply())).append("\r\n");
            m.append("Last-Attempt-Date: ").append(now).append("\r\n");
            if (retryUntil != null) {
                m.append("Will-Retry-Until: ").append(retryUntil).append("\r\n");
            }
        }
        m.append("\r\n");
    }

    /** {@code rfc822;u+2Bx@y} as received becomes {@code rfc822;u+x@y} (RFC 3464 2.3.1: the decoded address). */
    private static String originalRecipient(String orcpt) {
        int semicolon = orcpt.indexOf(';');
        String address = orcpt.substring(semicolon + 1);
        if (!isAscii(address)) {
            return orcpt.substring(0, semicolon + 1) + embeddedUnicode(address);
        }
        return orcpt.substring(0, semicolon + 1) + Xtext.decode(address);
    }

    /**
     * RFC 6533 3: a {@code utf-8} ORCPT taken as utf-8-addr-unitext goes into the (7-bit)
     * delivery-status part as utf-8-addr-xtext: each non-ASCII character as {@code \x{HEX}}.
     */
    private static String embeddedUnicode(String unitext) {
        StringBuilder out = new StringBuilder(unitext.length() + 16);
        unitext.codePoints().forEach(c -> {
            if (c < 0x80) {
                out.append(c >= 0x20 && c < 0x7f ? (char) c : '?');
            } else {
                out.append("\\x{").append(Integer.toHexString(c).toUpperCase(java.util.Locale.ROOT)).append('}');
            }
        });
        return out.toString();
    }

    /** The enhanced code, or the class's generic one when the transport gave none. */
    private static String status(RecipientResult r) {
        String code = r.enhancedCode();
        if (code.matches("[245]\\.[0-9]{1,3}\\.[0-9]{1,3}")) {
            return code;
        }
        return r.replyCode() / 100 + ".0.0";
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
