package io.sluice.reactor;

import java.nio.ByteBuffer;

/**
 * The protocol side of one connection. Every method is called on the connection's event loop
 * thread only, so an implementation needs no synchronisation and may keep mutable state.
 *
 * <p>A handler never throws on purpose: if it does, the loop counts the error, closes the
 * connection and carries on serving the others.
 */
public interface ConnectionHandler {

    /** The connection is registered with its loop and may write (a greeting, say). */
    void onOpen(Connection connection);

    /**
     * Plaintext bytes arrived (after any {@link StreamLayer} decoded them). The handler consumes
     * what it can by advancing {@code in.position()}; bytes left unconsumed are kept by the
     * connection and presented again, with more appended, on the next call. The buffer is
     * borrowed: it must not be retained after the call returns.
     */
    void onRead(Connection connection, ByteBuffer in);

    /** The deadline set with {@link Connection#deadline(long)} has passed. */
    void onDeadline(Connection connection);

    /**
     * The write queue drained below its low-water mark after {@link Connection#isWritable()}
     * had returned false; reading was resumed.
     */
    default void onWritable(Connection connection) {
    }

    /**
     * The peer closed its side (end of stream). The default closes the connection; a handler
     * that wants to flush a last reply may do so and then close.
     */
    default void onInputShutdown(Connection connection) {
        connection.close();
    }

    /**
     * The connection is closed and its buffers are released. Called exactly once, last.
     *
     * @param cause why it closed, or {@code null} for an orderly close
     */
    void onClose(Connection connection, Throwable cause);
}
