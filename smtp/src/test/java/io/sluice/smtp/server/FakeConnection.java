package io.sluice.smtp.server;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import io.sluice.reactor.Connection;
import io.sluice.reactor.ConnectionHandler;
import io.sluice.reactor.EventLoop;
import io.sluice.reactor.StreamLayer;

/**
 * A connection without a socket, for driving a session deterministically: input is fed by the
 * test, retained when unconsumed (as the reactor does), and writes are captured as text.
 */
final class FakeConnection implements Connection {

    private final InetSocketAddress remote;
    private final ByteArrayOutputStream written = new ByteArrayOutputStream();
    private ByteBuffer pending = ByteBuffer.allocate(1 << 20).flip();
    private ConnectionHandler handler;
    private boolean readSuspended;
    private boolean open = true;
    private long deadlineNanos;
    private StreamLayer layer;
    int flushes;

    FakeConnection(String clientIp) {
        this.remote = new InetSocketAddress(clientIp, 40000);
    }

    void open(ConnectionHandler handler) {
        this.handler = handler;
        handler.onOpen(this);
    }

    /** Delivers bytes as one read, then keeps delivering what stays unconsumed while reads are on. */
    void feed(byte[] bytes) {
        pending.compact().put(bytes).flip();
        deliver();
    }

    void feed(String text) {
        feed(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    private void deliver() {
        int before = -1;
        while (open && !readSuspended && pending.hasRemaining() && pending.remaining() != before) {
            before = pending.remaining();
            handler.onRead(this, pending);
        }
    }

    void shutdownInput() {
        handler.onInputShutdown(this);
    }

    /** The peer reset the connection: closed under the session, with a cause. */
    void reset() {
        if (open) {
            open = false;
            handler.onClose(this, new java.io.IOException("Connection reset by peer"));
        }
    }

    /** Fires the deadline if {@code nowNanos} has reached it. */
    boolean tick(long nowNanos) {
        if (deadlineNanos != 0 && nowNanos >= deadlineNanos && open) {
            deadlineNanos = 0;
            handler.onDeadline(this);
            return true;
        }
        return false;
    }

    String takeOutput() {
        String text = written.toString(StandardCharsets.ISO_8859_1);
        written.reset();
        return text;
    }

    int pendingInput() {
        return pending.remaining();
    }

    long deadlineNanos() {
        return deadlineNanos;
    }

    @Override
    public EventLoop loop() {
        return null;
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return remote;
    }

    @Override
    public InetSocketAddress localAddress() {
        return new InetSocketAddress("127.0.0.1", 25);
    }

    @Override
    public void write(ByteBuffer src) {
        while (src.hasRemaining()) {
            written.write(src.get());
        }
    }

    @Override
    public void write(byte[] src, int offset, int length) {
        written.write(src, offset, length);
    }

    @Override
    public void flush() {
        flushes++;
    }

    @Override
    public boolean isWritable() {
        return true;
    }

    @Override
    public long pendingWriteBytes() {
        return 0;
    }

    @Override
    public void suspendRead() {
        readSuspended = true;
    }

    @Override
    public void resumeRead() {
        readSuspended = false;
        deliver();
    }

    @Override
    public void deadline(long deadlineNanos) {
        this.deadlineNanos = deadlineNanos;
    }

    @Override
    public void discardInput() {
        pending.position(pending.limit());
    }

    @Override
    public void installLayer(StreamLayer layer) {
        this.layer = layer;
    }

    @Override
    public StreamLayer layer() {
        return layer;
    }

    @Override
    public void close() {
        if (open) {
            open = false;
            handler.onClose(this, null);
        }
    }

    @Override
    public void abort() {
        close();
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public Object attachment() {
        return null;
    }

    @Override
    public void attachment(Object attachment) {
    }
}
