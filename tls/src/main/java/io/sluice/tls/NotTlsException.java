package io.sluice.tls;

import java.io.IOException;

/** The peer sent bytes that cannot start a TLS record (a plaintext client on a TLS port, say). */
public final class NotTlsException extends IOException {

    private static final long serialVersionUID = 1L;

    public NotTlsException(String message) {
        super(message);
    }
}
