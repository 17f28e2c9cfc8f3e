package io.sluice.smtp.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class QueueIdTest {
    @Test
    void textIsFixedWidthAndRoundTrips() {
        for (long v : new long[] {0, 1, 42, Long.MAX_VALUE, Long.MIN_VALUE, -1, 0x0123_4567_89AB_CDEFL}) {
            QueueId id = QueueId.of(v);
            assertEquals(QueueId.TEXT_LENGTH, id.toString().length());
            assertEquals(id, QueueId.parse(id.toString()));
            assertEquals(id, QueueId.parse(id.toString().toLowerCase()));
        }
    }

    @Test
    void textSortsLikeTheUnsignedValue() {
        long[] values = {0, 5, 1L << 40, Long.MAX_VALUE, Long.MIN_VALUE, -2, -1};
        for (int i = 1; i < values.length; i++) {
            QueueId a = QueueId.of(values[i - 1]);
            QueueId b = QueueId.of(values[i]);
            assertTrue(a.compareTo(b) < 0);
            assertTrue(a.toString().compareTo(b.toString()) < 0, a + " < " + b);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "0123456789AB", "0123456789ABCD", "G123456789ABC", "0123456789AB!", "0123456789ABU"})
    void parseRejectsMalformedText(String text) {
        assertThrows(IllegalArgumentException.class, () -> QueueId.parse(text));
    }

    @Test
    void generatorIsStrictlyIncreasingEvenWhenTheClockStepsBack() {
        AtomicLong clock = new AtomicLong(1_700_000_000_000L);
        QueueIdGenerator gen = new QueueIdGenerator(5, 0, clock::get);
        QueueId previous = gen.next();
        assertEquals(5, previous.loopIndex());
        assertEquals(clock.get(), previous.epochMillis());
        for (int i = 0; i < 200_000; i++) { // overflows the 16-bit counter: borrows the next ms
            if (i == 1000) {
                clock.addAndGet(-60_000);
            }
            QueueId next = gen.next();
            assertTrue(next.compareTo(previous) > 0);
            assertEquals(5, next.loopIndex());
            previous = next;
        }
    }

    @Test
    void generatorContinuesAfterTheNewestIdSeen() {
        QueueId seen = QueueId.of((2_000_000_000_000L << 22) | 3);
        QueueId next = new QueueIdGenerator(1, seen.value(), () -> 1_000L).next();
        assertTrue(next.compareTo(seen) > 0);
        assertEquals(1, next.loopIndex());
    }

    @Test
    void envelopeRoundTripsThroughItsBinaryForm() throws IOException {
        Envelope e = new Envelope("", List.of("ü@exämple.org", "b@example.com"), "2001:db8::1", "höst",
                "UTF8SMTPS", 123L, BodyType.BINARY_MIME, true);
        assertEquals(e, EnvelopeCodec.decode(ByteBuffer.wrap(EnvelopeCodec.encode(e))));
        byte[] wrongVersion = EnvelopeCodec.encode(e);
        wrongVersion[0] = 9;
        assertThrows(IOException.class, () -> EnvelopeCodec.decode(ByteBuffer.wrap(wrongVersion)));
        byte[] truncated = java.util.Arrays.copyOf(EnvelopeCodec.encode(e), 20);
        assertThrows(IOException.class, () -> EnvelopeCodec.decode(ByteBuffer.wrap(truncated)));
    }

    @Test
    void inFlightIdsOfOneLoopSpreadOverHashBuckets() {
        // Ids minted by one loop within a few milliseconds differ only in the counter and the
        // low millisecond bits; a HashMap of 64 buckets must not see them all in one.
        for (int loop = 0; loop < 4; loop++) {
            java.util.Set<Integer> buckets = new java.util.HashSet<>();
            long millis = 1_764_350_000_000L;
            for (int i = 0; i < 50; i++) {
                long value = ((millis + i / 3) << (QueueId.COUNTER_BITS + QueueId.LOOP_BITS))
                        | ((long) (i % 3) << QueueId.LOOP_BITS) | loop;
                int h = QueueId.of(value).hashCode();
                buckets.add((h ^ (h >>> 16)) & 63); // HashMap's own spreading and indexing
            }
            org.junit.jupiter.api.Assertions.assertTrue(buckets.size() >= 25,
                    "loop " + loop + ": 50 ids in " + buckets.size() + " of 64 buckets");
        }
    }
}
