package io.sluice.reactor;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A byte transformation between the socket and the {@link ConnectionHandler}, inserted on a live
 * connection with {@link Connection#installLayer(StreamLayer)} (TLS is the one we have). Every
 * method runs on the connection's loop thread.
 *
 * <p>The connection owns the buffers and passes them in; the layer owns its own state (an
 * {@code SSLEngine}, say) and reaches back through its {@link LayerContext}.
 */
public interface StreamLayer {

    /** Called once, on installation, before any other method. */
    void attached(LayerContext context);

    /**
     * Decodes network bytes. Consumes what it can from {@code netIn} (whole records), appends
     * plaintext to {@code appIn} and returns. Bytes of an incomplete record stay in {@code netIn}.
     * May ask the context to write network bytes (handshake messages) along the way.
     *
     * @throws IOException when the peer's bytes are invalid; the connection closes with it as cause
     */
    void decode(ByteBuffer netIn, ByteBuffer appIn) throws IOException;

    /**
     * Encodes plaintext. Consumes {@code appOut}, writing network bytes through
     * {@link LayerContext#writeNetwork(ByteBuffer)}. The connection sends them after this call
     * returns, so the layer need not call {@link LayerContext#flushNetwork()}.
     */
    void encode(ByteBuffer appOut) throws IOException;

    /** Plaintext the layer can deliver without further network input (decoded but unread). */
    default boolean hasBufferedPlaintext() {
        return false;
    }

    /** The largest plaintext a single {@link #decode} call may append; sizes {@code appIn}. */
    int maxPlaintextPerDecode();

    /** The connection is closing in an orderly way: write any goodbye (close_notify) now. */
    void closing() throws IOException;

    /** The connection is closed: release everything. Called exactly once. */
    void closed();
}
