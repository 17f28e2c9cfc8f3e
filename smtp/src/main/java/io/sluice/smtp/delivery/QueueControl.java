package io.sluice.smtp.delivery;

import java.io.Closeable;
import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

import io.sluice.smtp.spool.QueueId;

/**
 * The queue manager's control channel: a Unix domain socket {@code control.sock} in the spool
 * directory, through which {@code sluice queue} talks to a running server. One request per
 * connection: the client writes one line, the server answers with lines and closes.
 *
 * <pre>
 *   STATUS          one {@link RecipientStatus} line per recipient of every queued message
 *   RETRY ID|*      makes the deferred recipients of one message (or all) due now; "OK n"
 *   DELETE ID       deletes a queued message (journalled); "OK 1" or "OK 0"
 * </pre>
 *
 * The server side runs one daemon thread ({@code sluice-queue-control}) that accepts, reads the
 * line and hands it to the queue thread, which answers; so every answer is consistent with the
 * queue thread's state. Access is whoever may open the socket file (the spool directory's
 * permissions). The client side ({@link #ask}) may be called from any thread.
 */
public final class QueueControl implements Closeable {
    /** The socket's file name in the spool directory. */
    public static final String SOCKET_NAME = "control.sock";
    /** Request: every recipient's state. */
    public static final String STATUS = "STATUS";
    /** Request: retry now. */
    public static final String RETRY = "RETRY";
    /** Request: delete a message. */
    public static final String DELETE = "DELETE";
    /** RETRY's argument for every message. */
    public static final String ALL = "*";
    /** First word of a successful RETRY/DELETE answer. */
    public static final String OK = "OK";
    /** First word of a refused request's answer. */
    public static final String ERROR = "ERROR";
    private static final int MAX_REQUEST_OCTETS = 256;
    private static final long ANSWER_TIMEOUT_SECONDS = 10;
    /** How long a control client may take to send its request, and again to read the answer. */
    static final long CLIENT_IO_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final ServerSocketChannel server;
    private final Path socket;
    private final Function<String, CompletableFuture<List<String>>> handler;
    private final Thread thread;
    private final long clientIoTimeoutNanos;
    private volatile boolean closed;

    private QueueControl(ServerSocketChannel server, Path socket,
            Function<String, CompletableFuture<List<String>>> handler, long clientIoTimeoutNanos) {
        this.clientIoTimeoutNanos = clientIoTimeoutNanos;
        this.server = server;
        this.socket = socket;
        this.handler = handler;
        this.thread = new Thread(this::acceptLoop, "sluice-queue-control");
        thread.setDaemon(true);
    }

    /**
     * Binds {@code control.sock} in {@code dir} (a stale one from a crashed server is replaced:
     * the caller holds the spool lock, so no other server uses it) and starts serving.
     */
    static QueueControl serve(Path dir, Function<String, CompletableFuture<List<String>>> handler)
            throws IOException {
        return serve(dir, handler, CLIENT_IO_TIMEOUT_NANOS);
    }

    /** As {@link #serve(Path, Function)} with another client I/O deadline (tests). */
    static QueueControl serve(Path dir, Function<String, CompletableFuture<List<String>>> handler,
            long clientIoTimeoutNanos) throws IOException {
        Path socket = dir.resolve(SOCKET_NAME);
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(socket));
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        QueueControl control = new QueueControl(server, socket, handler, clientIoTimeoutNanos);
        control.thread.start();
        return control;
    }

    private void acceptLoop() {
        while (!closed) {
            try (SocketChannel client = server.accept()) {
                if (closed) {
                    return; // the wake-up connection of close()
                }
                answer(client);
            } catch (IOException | RuntimeException e) {
                if (closed) {
                    return;
                }
                // One bad client must not end the channel; the next accept goes on.
            }
        }
    }

    private void answer(SocketChannel client) throws IOException {
        client.configureBlocking(false);
        try (Selector selector = Selector.open()) {
            String request = readLine(client, selector, System.nanoTime() + clientIoTimeoutNanos);
            if (request == null) {
                return; // a client that says nothing in time is dropped; the next one is served
            }
            List<String> lines;
            try {
                lines = handler.apply(request).get(ANSWER_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                lines = List.of(ERROR + " interrupted");
            } catch (ExecutionException | TimeoutException e) {
                lines = List.of(ERROR + " " + e);
            }
            StringBuilder out = new StringBuilder(lines.size() * 64);
            for (String line : lines) {
                out.append(line).append('\n');
            }
            ByteBuffer bytes = ByteBuffer.wrap(out.toString().getBytes(StandardCharsets.UTF_8));
            writeAll(client, bytes, selector, System.nanoTime() + clientIoTimeoutNanos);
        }
    }

    /**
     * The request line, or null when the client sent no full line before the deadline. Why
     * non-blocking with a deadline: the control thread serves one client at a time, so one that
     * connects and never writes (or never reads) would otherwise shut out every later
     * {@code sluice queue}.
     */
    private static String readLine(SocketChannel client, Selector selector, long deadlineNanos) throws IOException {
        ByteBuffer in = ByteBuffer.allocate(MAX_REQUEST_OCTETS);
        client.register(selector, SelectionKey.OP_READ);
        while (in.hasRemaining()) {
            int before = in.position();
            int n = client.read(in);
            if (n < 0) {
                break;
            }
            for (int i = before; i < in.position(); i++) {
                if (in.get(i) == '\n') {
                    return new String(in.array(), 0, i, StandardCharsets.UTF_8).trim();
                }
            }
            if (n == 0 && !awaitReady(selector, deadlineNanos)) {
                return null;
            }
        }
        return new String(in.array(), 0, in.position(), StandardCharsets.UTF_8).trim();
    }

    /** Writes the answer; gives up at the deadline (a client that does not read loses its answer). */
    private static void writeAll(SocketChannel client, ByteBuffer bytes, Selector selector, long deadlineNanos)
            throws IOException {
        client.keyFor(selector).interestOps(SelectionKey.OP_WRITE); // registered by readLine
        while (bytes.hasRemaining()) {
            if (client.write(bytes) == 0 && !awaitReady(selector, deadlineNanos)) {
                return;
            }
        }
    }

    /** Waits for the one registered key to be ready; false at the deadline. */
    private static boolean awaitReady(Selector selector, long deadlineNanos) throws IOException {
        long leftMillis = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
        if (leftMillis <= 0) {
            return false;
        }
        selector.select(leftMillis);
        selector.selectedKeys().clear();
        return true;
    }

    /** Stops serving and removes the socket file. */
    @Override
    public void close() {
        closed = true;
        // Closing a channel blocked in accept() does not always wake it: a connection does.
        try (SocketChannel wake = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            wake.shutdownOutput();
        } catch (IOException e) {
            // Not listening any more: the accept loop has ended or will see the close.
        }
        try {
            server.close();
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            // Nothing to do: a stale socket file is replaced by the next server.
        }
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Client: sends one request to the server running on {@code spoolDir}; empty when no server
     * listens there (no socket file, or a stale one).
     */
    public static Optional<List<String>> ask(Path spoolDir, String request) throws IOException {
        Path socket = spoolDir.resolve(SOCKET_NAME);
        if (!Files.exists(socket)) {
            return Optional.empty();
        }
        SocketChannel ch;
        try {
            ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        } catch (ConnectException e) {
            return Optional.empty();
        }
        try (ch) {
            ch.write(ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8)));
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
            while (ch.read(buf) >= 0) {
                all.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            List<String> lines = new ArrayList<>();
            for (String line : all.toString(StandardCharsets.UTF_8).split("\n")) {
                if (!line.isEmpty()) {
                    lines.add(line);
                }
            }
            return Optional.of(lines);
        }
    }

    /**
     * One recipient's state as {@code sluice queue} shows it. A value, any thread.
     *
     * @param id                the message
     * @param index             the recipient's position in the envelope
     * @param state             pending, deferred, delivered or failed
     * @param attempts          attempts made
     * @param nextAttemptMillis when a deferred recipient is tried next (epoch ms), else 0
     * @param lastReply         the last attempt's reply, e.g. {@code 451 4.4.1 timeout}, or empty
     */
    public record RecipientStatus(QueueId id, int index, String state, int attempts, long nextAttemptMillis,
                                  String lastReply) {

        /** The wire form: the fields separated by tabs (the reply text holds no control characters). */
        public String toLine() {
            return id + "\t" + index + "\t" + state + "\t" + attempts + "\t" + nextAttemptMillis + "\t" + lastReply;
        }

        /** Parses {@link #toLine()}; IllegalArgumentException if malformed. */
        public static RecipientStatus parse(String line) {
            String[] f = line.split("\t", 6);
            if (f.length != 6) {
                throw new IllegalArgumentException("not a status line: " + line);
            }
            return new RecipientStatus(QueueId.parse(f[0]), Integer.parseInt(f[1]), f[2], Integer.parseInt(f[3]),
                    Long.parseLong(f[4]), f[5]);
        }

        /** The state a server that is not running would have, from the journal's record (or none). */
        public static RecipientStatus offline(QueueId id, int index, RecipientJournal.MessageRecord record) {
            RecipientJournal.RecipientRecord r = record == null ? null : record.recipient(index);
            if (r == null) {
                return new RecipientStatus(id, index, "pending", 0, 0, "");
            }
            return new RecipientStatus(id, index, r.state(), r.attempts(), r.isFinal() ? 0 : r.millis(), r.reply());
        }
    }
}
