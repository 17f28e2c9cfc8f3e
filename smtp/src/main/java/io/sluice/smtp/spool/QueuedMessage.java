package io.sluice.smtp.spool;

/**
 * One durable message as the queue shows it; a value, any thread.
 *
 * @param id            queue id
 * @param envelope      stored envelope
 * @param sizeOctets    stored content size (what {@link Spool#copyContent} writes)
 * @param arrivalMillis envelope arrival time, epoch milliseconds
 */
public record QueuedMessage(QueueId id, Envelope envelope, long sizeOctets, long arrivalMillis) {
}
