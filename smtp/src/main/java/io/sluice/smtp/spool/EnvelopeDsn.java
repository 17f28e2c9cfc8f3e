package io.sluice.smtp.spool;

import java.util.List;
import java.util.Objects;

/**
 * The DSN parameters of one transaction (RFC 3461): MAIL FROM's {@code RET=} and {@code ENVID=},
 * and each recipient's {@link RecipientDsn} in envelope order. Immutable; any thread.
 *
 * @param ret        RET=, {@link DsnReturn#NONE} when absent
 * @param envelopeId ENVID= as received (still xtext-encoded, passed on unchanged), {@code ""} when absent
 * @param recipients empty when no recipient had NOTIFY or ORCPT, else one per envelope recipient
 */
public record EnvelopeDsn(DsnReturn ret, String envelopeId, List<RecipientDsn> recipients) {
    /** No DSN parameter at all: today's behaviour, and what envelopes of older spools decode to. */
    public static final EnvelopeDsn NONE = new EnvelopeDsn(DsnReturn.NONE, "", List.of());

    /** Copies the recipient list. */
    public EnvelopeDsn {
        Objects.requireNonNull(ret, "ret");
        Objects.requireNonNull(envelopeId, "envelopeId");
        recipients = List.copyOf(recipients);
    }

    /** The recipient's parameters, {@link RecipientDsn#NONE} when it had none. */
    public RecipientDsn recipient(int index) {
        return recipients.isEmpty() ? RecipientDsn.NONE : recipients.get(index);
    }

    /** Whether the transaction carried no DSN parameter. */
    public boolean isEmpty() {
        return ret == DsnReturn.NONE && envelopeId.isEmpty() && recipients.isEmpty();
    }
}
