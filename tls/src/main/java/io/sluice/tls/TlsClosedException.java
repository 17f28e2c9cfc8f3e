package io.sluice.tls;

import java.io.EOFException;

/**
 * The peer sent close_notify: the TLS stream ended in order. Thrown by {@link TlsLayer#decode} so
 * the connection treats it as end of stream and closes.
 */
public final class TlsClosedException extends EOFException {

    private static final long serialVersionUID = 1L;

    public TlsClosedException() {
        super("TLS close_notify received");
    }
}
