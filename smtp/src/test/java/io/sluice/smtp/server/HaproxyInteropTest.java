package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ListenerMode;
import io.sluice.smtp.spool.QueuedMessage;

/**
 * HAProxy in front of {@code +proxy} listeners, as operators run it: {@code mode tcp} with
 * {@code send-proxy-v2} and {@code send-proxy} (v1), plus smtps behind {@code send-proxy-v2} and
 * HAProxy's own health checks. Clients connect from other loopback addresses (127.0.0.2, ::1) so
 * the address Sluice reports can only have come from the header. HAProxy runs in the foreground
 * from a temporary config and is killed at the end. Skipped when {@code haproxy} is not installed
 * ({@code apt-get install -y haproxy}; .ci/run installs it).
 */
class HaproxyInteropTest {

    /** Frontend ports come from this helper's range (HAProxy cannot report an ephemeral port it bound). */
    private static final int FIRST_PORT = 3650;
    private static final int LAST_PORT = 3699;

    @TempDir
    Path dir;

    @Test
    void clientsBehindHaproxyAreSeenWithTheirOwnAddresses() throws Exception {
        Optional<Path> haproxy = PeerProcess.find("haproxy");
        Assumptions.assumeTrue(haproxy.isPresent(), "haproxy not on PATH (apt-get install -y haproxy): skipping the HAProxy interop test");
        ByteArrayOutputStream logged = new ByteArrayOutputStream();
        EventLog log = new EventLog(EventLog.Level.INFO, new PrintStream(logged, true, StandardCharsets.UTF_8));
        Map<String, String> settings = new HashMap<>();
        settings.put("listen", "127.0.0.1:0 smtp+proxy, 127.0.0.1:0 smtps+proxy");
        try (TestServer server = new TestServer(dir, SmtpServer.Mode.SERVE, settings, log)) {
            List<Integer> ports = freePorts(4);
            int v2 = ports.get(0);
            int v1 = ports.get(1);
            int v1Ipv6 = ports.get(2);
            int smtps = ports.get(3);
            Path config = dir.resolve("haproxy.cfg");
            Files.writeString(config, haproxyConfig(server, v2, v1, v1Ipv6, smtps));
            PeerProcess.Result check = PeerProcess.run(List.of(haproxy.get().toString(), "-c", "-f", config.toString()),
                    new byte[0], 30);
            assertEquals(0, check.exitCode(), check.both());
            try (PeerProcess proxy = PeerProcess.start(List.of(haproxy.get().toString(), "-db", "-f", config.toString()))) {
                for (int port : ports) {
                    // Not by connecting (a probe through a frontend would reach Sluice as one more proxied
                    // client) nor by binding (a bind at the wrong moment makes HAProxy's fail).
                    assertTrue(TestServer.await(Duration.ofSeconds(10), () -> listening(port) || !proxy.isAlive()),
                            "haproxy did not listen on " + port + "\n" + proxy.stderr());
                }
                sendThrough(InetAddress.getByName("127.0.0.2"), "127.0.0.1", v2, false);
                sendThrough(InetAddress.getByName("127.0.0.3"), "127.0.0.1", v1, false);
                sendThrough(InetAddress.getByName("::1"), "::1", v1Ipv6, false);
                sendThrough(InetAddress.getByName("127.0.0.4"), "127.0.0.1", smtps, true);
                // HAProxy's health checks (check-send-proxy) come as v2 LOCAL headers.
                assertTrue(TestServer.await(Duration.ofSeconds(10), () -> server.server.stats().proxyHeaders(2, false) > 0),
                        "no LOCAL header from haproxy's health checks\n" + proxy.stderr());
                assertTrue(TestServer.await(Duration.ofSeconds(10), () -> server.server.stats().proxyHealthChecks(true) > 0),
                        "haproxy's LOCAL checks close before any command: counted as health checks\n" + proxy.stderr());
                assertTrue(proxy.isAlive(), proxy.stderr());
            }
            List<String> received = new ArrayList<>();
            for (QueuedMessage m : server.queued()) {
                String text = server.content(m);
                received.add(text.substring(0, text.indexOf('\n') + 1).trim());
            }
            received.sort(null);
            assertEquals(List.of("Received: from client.example ([127.0.0.2])", "Received: from client.example ([127.0.0.3])",
                    "Received: from client.example ([127.0.0.4])", "Received: from client.example ([IPv6:0:0:0:0:0:0:0:1])"), received);
            assertEquals(2, server.server.stats().proxyHeaders(2, true), "v2 from 127.0.0.2 and the smtps client");
            assertEquals(2, server.server.stats().proxyHeaders(1, true), "v1 over IPv4 and IPv6");
            assertTrue(TestServer.await(Duration.ofSeconds(5), () -> logged.toString(StandardCharsets.UTF_8)
                    .matches("(?s).* disconnect client=127\\.0\\.0\\.2 .*via=127\\.0\\.0\\.1.*")), logged::toString);
            log.close(); // every queued line written
            assertTrue(!logged.toString(StandardCharsets.UTF_8).contains("disconnect client=127.0.0.1 "),
                    () -> "health checks (from 127.0.0.1 itself) are not logged at INFO\n" + logged);
            assertEquals(0, server.server.stats().proxyRefusals().values().stream().mapToLong(Long::longValue).sum(),
                    () -> server.server.stats().proxyRefusals().toString());
        } finally {
            log.close();
        }
    }

    private static String haproxyConfig(TestServer server, int v2, int v1, int v1Ipv6, int smtps) {
        int smtp = server.address(ListenerMode.SMTP).getPort();
        int implicit = server.address(ListenerMode.SMTPS).getPort();
        return String.join("\n",
                "global",
                "  maxconn 100",
                "defaults",
                "  mode tcp",
                "  timeout connect 5s",
                "  timeout client 30s",
                "  timeout server 30s",
                "listen smtp_v2",
                "  bind 127.0.0.1:" + v2,
                "  server sluice 127.0.0.1:" + smtp + " send-proxy-v2 check check-send-proxy inter 200ms",
                "listen smtp_v1",
                "  bind 127.0.0.1:" + v1,
                "  server sluice 127.0.0.1:" + smtp + " send-proxy",
                "listen smtp_v1_ipv6",
                "  bind [::1]:" + v1Ipv6,
                "  server sluice 127.0.0.1:" + smtp + " send-proxy",
                "listen smtps_v2",
                "  bind 127.0.0.1:" + smtps,
                "  server sluice 127.0.0.1:" + implicit + " send-proxy-v2",
                "");
    }

    /** One message through the balancer at {@code frontend} from {@code source}. */
    private static void sendThrough(InetAddress source, String frontendHost, int frontend, boolean implicitTls)
            throws Exception {
        Socket plain = new Socket();
        plain.bind(new InetSocketAddress(source, 0));
        plain.connect(new InetSocketAddress(InetAddress.getByName(frontendHost), frontend), 5_000);
        plain.setSoTimeout(10_000);
        try (TestServer.Client c = new TestServer.Client(plain)) {
            if (implicitTls) {
                c.upgrade(ServerSocketTest.handshake(plain));
            }
            assertEquals("220 mx.test ESMTP Sluice\r\n", c.reply());
            c.send("EHLO client.example\r\n");
            c.reply();
            c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
            assertEquals("250 2.1.0 Ok\r\n", c.reply());
            assertEquals("250 2.1.5 Ok\r\n", c.reply());
            assertTrue(c.reply().startsWith("354 "));
            c.send("Subject: through haproxy\r\n\r\nbody\r\n.\r\nQUIT\r\n");
            assertTrue(c.reply().startsWith("250 2.0.0 Ok: queued as "));
            assertEquals("221 2.0.0 Bye\r\n", c.reply());
        }
    }

    /** {@code count} ports of our range that nothing listens on now (on 127.0.0.1 and ::1). */
    private static List<Integer> freePorts(int count) {
        List<Integer> free = new ArrayList<>();
        for (int port = FIRST_PORT; port <= LAST_PORT && free.size() < count; port++) {
            if (bindable("127.0.0.1", port) && bindable("::1", port)) {
                free.add(port);
            }
        }
        Assumptions.assumeTrue(free.size() == count, "fewer than " + count + " free ports in " + FIRST_PORT + "-" + LAST_PORT);
        return free;
    }

    private static boolean bindable(String host, int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(host), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** True when a socket listens on {@code port} (any local address), as the kernel's tables say. */
    private static boolean listening(int port) {
        String hexPort = String.format(":%04X", port);
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            try {
                for (String line : Files.readAllLines(Path.of(table))) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length > 3 && f[1].endsWith(hexPort) && f[3].equals("0A")) { // 0A: TCP_LISTEN
                        return true;
                    }
                }
            } catch (IOException e) {
                return false;
            }
        }
        return false;
    }
}
