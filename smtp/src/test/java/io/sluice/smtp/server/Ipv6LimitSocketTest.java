package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ListenerMode;

/**
 * The per-client limits over real IPv6 loopback ({@code ::1}): the connection is keyed by its /64
 * and answered {@code 421 4.7.0} like an IPv4 client. Skipped with a message where the machine has
 * no IPv6 loopback.
 */
class Ipv6LimitSocketTest {

    @TempDir
    Path dir;
    private TestServer server;
    private final List<Socket> sockets = new ArrayList<>();

    @BeforeAll
    static void needsIpv6Loopback() {
        boolean available;
        try (ServerSocket probe = new ServerSocket()) {
            probe.bind(new InetSocketAddress(InetAddress.getByName("::1"), 0));
            available = probe.getInetAddress() instanceof Inet6Address;
        } catch (IOException e) {
            available = false;
        }
        Assumptions.assumeTrue(available, "skipped: this machine cannot bind [::1] (no IPv6 loopback)");
    }

    @AfterEach
    void stop() throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void perClientConnectionLimitOverIpv6Loopback() throws Exception {
        start(Map.of("limits.connections_per_ip", "2"));
        assertEquals("220 mx.test ESMTP Sluice\r\n", reply(connect()));
        assertEquals("220 mx.test ESMTP Sluice\r\n", reply(connect()));
        Socket third = connect();
        assertEquals("421 4.7.0 Too many connections\r\n", reply(third));
        assertEquals(-1, third.getInputStream().read(), "closed after the 421");
    }

    @Test
    void connectionRateOverIpv6LoopbackAndThePrefixLengthKey() throws Exception {
        // ::1 is not in relay.networks here, so the rate applies to it.
        start(Map.of("limits.connections_per_minute", "2", "relay.networks", "192.0.2.0/24",
                "limits.ipv6_prefix_length", "128"));
        for (int i = 0; i < 2; i++) {
            try (Socket s = connect()) {
                assertEquals("220 mx.test ESMTP Sluice\r\n", reply(s), "connection " + i);
            }
        }
        assertEquals("421 4.7.0 Too many connections per minute, try again later\r\n", reply(connect()));
    }

    private void start(Map<String, String> limits) throws IOException {
        Map<String, String> settings = new java.util.HashMap<>(limits);
        settings.put("listen", "[::1]:0 smtp");
        server = new TestServer(dir, SmtpServer.Mode.SERVE, settings);
        assertTrue(server.address(ListenerMode.SMTP).getAddress() instanceof Inet6Address);
    }

    private Socket connect() throws IOException {
        Socket s = new Socket();
        sockets.add(s);
        s.connect(new InetSocketAddress(InetAddress.getByName("::1"), server.port()), 5_000);
        s.setSoTimeout(10_000);
        return s;
    }

    /** One reply line, CRLF kept. */
    private static String reply(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        StringBuilder line = new StringBuilder();
        int b;
        while ((b = in.read()) >= 0) {
            line.append((char) b);
            if (b == '\n') {
                break;
            }
        }
        return line.toString();
    }
}
