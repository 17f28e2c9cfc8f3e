package io.sluice.tls;

import io.sluice.reactor.Connection;
import io.sluice.reactor.EventLoop;
import io.sluice.reactor.LayerContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * One side of an in-memory TLS pair: plays the connection around a {@link TlsLayer} (captures
 * {@code writeNetwork} bytes, feeds network bytes to {@code decode}, collects plaintext). No
 * sockets, no threads.
 */
final class TlsEndpoint implements LayerContext, TlsListener {

    final TlsLayer layer;
    private ByteBuffer wire = ByteBuffer.allocate(64 * 1024);
    private ByteBuffer netIn = ByteBuffer.allocate(256 * 1024).flip();
    private final ByteBuffer appIn;
    final ByteArrayOutputStream received = new ByteArrayOutputStream();
    int decodeCalls;
    int flushes;
    String completedProtocol;
    String completedCipherSuite;
    final List<Throwable> failures = new ArrayList<>();

    TlsEndpoint(TlsContext context, boolean server) {
        this(context, server ? null : "mx.example.org");
    }

    /** A client when {@code peerHost} is set (sent as SNI), else a server. */
    TlsEndpoint(TlsContext context, String peerHost) {
        this.layer = peerHost == null ? context.newServerLayer(this) : context.newClientLayer(peerHost, 25, this);
        this.appIn = ByteBuffer.allocate(layer.maxPlaintextPerDecode());
        layer.attached(this);
    }

    static TlsEndpoint server(TlsContext context) {
        return new TlsEndpoint(context, true);
    }

    static TlsEndpoint client(TlsContext context) {
        return new TlsEndpoint(context, false);
    }

    /** Delivers network bytes as one read; the layer decodes until it has nothing buffered. */
    void receive(byte[] bytes) throws IOException {
        netIn.compact();
        if (netIn.remaining() < bytes.length) {
            ByteBuffer larger = ByteBuffer.allocate(netIn.position() + bytes.length);
            larger.put(netIn.flip());
            netIn = larger;
        }
        netIn.put(bytes).flip();
        do {
            decodeCalls++;
            layer.decode(netIn, appIn);
            appIn.flip();
            byte[] plain = new byte[appIn.remaining()];
            appIn.get(plain);
            received.write(plain, 0, plain.length);
            appIn.clear();
        } while (layer.hasBufferedPlaintext());
    }

    void send(byte[] plaintext) throws IOException {
        layer.encode(ByteBuffer.wrap(plaintext));
    }

    /** Network bytes the layer wrote since the last call. */
    byte[] takeWire() {
        wire.flip();
        byte[] bytes = new byte[wire.remaining()];
        wire.get(bytes);
        wire.clear();
        return bytes;
    }

    /** Delivers this side's pending network bytes to {@code to} as one read; returns how many. */
    int takeWireInto(TlsEndpoint to) throws IOException {
        byte[] bytes = takeWire();
        to.receive(bytes);
        return bytes.length;
    }

    boolean hasWire() {
        return wire.position() > 0;
    }

    int netInRemaining() {
        return netIn.remaining();
    }

    @Override
    public void writeNetwork(ByteBuffer src) {
        if (wire.remaining() < src.remaining()) {
            ByteBuffer larger = ByteBuffer.allocate(Math.max(wire.capacity() * 2, wire.position() + src.remaining()));
            larger.put(wire.flip());
            wire = larger;
        }
        wire.put(src);
    }

    @Override
    public void flushNetwork() {
        flushes++;
    }

    @Override
    public void plaintextReady() {
        throw new AssertionError("TlsLayer runs tasks inline and never calls plaintextReady");
    }

    @Override
    public EventLoop loop() {
        return null;
    }

    @Override
    public Connection connection() {
        return null;
    }

    @Override
    public void onHandshakeComplete(String protocol, String cipherSuite) {
        if (completedProtocol != null) {
            throw new AssertionError("onHandshakeComplete called twice");
        }
        completedProtocol = protocol;
        completedCipherSuite = cipherSuite;
    }

    @Override
    public void onHandshakeFailed(Throwable cause) {
        failures.add(cause);
    }

    /** Shuttles bytes both ways until neither side has anything to send; bounded. */
    static void pump(TlsEndpoint client, TlsEndpoint server) throws IOException {
        for (int round = 0; round < 50 && (client.hasWire() || server.hasWire()); round++) {
            if (client.hasWire()) {
                server.receive(client.takeWire());
            }
            if (server.hasWire()) {
                client.receive(server.takeWire());
            }
        }
        if (client.hasWire() || server.hasWire()) {
            throw new AssertionError("pump did not settle in 50 rounds");
        }
    }

    /** Like {@link #pump} but every network byte is delivered alone. */
    static void pumpBytewise(TlsEndpoint client, TlsEndpoint server) throws IOException {
        for (int round = 0; round < 50 && (client.hasWire() || server.hasWire()); round++) {
            if (client.hasWire()) {
                for (byte b : client.takeWire()) {
                    server.receive(new byte[] {b});
                }
            }
            if (server.hasWire()) {
                for (byte b : server.takeWire()) {
                    client.receive(new byte[] {b});
                }
            }
        }
    }
}
