package io.sluice.smtp.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import io.sluice.smtp.config.ListenerMode;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.spool.QueuedMessage;

/** A real {@link SmtpServer} on loopback ephemeral ports with its spool in a test directory. */
final class TestServer implements AutoCloseable {

    final SmtpServer server;
    final Path dir;

    TestServer(Path dir, SmtpServer.Mode mode, Map<String, String> extra) throws IOException {
        this(dir, mode, extra, EventLog.silent());
    }

    TestServer(Path dir, SmtpServer.Mode mode, Map<String, String> extra, EventLog log) throws IOException {
        this.dir = dir;
        Map<String, String> settings = new HashMap<>();
        settings.put("listen", "127.0.0.1:0 smtp, 127.0.0.1:0 smtps, 127.0.0.1:0 submission");
        settings.put("hostname", "mx.test");
        settings.put("spool.dir", dir.resolve("spool").toString());
        settings.put("reactor.threads", "2");
        settings.put("domains", "example.net");
        // Mail stays queued (deferred) for the test to inspect, and no test ever asks real DNS or
        // connects off loopback: the default route (smtp:, MX lookup) would do both.
        if (!extra.containsKey("relay.host")) { // relay.host is transport.* in short: one or the other
            settings.put("transport.*", "error:4.3.2 test server keeps mail queued");
        }
        settings.putAll(extra);
        server = SmtpServer.start(SluiceConfig.load(null, settings), mode, log);
    }

    TestServer(Path dir) throws IOException {
        this(dir, SmtpServer.Mode.SERVE, Map.of());
    }

    InetSocketAddress address(ListenerMode mode) {
        return server.boundAddress(mode);
    }

    int port() {
        return address(ListenerMode.SMTP).getPort();
    }

    List<QueuedMessage> queued() {
        return server.spool().list();
    }

    String content(QueuedMessage message) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        server.spool().copyContent(message.id(), Channels.newChannel(out));
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The stored message text after our Received: line. */
    String body(QueuedMessage message) throws IOException {
        String text = content(message);
        return text.substring(text.indexOf("\r\n", text.indexOf("; ")) + 2);
    }

    @Override
    public void close() {
        server.close();
    }

    /** Waits for {@code condition} for at most {@code timeout}; false if it never held. */
    static boolean await(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }

    /** A plain socket client that reads whole SMTP replies (multi-line aware). */
    static final class Client implements AutoCloseable {

        Socket socket;
        InputStream in;
        OutputStream out;

        Client(int port) throws IOException {
            socket = new Socket();
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout(10_000);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        }

        /** Over a socket the caller connected (and set a read timeout on). */
        Client(Socket connected) throws IOException {
            socket = connected;
            in = connected.getInputStream();
            out = connected.getOutputStream();
        }

        void upgrade(Socket tls) throws IOException {
            socket = tls;
            in = tls.getInputStream();
            out = tls.getOutputStream();
        }

        void send(String text) throws IOException {
            out.write(text.getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        /** One reply, all its lines, CRLFs kept. */
        String reply() throws IOException {
            StringBuilder reply = new StringBuilder();
            while (true) {
                String line = line();
                reply.append(line);
                if (line.length() < 4 || line.charAt(3) != '-') {
                    return reply.toString();
                }
            }
        }

        String line() throws IOException {
            StringBuilder line = new StringBuilder();
            int previous = -1;
            while (true) {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("connection closed after \"" + line + "\"");
                }
                line.append((char) b);
                if (previous == '\r' && b == '\n') {
                    return line.toString();
                }
                previous = b;
            }
        }

        /** True when the server closed the connection (read returns end of stream). */
        boolean closedByServer() throws IOException {
            try {
                return in.read() < 0;
            } catch (java.net.SocketException e) {
                return true;
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
