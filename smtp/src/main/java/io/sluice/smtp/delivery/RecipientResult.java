package io.sluice.smtp.delivery;

import java.util.Objects;

/**
 * What one delivery attempt did for one recipient, as an SMTP-style reply: a value, any thread.
 *
 * @param recipient    the recipient exactly as in the job
 * @param outcome      delivered, deferred (retry later) or failed (bounce)
 * @param replyCode    the SMTP reply code (250, 451, 550...), or the equivalent for local transports
 * @param enhancedCode the RFC 3463 status such as {@code 5.1.1}
 * @param text         the reply text, one line
 * @param dsnPassedOn  delivered to a next hop that offers DSN (RFC 3461), which was given the recipient's
 *                     NOTIFY and ORCPT and so reports success itself: no success report of ours
 */
public record RecipientResult(String recipient, Outcome outcome, int replyCode, String enhancedCode, String text,
                              boolean dsnPassedOn) {

    /** The three dispositions of a recipient after an attempt. */
    public enum Outcome {
        /** Done: the next hop or the mailbox took it (2xx). */
        DELIVERED,
        /** Try again later (4xx, timeouts, connection and local I/O errors). */
        DEFERRED,
        /** Permanent (5xx): the recipient is bounced. */
        FAILED
    }

    /** A result without a DSN hand-over. */
    public RecipientResult(String recipient, Outcome outcome, int replyCode, String enhancedCode, String text) {
        this(recipient, outcome, replyCode, enhancedCode, text, false);
    }

    /** Checks the code against the outcome's class and keeps the text on one line. */
    public RecipientResult {
        Objects.requireNonNull(recipient, "recipient");
        Objects.requireNonNull(outcome, "outcome");
        Objects.requireNonNull(enhancedCode, "enhancedCode");
        text = oneLine(Objects.requireNonNull(text, "text"));
        if (replyCode < 200 || replyCode > 599) {
            throw new IllegalArgumentException("replyCode=" + replyCode + " outside 200..599");
        }
    }

    /** A 250 with {@code 2.0.0}. */
    public static RecipientResult delivered(String recipient, String text) {
        return new RecipientResult(recipient, Outcome.DELIVERED, 250, "2.0.0", text);
    }

    /** A {@code 451} with the given enhanced code. */
    public static RecipientResult deferred(String recipient, String enhancedCode, String text) {
        return new RecipientResult(recipient, Outcome.DEFERRED, 451, enhancedCode, text);
    }

    /** A 5xx: {@code 550}. */
    public static RecipientResult failed(String recipient, String enhancedCode, String text) {
        return new RecipientResult(recipient, Outcome.FAILED, 550, enhancedCode, text);
    }

    /** This result, marked as handed to a next hop that took the DSN parameters. */
    public RecipientResult withDsnPassedOn() {
        return new RecipientResult(recipient, outcome, replyCode, enhancedCode, text, true);
    }

    /** {@code 550 5.1.1 text}: the reply as a DSN's Diagnostic-Code and the log show it. */
    public String reply() {
        return replyCode + (enhancedCode.isEmpty() ? "" : " " + enhancedCode) + " " + text;
    }

    /** Control characters (a peer's CR LF included) become spaces; at most 900 characters. */
    private static String oneLine(String text) {
        StringBuilder out = new StringBuilder(Math.min(text.length(), 900));
        for (int i = 0; i < text.length() && out.length() < 900; i++) {
            char c = text.charAt(i);
            out.append(c < 0x20 || c == 0x7f ? ' ' : c);
        }
        return out.toString();
    }
}
