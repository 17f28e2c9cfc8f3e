package io.sluice.reactor;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpscArrayQueue;

/**
 * One thread, one {@link Selector}, one bounded MPSC task queue and one timer heap; it owns
 * every {@link Connection} registered with it.
 *
 * <p><b>Threading.</b> {@link #execute}, {@link #register}, {@link #connect},
 * {@link #schedule}, {@link #start}, {@link #close}, {@link #index}, {@link #openConnections},
 * {@link #stats} and {@link #inEventLoop} may be called from any thread. Everything else, and
 * every method of the connections this loop owns, runs on the loop thread only (asserted). The
 * loop is a step function: {@link #doWork()} runs one cycle without blocking; {@link #start()}
 * runs it on a thread named {@code sluice-loop-N} and blocks in {@code select} between cycles.
 * Tests may instead call {@link #doWork()} themselves: the first thread to do so becomes the
 * loop thread.
 *
 * <p><b>Buffers.</b> The loop owns a shared 64 KiB direct read buffer (borrowed by a connection
 * for the duration of one read and one {@code onRead}), and two {@link BufferPool}s: small
 * buffers for outbound chains and short leftovers, large ones for leftovers that outgrow a small
 * buffer and for a stream layer's decoded plaintext. A connection holds pooled buffers only while
 * it has unconsumed input or unsent output, so an idle connection holds none.
 *
 * <p><b>Errors.</b> An exception from a handler or layer closes that connection (its
 * {@code onClose} gets the cause) and is counted; a task that throws is counted; the loop goes on.
 */
public final class EventLoop implements Executor {

    private static final System.Logger LOG = System.getLogger(EventLoop.class.getName());
    private static final int MAX_TIMERS_PER_CYCLE = 4096;
    private static final long NANOS_PER_MILLI = 1_000_000L;

    private final int index;
    private final LoopConfig config;
    private final NanoClock clock;
    private final MpscArrayQueue<Runnable> tasks;
    private final MessagePassingQueue.Consumer<Runnable> taskRunner = this::runTask;
    private final Consumer<SelectionKey> keyCollector = this::collectKey;
    private final TimerHeap timers = new TimerHeap();
    private final ArrayDeque<NioConnection> readyConnections = new ArrayDeque<>();
    private final ByteBuffer sharedReadBuffer;
    private final BufferPool smallPool;
    private final BufferPool largePool;
    /** Connections on the loop, including ones still connecting; swap-removed by slot. */
    private NioConnection[] connections = new NioConnection[64];
    private int connectionCount;
    private SelectionKey[] selectedKeys = new SelectionKey[256];
    private int selectedCount;

    /**
     * The coalesced wakeup flag. True while the loop is awake (not blocked in select): producers
     * then skip {@code selector.wakeup()}, a system call. Before blocking the loop sets it false
     * and re-checks its queue; a producer that finds it false CASes it to true and wakes the
     * selector. The race, as in Netty's NioIoHandler: a task offered after the re-check but
     * before {@code select} still wins, because a wakeup delivered before {@code select} makes
     * that select return at once; a producer that CASes just after {@code select} returned (and
     * before the loop sets the flag true again) causes one spurious, harmless wakeup of the next
     * select. A producer racing a selector rebuild may wake the old selector; it re-reads the
     * field and wakes the new one too.
     */
    private final AtomicBoolean awake = new AtomicBoolean(true);
    /** Connections assigned to this loop (registered or connecting, not yet closed); any thread. */
    private final AtomicInteger load = new AtomicInteger();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile Selector selector;
    private volatile Thread thread;
    private volatile boolean running;
    private volatile boolean shutdown;
    private volatile int openConnections;
    private boolean started;
    private int pinCpu = -1;
    private long nowNanos;

    // Counters: written by the loop thread only, read racily by stats().
    private long cycles;
    private long tasksRun;
    private long taskErrors;
    private long connectionsOpened;
    private long connectionsClosed;
    long handlerErrors;
    long readCalls;
    long writeCalls;
    private long lastCycleNanos;
    private long maxCycleNanos;
    private long busyNanos;
    private long stalls;
    private long selectorRebuilds;

    public EventLoop(int index, LoopConfig config, NanoClock clock) throws IOException {
        this.index = index;
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.tasks = new MpscArrayQueue<>(config.taskQueueCapacity());
        this.sharedReadBuffer = ByteBuffer.allocateDirect(config.readBufferBytes());
        this.smallPool = new BufferPool(config.poolBufferBytes(), config.maxCachedBuffers());
        this.largePool = new BufferPool(config.readBufferBytes(), Math.max(1, config.maxCachedBuffers() / 16));
        this.selector = Selector.open();
        this.nowNanos = clock.nanoTime();
    }

    /** A loop with default limits on the system clock. */
    public EventLoop(int index) throws IOException {
        this(index, LoopConfig.defaults(), NanoClock.SYSTEM);
    }

    public int index() {
        return index;
    }

    public LoopConfig config() {
        return config;
    }

    /** The injected clock; any thread, e.g. to compute a deadline for {@link #schedule}. */
    public NanoClock clock() {
        return clock;
    }

    /**
     * The loop clock as read at the start of this cycle. Exact on the loop thread; from another
     * thread a racy read of the last cycle's value.
     */
    public long nanoTime() {
        return nowNanos;
    }

    public boolean inEventLoop() {
        return Thread.currentThread() == thread;
    }

    /** Connections open on this loop (racy read from other threads). */
    public int openConnections() {
        return openConnections;
    }

    /** Connections assigned and not yet closed, including those queued for registration. */
    int load() {
        return load.get();
    }

    /** The small-buffer pool (outbound chains and short leftovers); loop thread only. */
    public BufferPool bufferPool() {
        return smallPool;
    }

    /** The large-buffer pool (oversized leftovers, decoded plaintext); loop thread only. */
    public BufferPool largeBufferPool() {
        return largePool;
    }

    public LoopStats stats() {
        return new LoopStats(index, cycles, tasksRun, taskErrors, openConnections,
                connectionsOpened, connectionsClosed, handlerErrors, readCalls, writeCalls,
                lastCycleNanos, maxCycleNanos, stalls, selectorRebuilds);
    }

    /**
     * Nanoseconds spent in cycles since start (time blocked in {@code select} excluded): with
     * {@link LoopStats#cycles()} it gives the mean cycle time. Racy read from other threads.
     */
    public long busyNanos() {
        return busyNanos;
    }

    // ---------------------------------------------------------------- any thread

    /**
     * Runs {@code task} on the loop thread, in order with other tasks. Any thread.
     *
     * @throws RejectedExecutionException if the loop is closed or its bounded queue is full
     *         ({@link LoopConfig#taskQueueCapacity()}); the caller decides whether to drop, retry
     *         later or push back on its own input, the queue never grows
     */
    @Override
    public void execute(Runnable task) {
        offer(task);
        if (!inEventLoop()) {
            wakeup();
        }
    }

    /**
     * Hands an accepted, connected channel to this loop, which configures it non-blocking,
     * registers it and calls {@code handler.onOpen}. Any thread.
     *
     * @throws RejectedExecutionException as {@link #execute}; the caller still owns the channel
     */
    public void register(SocketChannel channel, ConnectionHandler handler) {
        register(channel, handler, true);
    }

    /** As {@link #register(SocketChannel, ConnectionHandler)}; the acceptor batches wakeups. */
    void register(SocketChannel channel, ConnectionHandler handler, boolean wakeUp) {
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(handler, "handler");
        load.incrementAndGet();
        try {
            // One allocation per accepted connection, not per event.
            offer(() -> openAccepted(channel, handler));
        } catch (RejectedExecutionException e) {
            load.decrementAndGet();
            throw e;
        }
        if (wakeUp && !inEventLoop()) {
            wakeup();
        }
    }

    /**
     * Opens an outbound connection without blocking. Any thread. On success the handler's
     * {@code onOpen} runs on this loop; on failure, or if not connected within
     * {@code timeoutNanos}, only its {@code onClose} runs, with the cause.
     *
     * @throws RejectedExecutionException as {@link #execute}
     */
    public void connect(InetSocketAddress remote, ConnectionHandler handler, long timeoutNanos) {
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(handler, "handler");
        if (timeoutNanos <= 0) {
            throw new IllegalArgumentException("timeoutNanos=" + timeoutNanos + " <= 0");
        }
        load.incrementAndGet();
        try {
            execute(() -> openOutbound(remote, handler, timeoutNanos));
        } catch (RejectedExecutionException e) {
            load.decrementAndGet();
            throw e;
        }
    }

    /**
     * Runs {@code task} once on the loop thread when the loop clock reaches {@code deadlineNanos}.
     * Any thread; the handle's {@code cancel} is loop thread only.
     *
     * @throws RejectedExecutionException when called off-loop and the task queue is full or closed
     */
    public TimerHandle schedule(long deadlineNanos, Runnable task) {
        ScheduledTask scheduled = new ScheduledTask(deadlineNanos, Objects.requireNonNull(task, "task"));
        if (inEventLoop()) {
            timers.add(scheduled, deadlineNanos);
        } else {
            execute(() -> {
                if (!scheduled.cancelled) {
                    timers.add(scheduled, deadlineNanos);
                }
            });
        }
        return scheduled;
    }

    /** Starts the loop thread {@code sluice-loop-N}. Call once. */
    public void start() {
        startPinned(-1);
    }

    /** Starts the loop thread pinned to {@code cpu} (or unpinned when negative). */
    synchronized void startPinned(int cpu) {
        if (started) {
            throw new IllegalStateException("loop " + index + " already started");
        }
        if (shutdown) {
            throw new IllegalStateException("loop " + index + " is closed");
        }
        started = true;
        pinCpu = cpu;
        running = true;
        Thread loopThread = new Thread(this::run, "sluice-loop-" + index);
        thread = loopThread;
        loopThread.start();
    }

    /**
     * Closes every connection (their {@code onClose} gets an {@link IOException}), stops the
     * thread and releases the selector. Idempotent; any thread. Off the loop thread it waits up
     * to 10 s for the loop to finish its cycle.
     */
    public void close() {
        synchronized (this) {
            if (shutdown) {
                return;
            }
            shutdown = true;
            if (!started) {
                // Never started (a test driving doWork()): clean up on this thread.
                started = true;
                if (thread == null) {
                    thread = Thread.currentThread();
                }
                if (inEventLoop()) {
                    release();
                    return;
                }
                throw new IllegalStateException("close() must run on the thread that drove doWork()");
            }
            running = false;
        }
        if (inEventLoop()) {
            return; // the run loop sees running == false after this cycle
        }
        wakeup();
        try {
            if (!terminated.await(10, TimeUnit.SECONDS)) {
                LOG.log(System.Logger.Level.WARNING, "sluice-loop-{0} did not stop within 10 s", index);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Wakes the selector unless the loop is awake or someone already woke it. Any thread. */
    void wakeup() {
        if (!awake.get() && awake.compareAndSet(false, true)) {
            Selector current = selector;
            current.wakeup();
            Selector after = selector;
            if (after != current) {
                after.wakeup();
            }
        }
    }

    private void offer(Runnable task) {
        if (shutdown) {
            throw new RejectedExecutionException("sluice-loop-" + index + " is closed");
        }
        if (!tasks.relaxedOffer(task)) {
            throw new RejectedExecutionException("sluice-loop-" + index + " task queue full: capacity="
                    + config.taskQueueCapacity());
        }
    }

    // ---------------------------------------------------------------- the cycle

    /**
     * One cycle: refresh the clock, run up to {@link LoopConfig#maxTasksPerCycle()} tasks, fire
     * due timers, process ready channels (collected by the last blocking select, else by a
     * {@code selectNow}), then connections with deferred work. Never blocks. Loop thread only
     * (the first caller becomes the loop thread if {@link #start()} was not called).
     *
     * @return units of work done; 0 means the loop may block
     */
    public int doWork() {
        if (thread == null) {
            claimThread();
        }
        assert inEventLoop() : "doWork() off the loop thread";
        long start = clock.nanoTime();
        nowNanos = start;
        int work = tasks.drain(taskRunner, config.maxTasksPerCycle());
        work += expireTimers();
        if (selectedCount == 0) {
            selectNow();
        }
        work += processSelectedKeys();
        work += processReadyConnections();
        cycles++;
        recordCycle(clock.nanoTime() - start);
        return work;
    }

    private synchronized void claimThread() {
        if (thread == null) {
            thread = Thread.currentThread();
        }
    }

    private void run() {
        AutoCloseable pin = pinCpu >= 0 ? CpuPinning.pin(pinCpu) : null;
        try {
            while (running) {
                if (doWork() == 0 && running) {
                    idle();
                }
            }
        } catch (Throwable t) {
            // doWork catches handler and task errors; reaching here is a reactor bug.
            LOG.log(System.Logger.Level.ERROR, "sluice-loop-" + index + " failed", t);
        } finally {
            release();
            CpuPinning.unpin(pin);
            terminated.countDown();
        }
    }

    /** Blocks in select until I/O, a task's wakeup, or the nearest timer. */
    private void idle() {
        awake.set(false);
        if (!tasks.isEmpty() || !readyConnections.isEmpty() || !running) {
            awake.set(true); // work arrived before we armed: do not block
            return;
        }
        long timeoutMs = selectTimeoutMillis();
        try {
            if (timeoutMs < 0) {
                selector.selectNow(keyCollector);
            } else {
                selector.select(keyCollector, timeoutMs);
            }
        } catch (IOException e) {
            rebuildSelector(e);
        } finally {
            awake.lazySet(true);
        }
    }

    /** -1 for "do not block", 0 for "no timer: block until woken", else milliseconds rounded up. */
    private long selectTimeoutMillis() {
        long next = timers.nextKeyNanos();
        if (next == Long.MAX_VALUE) {
            return 0;
        }
        long delayNanos = next - clock.nanoTime();
        if (delayNanos <= 0) {
            return -1;
        }
        return (delayNanos + NANOS_PER_MILLI - 1) / NANOS_PER_MILLI;
    }

    private void selectNow() {
        try {
            selector.selectNow(keyCollector);
        } catch (IOException e) {
            rebuildSelector(e);
        }
    }

    private void collectKey(SelectionKey key) {
        if (selectedCount == selectedKeys.length) {
            selectedKeys = Arrays.copyOf(selectedKeys, selectedCount * 2);
        }
        selectedKeys[selectedCount++] = key;
    }

    private int processSelectedKeys() {
        int count = selectedCount;
        for (int i = 0; i < count; i++) {
            SelectionKey key = selectedKeys[i];
            selectedKeys[i] = null;
            NioConnection connection = (NioConnection) key.attachment();
            if (key.isValid()) {
                try {
                    connection.onReady(key.readyOps());
                } catch (Throwable t) {
                    connection.fail(t);
                }
            }
        }
        selectedCount = 0;
        return count;
    }

    private int expireTimers() {
        int fired = 0;
        LoopTimer timer;
        while (fired < MAX_TIMERS_PER_CYCLE && (timer = timers.peek()) != null
                && timer.timerKeyNanos - nowNanos <= 0) {
            timers.poll();
            fired++;
            timer.expire(nowNanos);
        }
        return fired;
    }

    private int processReadyConnections() {
        int count = readyConnections.size();
        for (int i = 0; i < count; i++) {
            NioConnection connection = readyConnections.poll();
            try {
                connection.runDeferred();
            } catch (Throwable t) {
                connection.fail(t);
            }
        }
        return count;
    }

    private void runTask(Runnable task) {
        tasksRun++;
        try {
            task.run();
        } catch (Throwable t) {
            taskErrors++;
            LOG.log(System.Logger.Level.WARNING, "task failed on sluice-loop-" + index, t);
        }
    }

    private void recordCycle(long cycleNanos) {
        lastCycleNanos = cycleNanos;
        busyNanos += cycleNanos;
        if (cycleNanos > maxCycleNanos) {
            maxCycleNanos = cycleNanos;
        }
        if (cycleNanos > config.stallThresholdNanos()) {
            stalls++;
        }
    }

    private void rebuildSelector(IOException cause) {
        selectorRebuilds++;
        LOG.log(System.Logger.Level.WARNING, "sluice-loop-" + index + " rebuilding its selector", cause);
        Selector old = selector;
        Selector fresh;
        try {
            fresh = Selector.open();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.ERROR, "sluice-loop-" + index + " cannot open a selector", e);
            return;
        }
        for (SelectionKey key : old.keys()) {
            NioConnection connection = (NioConnection) key.attachment();
            try {
                int ops = key.interestOps();
                key.cancel();
                connection.rekey(key.channel().register(fresh, ops, connection));
            } catch (IOException | RuntimeException e) {
                connection.closeNow(e);
            }
        }
        selector = fresh;
        closeQuietly(old);
    }

    // ---------------------------------------------------------------- connections (loop thread)

    long now() {
        return nowNanos;
    }

    TimerHeap timers() {
        return timers;
    }

    ByteBuffer sharedReadBuffer() {
        return sharedReadBuffer;
    }

    BufferPool smallPool() {
        return smallPool;
    }

    BufferPool largePool() {
        return largePool;
    }

    /** Queues a connection for {@link NioConnection#runDeferred()} at the end of this cycle. */
    void markReady(NioConnection connection) {
        assert inEventLoop() : "markReady off the loop thread";
        readyConnections.add(connection);
    }

    void countHandlerError() {
        handlerErrors++;
    }

    SelectionKey registerChannel(SocketChannel channel, int ops, NioConnection connection) throws IOException {
        return channel.register(selector, ops, connection);
    }

    private void openAccepted(SocketChannel channel, ConnectionHandler handler) {
        NioConnection connection = new NioConnection(this, channel, handler, null);
        track(connection);
        if (shutdown) {
            connection.closeNow(new IOException("sluice-loop-" + index + " is closed"));
            return;
        }
        try {
            channel.configureBlocking(false);
            connection.rekey(registerChannel(channel, SelectionKey.OP_READ, connection));
        } catch (IOException | RuntimeException e) {
            connection.closeNow(e);
            return;
        }
        connection.open();
    }

    private void openOutbound(InetSocketAddress remote, ConnectionHandler handler, long timeoutNanos) {
        SocketChannel channel;
        try {
            channel = SocketChannel.open();
        } catch (IOException e) {
            NioConnection failed = new NioConnection(this, null, handler, remote);
            track(failed);
            failed.closeNow(e);
            return;
        }
        NioConnection connection = new NioConnection(this, channel, handler, remote);
        track(connection);
        if (shutdown) {
            connection.closeNow(new IOException("sluice-loop-" + index + " is closed"));
            return;
        }
        try {
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, Boolean.TRUE);
            if (channel.connect(remote)) {
                connection.rekey(registerChannel(channel, SelectionKey.OP_READ, connection));
                connection.open();
            } else {
                connection.rekey(registerChannel(channel, SelectionKey.OP_CONNECT, connection));
                connection.connecting(nowNanos + timeoutNanos);
            }
        } catch (IOException | RuntimeException e) {
            connection.closeNow(e);
        }
    }

    private void track(NioConnection connection) {
        if (connectionCount == connections.length) {
            connections = Arrays.copyOf(connections, connectionCount * 2);
        }
        connection.slot = connectionCount;
        connections[connectionCount++] = connection;
        connectionsOpened++;
        openConnections = connectionCount;
    }

    /** Called once per connection from its close path. */
    void untrack(NioConnection connection) {
        int slot = connection.slot;
        if (slot < 0) {
            return;
        }
        connection.slot = -1;
        NioConnection last = connections[--connectionCount];
        connections[connectionCount] = null;
        if (slot != connectionCount) {
            connections[slot] = last;
            last.slot = slot;
        }
        connectionsClosed++;
        openConnections = connectionCount;
        load.decrementAndGet();
    }

    /** Loop thread: closes everything and frees the selector. */
    private void release() {
        shutdown = true;
        IOException cause = new IOException("sluice-loop-" + index + " closed");
        while (connectionCount > 0) {
            connections[connectionCount - 1].closeNow(cause);
        }
        // Registrations still queued: run them so their channels are closed and handlers told.
        while (tasks.drain(taskRunner) > 0) {
            while (connectionCount > 0) {
                connections[connectionCount - 1].closeNow(cause);
            }
        }
        readyConnections.clear();
        closeQuietly(selector);
    }

    private static void closeQuietly(Selector selector) {
        try {
            selector.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "selector close failed", e);
        }
    }

    /** A one-shot timer task; the loop's only per-call allocation besides tasks themselves. */
    private final class ScheduledTask extends LoopTimer implements TimerHandle {

        private final long deadlineNanos;
        private final Runnable task;
        private volatile boolean cancelled;

        ScheduledTask(long deadlineNanos, Runnable task) {
            this.deadlineNanos = deadlineNanos;
            this.task = task;
        }

        @Override
        public long deadlineNanos() {
            return deadlineNanos;
        }

        @Override
        public boolean cancel() {
            assert inEventLoop() : "cancel() off the loop thread";
            if (cancelled) {
                return false;
            }
            cancelled = true;
            timers.remove(this);
            return true;
        }

        @Override
        void expire(long nowNanos) {
            if (!cancelled) {
                cancelled = true;
                runTask(task);
            }
        }
    }
}
