package io.sluice.reactor;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.Objects;
import jdk.net.ExtendedSocketOptions;

/**
 * A {@link Connection} over a non-blocking {@link SocketChannel}, and the {@link LayerContext}
 * of its stream layer.
 *
 * <p><b>Threading.</b> Everything runs on the owning loop's thread; public methods assert it.
 * Handler and layer callbacks may call back into the connection (write, close, installLayer,
 * discardInput...). A close requested from inside such a callback is deferred until the
 * outermost callback returns, so buffers are never released under a caller's feet, and
 * {@code onClose} always runs last, exactly once, from the loop.
 *
 * <p><b>Buffer ownership.</b>
 * <ul>
 * <li>Reads land in the loop's shared read buffer, which is borrowed for one read and the
 *     {@code onRead} (or {@code decode}) that follows. Only bytes left unconsumed are copied to
 *     a pooled buffer owned by this connection ({@code inPlain} without a layer, {@code netIn}
 *     for undecoded network bytes with one); later reads go straight into that buffer, and it
 *     returns to the pool as soon as it is empty.</li>
 * <li>With a layer, decoded plaintext goes to {@code appIn} (pooled, sized for
 *     {@link StreamLayer#maxPlaintextPerDecode()}), released when the handler consumed it.</li>
 * <li>{@code write} copies into a chain of pooled buffers ({@code netOut}, or {@code appOut}
 *     before encoding when a layer is installed); {@code flush} gathers the chain into one
 *     write and releases what the socket took.</li>
 * </ul>
 * So an idle connection holds no pooled buffer, and a closed one has returned all of them.
 *
 * <p><b>Back-pressure.</b> Above {@link LoopConfig#highWaterBytes()} queued, the connection is
 * unwritable and stops reading; at or below {@link LoopConfig#lowWaterBytes()} it reads again and
 * the handler's {@code onWritable} runs.
 */
final class NioConnection extends LoopTimer implements Connection, LayerContext {

    private static final int OPEN = 0;
    private static final int CLOSING = 1;
    private static final int CLOSED = 2;
    private static final int MAX_WRITES_PER_FLUSH = 4;
    private static final int MAX_DECODE_ROUNDS = 64;
    /** Never written: every view of it is empty, so sharing it across loops is safe. */
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);
    /** Cleared (by any loop; a benign race) the first time the platform refuses TCP_QUICKACK. */
    private static volatile boolean quickAckSupported = true;

    private final EventLoop loop;
    private final SocketChannel channel;
    private final ConnectionHandler handler;
    private final OutboundQueue netOut;
    private final int minReadRoom;
    private SelectionKey key;
    private InetSocketAddress remote;
    private InetSocketAddress local;
    private Object attachment;
    private StreamLayer layer;
    private OutboundQueue appOut;

    private ByteBuffer inPlain;
    private ByteBuffer netIn;
    private ByteBuffer appIn;
    /** The buffer lent to the handler by the current onRead, or null. */
    private ByteBuffer presenting;

    private int state = OPEN;
    private boolean connecting;
    private boolean userSuspended;
    private boolean waterBlocked;
    private boolean inputShutdown;
    private boolean writable = true;
    private int interestOps;
    /** Depth of handler/layer calls in progress; a close inside one is deferred. */
    private int callbackDepth;
    private boolean closeDeferred;
    private Throwable deferredCause;
    private boolean readyQueued;
    private boolean notifyWritable;
    private boolean redeliverPending;
    private long userDeadlineNanos;
    private long closeDeadlineNanos;
    private long connectDeadlineNanos;

    /** Slot in the loop's connection table, -1 once untracked. */
    int slot = -1;

    NioConnection(EventLoop loop, SocketChannel channel, ConnectionHandler handler, InetSocketAddress remote) {
        this.loop = loop;
        this.channel = channel;
        this.handler = handler;
        this.remote = remote;
        this.netOut = new OutboundQueue(loop.smallPool());
        this.minReadRoom = loop.smallPool().bufferBytes() / 4;
    }

    // ---------------------------------------------------------------- Connection

    @Override
    public EventLoop loop() {
        return loop;
    }

    @Override
    public Connection connection() {
        return this;
    }

    @Override
    public InetSocketAddress remoteAddress() {
        if (remote == null && channel != null) {
            try {
                remote = (InetSocketAddress) channel.getRemoteAddress();
            } catch (IOException e) {
                return null;
            }
        }
        return remote;
    }

    @Override
    public InetSocketAddress localAddress() {
        if (local == null && channel != null) {
            try {
                local = (InetSocketAddress) channel.getLocalAddress();
            } catch (IOException e) {
                return null;
            }
        }
        return local;
    }

    /** Drops the bytes (consuming {@code src}) when the connection is closing or closed. */
    @Override
    public void write(ByteBuffer src) {
        assert loop.inEventLoop() : "write off the loop thread";
        if (!acceptsWrites()) {
            src.position(src.limit());
            return;
        }
        (layer == null ? netOut : appOut).append(src);
        afterQueue();
    }

    @Override
    public void write(byte[] src, int offset, int length) {
        assert loop.inEventLoop() : "write off the loop thread";
        Objects.checkFromIndexSize(offset, length, src.length);
        if (!acceptsWrites()) {
            return;
        }
        (layer == null ? netOut : appOut).append(src, offset, length);
        afterQueue();
    }

    @Override
    public void flush() {
        assert loop.inEventLoop() : "flush off the loop thread";
        if (state == CLOSED || connecting || key == null) {
            return;
        }
        if (layer != null && !appOut.isEmpty() && !encodeQueued()) {
            return;
        }
        writeToSocket();
    }

    @Override
    public void flushAndAckQuickly() {
        flush();
        // After the write: sending data soon after a read is what puts Linux in delayed-ACK mode.
        if (quickAckSupported && state != CLOSED && !connecting && key != null) {
            try {
                channel.setOption(ExtendedSocketOptions.TCP_QUICKACK, Boolean.TRUE);
            } catch (UnsupportedOperationException e) {
                quickAckSupported = false; // not Linux
            } catch (IOException e) {
                // only a latency hint: the replies still come, one delayed ACK later
            }
        }
    }

    @Override
    public boolean isWritable() {
        return writable;
    }

    @Override
    public long pendingWriteBytes() {
        return netOut.bytes() + (appOut == null ? 0 : appOut.bytes());
    }

    @Override
    public void suspendRead() {
        assert loop.inEventLoop() : "suspendRead off the loop thread";
        userSuspended = true;
        updateInterest();
    }

    @Override
    public void resumeRead() {
        assert loop.inEventLoop() : "resumeRead off the loop thread";
        if (!userSuspended) {
            return;
        }
        userSuspended = false;
        updateInterest();
        if (hasBufferedInput()) {
            redeliverPending = true;
            scheduleDeferred();
        }
    }

    @Override
    public void deadline(long deadlineNanos) {
        assert loop.inEventLoop() : "deadline off the loop thread";
        userDeadlineNanos = deadlineNanos;
        if (state == OPEN && !connecting) {
            armTimer(deadlineNanos);
        }
    }

    @Override
    public void discardInput() {
        assert loop.inEventLoop() : "discardInput off the loop thread";
        if (presenting != null) {
            presenting.position(presenting.limit());
        }
        if (inPlain != null && inPlain != presenting) {
            inPlain = releaseBuffer(inPlain);
        }
        if (appIn != null && appIn != presenting) {
            appIn = releaseBuffer(appIn);
        }
    }

    /**
     * Installs {@code newLayer}. Queued bytes are flushed first and stay ahead of (and outside)
     * anything the layer encodes. Unconsumed input received before the call is handed to the
     * layer as network bytes, unless the handler calls {@link #discardInput()}.
     *
     * @throws IllegalStateException if a layer is already installed or the connection is closed
     */
    @Override
    public void installLayer(StreamLayer newLayer) {
        assert loop.inEventLoop() : "installLayer off the loop thread";
        Objects.requireNonNull(newLayer, "layer");
        if (layer != null) {
            throw new IllegalStateException("a stream layer is already installed");
        }
        if (state == CLOSED) {
            throw new IllegalStateException("connection closed");
        }
        flush();
        layer = newLayer;
        appOut = new OutboundQueue(loop.smallPool()); // one allocation per upgrade, not per event
        callbackDepth++;
        try {
            newLayer.attached(this);
        } finally {
            callbackDepth--;
        }
        if (inPlain != null && inPlain != presenting) {
            netIn = inPlain;
            inPlain = null;
            redeliverPending = true;
            scheduleDeferred();
        }
    }

    @Override
    public StreamLayer layer() {
        return layer;
    }

    @Override
    public void close() {
        assert loop.inEventLoop() : "close off the loop thread";
        if (state != OPEN || closeDeferred) {
            return;
        }
        if (connecting) {
            closeNow(null);
            return;
        }
        state = CLOSING;
        updateInterest();
        if (layer != null) {
            // The last replies (a 221, say) must be sealed before close_notify ends the stream.
            if (!appOut.isEmpty() && !encodeQueued()) {
                return;
            }
            IOException failure = null;
            callbackDepth++;
            try {
                layer.closing();
            } catch (IOException e) {
                failure = e;
            } finally {
                callbackDepth--;
            }
            if (failure != null) {
                closeNow(failure);
                return;
            }
        }
        closeDeadlineNanos = loop.now() + loop.config().closeTimeoutNanos();
        armTimer(closeDeadlineNanos);
        flush();
    }

    @Override
    public void abort() {
        assert loop.inEventLoop() : "abort off the loop thread";
        closeNow(null);
    }

    @Override
    public boolean isOpen() {
        return state != CLOSED && !closeDeferred;
    }

    @Override
    public Object attachment() {
        return attachment;
    }

    @Override
    public void attachment(Object attachment) {
        this.attachment = attachment;
    }

    // ---------------------------------------------------------------- LayerContext

    @Override
    public void writeNetwork(ByteBuffer src) {
        assert loop.inEventLoop() : "writeNetwork off the loop thread";
        if (state == CLOSED || closeDeferred) {
            src.position(src.limit());
            return;
        }
        netOut.append(src);
        afterQueue();
    }

    @Override
    public void flushNetwork() {
        assert loop.inEventLoop() : "flushNetwork off the loop thread";
        if (state != CLOSED && !connecting && key != null) {
            writeToSocket();
        }
    }

    @Override
    public void plaintextReady() {
        assert loop.inEventLoop() : "plaintextReady off the loop thread";
        if (state != CLOSED) {
            redeliverPending = true;
            scheduleDeferred();
        }
    }

    // ---------------------------------------------------------------- loop entry points

    void rekey(SelectionKey newKey) {
        key = newKey;
        interestOps = newKey.interestOps();
    }

    /** Registered and connected: tell the handler. */
    void open() {
        try {
            callbackDepth++;
            try {
                handler.onOpen(this);
            } finally {
                callbackDepth--;
            }
            flush();
        } catch (Throwable t) {
            fail(t);
            return;
        }
        finishDeferredClose();
    }

    void connecting(long deadlineNanos) {
        connecting = true;
        connectDeadlineNanos = deadlineNanos;
        armTimer(deadlineNanos);
    }

    /** The selector reported {@code readyOps}; exceptions escape to the loop, which calls {@link #fail}. */
    void onReady(int readyOps) {
        if (state == CLOSED) {
            return;
        }
        if (connecting) {
            if ((readyOps & SelectionKey.OP_CONNECT) != 0) {
                finishConnect();
            }
            return;
        }
        if ((readyOps & SelectionKey.OP_WRITE) != 0) {
            flush();
        }
        if ((readyOps & SelectionKey.OP_READ) != 0 && canRead()) {
            read();
        }
        finishDeferredClose();
    }

    /** Work deferred to the end of the cycle: onWritable, re-presenting buffered input. */
    void runDeferred() {
        readyQueued = false;
        if (state == CLOSED) {
            return;
        }
        if (notifyWritable && state == OPEN && !closeDeferred) {
            notifyWritable = false;
            callbackDepth++;
            try {
                handler.onWritable(this);
            } finally {
                callbackDepth--;
            }
            flush();
        }
        if (redeliverPending && canRead()) {
            redeliverPending = false;
            redeliver();
            flush();
        }
        finishDeferredClose();
    }

    @Override
    void expire(long nowNanos) {
        long wanted = currentDeadline();
        if (wanted == 0 || state == CLOSED) {
            return;
        }
        if (wanted - nowNanos > 0) {
            loop.timers().add(this, wanted); // pushed later since filed: re-file lazily
            return;
        }
        try {
            if (connecting) {
                closeNow(new SocketTimeoutException("connect to " + remote + " timed out"));
            } else if (state == CLOSING) {
                closeNow(new IOException("close timed out: pendingWriteBytes=" + pendingWriteBytes()));
            } else {
                userDeadlineNanos = 0;
                callbackDepth++;
                try {
                    handler.onDeadline(this);
                } finally {
                    callbackDepth--;
                }
                flush();
            }
        } catch (Throwable t) {
            fail(t);
            return;
        }
        finishDeferredClose();
    }

    /** A handler or layer threw: count it and close with the cause. */
    void fail(Throwable cause) {
        loop.countHandlerError();
        callbackDepth = 0;
        presenting = null;
        closeNow(cause);
    }

    /** Closes at once (deferred while a callback runs); onClose gets {@code cause}. */
    void closeNow(Throwable cause) {
        if (state == CLOSED) {
            return;
        }
        if (callbackDepth > 0) {
            if (!closeDeferred) {
                closeDeferred = true;
                deferredCause = cause;
                updateInterest();
            }
            return;
        }
        doClose(cause);
    }

    // ---------------------------------------------------------------- reading

    private boolean canRead() {
        return state == OPEN && !closeDeferred && !userSuspended && !waterBlocked && !inputShutdown;
    }

    private void read() {
        try {
            int maxReads = loop.config().maxReadsPerEvent();
            boolean more = true;
            for (int i = 0; i < maxReads && more && canRead(); i++) {
                more = layer == null ? readPlainOnce() : readLayeredOnce();
                flush(); // pipelining: every reply produced by this read leaves in one write
            }
        } catch (IOException e) {
            closeNow(e);
        }
    }

    /** @return true if the read filled all the room it had, so more may be waiting */
    private boolean readPlainOnce() throws IOException {
        ByteBuffer dst = inPlain == null ? clearedShared() : (inPlain = withRoom(inPlain, minReadRoom));
        int room = dst.remaining();
        int n = channel.read(dst);
        loop.readCalls++;
        dst.flip();
        if (n <= 0) {
            if (inPlain != null && !inPlain.hasRemaining()) {
                inPlain = releaseBuffer(inPlain);
            }
            if (n < 0) {
                onEndOfStream();
            }
            return false;
        }
        deliverPlain(dst);
        return n == room;
    }

    private boolean readLayeredOnce() throws IOException {
        ByteBuffer dst = netIn == null ? clearedShared() : (netIn = withRoom(netIn, minReadRoom));
        int room = dst.remaining();
        int n = channel.read(dst);
        loop.readCalls++;
        dst.flip();
        if (n <= 0) {
            releaseNetInIfEmpty();
            if (n < 0) {
                onEndOfStream();
            }
            return false;
        }
        decodeAndDeliver(dst, false);
        keepNetworkLeftover(dst);
        return n == room;
    }

    /** Presents plaintext read without a layer; keeps the leftover, or hands it to a new layer. */
    private void deliverPlain(ByteBuffer buffer) throws IOException {
        StreamLayer before = layer;
        deliver(buffer);
        boolean upgraded = layer != before;
        if (buffer == loop.sharedReadBuffer()) {
            if (buffer.hasRemaining()) {
                ByteBuffer copy = copyToPool(buffer);
                if (upgraded) {
                    netIn = copy;
                } else {
                    inPlain = copy;
                }
            }
        } else if (!buffer.hasRemaining()) {
            inPlain = releaseBuffer(inPlain);
        } else if (upgraded) {
            netIn = inPlain; // the layer owns it now as network bytes
            inPlain = null;
        }
        if (upgraded && netIn != null && canRead()) {
            decodeAndDeliver(netIn, false);
            releaseNetInIfEmpty();
        }
    }

    /** Decodes network bytes in rounds, presenting new plaintext after each. */
    private void decodeAndDeliver(ByteBuffer src, boolean redeliver) throws IOException {
        int maxPlaintext = layer.maxPlaintextPerDecode();
        for (int round = 0; round < MAX_DECODE_ROUNDS && canRead(); round++) {
            int srcBefore = src.remaining();
            int appBefore = appIn == null ? 0 : appIn.remaining();
            if (srcBefore > 0 || layer.hasBufferedPlaintext()) {
                decodeInto(src, maxPlaintext);
            }
            int produced = (appIn == null ? 0 : appIn.remaining()) - appBefore;
            if (appIn != null && appIn.hasRemaining() && (produced > 0 || redeliver && round == 0)) {
                deliver(appIn);
            }
            if (appIn != null && !appIn.hasRemaining()) {
                appIn = releaseBuffer(appIn);
            }
            if (src.remaining() == srcBefore && produced <= 0) {
                break;
            }
            if (!src.hasRemaining() && !layer.hasBufferedPlaintext()) {
                break;
            }
        }
    }

    private void decodeInto(ByteBuffer src, int maxPlaintext) throws IOException {
        ByteBuffer app = withRoom(appIn, maxPlaintext);
        appIn = app;
        callbackDepth++;
        try {
            layer.decode(src, app);
        } finally {
            callbackDepth--;
            app.flip();
        }
    }

    private void redeliver() {
        try {
            if (layer == null) {
                if (inPlain != null) {
                    deliverPlain(inPlain);
                }
            } else {
                decodeAndDeliver(netIn != null ? netIn : EMPTY, true);
                releaseNetInIfEmpty();
            }
        } catch (IOException e) {
            closeNow(e);
        }
    }

    private void deliver(ByteBuffer buffer) {
        presenting = buffer;
        callbackDepth++;
        try {
            handler.onRead(this, buffer);
        } finally {
            callbackDepth--;
            presenting = null;
        }
    }

    private void onEndOfStream() {
        inputShutdown = true;
        updateInterest();
        callbackDepth++;
        try {
            handler.onInputShutdown(this);
        } finally {
            callbackDepth--;
        }
    }

    private void keepNetworkLeftover(ByteBuffer src) {
        if (src == loop.sharedReadBuffer()) {
            if (src.hasRemaining() && state != CLOSED) {
                netIn = copyToPool(src);
            }
        } else {
            releaseNetInIfEmpty();
        }
    }

    private void releaseNetInIfEmpty() {
        if (netIn != null && !netIn.hasRemaining()) {
            netIn = releaseBuffer(netIn);
        }
    }

    private boolean hasBufferedInput() {
        return inPlain != null || netIn != null || appIn != null
                || layer != null && layer.hasBufferedPlaintext();
    }

    private ByteBuffer clearedShared() {
        ByteBuffer shared = loop.sharedReadBuffer();
        shared.clear();
        return shared;
    }

    // ---------------------------------------------------------------- buffers

    /**
     * Returns {@code buffer}'s data (read mode in, write mode out) in a pooled buffer with at
     * least {@code minRoom} free bytes, moving to a large buffer if a small one is too small.
     * A null buffer yields an empty one.
     *
     * @throws IOException if a full large buffer is still unconsumed: the handler neither
     *         consumes nor suspends reading, and the input cannot grow without bound
     */
    private ByteBuffer withRoom(ByteBuffer buffer, int minRoom) throws IOException {
        BufferPool large = loop.largePool();
        if (buffer == null) {
            return (minRoom <= loop.smallPool().bufferBytes() ? loop.smallPool() : large).acquire();
        }
        int data = buffer.remaining();
        if (buffer.capacity() - data >= minRoom) {
            buffer.compact();
            return buffer;
        }
        if (buffer.capacity() < large.bufferBytes() && data + minRoom <= large.bufferBytes()) {
            ByteBuffer bigger = large.acquire();
            bigger.put(buffer);
            releaseBuffer(buffer);
            return bigger;
        }
        if (data < buffer.capacity()) {
            buffer.compact();
            return buffer;
        }
        throw new IOException("unconsumed input=" + data + " bytes >= LIMIT=" + buffer.capacity()
                + " with reading not suspended");
    }

    /** Copies {@code src}'s remaining bytes into a pooled buffer, returned in read mode. */
    private ByteBuffer copyToPool(ByteBuffer src) {
        BufferPool pool = src.remaining() <= loop.smallPool().bufferBytes() ? loop.smallPool() : loop.largePool();
        ByteBuffer copy = pool.acquire();
        copy.put(src);
        copy.flip();
        return copy;
    }

    /** Returns a buffer to the pool it came from; always returns null, for assignment. */
    private ByteBuffer releaseBuffer(ByteBuffer buffer) {
        if (buffer.capacity() == loop.largePool().bufferBytes()) {
            loop.largePool().release(buffer);
        } else {
            loop.smallPool().release(buffer);
        }
        return null;
    }

    // ---------------------------------------------------------------- writing

    private boolean acceptsWrites() {
        return state == OPEN && !closeDeferred;
    }

    private void afterQueue() {
        if (writable && pendingWriteBytes() > loop.config().highWaterBytes()) {
            writable = false;
            waterBlocked = true;
            updateInterest();
        }
    }

    /** Encodes queued plaintext through the layer; false if that failed and closed us. */
    private boolean encodeQueued() {
        ByteBuffer head;
        while ((head = appOut.head()) != null) {
            int before = head.remaining();
            IOException failure = null;
            callbackDepth++;
            try {
                layer.encode(head);
            } catch (IOException e) {
                failure = e;
            } finally {
                callbackDepth--;
            }
            if (failure != null) {
                closeNow(failure);
                return false;
            }
            boolean stuck = head.hasRemaining(); // e.g. still handshaking: retry on a later flush
            appOut.consumed(before - head.remaining());
            if (stuck) {
                break;
            }
        }
        return state != CLOSED;
    }

    private void writeToSocket() {
        if (!netOut.isEmpty()) {
            try {
                for (int i = 0; i < MAX_WRITES_PER_FLUSH && !netOut.isEmpty(); i++) {
                    loop.writeCalls++;
                    if (netOut.writeTo(channel) == 0) {
                        break;
                    }
                }
            } catch (IOException e) {
                closeNow(e);
                return;
            }
        }
        afterWrite();
    }

    private void afterWrite() {
        long pending = pendingWriteBytes();
        if (!writable && pending <= loop.config().lowWaterBytes()) {
            writable = true;
            waterBlocked = false;
            notifyWritable = true;
            // A handler that stopped consuming while unwritable may have whole commands left
            // over that no new read will bring back: present them again.
            redeliverPending |= hasBufferedInput();
            scheduleDeferred();
        }
        if (state == CLOSING && pending == 0) {
            closeNow(null);
            return;
        }
        updateInterest();
    }

    private void updateInterest() {
        if (key == null || state == CLOSED || connecting) {
            return;
        }
        int ops = canRead() ? SelectionKey.OP_READ : 0;
        if (!netOut.isEmpty()) {
            ops |= SelectionKey.OP_WRITE;
        }
        if (ops != interestOps) {
            interestOps = ops;
            key.interestOps(ops);
        }
    }

    // ---------------------------------------------------------------- lifecycle internals

    private void finishConnect() {
        try {
            if (!channel.finishConnect()) {
                return;
            }
        } catch (IOException e) {
            closeNow(e);
            return;
        }
        connecting = false;
        connectDeadlineNanos = 0;
        interestOps = SelectionKey.OP_READ;
        key.interestOps(SelectionKey.OP_READ);
        open();
    }

    private long currentDeadline() {
        if (connecting) {
            return connectDeadlineNanos;
        }
        return state == CLOSING ? closeDeadlineNanos : userDeadlineNanos;
    }

    /** Files the timer under {@code deadlineNanos} unless it is already filed earlier (lazy re-arm). */
    private void armTimer(long deadlineNanos) {
        if (deadlineNanos == 0) {
            return;
        }
        if (!isQueued()) {
            loop.timers().add(this, deadlineNanos);
        } else if (deadlineNanos - timerKeyNanos < 0) {
            loop.timers().decreaseKey(this, deadlineNanos);
        }
    }

    private void scheduleDeferred() {
        if (!readyQueued && state != CLOSED) {
            readyQueued = true;
            loop.markReady(this);
        }
    }

    private void finishDeferredClose() {
        if (closeDeferred && callbackDepth == 0 && state != CLOSED) {
            doClose(deferredCause);
        }
    }

    private void doClose(Throwable cause) {
        state = CLOSED;
        closeDeferred = false;
        deferredCause = null;
        writable = false;
        loop.timers().remove(this);
        if (key != null) {
            key.cancel();
        }
        closeChannel();
        releaseAllBuffers();
        loop.untrack(this);
        if (layer != null) {
            try {
                layer.closed();
            } catch (Throwable t) {
                loop.countHandlerError();
            }
        }
        try {
            handler.onClose(this, cause);
        } catch (Throwable t) {
            loop.countHandlerError();
        }
    }

    private void closeChannel() {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        } catch (IOException e) {
            // Nothing to do: the descriptor is released either way.
        }
    }

    private void releaseAllBuffers() {
        if (inPlain != null) {
            inPlain = releaseBuffer(inPlain);
        }
        if (netIn != null) {
            netIn = releaseBuffer(netIn);
        }
        if (appIn != null) {
            appIn = releaseBuffer(appIn);
        }
        netOut.releaseAll();
        if (appOut != null) {
            appOut.releaseAll();
        }
    }

    @Override
    public String toString() {
        return "NioConnection[" + remote + ", loop=" + loop.index() + ", state=" + state + "]";
    }
}
