package io.sluice.reactor;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Deterministic tests: the test thread drives the loop with doWork() and a manual clock. */
class EventLoopTest {

    private final ManualClock clock = new ManualClock();
    private LoopDriver driver;

    @BeforeEach
    void setUp() throws IOException {
        driver = new LoopDriver(LoopConfig.defaults(), clock);
    }

    @AfterEach
    void tearDown() throws IOException {
        driver.close();
    }

    @Test
    void echoRoundTripAndBuffersReturnedOnClose() throws IOException {
        LineHandler handler = new LineHandler();
        try (Socket client = driver.connect(handler)) {
            assertEquals(1, driver.loop.openConnections());
            client.getOutputStream().write("hello\r\n".getBytes(US_ASCII));
            driver.until(() -> handler.lines.size() == 1 && handler.connection.pendingWriteBytes() == 0);
            assertEquals("hello\r\n", new String(LoopDriver.readFully(client, 7), US_ASCII));
            assertEquals(0, driver.loop.bufferPool().outstanding(), "idle connection holds no buffer");
        }
        driver.until(() -> handler.closed.getCount() == 0);
        assertNull(handler.closeCause.get(), "orderly close after the peer's EOF");
        assertEquals(1, handler.inputShutdowns);
        assertEquals(0, driver.loop.openConnections());
        assertEquals(0, driver.loop.bufferPool().outstanding());
        assertEquals(0, driver.loop.largeBufferPool().outstanding());
    }

    @Test
    void pipelinedRepliesLeaveInOneWrite() throws IOException {
        LineHandler handler = new LineHandler() {
            @Override
            void onLine(Connection c, String line, ByteBuffer in) {
                reply(c, "250 " + line);
            }
        };
        try (Socket client = driver.connect(handler)) {
            StringBuilder batch = new StringBuilder();
            StringBuilder expected = new StringBuilder();
            for (int i = 0; i < 10; i++) {
                batch.append("CMD").append(i).append("\r\n");
                expected.append("250 CMD").append(i).append("\r\n");
            }
            long writesBefore = driver.loop.stats().writeCalls();
            client.getOutputStream().write(batch.toString().getBytes(US_ASCII));
            driver.until(() -> handler.lines.size() == 10);
            assertEquals(1, driver.loop.stats().writeCalls() - writesBefore, "ten replies, one write");
            byte[] replies = LoopDriver.readFully(client, expected.length());
            assertEquals(expected.toString(), new String(replies, US_ASCII));
        }
    }

    @Test
    void partialLineIsKeptUntilCompleted() throws IOException {
        LineHandler handler = new LineHandler();
        try (Socket client = driver.connect(handler)) {
            OutputStream out = client.getOutputStream();
            long readsBefore = driver.loop.stats().readCalls();
            out.write("HEL".getBytes(US_ASCII));
            driver.until(() -> driver.loop.stats().readCalls() > readsBefore
                    && driver.loop.bufferPool().outstanding() == 1);
            assertTrue(handler.lines.isEmpty());
            out.write("LO\r\nWOR".getBytes(US_ASCII));
            driver.until(() -> handler.lines.size() == 1);
            out.write("LD\r\n".getBytes(US_ASCII));
            driver.until(() -> handler.lines.size() == 2);
            assertEquals(List.of("HELLO", "WORLD"), handler.lines);
            driver.until(() -> driver.loop.bufferPool().outstanding() == 0);
        }
    }

    @Test
    void deadlineFiresOnTheManualClockWithoutSleeping() throws IOException {
        LineHandler handler = new LineHandler() {
            @Override
            public void onOpen(Connection c) {
                super.onOpen(c);
                c.deadline(c.loop().nanoTime() + TimeUnit.SECONDS.toNanos(10));
            }

            @Override
            void onLine(Connection c, String line, ByteBuffer in) {
                c.deadline(c.loop().nanoTime() + TimeUnit.SECONDS.toNanos(10)); // an idle timeout, reset
            }
        };
        try (Socket client = driver.connect(handler)) {
            clock.advance(TimeUnit.SECONDS.toNanos(6));
            client.getOutputStream().write("NOOP\r\n".getBytes(US_ASCII));
            driver.until(() -> handler.lines.size() == 1);
            clock.advance(TimeUnit.SECONDS.toNanos(6)); // 12 s after open, 6 s after the reset
            for (int i = 0; i < 5; i++) {
                driver.loop.doWork();
            }
            assertEquals(0, handler.deadlines, "the pushed-back deadline has not passed");
            clock.advance(TimeUnit.SECONDS.toNanos(4));
            driver.loop.doWork();
            assertEquals(1, handler.deadlines);
            clock.advance(TimeUnit.SECONDS.toNanos(60));
            driver.loop.doWork();
            assertEquals(1, handler.deadlines, "a deadline fires once");
        }
    }

    @Test
    void scheduledTaskRunsAtItsDeadlineAndCancelWorks() {
        AtomicInteger ran = new AtomicInteger();
        driver.loop.doWork(); // the test thread becomes the loop thread
        long now = driver.loop.nanoTime();
        driver.loop.schedule(now + 1_000, ran::incrementAndGet);
        TimerHandle cancelled = driver.loop.schedule(now + 500, () -> ran.addAndGet(100));
        driver.loop.doWork();
        assertEquals(0, ran.get());
        assertTrue(cancelled.cancel());
        clock.advance(1_000);
        driver.loop.doWork();
        assertEquals(1, ran.get());
    }

    @Test
    void handlerThatThrowsClosesOnlyItsConnection() throws IOException {
        LineHandler bomb = new LineHandler() {
            @Override
            void onLine(Connection c, String line, ByteBuffer in) {
                throw new IllegalStateException("boom");
            }
        };
        LineHandler echo = new LineHandler();
        try (Socket bad = driver.connect(bomb); Socket good = driver.connect(echo)) {
            bad.getOutputStream().write("BOOM\r\n".getBytes(US_ASCII));
            driver.until(() -> bomb.closed.getCount() == 0);
            assertInstanceOf(IllegalStateException.class, bomb.closeCause.get());
            assertEquals(1, driver.loop.stats().handlerErrors());
            assertEquals(-1, bad.getInputStream().read(), "the peer sees the close");

            good.getOutputStream().write("still here\r\n".getBytes(US_ASCII));
            driver.until(() -> echo.lines.size() == 1 && echo.connection.pendingWriteBytes() == 0);
            assertEquals("still here\r\n", new String(LoopDriver.readFully(good, 12), US_ASCII));
            assertEquals(1, driver.loop.openConnections());
        }
    }

    @Test
    void closeFlushesTheLastReplyThenCloses() throws IOException {
        LineHandler handler = new LineHandler() {
            @Override
            void onLine(Connection c, String line, ByteBuffer in) {
                reply(c, "221 bye");
                c.close();
            }
        };
        try (Socket client = driver.connect(handler)) {
            client.getOutputStream().write("QUIT\r\nNOOP\r\n".getBytes(US_ASCII));
            driver.until(() -> handler.closed.getCount() == 0);
            assertEquals(List.of("QUIT"), handler.lines, "nothing is read after close()");
            assertEquals("221 bye\r\n", new String(LoopDriver.readFully(client, 9), US_ASCII));
            assertEquals(-1, client.getInputStream().read());
            assertNull(handler.closeCause.get());
            assertEquals(0, driver.loop.bufferPool().outstanding());
        }
    }

    @Test
    void suspendedInputIsPresentedAgainAfterResume() throws IOException {
        LineHandler handler = new LineHandler() {
            @Override
            void onLine(Connection c, String line, ByteBuffer in) {
                if (line.equals("WAIT")) {
                    // e.g. waiting for the spool: the rest stays unconsumed until resumeRead
                    paused = true;
                    c.suspendRead();
                    c.loop().schedule(c.loop().nanoTime() + 1_000, () -> {
                        paused = false;
                        c.resumeRead();
                    });
                }
            }
        };
        try (Socket client = driver.connect(handler)) {
            client.getOutputStream().write("WAIT\r\nAFTER1\r\nAFTER2\r\n".getBytes(US_ASCII));
            driver.until(() -> handler.lines.size() >= 1);
            for (int i = 0; i < 3; i++) {
                driver.loop.doWork();
            }
            assertEquals(List.of("WAIT"), handler.lines, "nothing delivered while suspended");
            assertEquals(1, driver.loop.bufferPool().outstanding(), "the unconsumed rest is kept");
            clock.advance(1_000);
            driver.until(() -> handler.lines.size() == 3);
            assertEquals(List.of("WAIT", "AFTER1", "AFTER2"), handler.lines);
            assertEquals(0, driver.loop.bufferPool().outstanding());
        }
    }

    @Test
    void executeRejectsWhenTheBoundedQueueIsFull() {
        EventLoop small;
        try {
            small = new EventLoop(9, LoopConfig.defaults().withTaskQueueCapacity(4), clock);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        AtomicInteger ran = new AtomicInteger();
        int accepted = 0;
        try {
            while (accepted < 100) {
                small.execute(ran::incrementAndGet);
                accepted++;
            }
        } catch (RejectedExecutionException expected) {
            // the queue is full
        }
        assertEquals(4, accepted);
        assertThrows(RejectedExecutionException.class, () -> small.execute(ran::incrementAndGet));
        assertEquals(4, small.doWork());
        assertEquals(4, ran.get());
        small.close();
        assertThrows(RejectedExecutionException.class, () -> small.execute(ran::incrementAndGet));
    }

    @Test
    void closingTheLoopClosesItsConnections() throws IOException {
        LineHandler handler = new LineHandler();
        try (Socket client = driver.connect(handler)) {
            driver.loop.close();
            assertEquals(0, handler.closed.getCount());
            assertInstanceOf(IOException.class, handler.closeCause.get());
            assertEquals(-1, client.getInputStream().read());
            assertFalse(handler.connection.isOpen());
            assertSame(driver.loop, handler.connection.loop());
            driver.loop.close(); // idempotent
        }
    }

    @Test
    void aLineLongerThanASmallBufferMovesToALargeOne() throws IOException {
        LineHandler handler = new LineHandler();
        String longLine = "x".repeat(40 * 1024);
        try (Socket client = driver.connect(handler)) {
            OutputStream out = client.getOutputStream();
            out.write(longLine.getBytes(US_ASCII)); // no CRLF yet: all of it stays unconsumed
            driver.until(() -> driver.loop.largeBufferPool().outstanding() == 1);
            out.write("\r\n".getBytes(US_ASCII));
            driver.until(() -> handler.lines.size() == 1);
            assertEquals(longLine, handler.lines.get(0));
            driver.until(() -> handler.connection.pendingWriteBytes() == 0);
            assertEquals(longLine + "\r\n", new String(LoopDriver.readFully(client, longLine.length() + 2), US_ASCII));
            assertEquals(0, driver.loop.largeBufferPool().outstanding());
            assertEquals(0, driver.loop.bufferPool().outstanding());
        }
    }

    @Test
    void inputThatIsNeverConsumedClosesTheConnectionInsteadOfGrowing() throws IOException {
        LineHandler handler = new LineHandler();
        try (Socket client = driver.connect(handler)) {
            byte[] noLineEnd = new byte[LoopConfig.defaults().readBufferBytes() + 1024];
            java.util.Arrays.fill(noLineEnd, (byte) 'y');
            client.getOutputStream().write(noLineEnd);
            driver.until(() -> handler.closed.getCount() == 0);
            assertInstanceOf(IOException.class, handler.closeCause.get());
            assertTrue(handler.closeCause.get().getMessage().startsWith("unconsumed input="),
                    handler.closeCause.get().getMessage());
            assertEquals(0, driver.loop.largeBufferPool().outstanding());
        }
    }

    @Test
    void connectTimesOutOnTheManualClock() throws IOException {
        LineHandler handler = new LineHandler();
        List<java.nio.channels.SocketChannel> fillers = new java.util.ArrayList<>();
        try (java.nio.channels.ServerSocketChannel listener = java.nio.channels.ServerSocketChannel.open()) {
            // A listener that never accepts, its backlog full: Linux drops further SYNs, so our
            // connect stays pending.
            listener.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 1);
            for (int i = 0; i < 4; i++) {
                java.nio.channels.SocketChannel filler = java.nio.channels.SocketChannel.open();
                filler.configureBlocking(false);
                filler.connect(listener.getLocalAddress());
                fillers.add(filler);
            }
            driver.loop.connect((java.net.InetSocketAddress) listener.getLocalAddress(), handler, 1_000_000);
            driver.loop.doWork(); // starts the connect: OP_CONNECT and a deadline 1 ms away
            org.junit.jupiter.api.Assumptions.assumeTrue(handler.connection == null && handler.closed.getCount() == 1,
                    "the kernel connected synchronously; nothing to time out");
            clock.advance(2_000_000);
            driver.loop.doWork(); // timers fire before the selector is polled
            assertEquals(0, handler.closed.getCount());
            assertInstanceOf(java.net.SocketTimeoutException.class, handler.closeCause.get());
            assertNull(handler.connection, "onOpen never ran");
            assertEquals(0, driver.loop.openConnections());
        } finally {
            for (java.nio.channels.SocketChannel filler : fillers) {
                filler.close();
            }
        }
    }

    @Test
    void aSlowCycleCountsAsAStall() {
        driver.loop.doWork();
        assertEquals(0, driver.loop.stats().stalls());
        driver.loop.execute(() -> clock.advance(LoopConfig.defaults().stallThresholdNanos() + 1));
        driver.loop.doWork();
        LoopStats stats = driver.loop.stats();
        assertEquals(1, stats.stalls());
        assertTrue(stats.maxCycleNanos() > LoopConfig.defaults().stallThresholdNanos());
        assertEquals(2, stats.cycles());
        assertEquals(1, stats.tasksRun());
    }

    @Test
    void aHandlerThatStopsWhileUnwritableGetsItsLeftoverAgainWhenWritable() throws IOException {
        LoopConfig config = LoopConfig.defaults().withWaterMarks(2048, 1024);
        driver.close();
        driver = new LoopDriver(config, clock);
        byte[] big = new byte[1500];
        java.util.Arrays.fill(big, (byte) 'z');
        LineHandler handler = new LineHandler() {
            @Override
            public void onRead(Connection c, ByteBuffer in) {
                if (c.isWritable()) {
                    paused = false;
                    super.onRead(c, in); // well-behaved: consume only while writable
                }
            }

            @Override
            void onLine(Connection c, String line, ByteBuffer in) {
                c.write(big, 0, big.length);
                paused = !c.isWritable();
            }
        };
        try (Socket client = driver.connect(handler)) {
            client.getOutputStream().write("A\r\nB\r\nC\r\n".getBytes(US_ASCII));
            driver.until(() -> handler.lines.size() == 3 && handler.connection.pendingWriteBytes() == 0);
            assertEquals(List.of("A", "B", "C"), handler.lines);
            assertTrue(handler.writableEvents >= 1);
            assertEquals(3 * big.length, LoopDriver.readFully(client, 3 * big.length).length);
        }
    }
}
