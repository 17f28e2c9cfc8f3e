package io.sluice.smtp.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import io.sluice.tls.CertifiedKey;
import io.sluice.tls.SelfSignedCertificate;

/**
 * A scripted SMTP/LMTP next hop on loopback for client tests: a blocking server, one thread per
 * connection. Each test sets the replies it wants (by command verb, and per recipient), and what
 * STARTTLS does (real TLS with a self-signed certificate for {@code mx.test}, garbage, or a 220
 * with injected replies behind it). BDAT (with CHUNKING in {@link #extraCapabilities}) replies
 * {@code BDAT} to each chunk but the last, {@code BDAT:n} to the n-th (from 1), {@code DOT} to
 * the LAST one (LMTP: per recipient), and after a failed chunk {@code 503} to the rest. It records
 * every command line, every message body, and every byte received before TLS started. Like
 * Haraka, it writes each reply on its own with Nagle's algorithm on.
 */
final class FakeNextHop implements AutoCloseable {
    /** What the fake does after its 220 to STARTTLS. */
    enum TlsBehaviour { REAL, GARBAGE, INJECT }

    private static final CertifiedKey KEY = certificate();

    final ServerSocket server;
    final List<String> commands = new CopyOnWriteArrayList<>();
    final List<String> messages = new CopyOnWriteArrayList<>();
    final ByteArrayOutputStream plaintext = new ByteArrayOutputStream();
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger tlsSessions = new AtomicInteger();
    /** Replies by verb (GREETING, EHLO, HELO, LHLO, MAIL, RCPT, DATA, DOT, RSET, STARTTLS, QUIT). */
    final Map<String, String> replies = new ConcurrentHashMap<>();
    /** RCPT replies by address (overrides RCPT); for LMTP also the reply after the dot per address (key "DOT:" + address). */
    final Map<String, String> byRecipient = new ConcurrentHashMap<>();
    volatile boolean offerStartTls;
    volatile boolean pipelining = true;
    volatile String extraCapabilities = "";
    volatile TlsBehaviour tlsBehaviour = TlsBehaviour.REAL;
    /** Close the connection after this many octets of message content; -1 = never. */
    volatile int dropAfterContentOctets = -1;
    volatile boolean lmtp;
    /** Hold MAIL and RCPT replies until DATA or BDAT arrives: only a pipelining client gets them. */
    volatile boolean repliesOnlyAfterContentCommand;
    /** Raw content octets of every BDAT transaction that ended with LAST (SMTP: before its reply). */
    final List<byte[]> chunkedMessages = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    FakeNextHop() throws IOException {
        server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        replies.put("GREETING", "220 fake.test ESMTP");
        replies.put("MAIL", "250 2.1.0 ok");
        replies.put("RCPT", "250 2.1.5 ok");
        replies.put("DATA", "354 go ahead");
        replies.put("DOT", "250 2.0.0 queued");
        replies.put("RSET", "250 2.0.0 ok");
        replies.put("QUIT", "221 2.0.0 bye");
        replies.put("HELO", "250 fake.test");
        replies.put("STARTTLS", "220 2.0.0 ready");
        Thread acceptor = new Thread(this::acceptLoop, "fake-next-hop");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private static CertifiedKey certificate() {
        try {
            return SelfSignedCertificate.create("mx.test", "EC");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    int port() {
        return server.getLocalPort();
    }

    String plaintextReceived() {
        synchronized (plaintext) {
            return plaintext.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = server.accept();
                connections.incrementAndGet();
                Thread t = new Thread(() -> serve(s), "fake-next-hop-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            socket.setSoTimeout(10_000);
            // Nagle on (the JDK's default, said here because tests rely on it): like Haraka, each
            // reply below is its own write, so a second small reply waits for the ACK of the first.
            socket.setTcpNoDelay(false);
            Peer peer = new Peer(socket.getInputStream(), socket.getOutputStream(), true);
            peer.reply(replies.get("GREETING"));
            if (!replies.get("GREETING").startsWith("2")) {
                peer.readLine(); // QUIT
                peer.reply("221 bye");
                return;
            }
            dialog(peer, socket, false);
        } catch (IOException | RuntimeException ignored) {
            // the client went away: the test asserts what it saw
        }
    }

    private void dialog(Peer peer, Socket socket, boolean inTls) throws IOException {
        List<String> rcpts = new ArrayList<>();
        Chunks chunks = new Chunks();
        while (true) {
            String line = peer.readLine();
            if (line == null) {
                return;
            }
            commands.add((inTls ? "tls:" : "") + line);
            String verb = line.length() >= 4 ? line.substring(0, 4).toUpperCase() : line.toUpperCase();
            switch (verb) {
                case "EHLO", "LHLO" -> peer.reply(ehlo(inTls, verb));
                case "HELO" -> peer.reply(replies.get("HELO"));
                case "MAIL" -> {
                    rcpts.clear();
                    chunks.reset();
                    chunks.mailOk = replies.get("MAIL").startsWith("2");
                    peer.transactionReply(replies.get("MAIL"));
                }
                case "RCPT" -> {
                    String address = line.substring(line.indexOf('<') + 1, line.lastIndexOf('>'));
                    String reply = byRecipient.getOrDefault(address, replies.get("RCPT"));
                    if (reply.startsWith("2")) {
                        rcpts.add(address);
                    }
                    peer.transactionReply(reply);
                }
                case "BDAT" -> {
                    if (!chunk(peer, line, rcpts, chunks)) {
                        return;
                    }
                }
                case "DATA" -> {
                    peer.flushHeld();
                    String reply = replies.get("DATA");
                    peer.reply(reply);
                    if (reply.startsWith("354")) {
                        if (!content(peer, chunks.mailOk && !rcpts.isEmpty())) {
                            return;
                        }
                        if (lmtp) {
                            for (String r : rcpts) {
                                peer.reply(byRecipient.getOrDefault("DOT:" + r, replies.get("DOT")));
                            }
                        } else {
                            peer.reply(replies.get("DOT"));
                        }
                    }
                }
                case "RSET" -> {
                    rcpts.clear();
                    chunks.reset();
                    peer.reply(replies.get("RSET"));
                }
                case "QUIT" -> {
                    peer.reply(replies.get("QUIT"));
                    return;
                }
                case "STAR" -> {
                    if (startTls(peer, socket)) {
                        return;
                    }
                }
                default -> peer.reply("502 5.5.2 unknown");
            }
        }
    }

    /** BDAT state of one transaction. */
    private static final class Chunks {
        final ByteArrayOutputStream body = new ByteArrayOutputStream();
        int count;
        boolean failed;
        boolean mailOk;

        void reset() {
            body.reset();
            count = 0;
            failed = false;
            mailOk = false;
        }
    }

    /**
     * One {@code BDAT n [LAST]}: reads exactly n octets, then replies (RFC 3030; LMTP per recipient
     * after LAST); false when the fake hangs up inside the chunk ({@link #dropAfterContentOctets}).
     */
    private boolean chunk(Peer peer, String line, List<String> rcpts, Chunks chunks) throws IOException {
        peer.flushHeld();
        String[] words = line.split(" ");
        int size = Integer.parseInt(words[1]);
        boolean last = words.length > 2 && words[2].equalsIgnoreCase("LAST");
        if (dropAfterContentOctets >= 0 && chunks.body.size() + size > dropAfterContentOctets) {
            peer.readOctets(Math.max(0, dropAfterContentOctets - chunks.body.size()));
            return false;
        }
        byte[] octets = peer.readOctets(size);
        if (octets == null) {
            throw new IOException("connection closed inside a chunk");
        }
        chunks.count++;
        if (!chunks.mailOk || rcpts.isEmpty() || chunks.failed) {
            chunks.failed = true;
            peer.reply(!chunks.mailOk || chunks.count > 1 ? "503 5.5.1 bad sequence of commands" : "554 5.5.1 no valid recipients");
            return true;
        }
        chunks.body.write(octets);
        if (!last) {
            String reply = replies.getOrDefault("BDAT:" + chunks.count, replies.getOrDefault("BDAT", "250 2.0.0 chunk ok"));
            chunks.failed = !reply.startsWith("2");
            peer.reply(reply);
            return true;
        }
        String reply = replies.getOrDefault("BDAT:" + chunks.count, null);
        if (reply != null && !reply.startsWith("2")) {
            chunks.failed = true;
            peer.reply(reply);
            return true;
        }
        chunkedMessages.add(chunks.body.toByteArray());
        messages.add(chunks.body.toString(StandardCharsets.ISO_8859_1));
        if (lmtp) {
            for (String r : rcpts) {
                peer.reply(byRecipient.getOrDefault("DOT:" + r, replies.get("DOT")));
            }
        } else {
            peer.reply(replies.get("DOT"));
        }
        chunks.reset();
        chunks.mailOk = false;
        return true;
    }

    /** Returns true when this connection is finished (TLS dialog ran or the fake hung up). */
    private boolean startTls(Peer peer, Socket socket) throws IOException {
        String reply = replies.get("STARTTLS");
        if (!reply.startsWith("220")) {
            peer.reply(reply);
            return false;
        }
        switch (tlsBehaviour) {
            case GARBAGE -> {
                peer.reply(reply);
                peer.out.write("this is not a TLS record at all\r\n".getBytes(StandardCharsets.US_ASCII));
                peer.out.flush();
                peer.readLine(); // whatever comes: recorded as plaintext
                return true;
            }
            case INJECT -> {
                // CVE-2021-38371: replies queued behind the 220, before any TLS
                peer.out.write((reply + "\r\n250-injected\r\n250 PIPELINING\r\n").getBytes(StandardCharsets.US_ASCII));
                peer.out.flush();
            }
            default -> peer.reply(reply);
        }
        SSLSocket tls = (SSLSocket) sslContext().getSocketFactory().createSocket(socket, "localhost",
                socket.getPort(), true);
        tls.setUseClientMode(false);
        peer.recording = false;
        try {
            tls.startHandshake();
        } catch (IOException e) {
            return true;
        }
        tlsSessions.incrementAndGet();
        dialog(new Peer(tls.getInputStream(), tls.getOutputStream(), false), tls, true);
        return true;
    }

    private static SSLContext sslContext() {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("k", KEY.key(), new char[0], KEY.chain().toArray(new java.security.cert.Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(store, new char[0]);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), null, null);
            return context;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The PEM of the fake's certificate, to trust it under {@code verify}. */
    static String certificatePem() {
        try {
            return "-----BEGIN CERTIFICATE-----\n"
                    + java.util.Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                            .encodeToString(KEY.leaf().getEncoded())
                    + "\n-----END CERTIFICATE-----\n";
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private String ehlo(boolean inTls, String verb) {
        String reply = replies.get(verb.equals("LHLO") ? "LHLO" : "EHLO");
        if (reply != null) {
            return reply;
        }
        StringBuilder b = new StringBuilder("250-fake.test");
        if (pipelining) {
            b.append("\r\n250-PIPELINING");
        }
        if (offerStartTls && !inTls) {
            b.append("\r\n250-STARTTLS");
        }
        for (String c : extraCapabilities.split(",")) {
            if (!c.isBlank()) {
                b.append("\r\n250-").append(c.trim());
            }
        }
        return b.append("\r\n250 8BITMIME").toString();
    }

    /** Reads the content up to the dot line (kept unless the transaction has no sender or recipient); false if the fake dropped the connection on purpose. */
    private boolean content(Peer peer, boolean keep) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String line = peer.readLine();
            if (line == null) {
                return false;
            }
            if (line.equals(".")) {
                break;
            }
            body.write(line.getBytes(StandardCharsets.ISO_8859_1));
            body.write('\r');
            body.write('\n');
            if (dropAfterContentOctets >= 0 && body.size() >= dropAfterContentOctets) {
                return false;
            }
        }
        if (keep) {
            messages.add(body.toString(StandardCharsets.ISO_8859_1)); // not the dot after a 354 nobody could use
        }
        return true;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
    }

    /** One side of the dialog: CRLF lines in, replies out; records raw bytes while {@code recording}. */
    private final class Peer {
        final InputStream in;
        final OutputStream out;
        volatile boolean recording;
        private final StringBuilder held = new StringBuilder();

        Peer(InputStream in, OutputStream out, boolean recording) {
            this.in = in;
            this.out = out;
            this.recording = recording;
        }

        String readLine() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int previous = -1;
            while (true) {
                int b = in.read();
                if (b < 0) {
                    return null;
                }
                if (recording) {
                    synchronized (plaintext) {
                        plaintext.write(b);
                    }
                }
                if (previous == '\r' && b == '\n') {
                    byte[] bytes = line.toByteArray();
                    return new String(bytes, 0, bytes.length - 1, StandardCharsets.ISO_8859_1);
                }
                line.write(b);
                previous = b;
            }
        }

        /** A MAIL or RCPT reply: held back under {@link #repliesOnlyAfterContentCommand}. */
        void transactionReply(String text) throws IOException {
            if (repliesOnlyAfterContentCommand) {
                held.append(text).append("\r\n");
            } else {
                reply(text);
            }
        }

        void flushHeld() throws IOException {
            if (held.length() > 0) {
                out.write(held.toString().getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                held.setLength(0);
            }
        }

        /** Exactly {@code n} octets, or null at the end of the stream. */
        byte[] readOctets(int n) throws IOException {
            byte[] bytes = in.readNBytes(n);
            if (recording) {
                synchronized (plaintext) {
                    plaintext.write(bytes, 0, bytes.length);
                }
            }
            return bytes.length == n ? bytes : null;
        }

        void reply(String text) throws IOException {
            out.write((text + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }
    }
}
