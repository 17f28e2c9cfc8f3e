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
 * @param dsn           the DSN parameters (RFC 3461), {@link EnvelopeDsn#NONE} when there were none
 */
public record Envelope(String sender, List<String> recipients, String clientAddress, String heloName,
                       String protocol, long arrivalMillis, BodyType bodyType, boolean smtpUtf8, EnvelopeDsn dsn) {

    /** An envelope without DSN parameters. */
    public Envelope(String sender, List<String> recipients, String clientAddress, String heloName,
            String protocol, long arrivalMillis, BodyType bodyType, boolean smtpUtf8) {
        this(sender, recipients, clientAddress, heloName, protocol, arrivalMillis, bodyType, smtpUtf8, EnvelopeDsn.NONE);
    }

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
        Objects.requireNonNull(dsn, "dsn");
        if (!dsn.recipients().isEmpty() && dsn.recipients().size() != recipients.size()) {
            throw new IllegalArgumentException("dsn recipients=" + dsn.recipients().size()
                    + " != recipients=" + recipients.size());
        }
    }

    /**
     * The DSN parameters of the first recipient equal to {@code recipient}, {@link RecipientDsn#NONE}
     * when the transaction had none. A linear search, done only when some recipient had NOTIFY or
     * ORCPT (a repeated recipient shares its first occurrence's parameters); delivery reads them by
     * index instead ({@link EnvelopeDsn#recipient}), this is for tests and tools.
     */
    public RecipientDsn dsnOf(String recipient) {
        if (dsn.recipients().isEmpty()) {
            return RecipientDsn.NONE;
        }
        int i = recipients.indexOf(recipient);
        return i < 0 ? RecipientDsn.NONE : dsn.recipients().get(i);
    }
}
