/*
 * How to run and profile (from the repository root):
 *   mvn -B -q -o -pl bench -am package -DskipTests
 *   mvn -B -q -o -pl bench dependency:build-classpath -Dmdep.outputFile=cp.txt
 *   java -cp bench/target/classes:smtp/target/classes:tls/target/classes:reactor/target/classes:$(cat bench/cp.txt) io.sluice.bench.HandoffQueueBenchmark
 * Short check: append  -f 1 -wi 1 -i 2 -w 1s -r 1s
 * More producers: -tg 4,1 (producers,consumer) for the "one" group, and likewise for "batch".
 * Profile: -prof gc (ArrayBlockingQueue allocates nothing either, but takes a lock per call),
 * -prof perfasm / -prof async for where the cycles go (false sharing, the ABQ lock).
 *
 * The stage hand-off queues (acceptor -> loop, loop -> spool writer, writer -> loop): several
 * producers, one consumer, bounded. JCTools MpscArrayQueue (relaxedOffer, drain(handler, limit):
 * what the reactor uses) against java.util.concurrent.ArrayBlockingQueue (offer, poll/drainTo).
 * Read the auxiliary counters, not the primary score: "offered" and "taken" are elements moved
 * per second; "offerFailed" (queue full) and "pollEmpty" (queue empty) are wasted calls, which a
 * raw ops/s figure would count as throughput. Consumers never block, so JMH can end iterations.
 * On a 2-core machine with 2 producers + 1 consumer the threads share cores: compare the two
 * queues with each other, never with a bigger machine's numbers.
 * JSON results go to perf-results/jmh/HandoffQueueBenchmark-<date>.json.
 */
package io.sluice.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.concurrent.ArrayBlockingQueue;
import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpscArrayQueue;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;

/**
 * Multi-producer, single-consumer hand-off: one element per call ({@code one}) and a consumer that
 * drains up to {@link #DRAIN_LIMIT} per call ({@code batch}, the event loop's way).
 */
@State(Scope.Group)
public class HandoffQueueBenchmark extends AbstractBenchmark {

    /** Elements a draining consumer takes per call, like a loop's bounded drain per cycle. */
    static final int DRAIN_LIMIT = 64;
    private static final Object ELEMENT = new Object();

    @Param({"jctools-mpsc", "array-blocking"})
    public String queue;

    @Param({"1024"})
    public int capacity;

    private Handoff handoff;

    @Setup(Level.Trial)
    public void create() {
        handoff = queue.equals("jctools-mpsc") ? new JcToolsHandoff(capacity) : new BlockingHandoff(capacity);
    }

    /** Producer-side counters; per thread, summed by JMH, reported per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class ProducerCounters {
        public long offered;
        public long offerFailed;

        @Setup(Level.Iteration)
        public void reset() {
            offered = 0;
            offerFailed = 0;
        }
    }

    /** Consumer-side counters. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class ConsumerCounters {
        public long taken;
        public long pollEmpty;

        @Setup(Level.Iteration)
        public void reset() {
            taken = 0;
            pollEmpty = 0;
        }
    }

    @Benchmark
    @Group("one")
    @GroupThreads(2)
    public void offer(ProducerCounters counters) {
        if (handoff.offer(ELEMENT)) {
            counters.offered++;
        } else {
            counters.offerFailed++;
        }
    }

    @Benchmark
    @Group("one")
    @GroupThreads(1)
    public void poll(ConsumerCounters counters, Blackhole sink) {
        Object e = handoff.poll();
        if (e == null) {
            counters.pollEmpty++;
        } else {
            sink.consume(e);
            counters.taken++;
        }
    }

    @Benchmark
    @Group("batch")
    @GroupThreads(2)
    public void offerToDrain(ProducerCounters counters) {
        offer(counters);
    }

    @Benchmark
    @Group("batch")
    @GroupThreads(1)
    public void drain(ConsumerCounters counters, Blackhole sink) {
        int n = handoff.drain(sink);
        if (n == 0) {
            counters.pollEmpty++;
        } else {
            counters.taken += n;
        }
    }

    /** The two queues behind one small interface, so both benchmark methods stay identical. */
    private interface Handoff {
        boolean offer(Object element);

        Object poll();

        /** Takes up to DRAIN_LIMIT elements into {@code sink}; returns how many. */
        int drain(Blackhole sink);
    }

    /** What the reactor does: relaxedOffer to produce, drain(handler, limit) to consume. */
    private static final class JcToolsHandoff implements Handoff {
        private final MpscArrayQueue<Object> queue;
        private Blackhole target;
        private final MessagePassingQueue.Consumer<Object> toTarget = e -> target.consume(e);

        JcToolsHandoff(int capacity) {
            queue = new MpscArrayQueue<>(capacity);
        }

        @Override
        public boolean offer(Object element) {
            return queue.relaxedOffer(element);
        }

        @Override
        public Object poll() {
            return queue.relaxedPoll(); // poll() would spin on a producer preempted mid-offer
        }

        @Override
        public int drain(Blackhole sink) {
            target = sink;
            return queue.drain(toTarget, DRAIN_LIMIT);
        }
    }

    /** The JDK's bounded queue: one lock for both ends. */
    private static final class BlockingHandoff implements Handoff {
        private final ArrayBlockingQueue<Object> queue;
        /** Consumer thread only; cleared after each drain, so draining allocates nothing. */
        private final ArrayList<Object> drained = new ArrayList<>(DRAIN_LIMIT);

        BlockingHandoff(int capacity) {
            queue = new ArrayBlockingQueue<>(capacity);
        }

        @Override
        public boolean offer(Object element) {
            return queue.offer(element);
        }

        @Override
        public Object poll() {
            return queue.poll();
        }

        @Override
        public int drain(Blackhole sink) {
            int n = queue.drainTo(drained, DRAIN_LIMIT);
            for (int i = 0; i < n; i++) {
                sink.consume(drained.get(i));
            }
            drained.clear();
            return n;
        }
    }

    /** Runs this benchmark alone; JMH options in {@code args}. */
    public static void main(String[] args) throws RunnerException, CommandLineOptionException, IOException {
        run(HandoffQueueBenchmark.class, args);
    }
}
