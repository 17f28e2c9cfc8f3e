/*
 * How to run and profile (from the repository root):
 *   mvn -B -q -o -pl bench -am package -DskipTests
 *   mvn -B -q -o -pl bench dependency:build-classpath -Dmdep.outputFile=cp.txt
 *   java -cp bench/target/classes:smtp/target/classes:tls/target/classes:reactor/target/classes:$(cat bench/cp.txt) io.sluice.bench.SpoolCommitBenchmark
 * Short check: append  -f 1 -wi 1 -i 2 -w 1s -r 1s -p commitWindowMicros=0 -p inFlight=16
 * Profile: -prof gc (B/op of the commit path), -prof stack, or -prof async (async-profiler).
 * Threads stand in for event loops (one SpoolAppender each): -t 2 (default) .. -t 8.
 *
 * It measures the real Spool's group commit: every thread keeps `inFlight` messages committing
 * at once (its sessions), each 1 KiB; an op is one burst, made durable. "messages" (an auxiliary
 * counter) is durable messages per second; the spool's batches, mean batch and mean fsync time
 * are printed at the end of each trial.
 *
 * fsync dependence: the figures are fsync-bound and say more about the disk than about Sluice.
 * The spool lives under -Dsluice.bench.spoolDir (default java.io.tmpdir): on tmpfs fsync is free
 * and this measures the writer's CPU path; on a local SSD a few fsyncs per millisecond; on a
 * network or virtual disk (this project's build machine: ext4 on virtio) ~1 ms or worse, so
 * throughput is about batch size / fsync time. Always record the device with the numbers, and
 * compare commit windows on the same device only. Messages/s should grow with inFlight x threads
 * (the batch) while the fsync rate stays flat; a commit window only helps when batches are small
 * and fsyncs are scarce (see SpoolOptions.commitWindowNanos).
 * JSON results go to perf-results/jmh/SpoolCommitBenchmark-<date>.json.
 */
package io.sluice.bench;

import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.Spool;
import io.sluice.smtp.spool.SpoolAppender;
import io.sluice.smtp.spool.SpoolOptions;
import io.sluice.smtp.spool.SpoolStats;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;

/**
 * Durable messages per second through the spool's group commit, by commit window and batch limit.
 * The spool is opened once per trial in a fresh temporary directory and deleted afterwards.
 */
@State(Scope.Benchmark)
@Threads(2)
public class SpoolCommitBenchmark extends AbstractBenchmark {

    private static final int MESSAGE_OCTETS = 1024;
    private static final long WAIT_NANOS = 20_000;

    /** How long the writer keeps gathering commits after the first one before it fsyncs. */
    @Param({"0", "500", "2000"})
    public long commitWindowMicros;

    /** A batch is fsynced at once when it reaches this many commits. */
    @Param({"1024", "16"})
    public int maxBatchMessages;

    /** Messages each thread (loop) has committing at once: its busy sessions. */
    @Param({"1", "16"})
    public int inFlight;

    private Path directory;
    private Spool spool;
    private final AtomicInteger nextLoop = new AtomicInteger();

    @Setup(Level.Trial)
    public void openSpool() throws IOException {
        Path base = Path.of(System.getProperty("sluice.bench.spoolDir", System.getProperty("java.io.tmpdir")));
        directory = Files.createTempDirectory(base, "sluice-spool-bench");
        SpoolOptions options = SpoolOptions.defaults()
                .withCommitWindowNanos(TimeUnit.MICROSECONDS.toNanos(commitWindowMicros));
        options = new SpoolOptions(options.segmentMaxBytes(), options.commitWindowNanos(), maxBatchMessages,
                options.writerQueueCapacity(), options.maxRecordPayloadBytes(), options.recycledSegmentsPerLoop());
        spool = Spool.open(directory, options);
    }

    @TearDown(Level.Trial)
    public void closeSpool() throws IOException {
        SpoolStats stats = spool.stats();
        spool.close();
        System.out.printf("%nspool %s: %d messages in %d batches (mean %.1f), %d fsyncs, mean fsync %.0f µs%n",
                directory, stats.messages(), stats.batches(), stats.meanBatch(), stats.fsyncs(),
                stats.meanFsyncNanos() / 1000.0);
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(file);
            }
        }
    }

    /** One benchmark thread = one event loop with its own appender; counts durable messages. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Loop implements CommitListener {
        /** Durable messages (per second, as an OPERATIONS counter). */
        public long messages;
        /** Commits the spool failed (must stay 0). */
        public long failures;

        SpoolAppender appender;
        Envelope envelope;
        Thread owner;
        final ByteBuffer content = ByteBuffer.allocateDirect(MESSAGE_OCTETS);
        final AtomicLong answered = new AtomicLong();
        final AtomicLong failedCommits = new AtomicLong();
        long failedAtIterationStart;
        /** The writer answers on its own thread: the listener only counts and wakes the loop. */
        final Executor direct = Runnable::run;
        long committed;

        @Setup(Level.Trial)
        public void attach(SpoolCommitBenchmark benchmark) {
            appender = benchmark.spool.appender(benchmark.nextLoop.getAndIncrement());
            envelope = new Envelope("load@sender.example", List.of("rcpt0@sink.example"), "127.0.0.1",
                    "load.sluice.test", "ESMTP", System.currentTimeMillis(), BodyType.SEVEN_BIT, false);
            for (int i = 0; i < MESSAGE_OCTETS; i++) {
                content.put((byte) (i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' : 'x'));
            }
            content.flip();
        }

        @Setup(Level.Iteration)
        public void reset() {
            messages = 0;
            failures = 0;
            failedAtIterationStart = failedCommits.get();
        }

        @Override
        public void committed(QueueId id) {
            answered.incrementAndGet();
            LockSupport.unpark(owner);
        }

        @Override
        public void failed(QueueId id, IOException cause) {
            failedCommits.incrementAndGet(); // the writer's thread: copied into failures by the loop
            answered.incrementAndGet();
            LockSupport.unpark(owner);
        }
    }

    /** One burst: {@code inFlight} messages begun, written and committed, then waited on until durable. */
    @Benchmark
    public long commitBurst(Loop loop) throws IOException {
        loop.owner = Thread.currentThread();
        for (int i = 0; i < inFlight; i++) {
            QueueId id = loop.appender.begin(loop.envelope);
            loop.appender.append(id, loop.content.duplicate()); // duplicate: a view, the content is reused
            loop.appender.commit(id, MESSAGE_OCTETS, loop, loop.direct);
        }
        loop.committed += inFlight;
        while (loop.answered.get() < loop.committed) {
            LockSupport.parkNanos(WAIT_NANOS);
        }
        loop.messages += inFlight;
        loop.failures = loop.failedCommits.get() - loop.failedAtIterationStart;
        return loop.committed;
    }

    /** Runs this benchmark alone; JMH options in {@code args}. */
    public static void main(String[] args) throws RunnerException, CommandLineOptionException, IOException {
        run(SpoolCommitBenchmark.class, args);
    }
}
