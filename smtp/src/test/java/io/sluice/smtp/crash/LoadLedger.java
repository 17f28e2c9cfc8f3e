package io.sluice.smtp.crash;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the load clients know about each message they tried to send, by Message-ID: the
 * recipients and the last outcome. Written by the client threads, read by the harness (thread-safe
 * through a concurrent map; an entry's outcome only ever moves forward).
 */
final class LoadLedger {

    /** What the client saw of one message. */
    enum Outcome {
        /** The envelope was not accepted (or the connection failed before 354): no content sent. */
        NOT_SENT,
        /** The connection broke while the message text was being sent, before the final dot. */
        CUT,
        /** The final dot was (being) sent and no reply was read: it may or may not be queued. */
        IN_FLIGHT,
        /** The server answered the final dot with something other than 250. */
        REJECTED,
        /** The server answered the final dot with 250. */
        ACKNOWLEDGED
    }

    /** One message and its current outcome. */
    static final class Entry {
        final LoadMessage message;
        volatile Outcome outcome = Outcome.NOT_SENT;
        volatile String reply = "";

        Entry(LoadMessage message) {
            this.message = message;
        }
    }

    private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();

    Entry add(LoadMessage message) {
        Entry e = new Entry(message);
        if (entries.putIfAbsent(message.messageId(), e) != null) {
            throw new IllegalStateException("Message-ID used twice: " + message.messageId());
        }
        return e;
    }

    Entry get(String messageId) {
        return entries.get(messageId);
    }

    /** The ids whose outcome is {@code outcome} now. */
    List<Entry> with(Outcome outcome) {
        List<Entry> out = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (e.outcome == outcome) {
                out.add(e);
            }
        }
        return out;
    }

    Map<Outcome, Integer> counts() {
        Map<Outcome, Integer> counts = new EnumMap<>(Outcome.class);
        for (Outcome o : Outcome.values()) {
            counts.put(o, 0);
        }
        for (Entry e : entries.values()) {
            counts.merge(e.outcome, 1, Integer::sum);
        }
        return counts;
    }

    int size() {
        return entries.size();
    }
}
