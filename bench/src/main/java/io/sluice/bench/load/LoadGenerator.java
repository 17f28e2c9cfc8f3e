package io.sluice.bench.load;

import io.sluice.reactor.EventLoop;
import io.sluice.reactor.EventLoopGroup;
import io.sluice.reactor.LoopConfig;
import io.sluice.reactor.NanoClock;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The SMTP load generator behind {@code sluice load}: runs {@link LoadOptions#connections()}
 * {@link LoadSession}s on {@link LoadOptions#threads()} event loops, prints a progress line every
 * second and returns a {@link LoadResult}.
 *
 * <p>Threading: {@link #run()} is called once, from one thread, and blocks until the run ends;
 * it owns the loops it starts and closes them before returning. {@link #stop()} may be called
 * from any thread (a shutdown hook) to end the run early.
 */
public final class LoadGenerator {

    private static final long SECOND_NANOS = 1_000_000_000L;
    /** After a stop, how long in-flight messages get to finish before connections are closed. */
    private static final long MAX_STOP_GRACE_NANOS = 10 * SECOND_NANOS;

    private final LoadOptions options;
    private final PrintStream progress;
    private volatile RunControl control;
    private volatile boolean stopRequested;

    /**
     * @param progress where progress lines go once a second (stderr for the command), or null for none
     */
    public LoadGenerator(LoadOptions options, PrintStream progress) {
        this.options = options;
        this.progress = options.progress() ? progress : null;
    }

    /** Ends the run early: sessions finish their message and QUIT. Any thread. */
    public void stop() {
        stopRequested = true;
        RunControl running = control;
        if (running != null) {
            running.stop();
        }
    }

    /**
     * Runs the load and blocks until it is over.
     *
     * @throws UnknownHostException       when the target does not resolve
     * @throws GeneralSecurityException   when the TLS options cannot make a context
     */
    public LoadResult run() throws IOException, GeneralSecurityException, InterruptedException {
        InetSocketAddress target = resolve(options.target());
        ClientTls tls = new ClientTls(options);
        MessageTemplates templates = new MessageTemplates(options.sizes(), options.sender(),
                CommandBytes.recipient(0, options.rcptDomain()), ThreadLocalRandom.current().nextLong());
        CommandBytes commands = new CommandBytes(options.heloName(), options.sender(), options.rcptDomain(),
                options.recipients());
        RunControl runControl = new RunControl(options.maxErrors(), options.connections());
        control = runControl;
        if (stopRequested) {
            runControl.stop();
        }
        LoopConfig config = LoopConfig.defaults().withTaskQueueCapacity(Math.max(65536, 2 * options.connections()));
        EventLoopGroup group = new EventLoopGroup(options.threads(), false, EventLoopGroup.Assignment.ROUND_ROBIN,
                config, NanoClock.SYSTEM);
        IntervalLog hlog = null;
        FileChannel ledgerFile = null;
        try {
            group.start();
            LoopMetricsByWindow[] metrics = new LoopMetricsByWindow[options.threads()];
            MessageLedger[] ledgers = new MessageLedger[options.threads()];
            if (options.ledgerFile() != null && !options.handshakeOnly()) {
                ledgerFile = FileChannel.open(options.ledgerFile(), StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
                for (int i = 0; i < ledgers.length; i++) {
                    ledgers[i] = new MessageLedger(ledgerFile, templates.messageIdPrefix());
                }
            }
            for (int i = 0; i < metrics.length; i++) {
                metrics[i] = new LoopMetricsByWindow();
            }
            CpuMeter cpu = new CpuMeter(options.serverPid());
            long startNanos = System.nanoTime();
            long startEpochMillis = System.currentTimeMillis();
            cpu.baseline();
            if (options.hlogFile() != null) {
                hlog = new IntervalLog(options.hlogFile(), options.handshakeOnly() ? Phase.SESSION : Phase.MESSAGE,
                        startEpochMillis);
            }
            MessageSchedule schedule = new MessageSchedule(startNanos,
                    MessageSchedule.intervalNanos(options.ratePerSecond()), options.warmupNanos(),
                    options.totalMessages(), options.durationNanos());
            // Microseconds, not currentTimeMillis * 1000: a sink on this host compares the stamps
            // with its own microsecond clock, and a millisecond cut would skew every latency.
            Instant startInstant = Instant.now();
            long startEpochMicros = startInstant.getEpochSecond() * 1_000_000L + startInstant.getNano() / 1000
                    + (startNanos - System.nanoTime()) / 1000;
            RunContext run = new RunContext(options, target, schedule, commands, templates, tls, runControl,
                    startNanos, startEpochMicros);
            startSessions(group, metrics, ledgers, run);
            MetricsReader reader = new MetricsReader(metrics);
            long endNanos = await(schedule, runControl, reader, cpu, hlog);
            runControl.stop();
            group.close(); // waits for the loops: nothing records after this
            reader.collect();
            cpu.sample();
            if (hlog != null) {
                hlog.write(reader, System.currentTimeMillis());
            }
            flushLedgers(ledgers);
            long measuredFrom = Math.max(startNanos, schedule.warmupEndNanos());
            return new LoadResult(options, MachineInfo.current(), tls.providerName(), endNanos - measuredFrom,
                    runControl.errorBudgetExceeded(), reader, cpu.usage());
        } finally {
            group.close();
            if (hlog != null) {
                hlog.close();
            }
            if (ledgerFile != null) {
                ledgerFile.close();
            }
        }
    }

    /** After the loops have stopped: the rest of each loop's ledger lines, then the first write error. */
    private static void flushLedgers(MessageLedger[] ledgers) throws IOException {
        for (MessageLedger ledger : ledgers) {
            if (ledger != null) {
                ledger.flush();
                if (ledger.failure() != null) {
                    throw new IOException("cannot write the ledger", ledger.failure());
                }
            }
        }
    }

    private static void startSessions(EventLoopGroup group, LoopMetricsByWindow[] metrics, MessageLedger[] ledgers,
            RunContext run) {
        List<EventLoop> loops = group.loops();
        for (int slot = 0; slot < run.options().connections(); slot++) {
            int loopIndex = slot % loops.size();
            EventLoop loop = loops.get(loopIndex);
            LoadSession session = new LoadSession(run, loop, metrics[loopIndex], ledgers[loopIndex], slot);
            loop.execute(session::begin);
        }
    }

    /**
     * Waits for every slot to finish, printing progress each second. Stops the run when the
     * duration (plus one reply timeout) is over, and gives up waiting a grace period after a stop.
     *
     * @return when the run ended, on the loop clock
     */
    private long await(MessageSchedule schedule, RunControl runControl, MetricsReader reader, CpuMeter cpu,
            IntervalLog hlog) throws InterruptedException {
        long grace = Math.min(options.replyTimeoutNanos(), MAX_STOP_GRACE_NANOS) + SECOND_NANOS;
        long stoppedAt = 0;
        boolean inWarmup = options.warmupNanos() > 0;
        Progress line = new Progress(reader, cpu);
        while (!runControl.awaitSlots(inWarmup ? untilWarmupEnd(schedule) : SECOND_NANOS)) {
            long now = System.nanoTime();
            reader.collect();
            cpu.sample();
            if (inWarmup && now - schedule.warmupEndNanos() >= 0) {
                inWarmup = false;
                cpu.baseline(); // CPU counts from the end of warm-up (this tick is timed to it)
            }
            if (hlog != null) {
                hlog.write(reader, System.currentTimeMillis());
            }
            line.print(now, runControl);
            if (schedule.isPastEnd(now - options.replyTimeoutNanos())) {
                runControl.stop();
            }
            if (runControl.stopping()) {
                if (stoppedAt == 0) {
                    stoppedAt = now;
                } else if (now - stoppedAt > grace) {
                    break;
                }
            }
        }
        return System.nanoTime();
    }

    /** The next progress tick in warm-up: in a second, or at the end of warm-up if sooner. */
    private static long untilWarmupEnd(MessageSchedule schedule) {
        return Math.max(1, Math.min(SECOND_NANOS, schedule.warmupEndNanos() - System.nanoTime()));
    }

    private static InetSocketAddress resolve(InetSocketAddress target) throws UnknownHostException {
        InetSocketAddress resolved = new InetSocketAddress(target.getHostString(), target.getPort());
        if (resolved.isUnresolved()) {
            throw new UnknownHostException("target=" + target.getHostString() + " does not resolve");
        }
        return resolved;
    }

    /** The once-a-second progress line; state is the previous line's counters. Reader thread only. */
    private final class Progress {
        private final MetricsReader reader;
        private final CpuMeter cpu;
        private final long startNanos = System.nanoTime();
        private long lastNanos = startNanos;
        private long lastMessages;
        private long lastHandshakes;
        private long lastSessions;

        Progress(MetricsReader reader, CpuMeter cpu) {
            this.reader = reader;
            this.cpu = cpu;
        }

        void print(long now, RunControl runControl) {
            // Whole-run counters (warm-up included): they never decrease, so rates stay right at the boundary.
            long messages = reader.runCounter(LoopMetrics.MESSAGES_OK);
            long handshakes = reader.runCounter(LoopMetrics.HANDSHAKES);
            long sessions = reader.runCounter(LoopMetrics.SESSIONS_OK);
            double seconds = Math.max(1e-9, (now - lastNanos) / 1e9);
            if (progress != null) {
                StringBuilder text = new StringBuilder(String.format(Locale.ROOT,
                        "[%6.1fs] msg/s %8.0f  hs/s %7.0f  sess/s %7.0f  ok %d  failed %d  p50 %.2f ms  p99 %.2f ms  active %d  errors %d",
                        (now - startNanos) / 1e9, (messages - lastMessages) / seconds,
                        (handshakes - lastHandshakes) / seconds, (sessions - lastSessions) / seconds, messages,
                        reader.runCounter(LoopMetrics.MESSAGES_FAILED),
                        reader.lastMessages().getValueAtPercentile(50) / 1000.0,
                        reader.lastMessages().getValueAtPercentile(99) / 1000.0,
                        runControl.slotsRunning(), reader.runCounter(LoopMetrics.ERRORS)));
                appendCpu(text, seconds);
                appendErrorCodes(text);
                progress.println(text);
            }
            lastNanos = now;
            lastMessages = messages;
            lastHandshakes = handshakes;
            lastSessions = sessions;
        }

        /** CPU of the last interval in % of one core: the server's (with --server-pid) and ours. */
        private void appendCpu(StringBuilder text, double seconds) {
            if (cpu.measuresServer()) {
                text.append(String.format(Locale.ROOT, "  srv cpu %.0f%%", 100 * cpu.serverIntervalSeconds() / seconds));
            }
            text.append(String.format(Locale.ROOT, "  gen cpu %.0f%%", 100 * cpu.generatorIntervalSeconds() / seconds));
        }

        /** Counts of every 4xx/5xx reply so far: the errors by reply code. */
        private void appendErrorCodes(StringBuilder text) {
            for (int code = 400; code < LoopMetrics.REPLY_CODES; code++) {
                long n = reader.replies(code);
                if (n > 0) {
                    text.append(' ').append(code).append('=').append(n);
                }
            }
        }
    }
}
