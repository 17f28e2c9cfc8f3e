package io.sluice.bench.load;

import io.sluice.tls.CertifiedKey;
import io.sluice.tls.SelfSignedCertificate;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A minimal blocking SMTP server for the load generator's tests: one thread per connection on
 * 127.0.0.1, optional PIPELINING (answered like Haraka: one write per reply, Nagle on), STARTTLS or implicit TLS (JDK SSLSocket, self-signed EC
 * certificate), a configurable RCPT reply, optional CHUNKING (BDAT, RFC 3030), a configurable QUIT
 * reply, and counters the tests assert on. Not for production.
 */
final class TestSmtpServer implements AutoCloseable {

    /** The server's settings. */
    record Settings(TlsMode tls, boolean pipelining, String rcptReply) {
        static Settings plain() {
            return new Settings(TlsMode.NONE, true, "250 2.1.5 ok");
        }
    }

    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger handshakes = new AtomicInteger();
    final AtomicInteger messages = new AtomicInteger();
    final AtomicInteger rcpts = new AtomicInteger();
    /** MAIL commands whose RCPTs and DATA were already read together with them. */
    final AtomicInteger pipelinedEnvelopes = new AtomicInteger();
    final AtomicInteger messageBytes = new AtomicInteger();
    final Set<String> messageIds = ConcurrentHashMap.newKeySet();
    final AtomicInteger stampedMessages = new AtomicInteger();
    /** Bytes a client sent after QUIT, counted while {@link #holdOpenAfterQuit} keeps reading. */
    final AtomicInteger bytesAfterQuit = new AtomicInteger();
    /** Connections the client closed while we held them open after 221. */
    final AtomicInteger clientClosedAfterQuit = new AtomicInteger();
    /** After 221, keep the connection open and read until the client closes (plain text only). */
    volatile boolean holdOpenAfterQuit;
    /** Offer CHUNKING and take BDAT; set before the first connection. */
    volatile boolean chunking;
    /** Refuse BDAT chunks after this many message octets of a message (5xx); -1: never. */
    volatile int refuseChunksAfterOctets = -1;
    /** Close the connection without a reply once this many chunks of a message are read; 0: never. */
    volatile int closeAfterChunks;
    /** The reply to QUIT; the connection closes after it either way. */
    volatile String quitReply = "221 2.0.0 bye";
    /** BDAT commands read. */
    final AtomicInteger bdatChunks = new AtomicInteger();
    /** BDAT LAST commands whose message ended with the DATA terminator (a client that dot-stuffs BDAT). */
    final AtomicInteger dotTerminatedBdatMessages = new AtomicInteger();

    private final Settings settings;
    private final ServerSocket listener;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-smtp");
        t.setDaemon(true);
        return t;
    });
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final SSLContext sslContext;

    TestSmtpServer(Settings settings) throws IOException, GeneralSecurityException {
        this.settings = settings;
        this.sslContext = settings.tls() == TlsMode.NONE ? null : serverContext();
        this.listener = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        threads.execute(this::acceptLoop);
    }

    InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort());
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket socket : open) {
            socket.close();
        }
        threads.shutdownNow();
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket socket = listener.accept();
                socket.setTcpNoDelay(false); // Nagle on, like Haraka (Node's default)
                open.add(socket);
                connections.incrementAndGet();
                threads.execute(() -> serve(socket));
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void serve(Socket accepted) {
        Socket socket = accepted;
        try {
            if (settings.tls() == TlsMode.IMPLICIT) {
                socket = startTls(socket);
            }
            Session session = new Session(socket);
            session.reply("220 test.example ESMTP");
            session.run();
        } catch (IOException ignored) {
            // the client went away; the tests assert on counters
        } finally {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            open.remove(accepted);
        }
    }

    private SSLSocket startTls(Socket socket) throws IOException {
        SSLSocket ssl = (SSLSocket) sslContext.getSocketFactory().createSocket(socket, "test.example", socket.getPort(), true);
        ssl.setUseClientMode(false);
        ssl.startHandshake();
        handshakes.incrementAndGet();
        return ssl;
    }

    private static SSLContext serverContext() throws GeneralSecurityException, IOException {
        CertifiedKey key = SelfSignedCertificate.create("test.example", "EC");
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        char[] password = "test".toCharArray();
        store.setKeyEntry("key", key.key(), password, key.chain().toArray(new Certificate[0]));
        KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        factory.init(store, password);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(factory.getKeyManagers(), null, null);
        return context;
    }

    /** One connection's dialogue; its own buffer so it can tell what arrived in one read. */
    private final class Session {
        private Socket socket;
        private InputStream in;
        private OutputStream out;
        private byte[] buffer = new byte[64 * 1024];
        private int position;
        private int limit;
        private boolean tls = settings.tls() == TlsMode.IMPLICIT;
        /** The BDAT chunks of the message in progress. */
        private final ByteArrayOutputStream chunked = new ByteArrayOutputStream();
        private int chunksOfMessage;

        Session(Socket socket) throws IOException {
            use(socket);
        }

        private void use(Socket next) throws IOException {
            socket = next;
            in = next.getInputStream();
            out = next.getOutputStream();
            position = 0;
            limit = 0;
        }

        void run() throws IOException {
            int accepted = 0;
            boolean mail = false;
            String line;
            while ((line = readLine()) != null) {
                String verb = line.length() >= 4 ? line.substring(0, 4).toUpperCase() : line.toUpperCase();
                switch (verb) {
                    case "EHLO" -> ehlo();
                    case "STAR" -> {
                        reply("220 2.0.0 go ahead");
                        use(startTls(socket));
                        tls = true;
                    }
                    case "MAIL" -> {
                        String ahead = buffered();
                        if (ahead.contains("DATA\r\n") || ahead.contains("BDAT ")) {
                            pipelinedEnvelopes.incrementAndGet();
                        }
                        mail = true;
                        accepted = 0;
                        reply("250 2.1.0 ok");
                    }
                    case "RCPT" -> {
                        rcpts.incrementAndGet();
                        String answer = mail ? settings.rcptReply() : "503 5.5.1 MAIL first";
                        if (answer.startsWith("2")) {
                            accepted++;
                        }
                        reply(answer);
                    }
                    case "DATA" -> {
                        if (accepted == 0) {
                            reply("554 5.5.1 no valid recipients");
                        } else {
                            reply("354 go ahead");
                            readMessage();
                            reply("250 2.0.0 queued");
                        }
                        mail = false;
                    }
                    case "BDAT" -> {
                        bdat(line, mail && accepted > 0);
                        if (line.toUpperCase().endsWith(" LAST")) {
                            mail = false;
                        }
                    }
                    case "RSET" -> {
                        mail = false;
                        chunked.reset();
                        chunksOfMessage = 0;
                        reply("250 2.0.0 ok");
                    }
                    case "QUIT" -> {
                        reply(quitReply);
                        if (holdOpenAfterQuit && !tls) {
                            bytesAfterQuit.addAndGet(limit - position);
                            for (int n; (n = in.read(buffer)) > 0; ) {
                                bytesAfterQuit.addAndGet(n);
                            }
                            clientClosedAfterQuit.incrementAndGet();
                        }
                        return;
                    }
                    default -> reply("502 5.5.2 unknown");
                }
            }
        }

        private void ehlo() throws IOException {
            StringBuilder text = new StringBuilder("250-test.example\r\n");
            if (settings.pipelining()) {
                text.append("250-PIPELINING\r\n");
            }
            if (settings.tls() == TlsMode.STARTTLS && !tls) {
                text.append("250-STARTTLS\r\n");
            }
            if (chunking) {
                text.append("250-CHUNKING\r\n");
            }
            text.append("250 8BITMIME\r\n");
            out.write(text.toString().getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        /** One BDAT command: reads its chunk whatever the reply, counts the message at LAST. */
        private void bdat(String line, boolean transaction) throws IOException {
            bdatChunks.incrementAndGet();
            String[] words = line.split(" ");
            int octets = Integer.parseInt(words[1]);
            boolean last = words.length > 2 && words[2].equalsIgnoreCase("LAST");
            byte[] chunk = readOctets(octets);
            chunksOfMessage++;
            if (closeAfterChunks > 0 && chunksOfMessage >= closeAfterChunks) {
                throw new IOException("scripted close after " + chunksOfMessage + " chunks"); // serve() closes
            }
            if (!transaction) {
                reply("554 5.5.1 no valid recipients");
                return;
            }
            chunked.write(chunk, 0, chunk.length);
            if (refuseChunksAfterOctets >= 0 && chunked.size() > refuseChunksAfterOctets) {
                reply("552 5.3.4 too much");
            } else if (!last) {
                reply("250 2.0.0 " + octets + " octets");
            } else {
                String text = chunked.toString(StandardCharsets.US_ASCII);
                chunked.reset();
                chunksOfMessage = 0;
                if (text.endsWith("\r\n.\r\n")) {
                    dotTerminatedBdatMessages.incrementAndGet();
                }
                messageBytes.addAndGet(text.length());
                for (String header : text.split("\r\n")) {
                    if (header.isEmpty()) {
                        break;
                    }
                    if (header.startsWith("Message-ID: ")) {
                        messageIds.add(header);
                    }
                    if (header.matches("X-Sluice-Sent: [0-9]{16}")) {
                        stampedMessages.incrementAndGet();
                    }
                }
                messages.incrementAndGet();
                reply("250 2.0.0 queued");
            }
        }

        private byte[] readOctets(int octets) throws IOException {
            byte[] chunk = new byte[octets];
            int have = Math.min(octets, limit - position);
            System.arraycopy(buffer, position, chunk, 0, have);
            position += have;
            while (have < octets) {
                int n = in.read(chunk, have, octets - have);
                if (n < 0) {
                    throw new IOException("end of stream in a chunk");
                }
                have += n;
            }
            return chunk;
        }

        private void readMessage() throws IOException {
            int bytes = 0;
            boolean stamped = false;
            String line;
            while ((line = readLine()) != null && !line.equals(".")) {
                bytes += line.length() + 2;
                if (line.startsWith("Message-ID: ")) {
                    messageIds.add(line);
                }
                if (line.matches("X-Sluice-Sent: [0-9]{16}")) {
                    stamped = true;
                }
            }
            messageBytes.addAndGet(bytes);
            if (stamped) {
                stampedMessages.incrementAndGet();
            }
            messages.incrementAndGet();
        }

        void reply(String line) throws IOException {
            out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        private String buffered() {
            return new String(buffer, position, limit - position, StandardCharsets.US_ASCII);
        }

        /** The next CRLF-terminated line without CRLF, or null at end of stream. */
        private String readLine() throws IOException {
            while (true) {
                for (int i = position; i + 1 < limit; i++) {
                    if (buffer[i] == '\r' && buffer[i + 1] == '\n') {
                        String line = new String(buffer, position, i - position, StandardCharsets.US_ASCII);
                        position = i + 2;
                        return line;
                    }
                }
                if (position > 0) {
                    System.arraycopy(buffer, position, buffer, 0, limit - position);
                    limit -= position;
                    position = 0;
                }
                if (limit == buffer.length) {
                    throw new IOException("line too long");
                }
                int n = in.read(buffer, limit, buffer.length - limit);
                if (n < 0) {
                    return null;
                }
                limit += n;
            }
        }
    }
}
