package io.sluice.smtp.mtasts;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The fetch timeout bounds connect, handshake and response together: SO_TIMEOUT alone bounds
 * each read, not their sum, so a policy host dripping its ServerHello one octet per (timeout - e)
 * would hold a fetch thread far past the timeout unless the deadline closes the socket.
 */
class PolicyFetcherDeadlineTest {

    @Test
    void aServerDrippingItsHandshakeIsCutOffAtTheTimeout() throws Exception {
        // A TLS handshake record header announcing 11 octets, then 11 garbage octets: 16 bytes.
        byte[] record = {0x16, 0x03, 0x03, 0x00, 0x0b, 2, 0, 0, 7, 3, 3, 0, 0, 0, 0, 0};
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread dripper = new Thread(() -> {
                try (Socket s = server.accept()) {
                    OutputStream out = s.getOutputStream();
                    for (byte b : record) {
                        // The slow peer under test: one octet every 200 ms (each read well within 300 ms).
                        Thread.sleep(200);
                        out.write(b);
                        out.flush();
                    }
                } catch (Exception e) {
                    // the client gave up: fine
                }
            }, "dripper");
            dripper.start();
            PolicyFetcher fetcher = new PolicyFetcher(PolicyFetcher.trusting(Optional.empty()), server.getLocalPort(),
                    Duration.ofMillis(300));
            long start = System.nanoTime();
            assertThrows(PolicyFetchException.class,
                    () -> fetcher.fetch("mta-sts.example.test", List.of(InetAddress.getLoopbackAddress())));
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            dripper.join(10_000);
            assertTrue(tookMillis < 1_500, "timeout 300 ms, but the fetch took " + tookMillis + " ms");
        }
    }
}
