package io.sluice.smtp.spool;

import java.io.IOException;
import java.nio.channels.WritableByteChannel;
import java.util.List;
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
     * Registers the one consumer told of each newly durable message, on the spool writer thread,
     * just before the session's listener is scheduled; it must be fast and must not block.
     */
    void onDurable(Consumer<QueuedMessage> consumer);
}
