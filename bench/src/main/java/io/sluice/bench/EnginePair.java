package io.sluice.bench;

import java.nio.ByteBuffer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;

/**
 * Drives a client and a server {@link SSLEngine} against each other in memory, both on the
 * calling thread (benchmark code: one pair per JMH thread, buffers reused across operations).
 */
final class EnginePair {

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);
    private static final int MAX_FLIGHTS = 20;

    private final ByteBuffer clientToServer = ByteBuffer.allocateDirect(64 * 1024);
    private final ByteBuffer serverToClient = ByteBuffer.allocateDirect(64 * 1024);
    private final ByteBuffer appIn = ByteBuffer.allocateDirect(64 * 1024);
    private final ByteBuffer reply = ByteBuffer.allocateDirect(64);

    /**
     * Runs the handshake to the end, then has the server write one small record (as an SMTP
     * server answers EHLO: Conscrypt sends its TLS 1.3 tickets with that first write) and the
     * client read it. Returns the bytes the server sent, the first flight in {@code flightBytes[0]}.
     */
    int handshake(SSLEngine client, SSLEngine server, int[] flightBytes) throws SSLException {
        int serverBytes = 0;
        clientToServer.clear().flip();
        serverToClient.clear().flip();
        client.beginHandshake();
        server.beginHandshake();
        for (int flight = 0; flight < MAX_FLIGHTS && !(settled(client) && settled(server)); flight++) {
            shuttle(client, clientToServer, server);
            int sent = shuttle(server, serverToClient, client);
            if (flight == 0 && flightBytes != null) {
                flightBytes[0] = sent;
            }
            serverBytes += sent;
        }
        if (!settled(client) || !settled(server)) {
            throw new SSLException("handshake did not settle in " + MAX_FLIGHTS + " flights: client "
                    + client.getHandshakeStatus() + ", server " + server.getHandshakeStatus());
        }
        reply.clear();
        reply.put((byte) '2').put((byte) '5').put((byte) '0').put((byte) '\r').put((byte) '\n').flip();
        serverToClient.compact();
        server.wrap(reply, serverToClient);
        serverBytes += drainWraps(server, serverToClient);
        serverToClient.flip();
        unwrapAll(serverToClient, client);
        shuttle(client, clientToServer, server); // a TLS 1.3 client may answer the tickets with nothing; harmless
        return serverBytes;
    }

    /** Wraps {@code plaintext} on the client and unwraps it on the server; returns the plaintext bytes received. */
    int transfer(SSLEngine client, SSLEngine server, ByteBuffer plaintext) throws SSLException {
        clientToServer.clear();
        while (plaintext.hasRemaining()) {
            client.wrap(plaintext, clientToServer);
        }
        clientToServer.flip();
        appIn.clear();
        while (clientToServer.hasRemaining()) {
            if (server.unwrap(clientToServer, appIn).bytesConsumed() == 0) {
                throw new SSLException("unwrap made no progress");
            }
        }
        return appIn.position();
    }

    static void close(SSLEngine client, SSLEngine server) {
        client.closeOutbound();
        server.closeOutbound();
        try {
            client.closeInbound();
            server.closeInbound();
        } catch (SSLException expected) {
            // No close_notify exchanged: frees Conscrypt's native state all the same.
        }
    }

    private static boolean settled(SSLEngine engine) {
        HandshakeStatus status = engine.getHandshakeStatus();
        return status == HandshakeStatus.NOT_HANDSHAKING || status == HandshakeStatus.FINISHED;
    }

    /**
     * Wraps everything {@code from} has to say and unwraps what {@code to} will take now; returns
     * the bytes sent. Bytes {@code to} leaves (it wants to wrap first, e.g. the JDK client's
     * compatibility ChangeCipherSpec in the middle of the server's TLS 1.3 flight) stay in
     * {@code wire} for the next call.
     */
    private int shuttle(SSLEngine from, ByteBuffer wire, SSLEngine to) throws SSLException {
        wire.compact();
        int sent = drainWraps(from, wire);
        wire.flip();
        unwrapAll(wire, to);
        return sent;
    }

    private static int drainWraps(SSLEngine from, ByteBuffer wire) throws SSLException {
        int sent = 0;
        for (;;) {
            runTasks(from);
            if (from.getHandshakeStatus() != HandshakeStatus.NEED_WRAP) {
                return sent;
            }
            int produced = from.wrap(EMPTY, wire).bytesProduced();
            if (produced == 0) {
                return sent;
            }
            sent += produced;
        }
    }

    private void unwrapAll(ByteBuffer wire, SSLEngine to) throws SSLException {
        while (wire.hasRemaining()) {
            appIn.clear();
            if (to.unwrap(wire, appIn).bytesConsumed() == 0) {
                break;
            }
            runTasks(to);
        }
    }

    private static void runTasks(SSLEngine engine) {
        for (Runnable task = engine.getDelegatedTask(); task != null; task = engine.getDelegatedTask()) {
            task.run();
        }
    }
}
