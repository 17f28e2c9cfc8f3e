package io.sluice.smtp.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * What the delivery stage sees of the spool: the durable messages, their content, and removal
 * once delivered (or bounced). All methods are thread-safe.
 */
public interface MessageSource {
    /** Every durable, not removed message, oldest first. */
    List<QueuedMessage> list();

    /** Writes the message's stored content, byte-exact; IOException if it is gone. */
    void copyContent(QueueId id, WritableByteChannel out) throws IOException;

    /**
     * Reads stored content from {@code position} into {@code dst} (as far as it has room and the
     * content lasts), byte-exact, like a positional {@code FileChannel.read}; blocking. Returns the
     * octets read, -1 at the end of the content; IOException if the message is gone.
     *
     * <p>The default goes through {@link #copyContent} (the whole content each call): sources
     * that can read at a position (the spool) override it.
     */
    default int readContent(QueueId id, long position, ByteBuffer dst) throws IOException {
        if (position < 0) {
            throw new IllegalArgumentException("position=" + position + " < MIN=0");
        }
        if (!dst.hasRemaining()) {
            return 0;
        }
        PositionedCopy copy = new PositionedCopy(position, dst);
        copyContent(id, copy);
        return copy.read == 0 && copy.seen <= position ? -1 : copy.read;
    }

    /** Durably forgets a delivered message; false if it was not queued. */
    boolean remove(QueueId id) throws IOException;

    /**
     * Durably forgets a message the operator deleted; false if it was not queued. By default the
     * same as {@link #remove}.
     */
    default boolean delete(QueueId id) throws IOException {
        return remove(id);
    }

    /**
     * Makes every earlier {@link #remove} durable now: a source may fsync removals lazily (a
     * crash then delivers once more), and whoever forgets what it knew of a removed message (its
     * recipient state) must first be sure the message will not come back. Default: nothing lazy.
     */
    default void syncRemovals() throws IOException {
    }

    /**
     * While a quarantined ({@code .corrupt}) segment file was in the spool at open: the newest
     * queue id (compare unsigned) any of its records has, else empty. A file whose records cannot
     * be read counts as the largest id its modification time allows; -1 (every id) only if that
     * time is unknown too.
     * Whoever keeps state about messages (their recipients' outcomes) keeps it for the ids not
     * newer than this although the message is not queued, so restoring the file brings the
     * message back with that state, not as new. Fixed at open; any thread. Default: empty.
     */
    default OptionalLong quarantinedIdBound() {
        return OptionalLong.empty();
    }

    /**
     * Registers the one consumer told of each newly durable message, on the spool writer thread,
     * just before the session's listener is scheduled; it must be fast and must not block.
     */
    void onDurable(Consumer<QueuedMessage> consumer);

    /** The channel behind the default {@link #readContent}: skips to the position, fills the buffer. */
    final class PositionedCopy implements WritableByteChannel {
        private final long position;
        private final ByteBuffer dst;
        private long seen;
        private int read;

        PositionedCopy(long position, ByteBuffer dst) {
            this.position = position;
            this.dst = dst;
        }

        @Override
        public int write(ByteBuffer src) {
            int n = src.remaining();
            long start = seen;
            seen += n;
            if (seen > position && dst.hasRemaining()) {
                int skip = (int) Math.max(0, position - start);
                int take = Math.min(n - skip, dst.remaining());
                dst.put(dst.position(), src, src.position() + skip, take);
                dst.position(dst.position() + take);
                read += take;
            }
            src.position(src.limit());
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }
}
