package io.sluice.smtp.spool;

/**
 * One recipient's RCPT TO DSN parameters (RFC 3461 4.1, 4.2): {@code NOTIFY=} as bits and
 * {@code ORCPT=} as sent. Immutable; any thread.
 *
 * @param notifyBits          {@link #NOTIFY_NEVER}, or any of {@link #NOTIFY_SUCCESS}, {@link #NOTIFY_FAILURE},
 *                          {@link #NOTIFY_DELAY}; 0 when absent (then FAILURE,DELAY are implied)
 * @param originalRecipient the ORCPT value as received, {@code addr-type ";" xtext} (still xtext-encoded:
 *                          it is passed on to the next hop unchanged), or {@code ""} when absent
 */
public record RecipientDsn(int notifyBits, String originalRecipient) {
    /** NOTIFY=SUCCESS. These bit values are stored in the spool: never change them. */
    public static final int NOTIFY_SUCCESS = 1;
    /** NOTIFY=FAILURE. */
    public static final int NOTIFY_FAILURE = 2;
    /** NOTIFY=DELAY. */
    public static final int NOTIFY_DELAY = 4;
    /** NOTIFY=NEVER (never with another keyword). */
    public static final int NOTIFY_NEVER = 8;
    /** No parameters: today's behaviour (bounce and delay notice, no success report). */
    public static final RecipientDsn NONE = new RecipientDsn(0, "");

    /** Checks the NOTIFY bits. */
    public RecipientDsn {
        if (notifyBits < 0 || notifyBits > NOTIFY_NEVER || (notifyBits & NOTIFY_NEVER) != 0 && notifyBits != NOTIFY_NEVER) {
            throw new IllegalArgumentException("notifyBits=" + notifyBits + " not NEVER or a set of SUCCESS, FAILURE, DELAY");
        }
        if (originalRecipient == null) {
            throw new NullPointerException("originalRecipient");
        }
    }

    /** Whether a failure of this recipient is bounced (NOTIFY absent, or it names FAILURE). */
    public boolean notifyFailure() {
        return notifyBits == 0 || (notifyBits & NOTIFY_FAILURE) != 0;
    }

    /** Whether a deferral of this recipient goes into the delay notice (NOTIFY absent, or DELAY). */
    public boolean notifyDelay() {
        return notifyBits == 0 || (notifyBits & NOTIFY_DELAY) != 0;
    }

    /** Whether a successful delivery or relay of this recipient is reported (NOTIFY names SUCCESS). */
    public boolean notifySuccess() {
        return (notifyBits & NOTIFY_SUCCESS) != 0;
    }

    /** Whether the client sent neither NOTIFY nor ORCPT. */
    public boolean isEmpty() {
        return notifyBits == 0 && originalRecipient.isEmpty();
    }

    /** The NOTIFY value as sent on the wire ({@code SUCCESS,FAILURE}), or {@code ""} when absent. */
    public String notifyText() {
        if (notifyBits == NOTIFY_NEVER) {
            return "NEVER";
        }
        StringBuilder s = new StringBuilder(22);
        append(s, NOTIFY_SUCCESS, "SUCCESS");
        append(s, NOTIFY_FAILURE, "FAILURE");
        append(s, NOTIFY_DELAY, "DELAY");
        return s.toString();
    }

    private void append(StringBuilder s, int bit, String word) {
        if ((notifyBits & bit) != 0) {
            s.append(s.length() == 0 ? "" : ",").append(word);
        }
    }
}
