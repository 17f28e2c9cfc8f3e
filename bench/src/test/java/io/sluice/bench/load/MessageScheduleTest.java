package io.sluice.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The schedule on a hand-advanced clock: intended start times do not depend on when tickets are claimed. */
class MessageScheduleTest {

    private static final long MS = 1_000_000L;
    private final MessageSchedule.Ticket ticket = new MessageSchedule.Ticket();

    @Test
    void openModelDueTimesFollowTheRateNotTheClaims() {
        long start = -5_000 * MS; // nanoTime may be negative
        MessageSchedule schedule = new MessageSchedule(start, MessageSchedule.intervalNanos(1000), 0, 5, 0);
        // Claimed all at once, late (a stalled server): still due 1 ms apart from the start.
        for (int k = 0; k < 5; k++) {
            assertTrue(schedule.claim(start + 10_000 * MS, ticket));
            assertEquals(start + k * MS, ticket.intendedNanos);
            assertEquals(k, ticket.sequence);
            assertTrue(ticket.measured());
        }
        assertFalse(schedule.claim(start, ticket), "5 tickets only");
    }

    @Test
    void openModelStopsAtTheEndOfTheDuration() {
        MessageSchedule schedule = new MessageSchedule(0, 10 * MS, 0, 0, 100 * MS);
        int tickets = 0;
        while (schedule.claim(0, ticket)) {
            tickets++;
        }
        assertEquals(10, tickets, "due at 0, 10, ... 90 ms; 100 ms is the end");
    }

    @Test
    void openModelWarmupTicketsAreExtraAndUnmeasured() {
        MessageSchedule schedule = new MessageSchedule(0, 10 * MS, 25 * MS, 2, 0);
        boolean[] measured = new boolean[5];
        int n = 0;
        while (schedule.claim(0, ticket)) {
            measured[n++] = ticket.measured();
        }
        assertEquals(5, n, "3 warm-up tickets (0, 10, 20 ms) and 2 measured");
        assertFalse(measured[2]);
        assertTrue(measured[3]);
        assertEquals(25 * MS, schedule.warmupEndNanos());
    }

    @Test
    void closedModelTicketsAreDueWhenClaimed() {
        MessageSchedule schedule = new MessageSchedule(100, 0, 50, 2, 0);
        assertTrue(schedule.claim(120, ticket));
        assertEquals(120, ticket.intendedNanos);
        assertFalse(ticket.measured(), "warm-up");
        assertTrue(schedule.claim(150, ticket));
        assertTrue(ticket.measured());
        assertTrue(schedule.claim(160, ticket));
        assertFalse(schedule.claim(170, ticket));
        assertEquals(2, ticket.sequence, "sequences stay unique across warm-up and measured tickets");
    }

    @Test
    void theWindowOfATicketIsAnIndexChangingExactlyAtTheEndOfWarmup() {
        assertEquals(MessageSchedule.WARMUP, MessageSchedule.windowOf(-1));
        assertEquals(MessageSchedule.WARMUP, MessageSchedule.windowOf(Long.MIN_VALUE));
        assertEquals(MessageSchedule.MEASURED, MessageSchedule.windowOf(0));
        assertEquals(MessageSchedule.MEASURED, MessageSchedule.windowOf(Long.MAX_VALUE));
        MessageSchedule schedule = new MessageSchedule(-100, 0, 50, 1, 0); // nanoTime may be negative
        assertTrue(schedule.claim(-51, ticket));
        assertEquals(MessageSchedule.WARMUP, ticket.window);
        assertTrue(schedule.claim(-50, ticket));
        assertEquals(MessageSchedule.MEASURED, ticket.window);
        assertFalse(schedule.claim(-49, ticket), "one measured ticket only");
    }

    @Test
    void closedModelEndsWithTheDuration() {
        MessageSchedule schedule = new MessageSchedule(0, 0, 0, 0, 100);
        assertTrue(schedule.claim(99, ticket));
        assertFalse(schedule.claim(100, ticket));
        assertTrue(schedule.isPastEnd(100));
        assertFalse(new MessageSchedule(0, 0, 0, 10, 0).isPastEnd(Long.MAX_VALUE));
    }
}
