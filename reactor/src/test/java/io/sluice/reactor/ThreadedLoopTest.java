package io.sluice.reactor;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.nio.channels.ServerSocketChannel;
import org.junit.jupiter.api.Test;

/** Tests with real loop threads, the acceptor and outbound connects. */
class ThreadedLoopTest {

    private static final InetSocketAddress ANY_LOOPBACK = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

    /** Runs {@code query} on the loop thread and returns its result. */
    static <T> T onLoop(EventLoop loop, Callable<T> query) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                result.complete(query.call());
            } catch (Exception e) {
                result.completeExceptionally(e);
            }
        });
        return result.get(5, SECONDS);
    }

    @Test
    void executeFromAnotherThreadRunsOnTheLoopThread() throws Exception {
        EventLoop loop = new EventLoop(3);
        loop.start();
        try {
            CompletableFuture<String> name = new CompletableFuture<>();
            CountDownLatch inLoop = new CountDownLatch(1);
            Thread producer = new Thread(() -> loop.execute(() -> {
                name.complete(Thread.currentThread().getName());
                if (loop.inEventLoop()) {
                    inLoop.countDown();
                }
            }));
            producer.start();
            assertEquals("sluice-loop-3", name.get(5, SECONDS));
            assertTrue(inLoop.await(5, SECONDS));
            assertFalse(loop.inEventLoop());
            assertTrue(onLoop(loop, () -> loop.stats().tasksRun()) >= 1);
        } finally {
            loop.close();
        }
    }

    @Test
    void scheduledTaskFiresOnARunningLoop() throws Exception {
        EventLoop loop = new EventLoop(0);
        loop.start();
        try {
            CountDownLatch fired = new CountDownLatch(1);
            loop.schedule(loop.clock().nanoTime() + TimeUnit.MILLISECONDS.toNanos(20), fired::countDown);
            assertTrue(fired.await(5, SECONDS));
        } finally {
            loop.close();
        }
    }

    @Test
    void connectSucceedsToAListenerAndFailsToAClosedPort() throws Exception {
        EventLoop loop = new EventLoop(0);
        loop.start();
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(5_000);
            LineHandler ok = new LineHandler() {
                @Override
                public void onOpen(Connection c) {
                    super.onOpen(c);
                    reply(c, "EHLO client");
                }
            };
            loop.connect((InetSocketAddress) server.getLocalSocketAddress(), ok, SECONDS.toNanos(5));
            try (Socket accepted = server.accept()) {
                assertTrue(ok.opened.await(5, SECONDS));
                byte[] greeting = new byte[13];
                new java.io.DataInputStream(accepted.getInputStream()).readFully(greeting);
                assertEquals("EHLO client\r\n", new String(greeting, US_ASCII));
                assertEquals(server.getLocalPort(), ok.connection.remoteAddress().getPort());
            }

            int closedPort;
            try (ServerSocket gone = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
                closedPort = gone.getLocalPort();
            }
            LineHandler refused = new LineHandler();
            loop.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), closedPort), refused, SECONDS.toNanos(5));
            assertTrue(refused.closed.await(5, SECONDS));
            assertInstanceOf(ConnectException.class, refused.closeCause.get());
            assertEquals(1, refused.opened.getCount(), "onOpen never ran");
        } finally {
            loop.close();
        }
    }

    @Test
    void aPeerThatNeverReadsCannotGrowOurQueueBeyondTheHighWaterMark() throws Exception {
        LoopConfig config = LoopConfig.defaults().withWaterMarks(64 * 1024, 32 * 1024);
        EventLoop loop = new EventLoop(0, config, NanoClock.SYSTEM);
        loop.start();
        AtomicLong maxPending = new AtomicLong();
        CountDownLatch unwritable = new CountDownLatch(1);
        LineHandler echo = new LineHandler() {
            @Override
            public void onRead(Connection c, ByteBuffer in) {
                c.write(in);
                maxPending.accumulateAndGet(c.pendingWriteBytes(), Math::max);
                if (!c.isWritable()) {
                    unwritable.countDown();
                }
            }
        };
        int total = 16 * 1024 * 1024;
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(ANY_LOOPBACK);
             Socket client = new Socket()) {
            client.setReceiveBufferSize(16 * 1024);
            client.setSoTimeout(10_000);
            client.connect(server.getLocalAddress());
            SocketChannel accepted = server.accept();
            // A fixed send buffer: with Linux autotuning the kernel may grow it while the peer
            // still does not read, drain our queue below the low-water mark and (rightly) fire
            // onWritable, which is not what this test is about.
            accepted.setOption(StandardSocketOptions.SO_SNDBUF, 16 * 1024);
            loop.register(accepted, echo);
            assertTrue(echo.opened.await(5, SECONDS));
            Thread writer = new Thread(() -> writePattern(client, total), "test-writer");
            writer.start();

            assertTrue(unwritable.await(10, SECONDS), "the queue passed the high-water mark");
            long bound = config.highWaterBytes() + config.readBufferBytes();
            assertTrue(maxPending.get() <= bound, "maxPending=" + maxPending.get() + " > " + bound);
            assertTrue(writer.isAlive(), "reading stopped, so the writer is blocked");
            assertEquals(0, onLoop(loop, () -> echo.writableEvents));

            readPattern(client, total); // now the peer reads: everything comes back, in order
            writer.join(10_000);
            assertFalse(writer.isAlive());
            assertTrue(maxPending.get() <= bound, "maxPending=" + maxPending.get() + " > " + bound);
            assertTrue(onLoop(loop, () -> echo.writableEvents) >= 1, "onWritable after draining");
        } finally {
            loop.close();
        }
        assertEquals(0, echo.closed.getCount());
    }

    private static void writePattern(Socket client, int total) {
        byte[] chunk = new byte[64 * 1024];
        try {
            OutputStream out = client.getOutputStream();
            for (int sent = 0; sent < total; sent += chunk.length) {
                for (int i = 0; i < chunk.length; i++) {
                    chunk[i] = (byte) ((sent + i) % 251);
                }
                out.write(chunk);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void readPattern(Socket client, int total) throws IOException {
        InputStream in = client.getInputStream();
        byte[] chunk = new byte[64 * 1024];
        int received = 0;
        while (received < total) {
            int n = in.read(chunk);
            assertNotEquals(-1, n, "EOF after " + received);
            for (int i = 0; i < n; i++) {
                if (chunk[i] != (byte) ((received + i) % 251)) {
                    throw new AssertionError("byte " + (received + i) + " corrupted");
                }
            }
            received += n;
        }
    }

    @Test
    void acceptorBindsPortZeroAndDealsConnectionsRoundRobin() throws Exception {
        EventLoopGroup group = new EventLoopGroup(2, false, EventLoopGroup.Assignment.ROUND_ROBIN,
                LoopConfig.defaults(), NanoClock.SYSTEM);
        group.start();
        Acceptor acceptor = new Acceptor(group);
        List<Integer> loopsSeen = new CopyOnWriteArrayList<>();
        List<Object> tags = new CopyOnWriteArrayList<>();
        List<LineHandler> handlers = new CopyOnWriteArrayList<>();
        List<Socket> clients = new ArrayList<>();
        try {
            InetSocketAddress bound = acceptor.bind(ANY_LOOPBACK, (remote, local, tag) -> {
                tags.add(tag);
                LineHandler handler = new LineHandler() {
                    @Override
                    public void onOpen(Connection c) {
                        loopsSeen.add(c.loop().index());
                        super.onOpen(c);
                    }
                };
                handlers.add(handler);
                return handler;
            }, "mx");
            assertNotEquals(0, bound.getPort());
            for (int i = 0; i < 4; i++) {
                Socket client = new Socket(bound.getAddress(), bound.getPort());
                client.setSoTimeout(5_000);
                clients.add(client);
                waitFor(() -> handlers.size() == clients.size());
                assertTrue(handlers.get(i).opened.await(5, SECONDS));
            }
            assertEquals(List.of(0, 1, 0, 1), loopsSeen);
            assertEquals(List.of("mx", "mx", "mx", "mx"), tags);
            assertEquals(4, acceptor.accepted());
            assertTrue(handlers.get(0).openThread.startsWith("sluice-loop-"));

            clients.get(3).getOutputStream().write("ping\r\n".getBytes(US_ASCII));
            byte[] reply = new byte[6];
            new java.io.DataInputStream(clients.get(3).getInputStream()).readFully(reply);
            assertEquals("ping\r\n", new String(reply, US_ASCII));
        } finally {
            for (Socket client : clients) {
                client.close();
            }
            acceptor.close();
            group.close();
        }
        for (LineHandler handler : handlers) {
            assertTrue(handler.closed.await(5, SECONDS));
        }
    }

    @Test
    void pinnedLeastLoadedGroupServesConnections() throws Exception {
        EventLoopGroup group = new EventLoopGroup(2, true, EventLoopGroup.Assignment.LEAST_LOADED,
                LoopConfig.defaults(), NanoClock.SYSTEM);
        group.start();
        Acceptor acceptor = new Acceptor(group);
        List<LineHandler> handlers = new CopyOnWriteArrayList<>();
        try {
            InetSocketAddress bound = acceptor.bind(ANY_LOOPBACK, (remote, local, tag) -> {
                LineHandler handler = new LineHandler();
                handlers.add(handler);
                return handler;
            });
            try (Socket a = new Socket(bound.getAddress(), bound.getPort());
                 Socket b = new Socket(bound.getAddress(), bound.getPort())) {
                waitFor(() -> handlers.size() == 2);
                assertTrue(handlers.get(0).opened.await(5, SECONDS));
                assertTrue(handlers.get(1).opened.await(5, SECONDS));
                assertNotEquals(handlers.get(0).connection.loop(), handlers.get(1).connection.loop(),
                        "least-loaded spreads two connections over two loops");
                b.setSoTimeout(5_000);
                b.getOutputStream().write("hi\r\n".getBytes(US_ASCII));
                byte[] reply = new byte[4];
                new java.io.DataInputStream(b.getInputStream()).readFully(reply);
                assertEquals("hi\r\n", new String(reply, US_ASCII));
                assertTrue(a.isConnected());
            }
        } finally {
            acceptor.close();
            group.close();
        }
    }

    /** Waits for a condition set by another thread, without sleeping: each check is a yield. */
    private static void waitFor(java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("condition not reached within 5 s");
            }
            Thread.yield();
        }
    }
}
