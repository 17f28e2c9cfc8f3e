package io.sluice.smtp.delivery;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.List;

import io.sluice.smtp.spool.MessageSource;
import io.sluice.smtp.spool.QueuedMessage;
import io.sluice.smtp.spool.RecipientDsn;

/**
 * One delivery attempt of one message to one route: the recipients of the message that the
 * transport table sends there and not yet done. Immutable; any thread.
 *
 * @param attemptId  unique per attempt within this process (for logs and late results)
 * @param message    the queued message (envelope, size, arrival)
 * @param recipients the recipients this attempt is for, a subset of the envelope's, at least one
 * @param route      the route they share
 * @param source     where the content is read from
 * @param recipientDsn each recipient's DSN parameters (RFC 3461) in the order of {@code recipients}, or
 *                   empty when the message has none (nearly always)
 */
public record DeliveryJob(long attemptId, QueuedMessage message, List<String> recipients, Route route,
                          MessageSource source, List<RecipientDsn> recipientDsn) {

    /** Copies the lists. */
    public DeliveryJob {
        recipients = List.copyOf(recipients);
        recipientDsn = List.copyOf(recipientDsn);
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("recipients=0 < MIN=1");
        }
        if (!recipientDsn.isEmpty() && recipientDsn.size() != recipients.size()) {
            throw new IllegalArgumentException("recipientDsn=" + recipientDsn.size() + " != recipients="
                    + recipients.size());
        }
    }

    /** A job whose recipients' DSN parameters are looked up in the envelope by address (tests, tools). */
    public DeliveryJob(long attemptId, QueuedMessage message, List<String> recipients, Route route,
            MessageSource source) {
        this(attemptId, message, recipients, route, source, lookUp(message, recipients));
    }

    private static List<RecipientDsn> lookUp(QueuedMessage message, List<String> recipients) {
        if (message.envelope().dsn().recipients().isEmpty()) {
            return List.of();
        }
        List<RecipientDsn> out = new java.util.ArrayList<>(recipients.size());
        for (String r : recipients) {
            out.add(message.envelope().dsnOf(r));
        }
        return out;
    }

    /** The DSN parameters of the job's {@code index}-th recipient, {@link RecipientDsn#NONE} when none. */
    public RecipientDsn dsn(int index) {
        return recipientDsn.isEmpty() ? RecipientDsn.NONE : recipientDsn.get(index);
    }

    /** Writes the stored content byte-exact (blocking); IOException if it is gone or unreadable. */
    public void copyContent(WritableByteChannel out) throws IOException {
        source.copyContent(message.id(), out);
    }

    /**
     * Reads stored content from {@code position} into {@code dst} (blocking; see
     * {@link MessageSource#readContent}); -1 at the end.
     */
    public int readContent(long position, ByteBuffer dst) throws IOException {
        return source.readContent(message.id(), position, dst);
    }

    /** The envelope sender, {@code ""} for the null sender. */
    public String sender() {
        return message.envelope().sender();
    }
}
