package io.sluice.smtp.spool;

import java.util.List;
import java.util.Objects;

/**
 * The SMTP envelope of one message as the server accepted it; stored in the message's BEGIN
 * record. Immutable; any thread.
 *
 * @param sender        reverse path without angle brackets, {@code ""} for the null sender
 * @param recipients    forward paths without angle brackets, at least one
 * @param clientAddress the peer's IP address as text
 * @param heloName      the name the client gave in HELO/EHLO
 * @param protocol      the Received: "with" protocol: SMTP, ESMTP, ESMTPS, ESMTPSA...
 * @param arrivalMillis when DATA started, epoch milliseconds
 * @param bodyType      the BODY= parameter
 * @param smtpUtf8      whether MAIL FROM carried SMTPUTF8
 */
public record Envelope(String sender, List<String> recipients, String clientAddress, String heloName,
                       String protocol, long arrivalMillis, BodyType bodyType, boolean smtpUtf8) {

    /** Validates and copies the recipient list. */
    public Envelope {
        Objects.requireNonNull(sender, "sender");
        recipients = List.copyOf(recipients);
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("recipients=0 < MIN=1");
        }
        Objects.requireNonNull(clientAddress, "clientAddress");
        Objects.requireNonNull(heloName, "heloName");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(bodyType, "bodyType");
    }
}
