package io.sluice.reactor;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A test handler that consumes whole CRLF lines only (leaving a partial line in the buffer) and
 * records what happened; {@link #onLine} decides the reply. Safe to inspect from the test thread.
 */
class LineHandler implements ConnectionHandler {

    final List<String> lines = new CopyOnWriteArrayList<>();
    final CountDownLatch opened = new CountDownLatch(1);
    final CountDownLatch closed = new CountDownLatch(1);
    final AtomicReference<Throwable> closeCause = new AtomicReference<>();
    volatile Connection connection;
    volatile int deadlines;
    volatile int writableEvents;
    volatile int inputShutdowns;
    volatile String openThread;
    /** While set, onRead consumes nothing more (the handler waits for something else). */
    boolean paused;

    @Override
    public void onOpen(Connection c) {
        connection = c;
        openThread = Thread.currentThread().getName();
        opened.countDown();
    }

    @Override
    public void onRead(Connection c, ByteBuffer in) {
        while (c.isOpen() && !paused) {
            int end = lineEnd(in);
            if (end < 0) {
                return;
            }
            byte[] line = new byte[end - in.position()];
            in.get(line);
            in.position(in.position() + 2); // CRLF
            String text = new String(line, StandardCharsets.US_ASCII);
            lines.add(text);
            onLine(c, text, in);
        }
    }

    /** Reply to one line; the default echoes it. {@code in} holds what follows it. */
    void onLine(Connection c, String line, ByteBuffer in) {
        reply(c, line);
    }

    static void reply(Connection c, String text) {
        byte[] bytes = (text + "\r\n").getBytes(StandardCharsets.US_ASCII);
        c.write(bytes, 0, bytes.length);
    }

    private static int lineEnd(ByteBuffer in) {
        for (int i = in.position(); i + 1 < in.limit(); i++) {
            if (in.get(i) == '\r' && in.get(i + 1) == '\n') {
                return i;
            }
        }
        return -1;
    }

    @Override
    public void onDeadline(Connection c) {
        deadlines++;
    }

    @Override
    public void onWritable(Connection c) {
        writableEvents++;
    }

    @Override
    public void onInputShutdown(Connection c) {
        inputShutdowns++;
        c.close();
    }

    @Override
    public void onClose(Connection c, Throwable cause) {
        closeCause.set(cause);
        closed.countDown();
    }
}
