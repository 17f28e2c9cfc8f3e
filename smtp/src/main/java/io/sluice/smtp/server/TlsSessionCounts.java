package io.sluice.smtp.server;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Completed TLS sessions per protocol and cipher suite, for the metrics' label pairs. The label
 * set is bounded: both come from the engine's enabled lists, and past {@link #MAX_PAIRS} distinct
 * pairs the rest are counted under {@code other}. Any thread.
 */
public final class TlsSessionCounts {

    /** Distinct (protocol, cipher) pairs kept before the rest go to {@code other}. */
    public static final int MAX_PAIRS = 64;
    static final String OTHER = "other";

    private final ConcurrentHashMap<String, ConcurrentHashMap<String, LongAdder>> byProtocol = new ConcurrentHashMap<>();
    private final AtomicInteger pairs = new AtomicInteger();

    /**
     * Counts one session. The common case is two lock-free map reads and an adder increment; only
     * the first session with a new pair inserts (under the map's bin lock, at most MAX_PAIRS times).
     */
    void increment(String protocol, String cipher) {
        ConcurrentHashMap<String, LongAdder> ciphers = byProtocol.get(protocol);
        LongAdder adder = ciphers == null ? null : ciphers.get(cipher);
        if (adder == null) {
            adder = insert(protocol, cipher);
        }
        adder.increment();
    }

    private LongAdder insert(String protocol, String cipher) {
        boolean room = pairs.get() < MAX_PAIRS;
        String p = room ? protocol : OTHER;
        String c = room ? cipher : OTHER;
        return byProtocol.computeIfAbsent(p, k -> new ConcurrentHashMap<>()).computeIfAbsent(c, k -> {
            pairs.incrementAndGet();
            return new LongAdder();
        });
    }

    /** Receives one (protocol, cipher, count) triple. */
    @FunctionalInterface
    public interface PairConsumer {
        void accept(String protocol, String cipher, long count);
    }

    /** Calls {@code action} for every pair seen; any thread (a racy but consistent-per-pair view). */
    public void forEach(PairConsumer action) {
        byProtocol.forEach((protocol, ciphers) -> ciphers.forEach((cipher, adder) ->
                action.accept(protocol, cipher, adder.sum())));
    }
}
