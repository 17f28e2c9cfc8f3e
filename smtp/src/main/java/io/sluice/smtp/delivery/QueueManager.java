package io.sluice.smtp.delivery;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
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
import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.MessageSource;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;
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
 * <p>Retry state lives in memory: after a restart every queued recipient not yet final is tried
 * again from scratch (a recipient delivered before a crash whose message was not yet removed is
 * delivered twice).
 */
public final class QueueManager implements AutoCloseable {
    /** The spool appender index reserved for messages the server makes itself (bounces). */
    public static final int INTERNAL_LOOP_INDEX = QueueId.MAX_LOOPS - 1;

    private static final int DRAIN_LIMIT = 4096;
    private static final int MAX_QUOTED_HEADER_OCTETS = 64 * 1024;
    private static final long IDLE_PARK_MILLIS = 100;

    private final MessageSource source;
    private final SpoolAppender bounceAppender;
    private final TransportTable table;
    private final Function<Route, Transport> transportFactory;
    private final DeliveryOptions options;
    private final EventLog log;
    private final LongSupplier clockMillis;
    private final Executor workers;
    private final ExecutorService ownedWorkers;
    // Unbounded on purpose: its producers must never block or drop (the spool writer thread for new
    // messages, transports for results), and what it holds is bounded by the spool's own message
    // count plus the attempts in flight.
    private final MpscUnboundedArrayQueue<Object> inbox = new MpscUnboundedArrayQueue<>(1024);
    private final MessagePassingQueue.Consumer<Object> handler = this::handle;
    private final Executor inboxExecutor = this::offer;
    private final Map<QueueId, QueuedRecipients> messages = new HashMap<>();
    private final Map<Route, Destination> destinations = new HashMap<>();
    private final ArrayDeque<Destination> runnable = new ArrayDeque<>();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>();
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong deferred = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong bounces = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    /** Open attempts, oldest first: their deadlines are in the same order (one timeout for all). */
    private Attempt oldestOpen;
    private Attempt newestOpen;
    private long nextAttemptId = 1;
    private long timerSeq;
    private long nowMillis;
    private volatile Thread thread;
    private volatile boolean running;
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
        DeliveryOptions options = DeliveryOptions.fromConfig(config);
        return new QueueManager(spool, spool.appender(INTERNAL_LOOP_INDEX), TransportTable.fromConfig(config),
                new StandardTransports(options.hostname(),
                        config.get(ConfigKeys.DELIVERY_MAILDIR_DELIVERED_TO)),
                options, log, System::currentTimeMillis, null);
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

    /** Recovers the queued messages and starts the {@code sluice-queue} thread. Call once. */
    public void start() {
        recover();
        running = true;
        Thread t = new Thread(this::runLoop, "sluice-queue");
        t.setDaemon(true);
        thread = t;
        t.start();
    }

    /**
     * Subscribes to new messages, then takes every message already in the spool. A message seen
     * both ways is admitted once. On the queue thread, or before it starts.
     */
    void recover() {
        source.onDurable(this::offer);
        nowMillis = clockMillis.getAsLong();
        List<QueuedMessage> queued = source.list();
        for (QueuedMessage m : queued) {
            admit(m);
        }
        if (!queued.isEmpty()) {
            log.log(EventLog.Level.INFO, "queue-recovered", "messages", queued.size());
        }
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
        return work;
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
                admit((QueuedMessage) event);
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

    private void admit(QueuedMessage m) {
        if (messages.containsKey(m.id())) {
            return; // listed at start and announced as durable too
        }
        QueuedRecipients q = new QueuedRecipients(m, table);
        messages.put(m.id(), q);
        releaseDue(q);
    }

    /** Every due waiting recipient goes to its destination, one batch per route. */
    private void releaseDue(QueuedRecipients q) {
        Map<Route, int[]> groups = new LinkedHashMap<>(); // per retry round of a message, not per byte
        Map<Route, Integer> counts = new HashMap<>();
        for (int i = 0; i < q.recipients.length; i++) {
            if (q.isDue(i, nowMillis)) {
                int[] slots = groups.computeIfAbsent(q.routes[i], r -> new int[q.recipients.length]);
                int c = counts.merge(q.routes[i], 1, Integer::sum);
                slots[c - 1] = i;
            }
        }
        for (Map.Entry<Route, int[]> g : groups.entrySet()) {
            int[] indexes = Arrays.copyOf(g.getValue(), counts.get(g.getKey()));
            for (int i : indexes) {
                q.states[i] = QueuedRecipients.READY;
            }
            Destination d = destination(g.getKey());
            d.ready.add(new Destination.Batch(q, indexes));
            markRunnable(d);
        }
    }

    private Destination destination(Route route) {
        Destination d = destinations.get(route);
        if (d == null) {
            d = new Destination(route, transportFactory.apply(route));
            destinations.put(route, d);
        }
        return d;
    }

    private void markRunnable(Destination d) {
        if (!d.runnable && !d.ready.isEmpty() && d.inFlight < options.concurrency()) {
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
            while (d.inFlight < options.concurrency() && !d.ready.isEmpty()) {
                start(d, d.ready.poll());
                started++;
            }
        }
        return started;
    }

    private void start(Destination d, Destination.Batch batch) {
        QueuedRecipients q = batch.message();
        if (messages.get(q.message.id()) != q) {
            return; // finished meanwhile
        }
        Attempt attempt = new Attempt(nextAttemptId++, q, batch.indexes(), d,
                nowMillis + options.attemptTimeout().toMillis());
        linkOpen(attempt);
        List<String> recipients = new ArrayList<>(batch.indexes().length);
        for (int i : batch.indexes()) {
            q.states[i] = QueuedRecipients.IN_FLIGHT;
            recipients.add(q.recipients[i]);
        }
        d.inFlight++;
        DeliveryJob job = new DeliveryJob(attempt.id, q.message, recipients, d.route, source);
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
        apply(a.message, a.indexes[slot], report.result, a.destination.route);
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
                apply(a.message, i, RecipientResult.deferred(a.message.recipients[i], enhancedCode, text),
                        a.destination.route);
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

    private void apply(QueuedRecipients q, int i, RecipientResult result, Route route) {
        q.attempts[i]++;
        q.lastResults[i] = result;
        String word;
        switch (result.outcome()) {
            case DELIVERED:
                q.states[i] = QueuedRecipients.DELIVERED;
                q.unfinished--;
                delivered.incrementAndGet();
                word = "delivered";
                break;
            case FAILED:
                q.states[i] = QueuedRecipients.FAILED;
                q.unfinished--;
                failed.incrementAndGet();
                word = "failed";
                break;
            default:
                word = defer(q, i, result);
                break;
        }
        log.log(EventLog.Level.INFO, "delivery", "id", q.message.id(), "rcpt", q.recipients[i], "route", route,
                "result", word, "reply", result.reply(), "attempt", q.attempts[i],
                "age_ms", nowMillis - q.message.arrivalMillis());
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
            return "expired";
        }
        deferred.incrementAndGet();
        q.states[i] = QueuedRecipients.WAITING;
        // The last attempt is made at the expiry time itself, so a message gets its full queue time.
        q.retryAtMillis[i] = Math.min(nowMillis + options.retryDelayMillis(q.attempts[i]), expiryMillis);
        addTimer(q.retryAtMillis[i], q);
        return "deferred";
    }

    // ---- timers ----

    private void addTimer(long dueMillis, QueuedRecipients target) {
        timers.add(new Timer(dueMillis, timerSeq++, target));
    }

    private int fireTimers() {
        int fired = 0;
        while (oldestOpen != null && oldestOpen.deadlineMillis <= nowMillis) {
            fired++;
            abandon(oldestOpen, "4.4.1", "No result within delivery.attempt_timeout");
        }
        while (!timers.isEmpty() && timers.peek().dueMillis <= nowMillis) {
            QueuedRecipients q = timers.poll().message;
            fired++;
            if (messages.get(q.message.id()) != q) {
                continue;
            }
            if (q.unfinished == 0) {
                finishIfDone(q); // a bounce to try again
            } else {
                releaseDue(q);
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
        List<RecipientResult> failures = q.failures();
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

    private void bounce(QueuedRecipients q, List<RecipientResult> failures) {
        HeaderCapture original = new HeaderCapture(MAX_QUOTED_HEADER_OCTETS);
        try {
            source.copyContent(q.message.id(), original);
        } catch (IOException e) {
            // The sender still learns of the failure, without the quoted headers.
            log.log(EventLog.Level.WARN, "bounce-without-headers", "id", q.message.id(), "error", e.getMessage());
        }
        String hostname = options.hostname();
        byte[] report = DeliveryStatusReport.build(hostname, q.message, failures, original.headers(), nowMillis);
        Envelope envelope = DeliveryStatusReport.envelope(q.message, hostname, nowMillis,
                original.eightBit() || !q.message.envelope().sender().chars().allMatch(c -> c < 0x80));
        try {
            QueueId id = bounceAppender.begin(envelope);
            bounceAppender.append(id, ByteBuffer.wrap(report));
            bounceAppender.commit(id, report.length, new BounceCommit(q), inboxExecutor);
            q.bouncing = true;
        } catch (IOException | RuntimeException e) {
            retryBounce(q, e.toString());
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
        } catch (IOException e) {
            // It stays in the spool: after a restart it is delivered again (a duplicate, never a loss).
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

    /** Bounce messages put into the spool since start. */
    public long bounces() {
        return bounces.get();
    }

    /** Internal errors (unexpected exceptions, failed removals, bounce retries). */
    public long errors() {
        return errors.get();
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
     * Stops the queue thread and the workers (attempts in flight may finish, their results are
     * dropped; their messages stay in the spool and are retried after the next start). Call once,
     * from the thread that called {@link #start()}, before the spool is closed.
     */
    @Override
    public void close() {
        source.onDurable(m -> { });
        running = false;
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (ownedWorkers != null) {
            ownedWorkers.shutdown();
            try {
                ownedWorkers.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
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

        /** The first unreported slot for this recipient, or -1. */
        int slotOf(String recipient) {
            for (int slot = 0; slot < indexes.length; slot++) {
                if (!reported[slot] && message.recipients[indexes[slot]].equals(recipient)) {
                    return slot;
                }
            }
            return -1;
        }
    }

    /** Answered on the queue thread (through the inbox executor) when the bounce is durable or not. */
    private final class BounceCommit implements CommitListener {
        private final QueuedRecipients message;

        BounceCommit(QueuedRecipients message) {
            this.message = message;
        }

        @Override
        public void committed(QueueId id) {
            onBounceCommitted(message, id);
        }

        @Override
        public void failed(QueueId id, IOException cause) {
            message.bouncing = false;
            retryBounce(message, cause.toString());
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

    /** A message to look at again: some recipient's retry, or a bounce to try again. */
    private static final class Timer implements Comparable<Timer> {
        final long dueMillis;
        final long seq;
        final QueuedRecipients message;

        Timer(long dueMillis, long seq, QueuedRecipients message) {
            this.dueMillis = dueMillis;
            this.seq = seq;
            this.message = message;
        }

        @Override
        public int compareTo(Timer o) {
            int c = Long.compare(dueMillis, o.dueMillis);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }
}
