package io.sluice.smtp.delivery;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.List;

import io.sluice.smtp.spool.MessageSource;
import io.sluice.smtp.spool.QueuedMessage;

/**
 * One delivery attempt of one message to one route: the recipients of the message that the
 * transport table sends there and not yet done. Immutable; any thread.
 *
 * @param attemptId  unique per attempt within this process (for logs and late results)
 * @param message    the queued message (envelope, size, arrival)
 * @param recipients the recipients this attempt is for, a subset of the envelope's, at least one
 * @param route      the route they share
 * @param source     where the content is read from
 */
public record DeliveryJob(long attemptId, QueuedMessage message, List<String> recipients, Route route,
                          MessageSource source) {

    /** Copies the recipient list. */
    public DeliveryJob {
        recipients = List.copyOf(recipients);
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("recipients=0 < MIN=1");
        }
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
