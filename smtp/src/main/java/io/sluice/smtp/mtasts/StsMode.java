package io.sluice.smtp.mtasts;

/** The {@code mode} of an MTA-STS policy (RFC 8461 §3.2, §5). */
public enum StsMode {
    /** Deliver only to MX hosts the policy names, over TLS with a certificate valid for the MX host. */
    ENFORCE,
    /** Deliver as without a policy; log what enforcing would have refused. */
    TESTING,
    /** The domain has withdrawn its policy: deliver as without one. */
    NONE
}
