package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Set;
import java.util.concurrent.Executor;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

import org.junit.jupiter.api.Test;

import io.sluice.reactor.Connection;
import io.sluice.reactor.ConnectionHandler;
import io.sluice.reactor.EventLoop;
import io.sluice.reactor.LayerContext;
import io.sluice.reactor.StreamLayer;
import io.sluice.smtp.fuzz.JazzerOutput;
import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;
import io.sluice.tls.CertificateSource;
import io.sluice.tls.SelfSignedCertificate;
import io.sluice.tls.TlsContext;
import io.sluice.tls.TlsLayer;
import io.sluice.tls.TlsListener;

/**
 * Fuzzes a whole {@link SmtpSession} behind a real server {@link TlsLayer} (implicit TLS, the
 * default provider, an ECDSA and an RSA certificate), driven as the reactor drives a layer: network bytes
 * through {@code decode} in arbitrary splits, replies out through {@code encode}. Two modes, by the
 * last input octet: raw network bytes from the fuzzer (record framing, the ClientHello reader, the
 * handshake failure path), or a real client {@link TlsLayer} that completes the handshake and then
 * sends the fuzzer's bytes as SMTP plaintext, its records cut at fuzzed sizes. Checks that nothing
 * but an {@code IOException} from {@code decode} (which closes the connection) ever escapes, that an
 * open connection always has a deadline, and that everything the client decrypts is whole,
 * well-formed SMTP replies.
 *
 * <p>Input layout ({@link FuzzedDataProvider} takes numbers from the end): last octet = mode (bit 0:
 * real client handshake), then up to 32 split sizes (0..255 octets each, one octet each, 0 ends the
 * list), the rest at the front = the bytes.
 */
class SessionTlsFuzzTest {

    static {
        JazzerOutput.pin();
    }

    private static final TlsContext SERVER_TLS;
    private static final TlsContext CLIENT_TLS;

    static {
        try {
            // RSA and ECDSA, as a server with both: the Conscrypt key manager then reads the key type
            // the ClientHello allows with our own parser (ClientHelloKeyType), which this reaches too.
            SERVER_TLS = TlsContext.forServer().certificate(CertificateSource.of(
                    SelfSignedCertificate.create("mx.test", "EC"), SelfSignedCertificate.create("mx.test", "RSA"))).build();
            CLIENT_TLS = TlsContext.forClient().trustAnyCertificate().build();
        } catch (IOException | GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final SessionSettings SETTINGS = new SessionSettingsBuilder().localDomains(Set.of("example.net")).build();
    /** Shared by every run: SessionServices allocates a 64 KiB direct scratch buffer per instance. */
    private static final SwitchedStore STORE = new SwitchedStore();
    private static final SessionServices SERVICES = new SessionServices(() -> 1_000_000_000_000L, Runnable::run,
            (deadline, task) -> fail("nothing is scheduled without AUTH"), STORE);

    @FuzzTest(maxDuration = "2m")
    void anyBytesBehindARealTlsLayer(FuzzedDataProvider data) throws IOException {
        boolean handshake = (data.consumeInt(0, 255) & 1) != 0;
        int[] splits = new int[32];
        int n = 0;
        while (n < splits.length) {
            int s = data.consumeInt(0, 255);
            if (s == 0) {
                break;
            }
            splits[n++] = s;
        }
        run(handshake, data.consumeRemainingAsBytes(), splits, n);
    }

    /** The harness checks itself: a real client's dialogue through the layer gets every reply. */
    @Test
    void aRealClientsDialogueIsAnsweredThroughTheLayer() throws IOException {
        byte[] dialogue = ("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
                + "DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n").getBytes(StandardCharsets.US_ASCII);
        String replies = run(true, dialogue, new int[] {3}, 1);
        assertTrue(replies.startsWith("220 mx.test"), replies);
        assertTrue(replies.contains("354 "), replies);
        assertTrue(replies.endsWith("221 2.0.0 Bye\r\n"), replies);
        assertEquals(1, STORE.target.committed.size(), replies);
    }

    /** One connection; returns what a real client decrypted (empty for raw bytes). */
    private static String run(boolean handshake, byte[] bytes, int[] splits, int n) throws IOException {
        STORE.target = new RecordingStore();
        ListenerContext listener = new ListenerContext(SETTINGS,
                new TlsServerUpgrade(SERVER_TLS), true, new ConnectionLimiter(16, 16), EventLog.silent(),
                new SessionStats(), null);
        LayeredConnection server = new LayeredConnection();
        server.open(new SmtpSession(listener, c -> SERVICES));
        String replies = "";
        if (handshake) {
            replies = throughClient(server, bytes, splits, n);
        } else {
            feedSplit(server, bytes, splits, n);
        }
        STORE.target.completeCommits();
        server.checkDeadline();
        server.close();
        STORE.target.completeCommits();
        assertTrue(STORE.target.open.isEmpty(), "messages left open after close");
        return replies;
    }

    /** A real client handshakes, then sends {@code plain} in records of fuzzed sizes. */
    private static String throughClient(LayeredConnection server, byte[] plain, int[] splits, int n) throws IOException {
        ClientEnd client = new ClientEnd();
        client.pump(server);
        for (int round = 0; round < 8 && !client.handshakeDone && server.isOpen(); round++) {
            client.pump(server);
        }
        if (!client.handshakeDone || !server.isOpen()) {
            fail("a real client could not complete the handshake: " + client.failure);
        }
        int at = 0;
        for (int i = 0; at < plain.length && server.isOpen(); i++) {
            int size = n == 0 ? plain.length - at : Math.min(splits[i % n] * 8, plain.length - at);
            client.layer.encode(ByteBuffer.wrap(plain, at, size));
            at += size;
            client.pump(server);
        }
        client.pump(server);
        STORE.target.completeCommits(); // a 250 for a message comes once it is "on disk"
        client.pump(server);
        SessionFuzzTest.checkReplies(client.plaintext.toString());
        return client.plaintext.toString();
    }

    /** Raw network bytes, each read as large as the next split. */
    private static void feedSplit(LayeredConnection server, byte[] bytes, int[] splits, int n) {
        int at = 0;
        for (int i = 0; at < bytes.length && server.isOpen(); i++) {
            int size = n == 0 ? bytes.length - at : Math.min(splits[i % n], bytes.length - at);
            server.feedNetwork(bytes, at, size);
            at += size;
        }
    }

    /** The client's side: a client TlsLayer whose network output the test carries to the server. */
    private static final class ClientEnd implements LayerContext {
        final TlsLayer layer;
        final ByteArrayOutputStream toServer = new ByteArrayOutputStream();
        final StringBuilder plaintext = new StringBuilder();
        final ByteBuffer netIn = ByteBuffer.allocate(1 << 18).flip();
        final ByteBuffer appIn = ByteBuffer.allocate(TlsContext.DEFAULT_MAX_PLAINTEXT_PER_DECODE + (1 << 16));
        boolean handshakeDone;
        Throwable failure;

        ClientEnd() {
            layer = CLIENT_TLS.newClientLayer("mx.test", 465, new TlsListener() {
                @Override
                public void onHandshakeComplete(String protocol, String cipherSuite) {
                    handshakeDone = true;
                }

                @Override
                public void onHandshakeFailed(Throwable cause) {
                    failure = cause;
                }
            });
            layer.attached(this);
        }

        /** Carries client bytes to the server and the server's back, once each way. */
        void pump(LayeredConnection server) throws IOException {
            byte[] out = toServer.toByteArray();
            toServer.reset();
            if (out.length > 0 && server.isOpen()) {
                server.feedNetwork(out, 0, out.length);
            }
            byte[] back = server.takeNetwork();
            if (back.length > 0 && failure == null && !layer.isPeerClosed()) {
                netIn.compact().put(back).flip();
                appIn.clear();
                try {
                    layer.decode(netIn, appIn);
                } catch (IOException e) {
                    if (server.isOpen()) {
                        throw e; // the server's records must decode while it is open
                    }
                    return; // after its close_notify and close the client may see an alert or a closed engine
                }
                appIn.flip();
                while (appIn.hasRemaining()) {
                    plaintext.append((char) (appIn.get() & 0xFF));
                }
            }
        }

        @Override
        public void writeNetwork(ByteBuffer src) {
            while (src.hasRemaining()) {
                toServer.write(src.get());
            }
        }

        @Override
        public void flushNetwork() {
        }

        @Override
        public void plaintextReady() {
        }

        @Override
        public EventLoop loop() {
            return null;
        }

        @Override
        public Connection connection() {
            return null;
        }
    }

    /**
     * The server's connection: no socket; decodes fed network bytes through its layer as
     * {@code NioConnection} does (retaining what is unconsumed, closing on a decode IOException) and
     * encodes what the session writes, keeping the network bytes for the client.
     */
    private static final class LayeredConnection implements Connection, LayerContext {
        private final InetSocketAddress remote = new InetSocketAddress("192.0.2.7", 40000);
        private final ByteArrayOutputStream network = new ByteArrayOutputStream();
        private final ByteArrayOutputStream appOut = new ByteArrayOutputStream();
        private ByteBuffer netIn = ByteBuffer.allocate(1 << 18).flip();
        private ByteBuffer appIn;
        private ConnectionHandler handler;
        private StreamLayer layer;
        private boolean readSuspended;
        private boolean open = true;
        private long deadlineNanos;

        void open(ConnectionHandler h) {
            handler = h;
            handler.onOpen(this);
            assertNotEquals(null, layer, "implicit TLS installs its layer when the connection opens");
        }

        void feedNetwork(byte[] bytes, int offset, int length) {
            if (!open) {
                return;
            }
            netIn.compact();
            if (netIn.remaining() < length) {
                fail("the layer left " + netIn.position() + " octets undecoded: no record is that long");
            }
            netIn.put(bytes, offset, length).flip();
            decodeAndDeliver();
        }

        private void decodeAndDeliver() {
            for (int round = 0; round < 64 && open && !readSuspended; round++) {
                int before = netIn.remaining();
                if (appIn == null) {
                    appIn = ByteBuffer.allocate(layer.maxPlaintextPerDecode() * 2).flip();
                }
                int appBefore = appIn.remaining();
                appIn.compact();
                try {
                    layer.decode(netIn, appIn);
                } catch (IOException e) {
                    appIn.flip();
                    closeWith(e);
                    return;
                } catch (UncheckedIOException e) {
                    fail("decode threw unchecked", e);
                }
                appIn.flip();
                int produced = appIn.remaining() - appBefore;
                if (appIn.hasRemaining() && open) {
                    handler.onRead(this, appIn);
                    flush(); // as the loop does after each onRead
                }
                if (netIn.remaining() == before && produced <= 0 && !layer.hasBufferedPlaintext()) {
                    return;
                }
            }
        }

        byte[] takeNetwork() {
            flush(); // the loop flushes after every task too (a handshake's end, a commit's answer)
            byte[] bytes = network.toByteArray();
            network.reset();
            return bytes;
        }

        void checkDeadline() {
            if (open) {
                assertNotEquals(0, deadlineNanos, "an open connection without a deadline can idle forever");
            }
        }

        private void closeWith(Throwable cause) {
            if (open) {
                open = false;
                handler.onClose(this, cause);
                layer.closed();
            }
        }

        @Override
        public EventLoop loop() {
            return null;
        }

        @Override
        public InetSocketAddress remoteAddress() {
            return remote;
        }

        @Override
        public InetSocketAddress localAddress() {
            return new InetSocketAddress("127.0.0.1", 465);
        }

        @Override
        public void write(ByteBuffer src) {
            while (src.hasRemaining()) {
                appOut.write(src.get());
            }
        }

        @Override
        public void write(byte[] src, int offset, int length) {
            appOut.write(src, offset, length);
        }

        @Override
        public void flush() {
            if (!open || appOut.size() == 0) {
                return;
            }
            byte[] plain = appOut.toByteArray();
            ByteBuffer head = ByteBuffer.wrap(plain);
            try {
                layer.encode(head);
            } catch (IOException e) {
                closeWith(e);
                return;
            }
            appOut.reset();
            appOut.write(plain, head.position(), head.remaining()); // still handshaking: on a later flush
        }

        @Override
        public boolean isWritable() {
            return true;
        }

        @Override
        public long pendingWriteBytes() {
            return appOut.size();
        }

        @Override
        public void suspendRead() {
            readSuspended = true;
        }

        @Override
        public void resumeRead() {
            readSuspended = false;
            if (open) {
                decodeAndDeliver();
            }
        }

        @Override
        public void deadline(long nanos) {
            deadlineNanos = nanos;
        }

        @Override
        public void discardInput() {
            netIn.position(netIn.limit());
        }

        @Override
        public void installLayer(StreamLayer newLayer) {
            assertTrue(layer == null, "one layer per connection here");
            layer = newLayer;
            layer.attached(this);
        }

        @Override
        public StreamLayer layer() {
            return layer;
        }

        @Override
        public void close() {
            if (open) {
                flush();
                try {
                    layer.closing();
                } catch (IOException e) {
                    // the peer is gone or the engine failed: closing anyway, as the reactor does
                }
                closeWith(null);
            }
        }

        @Override
        public void abort() {
            closeWith(null);
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public Object attachment() {
            return null;
        }

        @Override
        public void attachment(Object attachment) {
        }

        // LayerContext: what the server's TlsLayer asks of its connection.

        @Override
        public void writeNetwork(ByteBuffer src) {
            while (src.hasRemaining()) {
                network.write(src.get());
            }
        }

        @Override
        public void flushNetwork() {
        }

        @Override
        public void plaintextReady() {
            decodeAndDeliver();
        }

        @Override
        public Connection connection() {
            return this;
        }
    }

    /** The store the shared services see; each run points it at a fresh {@link RecordingStore}. */
    private static final class SwitchedStore implements MessageStore {
        RecordingStore target;

        @Override
        public QueueId begin(Envelope envelope) throws IOException {
            return target.begin(envelope);
        }

        @Override
        public void append(QueueId id, ByteBuffer data) throws IOException {
            target.append(id, data);
        }

        @Override
        public void commit(QueueId id, long storedOctets, CommitListener listener, Executor executor) {
            target.commit(id, storedOctets, listener, executor);
        }

        @Override
        public void abort(QueueId id) {
            target.abort(id);
        }
    }
}
