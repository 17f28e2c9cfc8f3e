package io.sluice.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The contract every provider pairing of {@link TlsLayer} must meet, over an in-memory pair
 * ({@link TlsEndpoint}). Subclasses choose the server's and the client's provider.
 */
abstract class AbstractTlsLayerContractTest {

    abstract TlsProvider serverProvider();

    abstract TlsProvider clientProvider();

    static Stream<Arguments> protocolsAndKeys() {
        return Stream.of(
                Arguments.of("TLSv1.3", "EC"), Arguments.of("TLSv1.3", "RSA"),
                Arguments.of("TLSv1.2", "EC"), Arguments.of("TLSv1.2", "RSA"));
    }

    TlsContext serverContext(String keyType) throws IOException, GeneralSecurityException {
        return TlsContext.forServer().provider(serverProvider())
                .certificate(CertificateSource.of(TestCertificates.of(keyType))).build();
    }

    TlsContext clientContext(String protocol) throws IOException, GeneralSecurityException {
        return TlsContext.forClient().provider(clientProvider()).protocols(protocol).trustAnyCertificate().build();
    }

    /** A handshaken pair. */
    TlsEndpoint[] connected(String protocol, String keyType) throws Exception {
        TlsEndpoint server = TlsEndpoint.server(serverContext(keyType));
        TlsEndpoint client = TlsEndpoint.client(clientContext(protocol));
        TlsEndpoint.pump(client, server);
        assertTrue(server.layer.handshakeComplete(), "server handshake complete");
        assertTrue(client.layer.handshakeComplete(), "client handshake complete");
        return new TlsEndpoint[] {client, server};
    }

    @ParameterizedTest
    @MethodSource("protocolsAndKeys")
    void handshakeReportsProtocolCipherAndCertificate(String protocol, String keyType) throws Exception {
        TlsContext serverContext = serverContext(keyType);
        TlsEndpoint server = TlsEndpoint.server(serverContext);
        TlsEndpoint client = TlsEndpoint.client(clientContext(protocol));
        assertFalse(server.layer.handshakeComplete());
        assertEquals(null, server.layer.protocol());

        TlsEndpoint.pump(client, server);

        assertEquals(protocol, server.completedProtocol);
        assertEquals(protocol, client.completedProtocol);
        assertEquals(protocol, server.layer.protocol());
        assertNotNull(server.completedCipherSuite);
        assertEquals(server.completedCipherSuite, client.layer.cipherSuite());
        assertEquals(TestCertificates.of(keyType).leaf(), client.layer.peerCertificates().get(0));
        assertTrue(server.layer.peerCertificates().isEmpty(), "anonymous client");
        assertEquals(1, serverContext.stats().handshakesCompleted());
        assertEquals(0, serverContext.stats().handshakesFailed());
        assertTrue(server.failures.isEmpty() && client.failures.isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void firstFlightsSplitAtEveryOffset(String protocol) throws Exception {
        TlsContext serverContext = serverContext("EC");
        TlsContext clientContext = clientContext(protocol);
        int clientHelloBytes = TlsEndpoint.client(clientContext).takeWire().length;
        for (int offset = 1; offset < clientHelloBytes; offset += offset < 48 ? 1 : 11) {
            TlsEndpoint server = TlsEndpoint.server(serverContext);
            TlsEndpoint client = TlsEndpoint.client(clientContext);
            deliverSplit(client.takeWire(), offset, server);
            byte[] serverFlight = server.takeWire();
            assertTrue(serverFlight.length > 0, "server answered a ClientHello split at " + offset);
            deliverSplit(serverFlight, Math.min(offset, serverFlight.length - 1), client);
            TlsEndpoint.pump(client, server);
            assertTrue(server.layer.handshakeComplete() && client.layer.handshakeComplete(), "split at " + offset);
        }
    }

    private static void deliverSplit(byte[] bytes, int offset, TlsEndpoint to) throws IOException {
        to.receive(Arrays.copyOfRange(bytes, 0, offset));
        to.receive(Arrays.copyOfRange(bytes, offset, bytes.length));
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void oneByteChunksBothWays(String protocol) throws Exception {
        TlsEndpoint server = TlsEndpoint.server(serverContext("EC"));
        TlsEndpoint client = TlsEndpoint.client(clientContext(protocol));
        TlsEndpoint.pumpBytewise(client, server);
        assertTrue(server.layer.handshakeComplete() && client.layer.handshakeComplete());

        byte[] message = randomBytes(40_000, 7);
        client.send(message);
        server.send("250 OK\r\n".getBytes(StandardCharsets.US_ASCII));
        TlsEndpoint.pumpBytewise(client, server);
        assertArrayEquals(message, server.received.toByteArray());
        assertEquals("250 OK\r\n", client.received.toString(StandardCharsets.US_ASCII));
    }

    @ParameterizedTest
    @MethodSource("protocolsAndKeys")
    void fiftyPipelinedCommandsInOneRecordDecodeInOneCall(String protocol, String keyType) throws Exception {
        TlsEndpoint[] pair = connected(protocol, keyType);
        TlsEndpoint client = pair[0];
        TlsEndpoint server = pair[1];
        StringBuilder commands = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            commands.append("RCPT TO:<user").append(i).append("@example.org>\r\n");
        }
        client.send(commands.toString().getBytes(StandardCharsets.US_ASCII));
        byte[] records = client.takeWire();
        assertEquals(records.length, 5 + (((records[3] & 0xff) << 8) | (records[4] & 0xff)), "exactly one record");
        server.decodeCalls = 0;

        server.receive(records);

        assertEquals(1, server.decodeCalls);
        assertEquals(commands.toString(), server.received.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void clientFinishedAndFirstCommandInOneSegmentDecodeInOneCall() throws Exception {
        TlsEndpoint server = TlsEndpoint.server(serverContext("EC"));
        TlsEndpoint client = TlsEndpoint.client(clientContext("TLSv1.3"));
        server.receive(client.takeWire()); // ClientHello
        client.receive(server.takeWire()); // ServerHello .. Finished; client sends Finished
        assertTrue(client.layer.handshakeComplete(), "TLS 1.3 client completes after the server's flight");
        client.send("EHLO client.example\r\n".getBytes(StandardCharsets.US_ASCII));
        server.decodeCalls = 0;

        server.receive(client.takeWire()); // Finished + application record together

        assertEquals(1, server.decodeCalls);
        assertTrue(server.layer.handshakeComplete());
        assertEquals("EHLO client.example\r\n", server.received.toString(StandardCharsets.US_ASCII));
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void plaintextWrittenBeforeTheHandshakeIsSentAfterIt(String protocol) throws Exception {
        TlsEndpoint server = TlsEndpoint.server(serverContext("RSA"));
        TlsEndpoint client = TlsEndpoint.client(clientContext(protocol));
        client.send("EHLO early\r\n".getBytes(StandardCharsets.US_ASCII));
        TlsEndpoint.pump(client, server);
        assertEquals("EHLO early\r\n", server.received.toString(StandardCharsets.US_ASCII));
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void oneMebibyteBothWaysInMaximalRecords(String protocol) throws Exception {
        TlsEndpoint[] pair = connected(protocol, "EC");
        TlsEndpoint client = pair[0];
        TlsEndpoint server = pair[1];
        byte[] up = randomBytes(1 << 20, 1);
        byte[] down = randomBytes(1 << 20, 2);
        client.send(up);
        server.send(down);
        byte[] upWire = client.takeWire();
        byte[] downWire = server.takeWire();
        assertTrue(countRecords(upWire) <= 66, "coalesced into 16 KiB records: " + countRecords(upWire));
        deliverInChunks(upWire, 64 * 1024, server);
        deliverInChunks(downWire, 61 * 1024, client);
        assertArrayEquals(up, server.received.toByteArray());
        assertArrayEquals(down, client.received.toByteArray());
    }

    private static void deliverInChunks(byte[] bytes, int chunk, TlsEndpoint to) throws IOException {
        for (int at = 0; at < bytes.length; at += chunk) {
            to.receive(Arrays.copyOfRange(bytes, at, Math.min(bytes.length, at + chunk)));
        }
    }

    private static int countRecords(byte[] wire) {
        int records = 0;
        for (int at = 0; at + 5 <= wire.length; at += 5 + (((wire[at + 3] & 0xff) << 8) | (wire[at + 4] & 0xff))) {
            assertTrue(((wire[at + 3] & 0xff) << 8 | (wire[at + 4] & 0xff)) <= TlsLayer.MAX_RECORD_PAYLOAD_BYTES);
            records++;
        }
        return records;
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void encodeQueuesSoTheLastReplyAndCloseNotifyLeaveInOneFlush(String protocol) throws Exception {
        TlsEndpoint[] pair = connected(protocol, "EC");
        TlsEndpoint client = pair[0];
        TlsEndpoint server = pair[1];
        int flushesBefore = server.flushes;

        server.send("221 bye\r\n".getBytes(StandardCharsets.US_ASCII));
        assertTrue(server.hasWire(), "the reply is sealed and queued");
        assertEquals(flushesBefore, server.flushes, "encode leaves the send to the connection");
        server.layer.closing();
        assertEquals(flushesBefore + 1, server.flushes, "closing flushes reply and close_notify once");

        byte[] wire = server.takeWire();
        assertThrows(TlsClosedException.class, () -> client.receive(wire));
        assertEquals("221 bye\r\n", client.received.toString(StandardCharsets.US_ASCII));
        assertTrue(client.layer.isPeerClosed());
    }

    @ParameterizedTest
    @MethodSource("protocolsAndKeys")
    void aServerHandshakeLeavesNoEngineInTheKeyManagerSlot(String protocol, String keyType) throws Exception {
        connected(protocol, keyType);
        assertNull(SniKeyManager.HANDSHAKE.get().answered, "cleared after the unwrap that chose the certificate");
        assertEquals(ClientHelloKeyType.UNKNOWN, SniKeyManager.HANDSHAKE.get().clientKeyType);
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void closeNotifyEndsTheStreamAfterThePlaintextBeforeIt(String protocol) throws Exception {
        TlsEndpoint[] pair = connected(protocol, "EC");
        TlsEndpoint client = pair[0];
        TlsEndpoint server = pair[1];
        client.send("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
        client.layer.closing();
        byte[] wire = client.takeWire();
        assertTrue(wire.length > 0, "close_notify written");

        assertThrows(TlsClosedException.class, () -> server.receive(wire));

        assertEquals("QUIT\r\n", server.received.toString(StandardCharsets.US_ASCII));
        assertTrue(server.layer.isPeerClosed());
    }

    @Test
    void serverClosingSendsCloseNotifyToTheClient() throws Exception {
        TlsEndpoint[] pair = connected("TLSv1.3", "RSA");
        pair[1].layer.closing();
        assertThrows(TlsClosedException.class, () -> pair[0].receive(pair[1].takeWire()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET / HTTP/1.1\r\n", "EHLO client.example\r\n", "E", "\u0016\u0002\u0000"})
    void plaintextInputFailsOnItsFirstRead(String input) throws Exception {
        TlsContext context = serverContext("EC");
        TlsEndpoint server = TlsEndpoint.server(context);
        assertThrows(NotTlsException.class, () -> server.receive(input.getBytes(StandardCharsets.ISO_8859_1)));
        assertEquals(1, context.stats().handshakesFailed(TlsStats.Failure.NOT_TLS));
        assertEquals(1, server.failures.size());
    }

    @Test
    void randomBytesFailOnTheFirstRead() throws Exception {
        TlsContext context = serverContext("EC");
        for (int seed = 0; seed < 20; seed++) {
            TlsEndpoint server = TlsEndpoint.server(context);
            byte[] noise = randomBytes(300, seed);
            assertThrows(IOException.class, () -> server.receive(noise), "seed " + seed);
        }
        assertEquals(20, context.stats().handshakesFailed());
    }

    @Test
    void oversizedRecordFailsBeforeItArrives() throws Exception {
        TlsEndpoint server = TlsEndpoint.server(serverContext("EC"));
        NotTlsException e = assertThrows(NotTlsException.class,
                () -> server.receive(new byte[] {22, 3, 1, (byte) 0x48, 0x01}));
        assertTrue(e.getMessage().contains("> MAX=18432"), e.getMessage());
    }

    @Test
    void tls10OnlyClientIsRefused() throws Exception {
        assumeTrue(TlsProvider.conscryptAvailable(), "needs Conscrypt: the JDK client cannot even offer TLSv1");
        TlsContext context = serverContext("RSA");
        TlsEndpoint server = TlsEndpoint.server(context);
        TlsContext legacyClient = TlsContext.forClient().provider(TlsProvider.conscrypt())
                .protocols("TLSv1").trustAnyCertificate().build();
        TlsEndpoint client = TlsEndpoint.client(legacyClient);

        assertThrows(SSLException.class, () -> TlsEndpoint.pump(client, server));

        assertFalse(server.layer.handshakeComplete());
        assertEquals(1, context.stats().handshakesFailed());
        assertEquals(1, server.failures.size());
    }

    @Test
    void pooledBuffersAreReleasedInClosed() throws Exception {
        TlsContext serverContext = serverContext("EC");
        TlsEndpoint server = TlsEndpoint.server(serverContext);
        TlsEndpoint client = TlsEndpoint.client(clientContext("TLSv1.3"));
        TlsEndpoint.pump(client, server);
        assertEquals(1, serverContext.buffersInUse());
        server.layer.closing();
        server.layer.closed();
        server.layer.closed(); // idempotent
        assertEquals(0, serverContext.buffersInUse());
    }

    @Test
    void closedBeforeHandshakeCountsAsAborted() throws Exception {
        TlsContext context = serverContext("EC");
        TlsEndpoint server = TlsEndpoint.server(context);
        server.layer.closed();
        assertEquals(1, context.stats().handshakesFailed(TlsStats.Failure.ABORTED));
        assertEquals(1, server.failures.size());
        assertEquals(0, context.buffersInUse());
    }

    @Test
    void encodeAfterClosingFails() throws Exception {
        TlsEndpoint[] pair = connected("TLSv1.3", "EC");
        pair[1].layer.closing();
        assertThrows(SSLException.class, () -> pair[1].layer.encode(ByteBuffer.wrap(new byte[] {1})));
    }

    static byte[] randomBytes(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
