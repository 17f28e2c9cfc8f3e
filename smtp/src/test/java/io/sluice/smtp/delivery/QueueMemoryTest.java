package io.sluice.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.channels.WritableByteChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;

import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.MessageSource;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;

/**
 * Heap the queue manager keeps per queued message, measured: synthetic messages (one recipient
 * each, spread over 8 MX destinations) are admitted through the public API with a transport that
 * never reports, so nearly all of them wait in their destinations' queues. The messages
 * themselves (the spool's index owns them) are allocated before the baseline. 100,000 messages in
 * the suite; {@code -Dsluice.queue.memory.messages=1000000} for the full figure.
 */
class QueueMemoryTest {
    private static final int DEFAULT_MESSAGES = 100_000;
    /** Generous: the measured figure is printed and recorded in the README. */
    private static final long MAX_BYTES_PER_MESSAGE = 300;

    @Test
    void heapPerQueuedMessageIsSmall() throws Exception {
        int n = Integer.getInteger("sluice.queue.memory.messages", DEFAULT_MESSAGES);
        long bytesPerMessage = measure(n);
        System.out.println("queue manager heap per queued message: " + bytesPerMessage + " bytes (" + n
                + " messages)");
        assertTrue(bytesPerMessage < MAX_BYTES_PER_MESSAGE, bytesPerMessage + " bytes per queued message");
    }

    static long measure(int n) throws IOException {
        List<QueuedMessage> messages = new ArrayList<>(n);
        long t0 = 1_700_000_000_000L;
        for (int i = 0; i < n; i++) {
            Envelope e = new Envelope("s@example.org", List.of("user" + i + "@d" + (i % 8) + ".example"),
                    "192.0.2.1", "client.test", "ESMTP", t0, BodyType.SEVEN_BIT, false);
            messages.add(new QueuedMessage(QueueId.of((t0 << 22) + i), e, 1000, t0));
        }
        MessageSource source = new ListSource(messages);
        Transport silent = (job, callback) -> { }; // never reports
        long before = usedHeapAfterGc();
        QueueManager queue = new QueueManager(source, null, TransportTable.of(Map.of(), "mx.test"), route -> silent,
                new DeliveryOptions("mx.test", 20, List.of(Duration.ofMinutes(5)), Duration.ofDays(5),
                        Duration.ofHours(1), 1),
                EventLog.silent(), () -> t0, Runnable::run);
        queue.recover();
        for (int idle = 0; idle < 3; ) {
            idle = queue.doWork() == 0 ? idle + 1 : 0;
        }
        long after = usedHeapAfterGc();
        assertEquals(n, queue.queuedMessages());
        long perMessage = (after - before) / n;
        queue.close();
        return perMessage;
    }

    private static long usedHeapAfterGc() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) { // a few rounds: the last one finds nothing more to free
            System.gc();
            used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
        }
        return used;
    }

    /** A fixed list of messages: what recovery finds. */
    private static final class ListSource implements MessageSource {
        private final List<QueuedMessage> messages;

        ListSource(List<QueuedMessage> messages) {
            this.messages = messages;
        }

        @Override
        public List<QueuedMessage> list() {
            return messages;
        }

        @Override
        public void copyContent(QueueId id, WritableByteChannel out) throws IOException {
            throw new IOException("no content in this test");
        }

        @Override
        public boolean remove(QueueId id) {
            return false;
        }

        @Override
        public void onDurable(Consumer<QueuedMessage> consumer) {
        }
    }
}
