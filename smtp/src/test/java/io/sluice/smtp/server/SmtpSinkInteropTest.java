package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sluice's outbound client against Postfix's {@code smtp-sink} (SMTP and, with {@code -L}, LMTP):
 * messages submitted to {@code serve} are relayed there and leave the spool as delivered.
 * Skipped when Postfix's tools are not installed.
 */
class SmtpSinkInteropTest {
    private static final String SINK = "smtp-sink";

    @TempDir
    Path dir;

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void relayTo(boolean lmtp) throws Exception {
        Path sink = PeerProcess.find(SINK).orElse(null);
        Assumptions.assumeTrue(sink != null, SINK + " not installed (Postfix tools): smtp-sink interop skipped");
        int port = freePort();
        List<String> command = new ArrayList<>(List.of(sink.toString(), "-u", "nobody"));
        if (lmtp) {
            command.add("-L");
        }
        command.addAll(List.of("127.0.0.1:" + port, "64"));
        try (PeerProcess peer = PeerProcess.start(command)) {
            assertTrue(TestServer.await(Duration.ofSeconds(10), () -> listening(port)), "smtp-sink listening: " + peer);
            String route = lmtp ? "lmtp:127.0.0.1:" + port : "smtp:[127.0.0.1]:" + port;
            try (TestServer front = new TestServer(dir, SmtpServer.Mode.SERVE, Map.of("transport.*", route))) {
                RelayEndToEndTest.submit(front.port(), 5);
                assertTrue(TestServer.await(Duration.ofSeconds(60), () -> front.server.queue().delivered() == 5),
                        "delivered to smtp-sink: " + front.server.queue().delivered());
                assertTrue(TestServer.await(Duration.ofSeconds(20), () -> front.queued().isEmpty()), "spool emptied");
                assertEquals(0, front.server.queue().failed());
            }
        }
    }

    @Test
    void relaysToSmtpSink() throws Exception {
        relayTo(false);
    }

    @Test
    void deliversOverLmtpToSmtpSink() throws Exception {
        relayTo(true);
    }
}
