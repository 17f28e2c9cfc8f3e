package io.sluice.reactor;

import java.nio.ByteBuffer;

/**
 * What a {@link StreamLayer} may ask of its connection. Loop thread only, except
 * {@link #loop()}.
 */
public interface LayerContext {

    /** Queues network bytes below the layer (consuming {@code src}); flushed with the connection. */
    void writeNetwork(ByteBuffer src);

    /** Asks the connection to flush network bytes now (handshake progress with no plaintext). */
    void flushNetwork();

    /**
     * Plaintext became available without a read (e.g. after a delegated task finished): the
     * connection calls {@link StreamLayer#decode} again and the handler's {@code onRead}.
     */
    void plaintextReady();

    /** The connection's loop, e.g. to run a delegated task off-loop and come back. */
    EventLoop loop();

    /** The connection the layer sits in. */
    Connection connection();
}
