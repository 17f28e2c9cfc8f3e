package io.sluice.smtp.server;

import java.nio.ByteBuffer;

import io.sluice.reactor.LayerContext;
import io.sluice.reactor.StreamLayer;

/** A stream layer that changes nothing: stands in for TLS where the test drives the handshake outcome itself. */
final class PassThroughLayer implements StreamLayer {

    @Override
    public void attached(LayerContext context) {
    }

    @Override
    public void decode(ByteBuffer netIn, ByteBuffer appIn) {
        appIn.put(netIn);
    }

    @Override
    public void encode(ByteBuffer appOut) {
    }

    @Override
    public int maxPlaintextPerDecode() {
        return 16384;
    }

    @Override
    public void closing() {
    }

    @Override
    public void closed() {
    }
}
