package io.sluice.smtp.dns;

import io.sluice.reactor.NanoClock;
import java.util.Iterator;
import java.util.LinkedHashMap;
import org.xbill.DNS.Name;

/**
 * Answers to DNS questions kept for their TTL (positive and negative alike), at most
 * {@code maxEntries} of them, the least recently used evicted first. Any thread: one monitor
 * guards the map; DNS lookups are far off the hot path, so the lock costs nothing that matters.
 */
final class DnsAnswerCache {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final int maxEntries;
    private final NanoClock clock;
    private final LinkedHashMap<Question, Entry> entries; // guarded by this

    /** One DNS question; {@link Name} compares case-insensitively. */
    record Question(Name name, int type) {
    }

    private record Entry(RrSet answer, long expiresAtNanos) {
    }

    DnsAnswerCache(int maxEntries, NanoClock clock) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries=" + maxEntries + " < 1");
        }
        this.maxEntries = maxEntries;
        this.clock = clock;
        this.entries = new LinkedHashMap<>(16, 0.75f, true);
    }

    /** The answer still within its TTL, or null. */
    synchronized RrSet get(Question question) {
        Entry e = entries.get(question);
        if (e == null) {
            return null;
        }
        if (clock.nanoTime() - e.expiresAtNanos >= 0) {
            entries.remove(question);
            return null;
        }
        return e.answer;
    }

    /** Keeps the answer for its TTL; a TTL of 0 keeps nothing. */
    synchronized void put(Question question, RrSet answer) {
        if (answer.ttlSeconds() <= 0) {
            return;
        }
        entries.put(question, new Entry(answer, clock.nanoTime() + answer.ttlSeconds() * NANOS_PER_SECOND));
        if (entries.size() > maxEntries) {
            Iterator<Question> eldest = entries.keySet().iterator();
            eldest.next();
            eldest.remove();
        }
    }

    synchronized int size() {
        return entries.size();
    }
}
