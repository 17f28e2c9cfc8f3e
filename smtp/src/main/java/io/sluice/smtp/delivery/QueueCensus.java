package io.sluice.smtp.delivery;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A count of the queue at one moment: messages, and unfinished recipients per state and
 * destination (route), with only the {@code topDestinations} largest destinations named and the
 * rest summed under {@value #OTHER}, so a metrics label set stays bounded whatever the mail. Made
 * on the queue thread by {@link QueueManager#census}; a value, any thread.
 *
 * @param messages       messages in the queue (not yet delivered, bounced or removed)
 * @param byDestination  destination label to counts indexed by {@link State#ordinal()}
 */
public record QueueCensus(int messages, Map<String, long[]> byDestination) {

    /** The label of every destination past the top N. */
    public static final String OTHER = "other";

    /** A recipient's state, as a metrics label. */
    public enum State {
        /** Never tried yet, waiting for a slot in its destination. */
        NEW,
        /** Tried and deferred; waiting for its retry time. */
        DEFERRED,
        /** Due, queued at its destination for a free concurrency slot. */
        READY,
        /** Handed to a transport, result awaited. */
        ACTIVE;

        /** The label value: lower case. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Unfinished recipients in {@code state} over every destination. */
    public long recipients(State state) {
        long sum = 0;
        for (long[] counts : byDestination.values()) {
            sum += counts[state.ordinal()];
        }
        return sum;
    }

    /** Counts {@code messages}; queue thread only. One pass over every recipient, one small map per call. */
    static QueueCensus of(Collection<QueuedRecipients> messages, int topDestinations) {
        Map<Route, long[]> counts = new HashMap<>();
        for (QueuedRecipients q : messages) {
            for (int i = 0; i < q.size(); i++) {
                State state = stateOf(q, i);
                if (state != null) {
                    counts.computeIfAbsent(q.destinations[i].route, r -> new long[State.values().length])[state.ordinal()]++;
                }
            }
        }
        return new QueueCensus(messages.size(), top(counts, topDestinations));
    }

    private static State stateOf(QueuedRecipients q, int i) {
        switch (q.states[i]) {
            case QueuedRecipients.WAITING:
                return q.attempts(i) == 0 ? State.NEW : State.DEFERRED;
            case QueuedRecipients.READY:
                return State.READY;
            case QueuedRecipients.IN_FLIGHT:
                return State.ACTIVE;
            default:
                return null; // final: delivered or failed
        }
    }

    /** The largest destinations by total, named; the rest summed under OTHER. */
    private static Map<String, long[]> top(Map<Route, long[]> counts, int n) {
        List<Map.Entry<Route, long[]>> entries = new ArrayList<>(counts.entrySet());
        entries.sort((a, b) -> Long.compare(total(b.getValue()), total(a.getValue())));
        Map<String, long[]> out = new LinkedHashMap<>();
        for (int i = 0; i < entries.size(); i++) {
            String label = i < n ? entries.get(i).getKey().toString() : OTHER;
            long[] sum = out.computeIfAbsent(label, k -> new long[State.values().length]);
            long[] add = entries.get(i).getValue();
            for (int s = 0; s < sum.length; s++) {
                sum[s] += add[s];
            }
        }
        return out;
    }

    private static long total(long[] counts) {
        long sum = 0;
        for (long c : counts) {
            sum += c;
        }
        return sum;
    }
}
