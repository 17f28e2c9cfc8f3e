package io.sluice.reactor;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A toy layer (XOR 0x5A) installed mid-stream, the way STARTTLS installs TLS. */
class StreamLayerTest {

    private static final int KEY = 0x5A;

    /** XORs every byte both ways; records its lifecycle. */
    static final class XorLayer implements StreamLayer {
        LayerContext context;
        int closingCalls;
        int closedCalls;

        @Override
        public void attached(LayerContext ctx) {
            this.context = ctx;
        }

        @Override
        public void decode(ByteBuffer netIn, ByteBuffer appIn) {
            while (netIn.hasRemaining() && appIn.hasRemaining()) {
                appIn.put((byte) (netIn.get() ^ KEY));
            }
        }

        @Override
        public void encode(ByteBuffer appOut) {
            ByteBuffer net = ByteBuffer.allocate(appOut.remaining()); // test code: allocation is fine
            while (appOut.hasRemaining()) {
                net.put((byte) (appOut.get() ^ KEY));
            }
            net.flip();
            context.writeNetwork(net);
        }

        @Override
        public int maxPlaintextPerDecode() {
            return 16 * 1024;
        }

        @Override
        public void closing() {
            closingCalls++;
        }

        @Override
        public void closed() {
            closedCalls++;
        }
    }

    /** Replies OK to UPGRADE, then installs the layer and discards what followed the line. */
    static final class UpgradingHandler extends LineHandler {
        final XorLayer layer = new XorLayer();

        @Override
        void onLine(Connection c, String line, ByteBuffer in) {
            if (line.equals("UPGRADE")) {
                reply(c, "OK");           // must leave in plaintext
                c.installLayer(layer);
                c.discardInput();         // RFC 3207: bytes after the command are untrusted
            } else if (line.equals("BYE")) {
                reply(c, "BYE");
                c.close();
            } else {
                reply(c, "ECHO " + line);
            }
        }
    }

    private final ManualClock clock = new ManualClock();
    private LoopDriver driver;

    @BeforeEach
    void setUp() throws IOException {
        driver = new LoopDriver(LoopConfig.defaults(), clock);
    }

    @AfterEach
    void tearDown() throws IOException {
        driver.close();
    }

    static byte[] xor(String text) {
        byte[] bytes = text.getBytes(US_ASCII);
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] ^= KEY;
        }
        return bytes;
    }

    @Test
    void layerInstalledMidStreamDiscardsTrailingBytesAndTransformsBothWays() throws IOException {
        UpgradingHandler handler = new UpgradingHandler();
        try (Socket client = driver.connect(handler)) {
            // The injected command rides in the same packet as UPGRADE (CVE-2011-0411 style).
            client.getOutputStream().write("UPGRADE\r\nINJECTED\r\n".getBytes(US_ASCII));
            driver.until(() -> handler.lines.size() == 1 && handler.connection.pendingWriteBytes() == 0);
            assertEquals("OK\r\n", new String(LoopDriver.readFully(client, 4), US_ASCII), "plaintext reply");
            assertSame(handler.layer, handler.connection.layer());

            client.getOutputStream().write(xor("HELLO\r\n"));
            driver.until(() -> handler.lines.size() == 2 && handler.connection.pendingWriteBytes() == 0);
            assertEquals(List.of("UPGRADE", "HELLO"), handler.lines, "INJECTED never reached the handler");
            assertArrayEquals(xor("ECHO HELLO\r\n"), LoopDriver.readFully(client, 12));

            client.getOutputStream().write(xor("BYE\r\n"));
            driver.until(() -> handler.closed.getCount() == 0);
            assertArrayEquals(xor("BYE\r\n"), LoopDriver.readFully(client, 5));
            assertEquals(-1, client.getInputStream().read());
        }
        assertEquals(1, handler.layer.closingCalls);
        assertEquals(1, handler.layer.closedCalls);
        assertEquals(0, driver.loop.bufferPool().outstanding());
        assertEquals(0, driver.loop.largeBufferPool().outstanding());
    }

    @Test
    void withoutDiscardTheTrailingBytesReachTheLayerAsNetworkBytes() throws IOException {
        LineHandler handler = new LineHandler() {
            final XorLayer layer = new XorLayer();

            @Override
            void onLine(Connection c, String line, ByteBuffer in) {
                if (line.equals("UPGRADE")) {
                    reply(c, "OK");
                    c.installLayer(layer);
                } else {
                    reply(c, "ECHO " + line);
                }
            }
        };
        try (Socket client = driver.connect(handler)) {
            byte[] upgrade = "UPGRADE\r\n".getBytes(US_ASCII);
            byte[] encoded = xor("PIPELINED\r\n");
            byte[] packet = new byte[upgrade.length + encoded.length];
            System.arraycopy(upgrade, 0, packet, 0, upgrade.length);
            System.arraycopy(encoded, 0, packet, upgrade.length, encoded.length);
            client.getOutputStream().write(packet);
            driver.until(() -> handler.lines.size() == 2 && handler.connection.pendingWriteBytes() == 0);
            assertEquals(List.of("UPGRADE", "PIPELINED"), handler.lines);
            assertEquals("OK\r\n", new String(LoopDriver.readFully(client, 4), US_ASCII));
            assertArrayEquals(xor("ECHO PIPELINED\r\n"), LoopDriver.readFully(client, 16));
        }
    }

    @Test
    void aSecondLayerIsRefused() throws IOException {
        LineHandler handler = new LineHandler();
        try (Socket client = driver.connect(handler)) {
            driver.until(() -> handler.connection != null);
            handler.connection.installLayer(new XorLayer());
            assertTrue(client.isConnected());
            assertThrows(IllegalStateException.class, () -> handler.connection.installLayer(new XorLayer()));
            assertTrue(handler.connection.isOpen());
        }
    }
}
