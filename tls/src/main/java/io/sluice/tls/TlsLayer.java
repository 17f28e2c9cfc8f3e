package io.sluice.tls;

import io.sluice.reactor.LayerContext;
import io.sluice.reactor.StreamLayer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.cert.Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Drives one non-blocking {@link SSLEngine} between a connection's network bytes and its
 * plaintext: the TLS {@link StreamLayer}. Made by {@link TlsContext#newServerLayer} or
 * {@link TlsContext#newClientLayer}; every method runs on the connection's loop thread (the
 * getters too, or after the connection closed).
 *
 * <p>Inbound, network bytes are framed into whole TLS records (5-byte header) before each
 * unwrap, so a plaintext client fails on its first byte and every record of one read is decoded in
 * the same {@link #decode} call. Outbound, each {@link #encode} call wraps its plaintext into
 * records of up to 16 KiB, gathered in one pooled direct buffer and handed to the connection in
 * one {@code writeNetwork}. Handshake outcome reaches the {@link TlsListener} (the protocol applies
 * its own handshake deadline with the connection's deadline).
 *
 * <p>The peer's close_notify ends the stream: {@link #decode} throws {@link TlsClosedException}.
 * {@link #closing()} sends our close_notify; we do not wait for the peer's reply (RFC 8446 §6.1
 * allows it), so the connection's own close deadline bounds the goodbye.
 */
public final class TlsLayer implements StreamLayer {

    static final int RECORD_HEADER_BYTES = 5;
    /** Largest record payload a peer may send: 2^14 plaintext plus 2048 of expansion (RFC 5246 §6.2.3). */
    static final int MAX_RECORD_PAYLOAD_BYTES = 16 * 1024 + 2048;

    private static final int CHANGE_CIPHER_SPEC = 20;
    private static final int APPLICATION_DATA = 23;
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0).asReadOnlyBuffer();

    private final TlsContext tlsContext;
    private final SSLEngine engine;
    private final TlsListener listener;
    private LayerContext context;
    private ByteBuffer netOut;
    private boolean netOutPooled;
    /** Plaintext written before the handshake finished; heap, rare (a client's early write). */
    private ByteBuffer earlyPlaintext;
    /** Total bytes of the record whose header was checked at netIn's position; 0 when unknown. */
    private int recordBytes;
    private boolean handshakeComplete;
    private boolean handshakeFailed;
    private boolean recordsPending;
    private boolean peerClosed;
    private boolean outboundClosed;
    private boolean released;
    private String protocol;
    private String cipherSuite;
    /** {@link ClientHelloKeyType} of the first record, once read; -1 before. */
    private int clientKeyType = -1;

    TlsLayer(TlsContext tlsContext, SSLEngine engine, TlsListener listener) {
        this.tlsContext = tlsContext;
        this.engine = engine;
        this.listener = listener == null ? TlsListener.NONE : listener;
    }

    @Override
    public void attached(LayerContext layerContext) {
        this.context = layerContext;
        this.netOut = tlsContext.netBuffers().acquire();
        this.netOutPooled = true;
        try {
            engine.beginHandshake();
            if (engine.getUseClientMode()) {
                drainHandshake(); // the ClientHello
                flushNetOut(true);
            }
        } catch (SSLException e) {
            handshakeFailed(e, TlsStats.classify(e));
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void decode(ByteBuffer netIn, ByteBuffer appIn) throws IOException {
        if (peerClosed) {
            throw new TlsClosedException();
        }
        recordsPending = false;
        int plaintextStart = appIn.position();
        try {
            unwrapRecords(netIn, appIn);
        } catch (NotTlsException e) {
            handshakeFailed(e, TlsStats.Failure.NOT_TLS);
            throw e;
        } catch (SSLException e) {
            handshakeFailed(e, TlsStats.classify(e));
            sendAlert();
            throw e;
        }
        if (peerClosed && appIn.position() == plaintextStart) {
            throw new TlsClosedException();
        }
    }

    /**
     * For a Conscrypt server before the handshake is done, this thread's key manager slot (cleared
     * after the unwrap, see {@link SniKeyManager#HANDSHAKE}); with RSA and EC certificates it first
     * tells the key manager what the ClientHello (first record) allows. Else null.
     */
    private SniKeyManager.HandshakeSlot handshakeSlot(ByteBuffer record) {
        if (handshakeComplete || !tlsContext.oneKeyTypePerEngine() || engine.getUseClientMode()) {
            return null;
        }
        SniKeyManager.HandshakeSlot slot = SniKeyManager.HANDSHAKE.get();
        if (tlsContext.keyTypeFromClientHello()) {
            if (clientKeyType < 0) {
                clientKeyType = ClientHelloKeyType.of(record, tlsContext.allowsTls13());
            }
            slot.clientKeyType = clientKeyType;
        }
        return slot;
    }

    /**
     * The inbound loop: alternates handshake steps (tasks, wraps) with unwrapping one whole
     * record at a time until no complete record is left or {@code appIn} is too full for the next.
     */
    private void unwrapRecords(ByteBuffer netIn, ByteBuffer appIn) throws IOException {
        boolean wroteHandshake = false;
        while (!peerClosed) {
            wroteHandshake |= drainHandshake();
            int length = completeRecordBytes(netIn);
            if (length == 0) {
                break;
            }
            if (appIn.remaining() < length - RECORD_HEADER_BYTES) {
                recordsPending = true; // plaintext <= payload for every suite; resume after onRead
                break;
            }
            int limit = netIn.limit();
            netIn.limit(netIn.position() + length);
            SSLEngineResult result;
            SniKeyManager.HandshakeSlot slot = handshakeSlot(netIn);
            try {
                result = engine.unwrap(netIn, appIn);
            } finally {
                netIn.limit(limit);
                if (slot != null) {
                    slot.clear();
                }
            }
            if (result.bytesConsumed() > 0) {
                recordBytes = 0;
            }
            switch (result.getStatus()) {
                case OK:
                    break;
                case CLOSED:
                    peerClosed = true; // close_notify: end of stream after the plaintext before it
                    break;
                case BUFFER_OVERFLOW:
                    // Not expected (we checked the room); keep the record for the next call.
                    recordsPending = true;
                    break;
                case BUFFER_UNDERFLOW:
                default:
                    throw new SSLException("unwrap of a whole record of " + length + " bytes returned "
                            + result.getStatus());
            }
            noteFinished(result);
            if (recordsPending || (result.bytesConsumed() == 0 && result.bytesProduced() == 0
                    && result.getHandshakeStatus() != HandshakeStatus.NEED_TASK
                    && result.getHandshakeStatus() != HandshakeStatus.NEED_WRAP)) {
                break; // no progress possible now
            }
        }
        if (!peerClosed) {
            wroteHandshake |= drainHandshake();
        }
        flushNetOut(wroteHandshake);
    }

    /**
     * Runs delegated tasks and wraps handshake messages while the engine asks for them (NEED_WRAP
     * during unwrap, e.g. ServerHello..Finished). Returns whether any network bytes were produced.
     */
    private boolean drainHandshake() throws SSLException {
        boolean produced = false;
        for (;;) {
            HandshakeStatus status = engine.getHandshakeStatus();
            if (status == HandshakeStatus.NEED_TASK) {
                runDelegatedTasks();
            } else if (status == HandshakeStatus.NEED_WRAP) {
                SSLEngineResult result = wrap(EMPTY);
                noteFinished(result);
                produced |= result.bytesProduced() > 0;
                if (result.bytesProduced() == 0 && result.getHandshakeStatus() == HandshakeStatus.NEED_WRAP) {
                    return produced; // no progress (outbound closed): never spin
                }
            } else {
                checkFinishedWithoutSignal(status);
                return produced;
            }
        }
    }

    /**
     * Runs the engine's delegated tasks inline on the loop. Conscrypt has none in practice; the
     * JDK's are certificate and key computations of a few hundred microseconds for our own
     * certificates (no network, no file access), cheaper than two queue hops. This method is the
     * seam to offload them: submit the task to a pool, return, and when it is done call
     * {@code context.loop().execute(() -> context.plaintextReady())} so decode resumes.
     */
    private void runDelegatedTasks() {
        for (Runnable task = engine.getDelegatedTask(); task != null; task = engine.getDelegatedTask()) {
            task.run();
        }
    }

    /**
     * Returns the length of the complete record at {@code netIn}'s position, or 0 if it has not
     * fully arrived. Validates each header byte as soon as it is there, so non-TLS input fails on
     * its first byte.
     */
    private int completeRecordBytes(ByteBuffer netIn) throws NotTlsException {
        int available = netIn.remaining();
        if (recordBytes == 0) {
            if (available == 0) {
                return 0;
            }
            int at = netIn.position();
            int type = netIn.get(at) & 0xff;
            if (type < CHANGE_CIPHER_SPEC || type > APPLICATION_DATA) {
                throw new NotTlsException("not TLS: record content type=" + type + " is not in 20..23");
            }
            if (available >= 2 && netIn.get(at + 1) != 3) {
                throw new NotTlsException("not TLS: record major version=" + netIn.get(at + 1) + " != 3");
            }
            if (available >= 3 && (netIn.get(at + 2) & 0xff) > 4) {
                throw new NotTlsException("not TLS: record minor version=" + (netIn.get(at + 2) & 0xff) + " > 4");
            }
            if (available < RECORD_HEADER_BYTES) {
                return 0;
            }
            int payload = netIn.getShort(at + 3) & 0xffff;
            if (payload > MAX_RECORD_PAYLOAD_BYTES) {
                throw new NotTlsException("not TLS: record length=" + payload + " > MAX=" + MAX_RECORD_PAYLOAD_BYTES);
            }
            recordBytes = RECORD_HEADER_BYTES + payload;
        }
        return available >= recordBytes ? recordBytes : 0;
    }

    @Override
    public void encode(ByteBuffer appOut) throws IOException {
        if (outboundClosed) {
            throw new SSLException("TLS outbound is closed: cannot write " + appOut.remaining() + " bytes");
        }
        if (!handshakeComplete) {
            holdUntilHandshake(appOut);
            return;
        }
        wrapPlaintext(appOut);
        // Queue only: the connection writes to the socket after encoding. Flushing here would
        // cost a second send per session when close() seals the 221 and then closing() adds
        // close_notify: queued, both leave in one writev.
        if (netOut.position() > 0) {
            writeNetOut();
        }
    }

    /** The outbound loop: wraps all of {@code appOut} into records in {@code netOut}. */
    private void wrapPlaintext(ByteBuffer appOut) throws SSLException {
        while (appOut.hasRemaining()) {
            SSLEngineResult result = wrap(appOut);
            if (result.getStatus() == SSLEngineResult.Status.CLOSED) {
                throw new SSLException("TLS engine closed: cannot write " + appOut.remaining() + " bytes");
            }
            HandshakeStatus status = result.getHandshakeStatus();
            if (status == HandshakeStatus.NEED_TASK || status == HandshakeStatus.NEED_WRAP) {
                drainHandshake();
            } else if (status == HandshakeStatus.NEED_UNWRAP && result.bytesConsumed() == 0) {
                // NEED_UNWRAP during wrap: the engine waits for the peer (a post-handshake
                // message); keep the plaintext and wrap it after the next decode.
                holdUntilHandshake(appOut);
                return;
            }
        }
    }

    /** Wraps into {@code netOut}, handing full buffers to the connection on BUFFER_OVERFLOW. */
    private SSLEngineResult wrap(ByteBuffer src) throws SSLException {
        for (;;) {
            SSLEngineResult result = engine.wrap(src, netOut);
            if (result.getStatus() != SSLEngineResult.Status.BUFFER_OVERFLOW) {
                return result;
            }
            if (netOut.position() > 0) {
                writeNetOut();
            } else {
                growNetOut();
            }
        }
    }

    private void growNetOut() throws SSLException {
        int needed = engine.getSession().getPacketBufferSize();
        if (needed <= netOut.capacity()) {
            throw new SSLException("wrap overflows an empty buffer of " + netOut.capacity()
                    + " bytes >= packetBufferSize=" + needed);
        }
        releaseNetOut();
        // Unpooled: only a provider with records larger than NET_BUFFER_BYTES gets here.
        netOut = ByteBuffer.allocateDirect(needed);
    }

    private void writeNetOut() {
        netOut.flip();
        context.writeNetwork(netOut);
        netOut.clear();
    }

    private void flushNetOut(boolean flush) {
        if (netOut.position() > 0) {
            writeNetOut();
            flush = true;
        }
        if (flush) {
            context.flushNetwork();
        }
    }

    private void holdUntilHandshake(ByteBuffer appOut) {
        int needed = appOut.remaining() + (earlyPlaintext == null ? 0 : earlyPlaintext.position());
        if (earlyPlaintext == null || earlyPlaintext.capacity() < needed) {
            ByteBuffer larger = ByteBuffer.allocate(Math.max(needed, 1024)); // rare: writes before the handshake
            if (earlyPlaintext != null) {
                larger.put(earlyPlaintext.flip());
            }
            earlyPlaintext = larger;
        }
        earlyPlaintext.put(appOut);
    }

    private void noteFinished(SSLEngineResult result) throws SSLException {
        if (result.getHandshakeStatus() == HandshakeStatus.FINISHED) {
            handshakeFinished();
        }
    }

    /** Some engines (and TLS 1.3 resumption paths) skip FINISHED: a settled handshake counts too. */
    private void checkFinishedWithoutSignal(HandshakeStatus status) throws SSLException {
        if (!handshakeComplete && status == HandshakeStatus.NOT_HANDSHAKING && !peerClosed && !outboundClosed
                && !engine.isInboundDone() && hasNegotiatedSession()) {
            handshakeFinished();
        }
    }

    private boolean hasNegotiatedSession() {
        String suite = engine.getSession().getCipherSuite();
        return suite != null && !suite.startsWith("SSL_NULL") && !suite.equals("NONE");
    }

    private void handshakeFinished() throws SSLException {
        if (handshakeComplete) {
            return; // TLS 1.3 post-handshake messages may report FINISHED again
        }
        handshakeComplete = true;
        SSLSession session = engine.getSession();
        protocol = session.getProtocol();
        cipherSuite = session.getCipherSuite();
        tlsContext.stats().completed();
        listener.onHandshakeComplete(protocol, cipherSuite);
        if (earlyPlaintext != null) {
            ByteBuffer held = earlyPlaintext.flip();
            earlyPlaintext = null;
            wrapPlaintext(held);
        }
    }

    private void handshakeFailed(Throwable cause, TlsStats.Failure failure) {
        if (handshakeComplete || handshakeFailed) {
            return;
        }
        handshakeFailed = true;
        tlsContext.stats().failed(failure);
        listener.onHandshakeFailed(cause);
    }

    /** After an engine error, best effort: send the alert the engine prepared (why we failed). */
    private void sendAlert() {
        try {
            for (int i = 0; i < 4 && engine.getHandshakeStatus() == HandshakeStatus.NEED_WRAP; i++) {
                if (wrap(EMPTY).bytesProduced() == 0) {
                    break;
                }
            }
            flushNetOut(false);
        } catch (SSLException | RuntimeException ignored) {
            // The connection closes with the original cause; the alert is a courtesy.
        }
    }

    @Override
    public boolean hasBufferedPlaintext() {
        // Whole records left for lack of room, or a close_notify to report as end of stream.
        return recordsPending || peerClosed;
    }

    @Override
    public int maxPlaintextPerDecode() {
        return tlsContext.maxPlaintextPerDecode();
    }

    @Override
    public void closing() throws IOException {
        if (outboundClosed || released) {
            return;
        }
        outboundClosed = true;
        engine.closeOutbound();
        for (int i = 0; i < 4; i++) {
            SSLEngineResult result = wrap(EMPTY);
            if (result.bytesProduced() == 0 || result.getStatus() == SSLEngineResult.Status.CLOSED) {
                break;
            }
        }
        flushNetOut(false);
    }

    @Override
    public void closed() {
        if (released) {
            return;
        }
        released = true;
        if (!handshakeComplete) { // the exception fills a stack trace: not on every normal close
            handshakeFailed(new SSLException("connection closed before the TLS handshake completed"),
                    peerClosed ? TlsStats.Failure.PEER_CLOSED : TlsStats.Failure.ABORTED);
        }
        engine.closeOutbound();
        try {
            engine.closeInbound(); // frees Conscrypt's native state (see ConscryptQuirks)
        } catch (SSLException expected) {
            // No close_notify from the peer: normal for SMTP, which ends with QUIT.
        }
        releaseNetOut();
        netOut = null;
        earlyPlaintext = null;
    }

    private void releaseNetOut() {
        if (netOutPooled) {
            tlsContext.netBuffers().release(netOut);
            netOutPooled = false;
        }
    }

    /** True once the handshake finished; the getters below are valid from then on. */
    public boolean handshakeComplete() {
        return handshakeComplete;
    }

    /** True once the peer's close_notify arrived. */
    public boolean isPeerClosed() {
        return peerClosed;
    }

    /** The negotiated protocol ({@code TLSv1.3}, {@code TLSv1.2}), or null before the handshake. */
    public String protocol() {
        return protocol;
    }

    /** The negotiated cipher suite, or null before the handshake. */
    public String cipherSuite() {
        return cipherSuite;
    }

    /** The peer's certificate chain, or an empty list (anonymous client, or before the handshake). */
    public List<Certificate> peerCertificates() {
        if (!handshakeComplete) {
            return List.of();
        }
        try {
            return List.of(engine.getSession().getPeerCertificates());
        } catch (SSLPeerUnverifiedException anonymous) {
            return List.of();
        }
    }

    /** The engine's session (resumption checks, peer host); loop thread only. */
    public SSLSession session() {
        return engine.getSession();
    }

    /** The engine, for tests and provider-specific inspection; do not drive it directly. */
    SSLEngine engine() {
        return engine;
    }
}
