package io.sluice.smtp.delivery;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.function.LongSupplier;

import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpscUnboundedArrayQueue;

import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.DsnReturn;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.MessageSource;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;
import io.sluice.smtp.spool.RecipientDsn;
import io.sluice.smtp.spool.Spool;
import io.sluice.smtp.spool.SpoolAppender;

/**
 * The delivery stage: takes every durable message (recovered ones at start, new ones from
 * {@link MessageSource#onDurable}), routes each recipient through the {@link TransportTable},
 * delivers through the route's {@link Transport} with at most {@code delivery.concurrency}
 * attempts in flight per route, retries deferred recipients on the backoff schedule, bounces
 * failed ones (an RFC 3464 report put into the spool from the null sender) and removes the
 * message from the spool once every recipient is delivered or bounced.
 *
 * <h2>Threads</h2>
 * All state is confined to one thread, {@code sluice-queue} after {@link #start()} (tests call
 * {@link #recover()} and {@link #doWork()} themselves, with their own clock). Other threads talk
 * to it only through a lock-free MPSC inbox: the spool writer offers new messages, transports
 * report results from any thread, the spool answers bounce commits. Blocking transports (maildir)
 * run on {@code delivery.workers} worker threads; nothing here runs on an event loop. The bounce
 * appender is used from the queue thread only.
 *
 * <p>With a spool directory, recipient state is durable in {@link RecipientJournal}: a final
 * outcome is written (group-committed) before the recipient is forgotten, and recovery applies
 * it, so a recipient delivered before a restart is not sent again; deferrals (attempts, next
 * attempt, last error) are written too, without an fsync of their own. The journal is rewritten
 * from the queue's state (on the queue thread) whenever it has outgrown that state. The same directory gets
 * {@code control.sock} ({@link QueueControl}), through which {@code sluice queue} asks a running
 * server for recipient state, retries and deletions; those requests run on the queue thread.
 *
 * <p>Each destination has a concurrency limit and an optional rate limit (a token bucket checked
 * when attempts are dispatched; a destination out of tokens waits on a timer, nothing sleeps).
 * Once a message with a deferred recipient is {@code delivery.delay_warning} old, its sender
 * gets one delay notification (remembered in the journal).
 */
public final class QueueManager implements AutoCloseable {
    /** The spool appender index reserved for messages the server makes itself (bounces). */
    public static final int INTERNAL_LOOP_INDEX = QueueId.MAX_LOOPS - 1;

    private static final int DRAIN_LIMIT = 4096;
    private static final int MAX_QUOTED_HEADER_OCTETS = 64 * 1024;
    private static final long IDLE_PARK_MILLIS = 100;
    /** {@link #close}'s bound unless {@link #closeTimeout} sets one: {@code spool.close_timeout}'s default. */
    public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(10);
    /** The most {@link #close} waits for delivery workers (their results are dropped anyway). */
    private static final long WORKERS_CLOSE_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final MessageSource source;
    private final SpoolAppender bounceAppender;
    private final TransportTable table;
    private final Function<Route, Transport> transportFactory;
    private final DeliveryOptions options;
    private final EventLog log;
    private final LongSupplier clockMillis;
    private final Executor workers;
    private final ExecutorService ownedWorkers;
    /** Where the journal and the control socket live; null = state in memory only. */
    private final Path stateDir;
    private final RecipientJournal journal;
    private QueueControl control;
    // Unbounded on purpose: its producers must never block or drop (the spool writer thread for new
    // messages, transports for results), and what it holds is bounded by the spool's own message
    // count plus the attempts in flight.
    private final MpscUnboundedArrayQueue<Object> inbox = new MpscUnboundedArrayQueue<>(1024);
    private final MessagePassingQueue.Consumer<Object> handler = this::handle;
    private final Executor inboxExecutor = this::offer;
    private final Map<QueueId, QueuedRecipients> messages = new HashMap<>();
    /** Journal records of messages a quarantined segment may hold, read at start; written by every rewrite. */
    private Map<Long, RecipientJournal.MessageRecord> keptForQuarantined = Map.of();
    /**
     * Messages that left the queue but whose spool removal failed: they come back after a restart,
     * so a journal rewrite must keep their recipients' outcomes (or all would be sent again).
     * Grows only on spool errors.
     */
    private final Map<QueueId, QueuedRecipients> removalFailed = new HashMap<>();
    private final Map<Route, Destination> destinations = new HashMap<>();
    private final ArrayDeque<Destination> runnable = new ArrayDeque<>();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>();
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong deferred = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong bounces = new AtomicLong();
    private final AtomicLong delayNotices = new AtomicLong();
    private final AtomicLong successNotices = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    /** Open attempts, oldest first: their deadlines are in the same order (one timeout for all). */
    private Attempt oldestOpen;
    private Attempt newestOpen;
    private long nextAttemptId = 1;
    private long timerSeq;
    private long nowMillis;
    /** Set by {@link #originalHeaders} for the {@link #submitReport} that follows it. */
    private boolean lastHeadersEightBit;
    private volatile Thread thread;
    private volatile boolean running;
    /** Set by the setup thread, read by the closing one. */
    private volatile long closeTimeoutNanos = DEFAULT_CLOSE_TIMEOUT.toNanos();
    private volatile boolean parked;
    /** Set by {@link #beginDrain()}: no new attempts; counted down once none is in flight. */
    private volatile boolean draining;
    private final CountDownLatch drained = new CountDownLatch(1);

    /**
     * @param source         the spool (content, removal, new messages)
     * @param bounceAppender where bounces are written; used from the queue thread only
     * @param table          recipient routing
     * @param transports     makes the transport of a route (called once per route, cached)
     * @param options        concurrency, retry schedule, limits, our host name
     * @param log            one line per delivery attempt, bounce and error
     * @param clockMillis    epoch milliseconds (tests pass a manual clock)
     * @param workers        runs blocking transports; {@code null} = a pool of {@code options.workers()} threads
     */
    public QueueManager(MessageSource source, SpoolAppender bounceAppender, TransportTable table,
            Function<Route, Transport> transports, DeliveryOptions options, EventLog log, LongSupplier clockMillis,
            Executor workers) {
        this(source, bounceAppender, table, transports, options, log, clockMillis, workers, null);
    }

    /**
     * As above, with durable recipient state and the control socket in {@code stateDir} (the
     * spool directory; {@code null} = memory only, no control socket).
     */
    public QueueManager(MessageSource source, SpoolAppender bounceAppender, TransportTable table,
            Function<Route, Transport> transports, DeliveryOptions options, EventLog log, LongSupplier clockMillis,
            Executor workers, Path stateDir) {
        this.stateDir = stateDir;
        this.journal = stateDir == null ? null : RecipientJournal.in(stateDir);
        this.source = source;
        this.bounceAppender = bounceAppender;
        this.table = table;
        this.transportFactory = transports;
        this.options = options;
        this.log = log;
        this.clockMillis = clockMillis;
        this.ownedWorkers = workers == null ? workerPool(options.workers()) : null;
        this.workers = workers == null ? ownedWorkers : workers;
    }

    /**
     * The server's queue manager: routes from {@code transport.*}/{@code relay.host}, the standard
     * transports, the system clock, bounces through the spool's appender {@link #INTERNAL_LOOP_INDEX}.
     *
     * @throws io.sluice.smtp.config.ConfigException on a bad transport entry
     */
    public static QueueManager forServer(SluiceConfig config, Spool spool, EventLog log) {
        return forServer(config, spool, log, null);
    }

    /**
     * As {@link #forServer(SluiceConfig, Spool, EventLog)}, with LMTP and SMTP routes delivered by
     * {@code remote} (the outbound client; null = they defer).
     */
    public static QueueManager forServer(SluiceConfig config, Spool spool, EventLog log, Function<Route, Transport> remote) {
        DeliveryOptions options = DeliveryOptions.fromConfig(config);
        QueueManager queue = new QueueManager(spool, spool.appender(INTERNAL_LOOP_INDEX),
                TransportTable.fromConfig(config), new StandardTransports(options.hostname(),
                        config.get(ConfigKeys.DELIVERY_MAILDIR_DELIVERED_TO), remote),
                options, log, System::currentTimeMillis, null, spool.directory());
        queue.closeTimeout(config.get(ConfigKeys.SPOOL_CLOSE_TIMEOUT)); // the journal lives in the spool
        return queue;
    }

    private static ExecutorService workerPool(int threads) {
        AtomicInteger n = new AtomicInteger();
        // The queue behind the workers is bounded by the attempts in flight (concurrency per route).
        ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "sluice-delivery-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    /**
     * Recovers the queued messages, starts the {@code sluice-queue} thread and, with a state
     * directory, the control socket (a control socket that cannot be bound is logged, not fatal:
     * the CLI then works offline only). Call once.
     */
    public void start() {
        recover();
        running = true;
        Thread t = new Thread(this::runLoop, "sluice-queue");
        t.setDaemon(true);
        thread = t;
        t.start();
        if (stateDir != null) {
            try {
                control = QueueControl.serve(stateDir, this::askQueueThread);
            } catch (IOException | UnsupportedOperationException e) {
                log.log(EventLog.Level.WARN, "queue-control-unavailable", "dir", stateDir, "error", e.toString());
            }
        }
    }

    /**
     * Subscribes to new messages, then takes every message already in the spool, with the
     * recipient state the journal holds for it (and compacts the journal to those messages). A
     * message seen both ways is admitted once. On the queue thread, or before it starts.
     */
    void recover() {
        source.onDurable(this::offer);
        nowMillis = clockMillis.getAsLong();
        List<QueuedMessage> queued = source.list();
        Map<Long, RecipientJournal.MessageRecord> records = readJournal(queued);
        for (QueuedMessage m : queued) {
            admit(m, records.get(m.id().value()));
        }
        if (!queued.isEmpty()) {
            log.log(EventLog.Level.INFO, "queue-recovered", "messages", queued.size(), "with_state", records.size());
        }
        flushJournal(true);
    }

    private Map<Long, RecipientJournal.MessageRecord> readJournal(List<QueuedMessage> queued) {
        if (journal == null) {
            return Map.of();
        }
        try {
            Map<Long, RecipientJournal.MessageRecord> records = RecipientJournal.read(stateDir);
            List<Long> live = new ArrayList<>(queued.size());
            for (QueuedMessage m : queued) {
                live.add(m.id().value());
            }
            Set<Long> liveSet = new HashSet<>(live);
            keptForQuarantined = recordsOfQuarantined(records, liveSet);
            List<Long> kept = new ArrayList<>(live);
            kept.addAll(keptForQuarantined.keySet());
            journal.compact(records, kept);
            records.keySet().retainAll(liveSet);
            return records;
        } catch (IOException | RuntimeException e) {
            // Without it every recipient is tried again: duplicates, never a loss.
            errors.incrementAndGet();
            log.log(EventLog.Level.ERROR, "queue-journal-unreadable", "dir", stateDir, "error", e.toString());
            return Map.of();
        }
    }

    /**
     * The records of messages not queued that may be in a quarantined segment file (id not newer
     * than the spool's bound): kept through every rewrite of this run, so restoring the file
     * brings the message back with its recipients' outcomes and they are not delivered twice.
     */
    private Map<Long, RecipientJournal.MessageRecord> recordsOfQuarantined(
            Map<Long, RecipientJournal.MessageRecord> records, Set<Long> live) {
        OptionalLong bound = source.quarantinedIdBound();
        if (bound.isEmpty()) {
            return Map.of();
        }
        Map<Long, RecipientJournal.MessageRecord> out = new HashMap<>();
        for (Map.Entry<Long, RecipientJournal.MessageRecord> e : records.entrySet()) {
            if (!live.contains(e.getKey()) && Long.compareUnsigned(e.getKey(), bound.getAsLong()) <= 0) {
                out.put(e.getKey(), e.getValue());
            }
        }
        if (!out.isEmpty()) {
            log.log(EventLog.Level.INFO, "queue-journal-kept-for-quarantined", "messages", out.size(),
                    "newest_id", bound.getAsLong() == -1 ? "any" : QueueId.of(bound.getAsLong()));
        }
        return out;
    }

    /**
     * One cycle: drains the inbox (bounded), fires due timers (retries, attempt timeouts, bounce
     * retries), starts the attempts the concurrency limits allow. Queue thread only.
     *
     * @return how much work was done; 0 means idle
     */
    int doWork() {
        nowMillis = clockMillis.getAsLong();
        int work = inbox.drain(handler, DRAIN_LIMIT);
        work += fireTimers();
        work += dispatch();
        flushJournal(false);
        compactJournalIfDue();
        return work;
    }

    /**
     * Rewrites the journal from the queue's state once it has outgrown it (see
     * {@link RecipientJournal#compactionDue}): O(queued messages) on this thread, rarely, paid for
     * by as many bytes of records appended since the last rewrite.
     */
    private void compactJournalIfDue() {
        if (journal == null || !journal.compactionDue(messages.size())) {
            return;
        }
        try {
            // The records of removed messages go with the rewrite: their removal must be durable
            // first, or a crash could bring a message back without the outcomes of its recipients.
            source.syncRemovals();
            Collection<QueuedRecipients> state = messages.values();
            if (!removalFailed.isEmpty()) {
                state = new ArrayList<>(state); // rare: only after a failed removal
                state.addAll(removalFailed.values());
            }
            journal.compact(state, keptForQuarantined, nowMillis);
        } catch (IOException e) {
            // The old file is whole (or the new one is): nothing is lost; tried again once it grows as much.
            journal.postponeCompaction();
            errors.incrementAndGet();
            log.log(EventLog.Level.ERROR, "queue-journal-compact-failed", "error", e.toString());
        }
    }

    /** Journal rewrites since construction (the one at start included); queue thread or tests. */
    long journalCompactions() {
        return journal == null ? 0 : journal.compactions();
    }

    /** Tests: the journal's fsyncs go through {@code force}. */
    void journalForce(RecipientJournal.FileForce force) {
        journal.forceWith(force);
    }

    /** Tests: the journal, to queue records on the test's thread. */
    RecipientJournal journal() {
        return journal;
    }

    /** Tests: rewrite the journal after less growth than {@link RecipientJournal#MIN_COMPACT_BYTES}. */
    void journalMinCompactBytes(long bytes) {
        journal.minCompactBytes(bytes);
    }

    /** Writes this cycle's journal records; fsyncs finals in groups (see {@link RecipientJournal}). */
    private void flushJournal(boolean idle) {
        if (journal == null) {
            return;
        }
        try {
            journal.flush(idle);
        } catch (IOException e) {
            // The records stay queued and are written with the next cycle; until then a crash
            // means a redelivery, never a loss.
            errors.incrementAndGet();
            log.log(EventLog.Level.ERROR, "queue-journal-write-failed", "error", e.toString());
        }
    }

    private void runLoop() {
        while (running) {
            int work;
            try {
                work = doWork();
            } catch (RuntimeException e) {
                errors.incrementAndGet();
                log.log(EventLog.Level.ERROR, "queue-error", "error", e.toString());
                work = 0;
            }
            if (draining && oldestOpen == null) {
                drained.countDown();
            }
            if (work == 0) {
                idle();
            }
        }
    }

    /** Parks until an offer unparks us, the next timer is due, or a while has passed. */
    private void idle() {
        flushJournal(true);
        parked = true;
        // An offer made after this check sees parked == true and unparks; one made before is seen here.
        if (!inbox.isEmpty()) {
            parked = false;
            return;
        }
        long waitMillis = IDLE_PARK_MILLIS;
        Timer next = timers.peek();
        long clock = clockMillis.getAsLong();
        if (next != null) {
            waitMillis = Math.min(waitMillis, next.dueMillis - clock);
        }
        if (oldestOpen != null) {
            waitMillis = Math.min(waitMillis, oldestOpen.deadlineMillis - clock);
        }
        if (waitMillis > 0) {
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(waitMillis));
        }
        parked = false;
    }

    /** Any thread: hands an event to the queue thread. */
    private void offer(Object event) {
        inbox.offer(event);
        Thread t = thread;
        if (parked && t != null) {
            LockSupport.unpark(t);
        }
    }

    /** The drain handler: never throws, so one bad event cannot stall the inbox. */
    private void handle(Object event) {
        try {
            if (event instanceof QueuedMessage) {
                admit((QueuedMessage) event, null);
            } else if (event instanceof Report) {
                onReport((Report) event);
            } else if (event instanceof Crash) {
                Crash c = (Crash) event;
                abandon(c.attempt, "4.3.0", "transport failed: " + c.cause);
            } else {
                ((Runnable) event).run();
            }
        } catch (RuntimeException e) {
            errors.incrementAndGet();
            log.log(EventLog.Level.ERROR, "queue-error", "event", event.getClass().getSimpleName(),
                    "error", e.toString());
        }
    }

    // ---- admission and scheduling ----

    private void admit(QueuedMessage m, RecipientJournal.MessageRecord record) {
        if (messages.containsKey(m.id())) {
            return; // listed at start and announced as durable too
        }
        List<String> recipients = m.envelope().recipients();
        Destination[] ds = new Destination[recipients.size()];
        for (int i = 0; i < ds.length; i++) {
            ds[i] = destination(table.route(recipients.get(i)));
        }
        QueuedRecipients q = new QueuedRecipients(m, ds);
        messages.put(m.id(), q);
        if (record != null) {
            restore(q, record);
        }
        if (q.unfinished == 0) {
            finishIfDone(q); // every recipient was final before the restart
            return;
        }
        releaseDue(q);
        long next = q.nextRetryMillis();
        if (next != Long.MAX_VALUE) {
            addTimer(next, q);
        }
        maybeWarnDelay(q);
    }

    /** Applies the journal's records of a recovered message. */
    private void restore(QueuedRecipients q, RecipientJournal.MessageRecord record) {
        q.delayNotified = record.delayNotified();
        q.successNotified = record.successNotified();
        for (int i = 0; i < q.size(); i++) {
            RecipientJournal.RecipientRecord r = record.recipient(i);
            if (r == null) {
                continue;
            }
            q.tried();
            q.attempts[i] = r.attempts();
            RecipientResult last = r.result(q.recipient(i));
            q.lastResults[i] = record.dsnPassedOn(i) ? last.withDsnPassedOn() : last;
            if (r.isFinal()) {
                q.states[i] = r.type() == RecipientJournal.DELIVERED ? QueuedRecipients.DELIVERED
                        : QueuedRecipients.FAILED;
                q.unfinished--;
            } else {
                q.retryAtMillis[i] = r.millis();
            }
        }
    }

    /** Every due waiting recipient is marked ready; its destination gets the message once. */
    private void releaseDue(QueuedRecipients q) {
        Destination last = null;
        for (int i = 0; i < q.size(); i++) {
            if (q.isDue(i, nowMillis)) {
                q.states[i] = QueuedRecipients.READY;
                Destination d = q.destinations[i];
                // Recipients of one route are usually adjacent; a repeat entry is harmless (see start).
                if (d != last) {
                    d.ready.add(q);
                    markRunnable(d);
                    last = d;
                }
            }
        }
    }

    /** The one destination object of a route (routes are canonicalised: one per destination). */
    private Destination destination(Route route) {
        Destination d = destinations.get(route);
        if (d == null) {
            d = new Destination(route, transportFactory.apply(route), options.concurrencyFor(route),
                    options.rateFor(route), nowMillis);
            destinations.put(route, d);
        }
        return d;
    }

    private void markRunnable(Destination d) {
        if (!d.runnable && !d.waitingForToken && !d.ready.isEmpty() && d.hasSlot()) {
            d.runnable = true;
            runnable.add(d);
        }
    }

    private int dispatch() {
        if (draining || runnable.isEmpty()) {
            return 0;
        }
        int started = 0;
        for (int n = runnable.size(); n > 0; n--) {
            Destination d = runnable.poll();
            d.runnable = false;
            while (d.hasSlot() && !d.ready.isEmpty()) {
                QueuedRecipients q = d.ready.poll();
                int[] indexes = readyIndexes(q, d);
                if (indexes == null) {
                    continue;
                }
                if (!d.tryTake(nowMillis)) {
                    d.ready.addFirst(q);
                    d.waitingForToken = true;
                    addTimer(d.nextTokenMillis(nowMillis), d);
                    break;
                }
                start(d, q, indexes);
                started++;
            }
        }
        return started;
    }

    /** The message's READY recipients for the destination, or null if none (finished or taken). */
    private int[] readyIndexes(QueuedRecipients q, Destination d) {
        if (messages.get(q.message.id()) != q) {
            return null; // finished or deleted meanwhile
        }
        int n = 0;
        for (int i = 0; i < q.size(); i++) {
            if (q.states[i] == QueuedRecipients.READY && q.destinations[i] == d) {
                n++;
            }
        }
        if (n == 0) {
            return null;
        }
        int[] indexes = new int[n]; // per attempt: the attempt keeps it
        n = 0;
        for (int i = 0; i < q.size(); i++) {
            if (q.states[i] == QueuedRecipients.READY && q.destinations[i] == d) {
                indexes[n++] = i;
            }
        }
        return indexes;
    }

    private void start(Destination d, QueuedRecipients q, int[] indexes) {
        Attempt attempt = new Attempt(nextAttemptId++, q, indexes, d,
                nowMillis + options.attemptTimeout().toMillis());
        linkOpen(attempt);
        List<String> recipients = new ArrayList<>(indexes.length);
        boolean dsn = !q.message.envelope().dsn().recipients().isEmpty();
        // Allocation only for messages with NOTIFY/ORCPT: the transport reads them by job index.
        List<RecipientDsn> recipientDsn = dsn ? new ArrayList<>(indexes.length) : List.of();
        for (int i : indexes) {
            q.states[i] = QueuedRecipients.IN_FLIGHT;
            recipients.add(q.recipient(i));
            if (dsn) {
                recipientDsn.add(q.dsn(i));
            }
        }
        d.inFlight++;
        DeliveryJob job = new DeliveryJob(attempt.id, q.message, recipients, d.route, source, recipientDsn);
        if (!d.transport.blocking()) {
            invoke(d.transport, job, attempt);
            return;
        }
        try {
            workers.execute(() -> invoke(d.transport, job, attempt));
        } catch (RejectedExecutionException e) {
            abandon(attempt, "4.3.2", "delivery workers unavailable");
        }
    }

    /** On the queue thread or a worker. */
    private void invoke(Transport transport, DeliveryJob job, Attempt attempt) {
        try {
            transport.deliver(job, attempt);
        } catch (RuntimeException e) {
            offer(new Crash(attempt, e));
        }
    }

    // ---- results ----

    private void onReport(Report report) {
        Attempt a = report.attempt;
        if (a.closed) {
            return; // timed out or abandoned: its recipients were deferred already
        }
        int slot = a.slotOf(report.result.recipient());
        if (slot < 0) {
            errors.incrementAndGet();
            log.log(EventLog.Level.WARN, "delivery-unknown-recipient", "id", a.message.message.id(),
                    "rcpt", report.result.recipient(), "route", a.destination.route);
            return;
        }
        a.reported[slot] = true;
        a.outstanding--;
        apply(a.message, a.indexes[slot], report.result, a.destination.route, a.relay);
        if (a.outstanding == 0) {
            close(a);
        }
        finishIfDone(a.message);
    }

    /** Defers every recipient of the attempt not yet reported, and closes it. */
    private void abandon(Attempt a, String enhancedCode, String text) {
        if (a.closed) {
            return;
        }
        for (int slot = 0; slot < a.indexes.length; slot++) {
            if (!a.reported[slot]) {
                int i = a.indexes[slot];
                apply(a.message, i, RecipientResult.deferred(a.message.recipient(i), enhancedCode, text),
                        a.destination.route, a.relay);
            }
        }
        close(a);
        finishIfDone(a.message);
    }

    private void close(Attempt a) {
        a.closed = true;
        unlinkOpen(a);
        a.destination.inFlight--;
        markRunnable(a.destination);
    }

    private void apply(QueuedRecipients q, int i, RecipientResult result, Route route, String relay) {
        if (q.isFinal(i) || messages.get(q.message.id()) != q) {
            return; // deleted by the operator while in flight
        }
        q.tried();
        q.attempts[i]++;
        q.lastResults[i] = result;
        String word;
        switch (result.outcome()) {
            case DELIVERED:
                q.states[i] = QueuedRecipients.DELIVERED;
                q.unfinished--;
                delivered.incrementAndGet();
                journalFinal(q, i);
                word = "sent";
                break;
            case FAILED:
                q.states[i] = QueuedRecipients.FAILED;
                q.unfinished--;
                failed.incrementAndGet();
                journalFinal(q, i);
                word = "bounced";
                break;
            default:
                word = defer(q, i, result);
                break;
        }
        // Postfix's field names, which operators grep: relay, delay (seconds since arrival), dsn, status.
        log.log(EventLog.Level.INFO, "delivery", "id", q.message.id(), "rcpt", q.recipient(i),
                "relay", relay != null ? relay : route, "route", route,
                "delay", DelayText.seconds(nowMillis - q.message.arrivalMillis()), "attempt", q.attempts[i],
                "dsn", result.enhancedCode().isEmpty() ? "-" : result.enhancedCode(), "status", word,
                "reply", result.reply());
    }

    /** A deferral waits for its next attempt, or fails once the message is too old. */
    private String defer(QueuedRecipients q, int i, RecipientResult result) {
        long expiryMillis = q.message.arrivalMillis() + options.maxQueueTime().toMillis();
        if (nowMillis >= expiryMillis) {
            q.lastResults[i] = new RecipientResult(result.recipient(), RecipientResult.Outcome.FAILED,
                    result.replyCode(), "4.4.7", "Delivery time expired; last error: " + result.reply());
            q.states[i] = QueuedRecipients.FAILED;
            q.unfinished--;
            failed.incrementAndGet();
            journalFinal(q, i);
            return "expired";
        }
        deferred.incrementAndGet();
        q.states[i] = QueuedRecipients.WAITING;
        // The last attempt is made at the expiry time itself, so a message gets its full queue time.
        q.retryAtMillis[i] = Math.min(nowMillis + options.retryDelayMillis(q.attempts[i]), expiryMillis);
        addTimer(q.retryAtMillis[i], q);
        if (journal != null) {
            journal.recordDeferred(q.message.id().value(), i, q.attempts[i], q.lastResults[i], q.retryAtMillis[i]);
        }
        maybeWarnDelay(q);
        return "deferred";
    }

    /** The outcome is written before the recipient can be forgotten (the journal flushes each cycle). */
    private void journalFinal(QueuedRecipients q, int i) {
        if (journal != null) {
            journal.recordFinal(q.message.id().value(), i, q.attempts[i], q.lastResults[i], nowMillis);
        }
    }

    // ---- delay notifications ----

    /**
     * Sends the message's one delay notification once it is {@code delay_warning} old and has a
     * deferred recipient, or sets a timer for that age when no retry comes first.
     */
    private void maybeWarnDelay(QueuedRecipients q) {
        long warningMillis = options.delayWarning().toMillis();
        if (warningMillis <= 0 || q.delayNotified || q.delaySending || q.unfinished == 0
                || q.message.envelope().sender().isEmpty()) {
            return;
        }
        long dueMillis = q.message.arrivalMillis() + warningMillis;
        if (nowMillis < dueMillis) {
            if (q.attempts != null && dueMillis < q.nextRetryMillis()) {
                addTimer(dueMillis, q);
            }
            return;
        }
        if (q.deferrals().isEmpty()) {
            return;
        }
        List<DeliveryStatusReport.Row> deferrals = q.delaysToReport();
        if (deferrals.isEmpty()) {
            if (!q.mayReportDelay()) {
                // RFC 3461 4.1: no recipient left asked for DELAY (NOTIFY=NEVER, or a list without it).
                // Journalled like a sent notice, so a restart neither logs nor weighs it again.
                q.delayNotified = true;
                if (journal != null) {
                    journal.recordDelayNotified(q.message.id().value(), nowMillis);
                }
                log.log(EventLog.Level.INFO, "delay-notice-suppressed", "id", q.message.id(), "reason",
                        "no recipient has NOTIFY with DELAY");
            }
            return;
        }
        byte[] headers = originalHeaders(q);
        byte[] report = DeliveryStatusReport.buildDelay(options.hostname(), q.message, deferrals, headers, nowMillis,
                q.message.arrivalMillis() + options.maxQueueTime().toMillis());
        if (submitReport(q, report, new ReportCommit(q, ReportKind.DELAY))) {
            q.delaySending = true;
        } else {
            errors.incrementAndGet(); // tried again at the next deferral
        }
    }

    private void onDelayCommitted(QueuedRecipients q, QueueId noticeId) {
        q.delaySending = false;
        q.delayNotified = true;
        delayNotices.incrementAndGet();
        if (journal != null) {
            journal.recordDelayNotified(q.message.id().value(), nowMillis);
        }
        log.log(EventLog.Level.INFO, "delay-notice", "id", q.message.id(), "dsn_id", noticeId, "to",
                q.message.envelope().sender(), "deferred", q.delaysToReport().size());
    }

    // ---- timers ----

    private void addTimer(long dueMillis, Object target) {
        timers.add(new Timer(dueMillis, timerSeq++, target));
    }

    private int fireTimers() {
        int fired = 0;
        while (oldestOpen != null && oldestOpen.deadlineMillis <= nowMillis) {
            fired++;
            abandon(oldestOpen, "4.4.1", "No result within delivery.attempt_timeout");
        }
        while (!timers.isEmpty() && timers.peek().dueMillis <= nowMillis) {
            Object target = timers.poll().target;
            fired++;
            if (target instanceof Destination) {
                Destination d = (Destination) target;
                d.waitingForToken = false;
                markRunnable(d);
                continue;
            }
            QueuedRecipients q = (QueuedRecipients) target;
            if (messages.get(q.message.id()) != q) {
                continue;
            }
            if (q.unfinished == 0) {
                finishIfDone(q); // a bounce to try again
            } else {
                releaseDue(q);
                maybeWarnDelay(q);
            }
        }
        return fired;
    }

    private void linkOpen(Attempt a) {
        a.previous = newestOpen;
        if (newestOpen == null) {
            oldestOpen = a;
        } else {
            newestOpen.next = a;
        }
        newestOpen = a;
    }

    private void unlinkOpen(Attempt a) {
        if (a.previous == null) {
            oldestOpen = a.next;
        } else {
            a.previous.next = a.next;
        }
        if (a.next == null) {
            newestOpen = a.previous;
        } else {
            a.next.previous = a.previous;
        }
        a.previous = null;
        a.next = null;
    }

    // ---- completion and bounces ----

    private void finishIfDone(QueuedRecipients q) {
        if (q.unfinished > 0 || q.bouncing || messages.get(q.message.id()) != q) {
            return;
        }
        if (!q.successNotified && reportSuccess(q)) {
            return; // the success report is being committed; this runs again when it is durable
        }
        List<DeliveryStatusReport.Row> failures = q.failuresToReport();
        logUnreportedFailures(q);
        if (failures.isEmpty()) {
            removeFromSpool(q);
        } else if (q.message.envelope().sender().isEmpty()) {
            // Never bounce a bounce (RFC 5321 section 4.5.5): the failure is only logged.
            log.log(EventLog.Level.WARN, "bounce-suppressed", "id", q.message.id(), "reason", "null sender",
                    "failed", failures.size());
            removeFromSpool(q);
        } else {
            bounce(q, failures);
        }
    }

    /** Each failed recipient whose NOTIFY leaves FAILURE out (NEVER included) is logged, not bounced. */
    private void logUnreportedFailures(QueuedRecipients q) {
        for (int i = 0; i < q.size(); i++) {
            if (q.states[i] == QueuedRecipients.FAILED && !q.dsn(i).notifyFailure()) {
                log.log(EventLog.Level.INFO, "bounce-suppressed", "id", q.message.id(), "rcpt", q.recipient(i),
                        "reason", "NOTIFY=" + q.dsn(i).notifyText());
            }
        }
    }

    // ---- success reports (RFC 3461 NOTIFY=SUCCESS) ----

    /**
     * Puts the message's one success report into the spool when a NOTIFY=SUCCESS recipient was
     * delivered (maildir, LMTP: {@code delivered}) or relayed to a hop without DSN ({@code relayed});
     * a hop that took the DSN parameters reports itself, and a discard is not a delivery.
     *
     * @return true while the report is being committed (or retried); false when none is due
     */
    private boolean reportSuccess(QueuedRecipients q) {
        if (q.message.envelope().dsn().recipients().isEmpty() || q.message.envelope().sender().isEmpty()) {
            q.successNotified = true; // no NOTIFY at all (nearly every message), or nobody to tell
            return false;
        }
        List<DeliveryStatusReport.Row> done = new ArrayList<>();
        List<String> actions = new ArrayList<>();
        for (int i = 0; i < q.size(); i++) {
            String action = q.states[i] == QueuedRecipients.DELIVERED && q.dsn(i).notifySuccess()
                    ? successAction(q, i) : null;
            if (action != null) {
                done.add(new DeliveryStatusReport.Row(i, q.lastResults[i]));
                actions.add(action);
            }
        }
        if (done.isEmpty()) {
            q.successNotified = true;
            return false;
        }
        byte[] report = DeliveryStatusReport.buildSuccess(options.hostname(), q.message, done, actions,
                originalHeaders(q), nowMillis);
        if (submitReport(q, report, new ReportCommit(q, ReportKind.SUCCESS))) {
            q.bouncing = true;
        } else {
            retryBounce(q, "success report not written");
        }
        return true;
    }

    /** RFC 3461 6.2.2: {@code delivered} for final delivery, {@code relayed} past a hop without DSN, else none. */
    private static String successAction(QueuedRecipients q, int i) {
        if (q.lastResults[i].dsnPassedOn()) {
            return null;
        }
        switch (q.destinations[i].route.kind()) {
            case MAILDIR:
            case LMTP:
                return "delivered";
            case SMTP_HOST:
            case SMTP_MX:
                return "relayed";
            default:
                return null; // discard: nothing was delivered
        }
    }

    private void onSuccessCommitted(QueuedRecipients q, QueueId reportId) {
        q.bouncing = false;
        q.successNotified = true;
        successNotices.incrementAndGet();
        if (journal != null) {
            journal.recordSuccessNotified(q.message.id().value(), nowMillis);
        }
        log.log(EventLog.Level.INFO, "success-notice", "id", q.message.id(), "dsn_id", reportId, "to",
                q.message.envelope().sender());
        finishIfDone(q);
    }

    private void bounce(QueuedRecipients q, List<DeliveryStatusReport.Row> failures) {
        byte[] report = DeliveryStatusReport.buildFailure(options.hostname(), q.message, failures, bounceQuote(q),
                nowMillis);
        if (submitReport(q, report, new ReportCommit(q, ReportKind.BOUNCE))) {
            q.bouncing = true;
        } else {
            retryBounce(q, "report not written");
        }
    }

    /**
     * What the bounce carries of the original: for RET=FULL the whole message when it is within
     * {@code delivery.bounce_size_limit} and not BINARYMIME (which no 8-bit report may carry),
     * else (and for RET=HDRS or none) its headers. Remembers whether the quote is 8-bit.
     */
    private DeliveryStatusReport.Quote bounceQuote(QueuedRecipients q) {
        if (q.message.envelope().dsn().ret() != DsnReturn.FULL) {
            return DeliveryStatusReport.Quote.headers(originalHeaders(q));
        }
        long size = q.message.sizeOctets();
        String note;
        if (q.message.envelope().bodyType() == BodyType.BINARY_MIME) {
            note = "the message is BINARYMIME, which a report cannot carry whole";
        } else if (size > options.bounceSizeLimitOctets()) {
            note = "the message is larger than the limit of " + options.bounceSizeLimitOctets() + " octets";
        } else {
            // Allocation allowed: a bounce, bounded by delivery.bounce_size_limit.
            MessageCapture whole = new MessageCapture((int) size);
            try {
                source.copyContent(q.message.id(), whole);
            } catch (IOException e) {
                log.log(EventLog.Level.WARN, "report-without-message", "id", q.message.id(), "error", e.getMessage());
            }
            if (whole.complete()) {
                lastHeadersEightBit = whole.eightBit();
                return new DeliveryStatusReport.Quote(whole.message(), true, null);
            }
            note = "the message could not be read whole";
        }
        return new DeliveryStatusReport.Quote(originalHeaders(q), false, note);
    }

    /** The original's header block (possibly truncated, empty if unreadable), remembering if 8-bit. */
    private byte[] originalHeaders(QueuedRecipients q) {
        HeaderCapture original = new HeaderCapture(MAX_QUOTED_HEADER_OCTETS);
        try {
            source.copyContent(q.message.id(), original);
        } catch (IOException e) {
            // The sender still learns of the failure, without the quoted headers.
            log.log(EventLog.Level.WARN, "report-without-headers", "id", q.message.id(), "error", e.getMessage());
        }
        lastHeadersEightBit = original.eightBit();
        return original.headers();
    }

    /** Puts a DSN to the message's sender into the spool; false (logged) if it could not start. */
    private boolean submitReport(QueuedRecipients q, byte[] report, CommitListener listener) {
        Envelope envelope = DeliveryStatusReport.envelope(q.message, options.hostname(), nowMillis,
                lastHeadersEightBit || !q.message.envelope().sender().chars().allMatch(c -> c < 0x80));
        try {
            QueueId id = bounceAppender.begin(envelope);
            bounceAppender.append(id, ByteBuffer.wrap(report));
            bounceAppender.commit(id, report.length, listener, inboxExecutor);
            return true;
        } catch (IOException | RuntimeException e) {
            log.log(EventLog.Level.WARN, "report-not-written", "id", q.message.id(), "error", e.toString());
            return false;
        }
    }

    private void retryBounce(QueuedRecipients q, String error) {
        errors.incrementAndGet();
        long retryMillis = nowMillis + options.retryDelayMillis(1);
        log.log(EventLog.Level.WARN, "bounce-deferred", "id", q.message.id(), "error", error, "retry_ms",
                retryMillis - nowMillis);
        addTimer(retryMillis, q);
    }

    private void onBounceCommitted(QueuedRecipients q, QueueId bounceId) {
        q.bouncing = false;
        bounces.incrementAndGet();
        log.log(EventLog.Level.INFO, "bounce", "id", q.message.id(), "dsn_id", bounceId, "to",
                q.message.envelope().sender(), "failed", q.failures().size());
        removeFromSpool(q);
    }

    private void removeFromSpool(QueuedRecipients q) {
        messages.remove(q.message.id());
        try {
            source.remove(q.message.id());
            log.log(EventLog.Level.INFO, "removed", "id", q.message.id());
        } catch (IOException e) {
            // It stays in the spool: after a restart its journalled outcomes keep it from being
            // delivered again, so later journal rewrites keep them too.
            removalFailed.put(q.message.id(), q);
            errors.incrementAndGet();
            log.log(EventLog.Level.ERROR, "queue-remove-failed", "id", q.message.id(), "error", e.toString());
        }
    }

    // ---- lifecycle and counters ----

    /** Recipients delivered since start. */
    public long delivered() {
        return delivered.get();
    }

    /** Deferrals (attempts that will be retried) since start. */
    public long deferred() {
        return deferred.get();
    }

    /** Recipients failed (bounced or, for the null sender, only logged) since start. */
    public long failed() {
        return failed.get();
    }

    /** Delay notifications put into the spool since start. */
    public long delayNotices() {
        return delayNotices.get();
    }

    /** Success reports (NOTIFY=SUCCESS) put into the spool since start. */
    public long successNotices() {
        return successNotices.get();
    }

    /** Bounce messages put into the spool since start. */
    public long bounces() {
        return bounces.get();
    }

    /** Internal errors (unexpected exceptions, failed removals, bounce retries). */
    public long errors() {
        return errors.get();
    }

    /**
     * Counts the queue on the queue thread at its next cycle (the future completes there, or
     * never if the thread is not running: wait with a timeout). Any thread; O(recipients queued).
     *
     * @param topDestinations destinations named in the census; the rest are summed as "other"
     */
    public CompletableFuture<QueueCensus> census(int topDestinations) {
        CompletableFuture<QueueCensus> result = new CompletableFuture<>();
        offer((Runnable) () -> result.complete(QueueCensus.of(messages.values(), topDestinations)));
        return result;
    }

    /** Messages not yet finished; queue thread (or a test driving {@link #doWork}) only. */
    int queuedMessages() {
        return messages.size();
    }

    /**
     * Starts a graceful stop: no new delivery attempt starts (new messages are still admitted and
     * stay queued for the next start); attempts in flight go on and report. Any thread.
     */
    public void beginDrain() {
        draining = true;
        offer((Runnable) () -> { }); // wakes the queue thread to notice
    }

    /**
     * Waits until no attempt started before {@link #beginDrain()} is still in flight.
     *
     * @return false when the time ran out first
     */
    public boolean awaitDrained(long timeoutNanos) throws InterruptedException {
        return drained.await(timeoutNanos, TimeUnit.NANOSECONDS);
    }

    /**
     * How long {@link #close} may take in all ({@code spool.close_timeout}, as the spool's close;
     * {@link #DEFAULT_CLOSE_TIMEOUT} unless set). Call before {@link #close}, from the thread that
     * will close.
     */
    public void closeTimeout(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("closeTimeout=" + timeout + " <= MIN=0");
        }
        closeTimeoutNanos = timeout.toNanos();
    }

    /**
     * Stops the queue thread and the workers (attempts in flight may finish, their results are
     * dropped; their messages stay in the spool and are retried after the next start), then writes
     * and fsyncs the journal's last records. Call once, from the thread that called
     * {@link #start()}, before the spool is closed. Takes at most the {@link #closeTimeout}: on a
     * disk whose fsync hangs (in the queue thread's journal flush or rewrite, or in the final
     * fsync) it gives up with one WARN ({@code queue-close-timeout}) so the process can exit;
     * nothing acknowledged is lost (see {@link RecipientJournal#closeWithin}).
     */
    @Override
    public void close() {
        long deadline = System.nanoTime() + closeTimeoutNanos;
        source.onDurable(m -> { });
        if (control != null) {
            control.close();
        }
        running = false;
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
            joinUntil(t, deadline);
        }
        if (ownedWorkers != null) {
            ownedWorkers.shutdown();
        }
        // The journal closes before the workers are waited for: with the queue thread gone no
        // worker result reaches it any more, and a slow attempt must not eat the journal's budget.
        if (t != null && t.isAlive()) {
            // Stuck in a journal fsync or inside a long rewrite: closing the journal under it would
            // mix its records into the old file; the daemon thread ends with the process.
            giveUp("the queue thread is still in a journal write or fsync");
        } else if (journal != null) {
            closeJournal(deadline);
        }
        if (ownedWorkers != null) {
            try {
                ownedWorkers.awaitTermination(Math.min(WORKERS_CLOSE_NANOS, Math.max(0, deadline - System.nanoTime())),
                        TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void closeJournal(long deadlineNanos) {
        try {
            if (!journal.closeWithin(Math.max(0, deadlineNanos - System.nanoTime()))) {
                giveUp("the journal's final fsync hangs");
            }
        } catch (IOException e) {
            log.log(EventLog.Level.ERROR, "queue-journal-close-failed", "error", e.toString());
        }
    }

    private void giveUp(String why) {
        log.log(EventLog.Level.WARN, "queue-close-timeout", "error", why + " after spool.close_timeout="
                + TimeUnit.NANOSECONDS.toMillis(closeTimeoutNanos) + "ms; given up, the exit goes on: its unsynced"
                + " records are outcomes of messages still in the spool (a redelivery at worst, never a loss)");
    }

    private static void joinUntil(Thread t, long deadlineNanos) {
        try {
            for (long left; t.isAlive() && (left = deadlineNanos - System.nanoTime()) > 0; ) {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- control requests (sluice queue) ----

    /** Control thread: runs the request on the queue thread and waits for its answer. */
    private CompletableFuture<List<String>> askQueueThread(String request) {
        CompletableFuture<List<String>> answer = new CompletableFuture<>();
        offer((Runnable) () -> {
            try {
                answer.complete(control(request));
            } catch (RuntimeException e) {
                answer.completeExceptionally(e);
            }
        });
        return answer;
    }

    /**
     * Answers one control request ({@link QueueControl} describes them). Queue thread (or a test
     * driving {@link #doWork}).
     */
    List<String> control(String request) {
        nowMillis = clockMillis.getAsLong();
        String[] words = request.trim().split(" ");
        switch (words[0]) {
            case QueueControl.STATUS:
                return status();
            case QueueControl.RETRY:
                return List.of(QueueControl.OK + " " + retryNow(words.length > 1 ? words[1] : QueueControl.ALL));
            case QueueControl.DELETE:
                return List.of(QueueControl.OK + " " + (words.length > 1 && delete(words[1]) ? 1 : 0));
            default:
                return List.of(QueueControl.ERROR + " unknown request " + words[0]);
        }
    }

    private List<String> status() {
        List<String> out = new ArrayList<>();
        for (QueuedRecipients q : messages.values()) {
            for (int i = 0; i < q.size(); i++) {
                RecipientResult last = q.lastResult(i);
                long next = q.isFinal(i) || q.states[i] != QueuedRecipients.WAITING ? 0 : q.retryAtMillis(i);
                out.add(new QueueControl.RecipientStatus(q.message.id(), i, q.stateWord(i), q.attempts(i), next,
                        last == null ? "" : last.reply()).toLine());
            }
        }
        return out;
    }

    /** Makes the deferred recipients of one message (or all) due now; returns the messages touched. */
    private int retryNow(String which) {
        int touched = 0;
        if (QueueControl.ALL.equals(which)) {
            for (QueuedRecipients q : new ArrayList<>(messages.values())) {
                touched += retryNow(q) ? 1 : 0;
            }
            return touched;
        }
        QueuedRecipients q = find(which);
        return q != null && retryNow(q) ? 1 : 0;
    }

    private boolean retryNow(QueuedRecipients q) {
        boolean any = false;
        for (int i = 0; i < q.size(); i++) {
            if (q.states[i] == QueuedRecipients.WAITING && q.retryAtMillis(i) > nowMillis) {
                q.retryAtMillis[i] = nowMillis;
                any = true;
            }
        }
        if (any) {
            releaseDue(q);
            log.log(EventLog.Level.INFO, "queue-retry-now", "id", q.message.id());
        }
        return any;
    }

    private boolean delete(String which) {
        QueuedRecipients q = find(which);
        if (q == null) {
            return false;
        }
        messages.remove(q.message.id());
        try {
            boolean deleted = source.delete(q.message.id());
            log.log(EventLog.Level.INFO, "queue-deleted", "id", q.message.id());
            return deleted;
        } catch (IOException e) {
            removalFailed.put(q.message.id(), q);
            errors.incrementAndGet();
            log.log(EventLog.Level.ERROR, "queue-delete-failed", "id", q.message.id(), "error", e.toString());
            return false;
        }
    }

    private QueuedRecipients find(String idText) {
        try {
            return messages.get(QueueId.parse(idText));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    // ---- events and their small types ----

    /** One attempt: its callback offers each result to the inbox; the rest is queue-thread state. */
    private final class Attempt implements DeliveryCallback {
        final long id;
        final QueuedRecipients message;
        final int[] indexes;
        final Destination destination;
        final boolean[] reported;
        final long deadlineMillis;
        int outstanding;
        boolean closed;
        /** The next hop the transport named, for the log; written by a transport thread before its results. */
        volatile String relay;
        Attempt previous;
        Attempt next;

        Attempt(long id, QueuedRecipients message, int[] indexes, Destination destination, long deadlineMillis) {
            this.id = id;
            this.message = message;
            this.indexes = indexes;
            this.destination = destination;
            this.deadlineMillis = deadlineMillis;
            this.reported = new boolean[indexes.length];
            this.outstanding = indexes.length;
        }

        @Override
        public void completed(RecipientResult result) {
            offer(new Report(this, result));
        }

        @Override
        public void relay(String nextHop) {
            relay = nextHop;
        }

        /** The first unreported slot for this recipient, or -1. */
        int slotOf(String recipient) {
            for (int slot = 0; slot < indexes.length; slot++) {
                if (!reported[slot] && message.recipient(indexes[slot]).equals(recipient)) {
                    return slot;
                }
            }
            return -1;
        }
    }

    private static final class Report {
        final Attempt attempt;
        final RecipientResult result;

        Report(Attempt attempt, RecipientResult result) {
            this.attempt = attempt;
            this.result = result;
        }
    }

    private static final class Crash {
        final Attempt attempt;
        final RuntimeException cause;

        Crash(Attempt attempt, RuntimeException cause) {
            this.attempt = attempt;
            this.cause = cause;
        }
    }

    /** The three reports to a message's sender the queue puts into the spool. */
    private enum ReportKind { BOUNCE, SUCCESS, DELAY }

    /**
     * Answered on the queue thread (through the inbox executor) when a report to the message's
     * sender is durable or not.
     */
    private final class ReportCommit implements CommitListener {
        private final QueuedRecipients message;
        private final ReportKind kind;

        ReportCommit(QueuedRecipients message, ReportKind kind) {
            this.message = message;
            this.kind = kind;
        }

        @Override
        public void committed(QueueId id) {
            switch (kind) {
                case BOUNCE -> onBounceCommitted(message, id);
                case SUCCESS -> onSuccessCommitted(message, id);
                case DELAY -> onDelayCommitted(message, id);
            }
        }

        @Override
        public void failed(QueueId id, IOException cause) {
            if (kind == ReportKind.DELAY) {
                message.delaySending = false; // tried again at the next deferral
                errors.incrementAndGet();
                log.log(EventLog.Level.WARN, "delay-notice-failed", "id", message.message.id(), "error",
                        cause.toString());
            } else {
                message.bouncing = false;
                retryBounce(message, cause.toString()); // finishIfDone tries a success report again
            }
        }
    }

    /**
     * Something to look at again: a message (some recipient's retry, its delay notice, a bounce
     * to try again) or a {@link Destination} waiting for a rate-limit token.
     */
    private static final class Timer implements Comparable<Timer> {
        final long dueMillis;
        final long seq;
        final Object target;

        Timer(long dueMillis, long seq, Object target) {
            this.dueMillis = dueMillis;
            this.seq = seq;
            this.target = target;
        }

        @Override
        public int compareTo(Timer o) {
            int c = Long.compare(dueMillis, o.dueMillis);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }
}
