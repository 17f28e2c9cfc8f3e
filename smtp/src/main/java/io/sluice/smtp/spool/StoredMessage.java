package io.sluice.smtp.spool;

/**
 * Index entry of one durable message: its envelope and where its content lies, as (segment,
 * offset, length) ranges of DATA payloads; never the body itself. Immutable once built.
 */
final class StoredMessage {
    final QueueId id;
    final Envelope envelope;
    final long sizeOctets;
    /** Distinct segments holding any of the message's records, oldest first; each holds one ref. */
    final Segment[] segments;
    final Segment[] rangeSegments;
    final long[] rangeOffsets;
    final int[] rangeLengths;
    final QueuedMessage view;

    StoredMessage(QueueId id, Envelope envelope, long sizeOctets, Segment[] segments,
                  Segment[] rangeSegments, long[] rangeOffsets, int[] rangeLengths) {
        this.id = id;
        this.envelope = envelope;
        this.sizeOctets = sizeOctets;
        this.segments = segments;
        this.rangeSegments = rangeSegments;
        this.rangeOffsets = rangeOffsets;
        this.rangeLengths = rangeLengths;
        this.view = new QueuedMessage(id, envelope, sizeOctets, envelope.arrivalMillis());
    }
}
