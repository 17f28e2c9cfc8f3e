package io.sluice.smtp.client;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * Idle outbound sessions per {@link HopKey}, most recently used first (so surplus connections
 * age out through their idle timeout). Lock-free; any thread. A session is taken only by winning
 * its {@link ClientSession#claim()}, so a session that times out at the same moment is skipped.
 * Its size is bounded by the connections that were busy at once, which the queue manager's
 * per-destination concurrency limits.
 */
final class ConnectionPool {
    private final Map<HopKey, ConcurrentLinkedDeque<ClientSession>> idle = new ConcurrentHashMap<>();

    /** An idle session for {@code key}, now claimed by the caller, or null. */
    ClientSession acquire(HopKey key) {
        ConcurrentLinkedDeque<ClientSession> sessions = idle.get(key);
        if (sessions == null) {
            return null;
        }
        for (ClientSession s = sessions.pollFirst(); s != null; s = sessions.pollFirst()) {
            if (s.claim()) {
                return s;
            }
        }
        return null;
    }

    /** The session is idle (already claimable). Its loop thread. */
    void release(ClientSession session) {
        idle.computeIfAbsent(session.key(), k -> new ConcurrentLinkedDeque<>()).addFirst(session);
    }

    /** The session closed or timed out. Its loop thread. */
    void remove(ClientSession session) {
        ConcurrentLinkedDeque<ClientSession> sessions = idle.get(session.key());
        if (sessions != null) {
            sessions.remove(session);
        }
    }

    /** Idle sessions for a key (tests, stats). */
    int idleCount(HopKey key) {
        ConcurrentLinkedDeque<ClientSession> sessions = idle.get(key);
        return sessions == null ? 0 : sessions.size();
    }
}
