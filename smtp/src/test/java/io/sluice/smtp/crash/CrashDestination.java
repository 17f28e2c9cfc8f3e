package io.sluice.smtp.crash;

import java.io.IOException;
import java.util.List;

/**
 * Where the server under test delivers in the crash harness, and what arrived there: a maildir
 * tree read back from disk ({@link MaildirDestination}) or a recording SMTP next hop
 * ({@link RecordingSmtpDestination}). The harness thread calls every method; implementations may
 * collect deliveries on their own threads.
 */
interface CrashDestination extends AutoCloseable {

    /** The {@code transport.*} value that routes every recipient here. */
    String transport();

    /**
     * The harness started server incarnation {@code epoch} (1, 2, ...) as process {@code pid}:
     * deliveries from now on belong to it (a maildir knows the writer's pid from the file name;
     * an SMTP next hop stamps each connection with the epoch current when it was accepted).
     */
    void serverStarted(int epoch, long pid);

    /** Every copy that has arrived so far, in no particular order. */
    List<Delivery> deliveries() throws IOException;

    @Override
    void close() throws IOException;

    /**
     * One delivered copy for one recipient.
     *
     * @param messageId      the Message-ID without brackets ({@code null} if the copy had none)
     * @param recipient      the envelope recipient it was delivered for, lower case
     * @param epoch          the server incarnation that delivered it (0 if unknown)
     * @param deliveredMillis when it arrived (file modification time or the time of the final dot)
     * @param intact         whether the body matched its X-Crash-Check header
     */
    record Delivery(String messageId, String recipient, int epoch, long deliveredMillis, boolean intact) {
    }
}
