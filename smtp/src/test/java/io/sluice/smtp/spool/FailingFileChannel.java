package io.sluice.smtp.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A segment channel that behaves like a full disk at a chosen gathering write: it writes half
 * of that record's first buffer (a torn record) and throws ENOSPC; optionally truncate fails too.
 */
final class FailingFileChannel extends FileChannel {
    static final String ENOSPC = "No space left on device";

    private final FileChannel delegate;
    private final boolean failTruncate;
    private int writesBeforeFailure;
    /** Runs before each force (a test holds the spool writer inside its fsync with it). */
    volatile Runnable beforeForce = () -> { };

    FailingFileChannel(FileChannel delegate, int writesBeforeFailure, boolean failTruncate) {
        this.delegate = delegate;
        this.writesBeforeFailure = writesBeforeFailure;
        this.failTruncate = failTruncate;
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        if (writesBeforeFailure-- == 0) {
            ByteBuffer part = srcs[offset].duplicate();
            part.limit(part.position() + part.remaining() / 2);
            int written = delegate.write(part);
            srcs[offset].position(srcs[offset].position() + written);
            throw new IOException(ENOSPC);
        }
        return delegate.write(srcs, offset, length);
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
        if (failTruncate) {
            throw new IOException(ENOSPC + " (truncate)");
        }
        delegate.truncate(size);
        return this;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        return delegate.write(src);
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return delegate.read(dst);
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        return delegate.read(dsts, offset, length);
    }

    @Override
    public long position() throws IOException {
        return delegate.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
        delegate.position(newPosition);
        return this;
    }

    @Override
    public long size() throws IOException {
        return delegate.size();
    }

    @Override
    public void force(boolean metaData) throws IOException {
        beforeForce.run();
        delegate.force(metaData);
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
        return delegate.transferTo(position, count, target);
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
        return delegate.transferFrom(src, position, count);
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        return delegate.read(dst, position);
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
        return delegate.write(src, position);
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
        return delegate.map(mode, position, size);
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
        return delegate.lock(position, size, shared);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        return delegate.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
        delegate.close();
    }
}
