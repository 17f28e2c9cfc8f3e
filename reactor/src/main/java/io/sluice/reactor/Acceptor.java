package io.sluice.reactor;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Owns the listening sockets and hands each accepted connection to a loop of an
 * {@link EventLoopGroup}. One thread, {@code sluice-acceptor}, with its own selector.
 * {@link #bind} and {@link #close()} may be called from any thread; the factory runs on the
 * acceptor thread.
 *
 * <p>Each accepted channel is made non-blocking with TCP_NODELAY, given a handler by the
 * listener's {@link AcceptHandlerFactory} and queued to the loop chosen by the group's policy
 * without waking it; once the batch of ready listeners is drained, each loop that got work is
 * woken once. When the process runs out of descriptors (EMFILE/ENFILE) the listener stops
 * accepting for {@link #BACKOFF_NANOS}, logged once per episode and counted, and then resumes.
 */
public final class Acceptor implements AutoCloseable {

    /** Pause after "Too many open files" before accepting again. */
    public static final long BACKOFF_NANOS = 100_000_000L;
    private static final System.Logger LOG = System.getLogger(Acceptor.class.getName());
    private static final int MAX_ACCEPTS_PER_WAKE = 256;
    private static final int BACKLOG = 1024;

    private final EventLoopGroup group;
    private final Selector selector;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Listener> pendingListeners = new ConcurrentLinkedQueue<>();
    private final Consumer<SelectionKey> acceptReady = this::acceptReady;
    private final boolean[] loopsToWake;
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile boolean running = true;
    private Listener backedOff; // a singly linked list via Listener.nextBackedOff

    // Counters written by the acceptor thread, read racily.
    private volatile long accepted;
    private volatile long rejected;
    private volatile long acceptErrors;
    private volatile long descriptorBackoffs;
    private volatile int listening;

    public Acceptor(EventLoopGroup group) throws IOException {
        this.group = Objects.requireNonNull(group, "group");
        this.loopsToWake = new boolean[group.loops().size()];
        this.selector = Selector.open();
        this.thread = new Thread(this::run, "sluice-acceptor");
        thread.start();
    }

    /**
     * Listens on {@code address} (port 0 picks a free port) and returns the address actually
     * bound. Any thread; accepting starts within one acceptor wakeup.
     *
     * @param listenerTag passed to the factory for every connection of this listener; may be null
     */
    public InetSocketAddress bind(InetSocketAddress address, AcceptHandlerFactory factory, Object listenerTag)
            throws IOException {
        Objects.requireNonNull(factory, "factory");
        if (!running) {
            throw new IOException("acceptor closed");
        }
        ServerSocketChannel server = ServerSocketChannel.open();
        try {
            server.setOption(StandardSocketOptions.SO_REUSEADDR, Boolean.TRUE);
            server.bind(address, BACKLOG);
            server.configureBlocking(false);
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        InetSocketAddress bound = (InetSocketAddress) server.getLocalAddress();
        pendingListeners.add(new Listener(server, factory, listenerTag, bound));
        selector.wakeup();
        return bound;
    }

    public InetSocketAddress bind(InetSocketAddress address, AcceptHandlerFactory factory) throws IOException {
        return bind(address, factory, null);
    }

    /** Connections accepted and handed to a loop. */
    public long accepted() {
        return accepted;
    }

    /** Connections closed at once because the chosen loop's queue was full or the factory threw. */
    public long rejected() {
        return rejected;
    }

    public long acceptErrors() {
        return acceptErrors;
    }

    /**
     * Listeners registered and accepting (0 once the acceptor stopped); a listener returned by
     * {@link #bind} counts from the acceptor's next wakeup on. Any thread.
     */
    public int listening() {
        return running && thread.isAlive() ? listening : 0;
    }

    /** Times accepting paused because descriptors ran out. */
    public long descriptorBackoffs() {
        return descriptorBackoffs;
    }

    /** Closes every listener and stops the thread; idempotent, any thread. Accepted connections stay open. */
    @Override
    public void close() {
        if (!running) {
            return;
        }
        running = false;
        selector.wakeup();
        if (Thread.currentThread() != thread) {
            try {
                terminated.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void run() {
        try {
            while (running) {
                registerPending();
                selector.select(acceptReady, selectTimeoutMillis());
                wakeLoops();
                resumeBackedOff();
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "sluice-acceptor failed", e);
        } finally {
            closeListeners();
            terminated.countDown();
        }
    }

    private void registerPending() {
        Listener listener;
        while ((listener = pendingListeners.poll()) != null) {
            try {
                listener.key = listener.server.register(selector, SelectionKey.OP_ACCEPT, listener);
                listening = listening + 1; // written by the acceptor thread only
            } catch (IOException e) {
                LOG.log(System.Logger.Level.ERROR, "cannot listen on " + listener.bound, e);
                closeQuietly(listener.server);
            }
        }
    }

    private void acceptReady(SelectionKey key) {
        Listener listener = (Listener) key.attachment();
        for (int i = 0; i < MAX_ACCEPTS_PER_WAKE; i++) {
            SocketChannel channel;
            try {
                channel = listener.server.accept();
            } catch (IOException e) {
                onAcceptFailure(listener, e);
                return;
            }
            if (channel == null) {
                break;
            }
            listener.failing = false;
            handOff(listener, channel);
        }
    }

    private void handOff(Listener listener, SocketChannel channel) {
        try {
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, Boolean.TRUE);
            InetSocketAddress remote = (InetSocketAddress) channel.getRemoteAddress();
            InetSocketAddress local = (InetSocketAddress) channel.getLocalAddress();
            ConnectionHandler handler = listener.factory.create(remote, local, listener.tag);
            EventLoop loop = group.next();
            loop.register(channel, handler, false);
            loopsToWake[loop.index()] = true;
            accepted++;
        } catch (IOException | RuntimeException e) {
            // RejectedExecutionException (loop queue full) and factory failures land here too.
            rejected++;
            if (!(e instanceof RejectedExecutionException)) {
                LOG.log(System.Logger.Level.DEBUG, "dropping accepted connection", e);
            }
            closeQuietly(channel);
        }
    }

    private void onAcceptFailure(Listener listener, IOException e) {
        String message = e.getMessage();
        if (message != null && message.contains("Too many open files")) {
            descriptorBackoffs++;
            if (!listener.failing) {
                listener.failing = true; // one log line per episode, until an accept succeeds
                LOG.log(System.Logger.Level.WARNING, "{0} out of descriptors ({1}); pausing accept",
                        listener.bound, message);
            }
            listener.key.interestOps(0);
            listener.resumeAtNanos = System.nanoTime() + BACKOFF_NANOS;
            listener.nextBackedOff = backedOff;
            backedOff = listener;
        } else {
            acceptErrors++;
            LOG.log(System.Logger.Level.DEBUG, "accept failed on " + listener.bound, e);
        }
    }

    private long selectTimeoutMillis() {
        if (backedOff == null) {
            return 0; // block until a connection or a wakeup
        }
        long earliest = Long.MAX_VALUE;
        for (Listener l = backedOff; l != null; l = l.nextBackedOff) {
            earliest = Math.min(earliest, l.resumeAtNanos - System.nanoTime());
        }
        return Math.max(1, (earliest + 999_999) / 1_000_000);
    }

    private void resumeBackedOff() {
        long now = System.nanoTime();
        Listener keep = null;
        Listener l = backedOff;
        while (l != null) {
            Listener next = l.nextBackedOff;
            if (now - l.resumeAtNanos >= 0) {
                l.nextBackedOff = null;
                if (l.key.isValid()) {
                    l.key.interestOps(SelectionKey.OP_ACCEPT);
                }
            } else {
                l.nextBackedOff = keep;
                keep = l;
            }
            l = next;
        }
        backedOff = keep;
    }

    /** One wakeup per loop per batch of accepts. */
    private void wakeLoops() {
        for (int i = 0; i < loopsToWake.length; i++) {
            if (loopsToWake[i]) {
                loopsToWake[i] = false;
                group.loops().get(i).wakeup();
            }
        }
    }

    private void closeListeners() {
        listening = 0;
        for (SelectionKey key : selector.keys()) {
            closeQuietly(((Listener) key.attachment()).server);
        }
        Listener pending;
        while ((pending = pendingListeners.poll()) != null) {
            closeQuietly(pending.server);
        }
        try {
            selector.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "acceptor selector close failed", e);
        }
    }

    private static void closeQuietly(java.nio.channels.Channel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // The descriptor is released either way.
        }
    }

    /** One listening socket and what to do with its connections; acceptor thread after registration. */
    private static final class Listener {
        final ServerSocketChannel server;
        final AcceptHandlerFactory factory;
        final Object tag;
        final InetSocketAddress bound;
        SelectionKey key;
        boolean failing;
        long resumeAtNanos;
        Listener nextBackedOff;

        Listener(ServerSocketChannel server, AcceptHandlerFactory factory, Object tag, InetSocketAddress bound) {
            this.server = server;
            this.factory = factory;
            this.tag = tag;
            this.bound = bound;
        }
    }
}
