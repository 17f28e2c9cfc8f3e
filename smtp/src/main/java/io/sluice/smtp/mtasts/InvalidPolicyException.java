package io.sluice.smtp.mtasts;

/** An MTA-STS policy body that breaks RFC 8461 §3.2; the message names the rule. */
public final class InvalidPolicyException extends Exception {
    private static final long serialVersionUID = 1L;

    /** @param why the rule broken, e.g. {@code mode=strict is not enforce|testing|none} */
    public InvalidPolicyException(String why) {
        super(why);
    }
}
