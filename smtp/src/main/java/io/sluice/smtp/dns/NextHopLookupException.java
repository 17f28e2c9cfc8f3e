package io.sluice.smtp.dns;

import java.io.IOException;

/**
 * Why a domain has no next hop: permanent (no such domain, null MX per RFC 7505, no address)
 * bounces its recipients; temporary (timeout, SERVFAIL) defers them.
 */
public final class NextHopLookupException extends IOException {
    private static final long serialVersionUID = 1L;

    private final boolean permanent;
    private final String enhancedCode;

    /**
     * @param permanent    true for a 5xx outcome, false for a 4xx one
     * @param enhancedCode RFC 3463 code, e.g. {@code 5.1.2}, {@code 5.1.10} (null MX), {@code 4.4.3}
     * @param message      one line for logs and DSNs
     */
    public NextHopLookupException(boolean permanent, String enhancedCode, String message) {
        super(message);
        this.permanent = permanent;
        this.enhancedCode = enhancedCode;
    }

    /** True when retrying cannot help. */
    public boolean permanent() {
        return permanent;
    }

    /** The RFC 3463 status code to report. */
    public String enhancedCode() {
        return enhancedCode;
    }
}
