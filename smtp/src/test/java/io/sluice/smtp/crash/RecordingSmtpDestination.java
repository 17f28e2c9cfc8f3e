package io.sluice.smtp.crash;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A small SMTP next hop on 127.0.0.1 that records every message it accepts: one
 * {@link CrashDestination.Delivery} per recipient, stamped with the server epoch current when
 * the connection was accepted. It answers EHLO/HELO (PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES),
 * MAIL, RCPT, DATA, RSET, NOOP and QUIT; a message is recorded after its final dot and before its
 * {@code 250}, so a copy whose {@code 250} never reached the sender is recorded too (that is the
 * "acknowledgement in flight" a resend duplicates). One thread per connection; stops on
 * {@link #close()}. Any thread may call {@link #deliveries()}.
 */
final class RecordingSmtpDestination implements CrashDestination {
    private static final int MAX_LINE_OCTETS = 64 * 1024;
    private static final int READ_TIMEOUT_MILLIS = 60_000;

    private final ServerSocket listener;
    private final Thread acceptor;
    private final ConcurrentLinkedQueue<Delivery> recorded = new ConcurrentLinkedQueue<>();
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong connections = new AtomicLong();
    private final AtomicLong transactions = new AtomicLong();
    private final AtomicLong closedConnections = new AtomicLong();
    private volatile int epoch;
    private volatile boolean closed;

    /** Listens on an ephemeral loopback port at once. */
    RecordingSmtpDestination() throws IOException {
        listener = new ServerSocket(0, 128, InetAddress.getByName("127.0.0.1"));
        acceptor = new Thread(this::acceptLoop, "recording-smtp-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    @Override
    public String transport() {
        return "smtp:[127.0.0.1]:" + port();
    }

    @Override
    public void serverStarted(int epoch, long pid) {
        this.epoch = epoch;
    }

    @Override
    public List<Delivery> deliveries() {
        return new ArrayList<>(recorded);
    }

    /** Connections accepted so far. */
    long connections() {
        return connections.get();
    }

    /** Connections whose conversation is over (closed by either side). */
    long closedConnections() {
        return closedConnections.get();
    }

    /** Transactions that ended in our 250 to the final dot (one per message, whatever its recipients). */
    long transactions() {
        return transactions.get();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = listener.accept();
                connections.incrementAndGet();
                int connectionEpoch = epoch;
                open.add(s);
                Thread t = new Thread(() -> serve(s, connectionEpoch), "recording-smtp-" + connections.get());
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("recording smtp destination: accept failed: " + e);
                }
                return;
            }
        }
    }

    private void serve(Socket socket, int connectionEpoch) {
        try (socket) {
            socket.setSoTimeout(READ_TIMEOUT_MILLIS);
            new Session(socket.getInputStream(), socket.getOutputStream(), connectionEpoch).run();
        } catch (SocketException e) {
            // The sending server was killed or closed the connection: its transaction is void.
        } catch (IOException e) {
            if (!closed) {
                System.err.println("recording smtp destination: " + e);
            }
        } finally {
            open.remove(socket);
            closedConnections.incrementAndGet();
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        listener.close();
        for (Socket s : open) {
            s.close();
        }
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return transport();
    }

    /** One SMTP conversation; its thread only. */
    private final class Session {
        private final InputStream in;
        private final OutputStream out;
        private final int connectionEpoch;
        private final List<String> recipients = new ArrayList<>();
        private boolean mail;

        Session(InputStream in, OutputStream out, int connectionEpoch) {
            this.in = new BufferedInputStream(in);
            this.out = new BufferedOutputStream(out);
            this.connectionEpoch = connectionEpoch;
        }

        void run() throws IOException {
            reply("220 sink.test ESMTP recording destination");
            for (String line; (line = line()) != null; ) {
                String verb = (line.length() >= 4 ? line.substring(0, 4) : line).toUpperCase(Locale.ROOT);
                switch (verb) {
                    case "EHLO":
                        reset();
                        reply("250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES");
                        break;
                    case "HELO":
                        reset();
                        reply("250 sink.test");
                        break;
                    case "MAIL":
                        reset();
                        mail = true;
                        reply("250 2.1.0 Ok");
                        break;
                    case "RCPT":
                        rcpt(line);
                        break;
                    case "DATA":
                        data();
                        break;
                    case "RSET":
                        reset();
                        reply("250 2.0.0 Ok");
                        break;
                    case "NOOP":
                        reply("250 2.0.0 Ok");
                        break;
                    case "QUIT":
                        reply("221 2.0.0 Bye");
                        return;
                    default:
                        reply("502 5.5.2 Command not recognized");
                        break;
                }
            }
        }

        private void rcpt(String line) throws IOException {
            int open = line.indexOf('<');
            int close = line.indexOf('>', open + 1);
            if (!mail || open < 0 || close < 0) {
                reply(mail ? "501 5.1.3 Bad recipient address syntax" : "503 5.5.1 MAIL first");
                return;
            }
            recipients.add(line.substring(open + 1, close).toLowerCase(Locale.ROOT));
            reply("250 2.1.5 Ok");
        }

        private void data() throws IOException {
            if (recipients.isEmpty()) {
                reply("554 5.5.1 No valid recipients");
                return;
            }
            reply("354 End data with <CR><LF>.<CR><LF>");
            ByteArrayOutputStream message = new ByteArrayOutputStream();
            for (String line; ; ) {
                line = line();
                if (line == null) {
                    return; // cut mid-DATA: nothing is recorded
                }
                if (line.equals(".")) {
                    break;
                }
                String unstuffed = line.startsWith(".") ? line.substring(1) : line;
                message.write(unstuffed.getBytes(StandardCharsets.ISO_8859_1));
                message.write('\r');
                message.write('\n');
            }
            LoadMessage.Parsed parsed = LoadMessage.parse(message.toByteArray());
            long now = System.currentTimeMillis();
            for (String r : recipients) {
                recorded.add(new Delivery(parsed.messageId(), r, connectionEpoch, now, parsed.intact()));
            }
            transactions.incrementAndGet();
            reset();
            reply("250 2.0.0 Ok: recorded");
        }

        private void reset() {
            mail = false;
            recipients.clear();
        }

        private void reply(String text) throws IOException {
            out.write((text + "\r\n").getBytes(StandardCharsets.US_ASCII));
            // Flush only when the peer has sent nothing more: pipelined commands get one write.
            if (in.available() == 0) {
                out.flush();
            }
        }

        /** One line without its CRLF (a bare LF also ends it), or null at end of stream. */
        private String line() throws IOException {
            StringBuilder line = new StringBuilder(80);
            for (int b; ; ) {
                b = in.read();
                if (b < 0) {
                    return null;
                }
                if (b == '\n') {
                    int n = line.length();
                    return n > 0 && line.charAt(n - 1) == '\r' ? line.substring(0, n - 1) : line.toString();
                }
                if (line.length() >= MAX_LINE_OCTETS) {
                    throw new IOException("line longer than " + MAX_LINE_OCTETS + " octets");
                }
                line.append((char) b);
            }
        }
    }
}
