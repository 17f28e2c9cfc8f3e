package io.sluice.bench.load;

import io.sluice.reactor.Connection;
import io.sluice.smtp.client.ReplyParser;
import io.sluice.reactor.ConnectionHandler;
import io.sluice.reactor.EventLoop;
import io.sluice.tls.TlsLayer;
import io.sluice.tls.TlsListener;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import javax.net.ssl.SSLException;

/**
 * One concurrent session slot of a load run: the client side of SMTP as a state machine on one
 * event loop. It opens a connection, greets (EHLO, optionally STARTTLS and EHLO again, or implicit
 * TLS), sends messages until its per-connection quota or the schedule runs out, QUITs, and opens
 * the next connection, until {@link MessageSchedule#claim} says the run is over. A message's text
 * goes with DATA, or as BDAT chunks ({@link BdatFramer}) when {@code --bdat} asks and the EHLO
 * reply offers CHUNKING.
 *
 * <p>Threading: created on any thread, then every method runs on {@code loop}'s thread only
 * (start it with {@code loop.execute(session::begin)}); it is the connection's handler and its TLS
 * listener. One object per slot serves all of its connections in turn, so steady-state sending
 * allocates nothing here (the reactor and TLS layer allocate per connection).
 *
 * <p>Warm-up: every event is recorded the same way, into the metrics of the window of the ticket it
 * belongs to ({@link LoopMetricsByWindow#of}). A connection's own figures (connect, greeting,
 * handshake, session) go to the window of the ticket it was opened for; a message's to its
 * ticket's; replies and errors to the ticket the connection is working on. There is no branch on
 * "measured" here on purpose: C2 would compile the warm-up side only and deoptimise every method
 * that inlined it at the end of warm-up.
 */
final class LoadSession implements ConnectionHandler, TlsListener {

    /** After a failed connection, wait this long before the next, so a dead server is not hammered. */
    static final long RETRY_BACKOFF_NANOS = 10_000_000L;
    /**
     * After 221, how long the server gets to close first before we do. The side that closes first
     * keeps the TIME_WAIT socket, and a client holding thousands of them makes every connect()
     * search for a free port; a client that closes into a closed socket draws a reset. Servers
     * close right after 221 (Postfix, Haraka, Sluice); one that waits costs a slot this long.
     */
    static final long SERVER_CLOSE_WAIT_NANOS = 100_000_000L;
    /** Body bytes written per step; the connection's water marks pace the rest. */
    private static final int BODY_CHUNK_BYTES = 16 * 1024;

    private enum State { IDLE, CONNECTING, HANDSHAKE, GREETING, EHLO, STARTTLS, READY, MAIL, RCPT, DATA, MESSAGE, CHUNK, RSET, QUIT, DONE, FINISHED }

    private final RunContext run;
    private final LoadOptions options;
    private final EventLoop loop;
    private final LoopMetricsByWindow metricsByWindow;
    /** This loop's {@code --ledger} writer, or null (then nothing is recorded per message). */
    private final MessageLedger ledger;
    private final ReplyParser parser = new ReplyParser();
    private final MessageSchedule.Ticket ticket = new MessageSchedule.Ticket();
    /** This slot's stampable copy of each size's headers. */
    private final byte[][] headers;
    private final Runnable connectTask = this::connect;
    private final Runnable beginTask = this::begin;
    private long randomState;

    private Connection connection;
    /** The current connection's TLS layer, or null. */
    private TlsLayer tlsLayer;
    private State state = State.IDLE;
    private boolean tlsActive;
    private boolean pipelined;
    /** This connection sends message text as BDAT chunks. */
    private boolean chunking;
    private final BdatFramer framer = new BdatFramer();
    /** This slot's PROXY header, rewritten for each connection (its local port differs), or null without --proxy. */
    private final byte[] proxyHeader;
    /** BDAT replies read for the current message. */
    private int chunksAnswered;
    /** The first BDAT reply other than 250 of the current message, or 0. */
    private int chunkRefusalCode;
    /** A ticket is claimed and its message (or handshake-only session) is not finished. */
    private boolean ticketOpen;
    /** Where the current connection's own figures go: the window of the ticket it was opened for. */
    private LoopMetrics connectionMetrics;
    /** Where the current ticket's figures go: its window's. */
    private LoopMetrics ticketMetrics;
    /** A connection-ending error was counted for the current connection. */
    private boolean fatalCounted;
    private int messagesOnConnection;
    private int rcptIndex;
    private int rcptAccepted;
    private boolean transactionFailed;
    /** The first envelope reply that refused the current message (for the ledger), or 0. */
    private int refusalCode;
    private int sizeIndex;
    private byte[] body;
    private int bodyOffset;
    private long sessionStartNanos;
    private long connectStartNanos;
    private long phaseStartNanos;
    private long envelopeStartNanos;
    private long dataStartNanos;
    private long messageStartNanos;

    LoadSession(RunContext run, EventLoop loop, LoopMetricsByWindow metrics, MessageLedger ledger, int slot) {
        this.run = run;
        this.options = run.options();
        this.loop = loop;
        this.metricsByWindow = metrics;
        this.connectionMetrics = metrics.of(MessageSchedule.WARMUP);
        this.ticketMetrics = connectionMetrics;
        this.ledger = ledger;
        this.headers = new byte[options.sizes().count()][];
        for (int i = 0; i < headers.length; i++) {
            headers[i] = run.templates().copyHeaders(i);
        }
        this.randomState = 0x9E3779B97F4A7C15L * (slot + 1);
        this.proxyHeader = options.proxy() == ProxyMode.NONE ? null : new byte[ProxyHeaderEncoder.MAX_OCTETS];
    }

    // ---------------------------------------------------------------- connection lifecycle

    /** Claims the next ticket and connects when it is due, or finishes the slot. */
    void begin() {
        if (run.control().stopping() || !run.schedule().claim(loop.nanoTime(), ticket)) {
            finish();
            return;
        }
        ticketOpen = true;
        ticketMetrics = metricsByWindow.of(ticket.window);
        if (ticket.intendedNanos - loop.nanoTime() > 0) {
            // One timer allocation per connection in the open model; messages use the deadline.
            loop.schedule(ticket.intendedNanos, connectTask);
        } else {
            connect();
        }
    }

    private void connect() {
        if (run.control().stopping()) {
            ticketOpen = false; // never sent: neither a success nor a failure
            finish();
            return;
        }
        tlsActive = false;
        pipelined = false;
        chunking = false;
        framer.clear();
        fatalCounted = false;
        messagesOnConnection = 0;
        parser.reset();
        connectionMetrics = ticketMetrics;
        connectStartNanos = loop.nanoTime();
        sessionStartNanos = options.openModel() ? ticket.intendedNanos : connectStartNanos;
        state = State.CONNECTING;
        loop.connect(run.target(), this, options.connectTimeoutNanos());
    }

    @Override
    public void onOpen(Connection opened) {
        connection = opened;
        long now = loop.nanoTime();
        connectionMetrics.increment(LoopMetrics.CONNECTIONS);
        connectionMetrics.record(Phase.CONNECT, now - connectStartNanos);
        if (proxyHeader != null && !sendProxyHeader()) {
            return;
        }
        if (options.tlsMode() == TlsMode.IMPLICIT) {
            installTls();
        } else {
            state = State.GREETING;
            phaseStartNanos = now;
            armReplyDeadline();
        }
    }

    /**
     * The balancer's part: the header names this connection's own ends (our local address as the
     * client). Flushed at once, as a balancer sends it before the client's first byte; with implicit
     * TLS it leaves in the clear ahead of the ClientHello (installLayer flushes what was written).
     */
    private boolean sendProxyHeader() {
        java.net.InetSocketAddress local = connection.localAddress();
        java.net.InetSocketAddress remote = connection.remoteAddress();
        if (local == null || remote == null) { // reset before we could ask; onClose counts it
            connection.abort();
            return false;
        }
        int length = ProxyHeaderEncoder.encode(options.proxy(), local, remote, proxyHeader);
        connection.write(proxyHeader, 0, length);
        connection.flush();
        return true;
    }

    @Override
    public void onClose(Connection closed, Throwable cause) {
        if (state == State.DONE) {
            // 221 was read: whatever ended the connection after it is no error
        } else if (cause != null) {
            fatal(classify(cause));
        } else if (state != State.DONE && !fatalCounted) {
            fatal(ErrorKind.PEER_CLOSED);
        }
        if (ticketOpen) {
            finishTicket(false, outcomeAtClose(), refusalCode);
        }
        boolean failed = state != State.DONE;
        if (failed) {
            connectionMetrics.increment(LoopMetrics.SESSIONS_FAILED);
        }
        connection = null;
        tlsLayer = null;
        state = State.IDLE;
        if (failed && !run.control().stopping()) {
            loop.schedule(loop.nanoTime() + RETRY_BACKOFF_NANOS, beginTask);
        } else {
            begin();
        }
    }

    /**
     * What the connection's end means for the open message: text fully handed to the connection
     * (the final dot included) is IN_FLIGHT, even if some of it never left this process, because
     * the server may have it; text partly handed over is CUT; none is NOT_SENT.
     */
    private LedgerOutcome outcomeAtClose() {
        if (framer.active()) {
            // Pipelined chunks may be on their way in any state from MAIL on.
            return framer.allWritten() ? LedgerOutcome.IN_FLIGHT
                    : framer.anyWritten() ? LedgerOutcome.CUT : LedgerOutcome.NOT_SENT;
        }
        if (state != State.MESSAGE || body == null) {
            return LedgerOutcome.NOT_SENT;
        }
        return bodyOffset == body.length ? LedgerOutcome.IN_FLIGHT : LedgerOutcome.CUT;
    }

    @Override
    public void onInputShutdown(Connection closing) {
        if (state == State.DONE) {
            closing.abort(); // the server closed after 221, as it should: nothing left to say
            return;
        }
        if (state == State.QUIT) {
            sessionDone(); // the server closed instead of answering QUIT: good enough
        } else {
            fatal(ErrorKind.PEER_CLOSED);
        }
        closing.close();
    }

    @Override
    public void onDeadline(Connection timedOut) {
        if (state == State.DONE) {
            timedOut.abort(); // the server keeps the connection open after 221: close it ourselves
            return;
        }
        if (state == State.READY) {
            if (run.control().stopping()) {
                quit();
            } else {
                startMessage();
            }
            return;
        }
        fatal(ErrorKind.TIMEOUT);
        timedOut.abort();
    }

    @Override
    public void onWritable(Connection writable) {
        if (state == State.MESSAGE && body != null) {
            writeBody();
            writable.flush();
        } else if (framer.pending()) {
            framer.write(writable);
            writable.flush();
        }
    }

    private void finish() {
        if (state != State.FINISHED) {
            state = State.FINISHED;
            run.control().slotFinished();
        }
    }

    // ---------------------------------------------------------------- TLS

    private void installTls() {
        state = State.HANDSHAKE;
        phaseStartNanos = loop.nanoTime();
        armReplyDeadline();
        tlsLayer = run.tls().newLayer(this);
        connection.installLayer(tlsLayer);
    }

    @Override
    public void onHandshakeComplete(String protocol, String cipherSuite) {
        long now = loop.nanoTime();
        tlsActive = true;
        // Claimed for every handshake, so the counter's set stays small.
        boolean full = run.tls().fullHandshake(tlsLayer.session());
        connectionMetrics.increment(LoopMetrics.HANDSHAKES);
        connectionMetrics.add(LoopMetrics.HANDSHAKES_RESUMED, full ? 0 : 1);
        connectionMetrics.record(Phase.TLS_HANDSHAKE, now - phaseStartNanos);
        if (options.tlsMode() == TlsMode.IMPLICIT) {
            state = State.GREETING;
            phaseStartNanos = now;
            armReplyDeadline();
        } else if (options.handshakeOnly()) {
            quit();
        } else {
            send(State.EHLO, run.commands().ehlo, 0, run.commands().ehlo.length);
        }
    }

    @Override
    public void onHandshakeFailed(Throwable cause) {
        fatal(ErrorKind.TLS_FAILURE);
    }

    // ---------------------------------------------------------------- replies

    @Override
    public void onRead(Connection readable, ByteBuffer in) {
        while (connection != null && connection.isOpen()) {
            int code = parser.parse(in);
            if (code == ReplyParser.NEED_MORE) {
                return;
            }
            if (code == ReplyParser.MALFORMED) {
                fatal(ErrorKind.PROTOCOL);
                connection.abort();
                return;
            }
            ticketMetrics.countReply(code);
            if (!onReply(code)) {
                return;
            }
        }
    }

    /** Advances the state machine by one reply; false when the rest of the input must not be read. */
    private boolean onReply(int code) {
        switch (state) {
            case GREETING -> onGreeting(code);
            case EHLO -> onEhlo(code);
            case STARTTLS -> {
                return onStarttls(code);
            }
            case MAIL -> onMail(code);
            case RCPT -> onRcpt(code);
            case DATA -> onData(code);
            case MESSAGE -> onMessageReply(code);
            case CHUNK -> onChunkReply(code);
            case RSET -> {
                if (expect(code, 250)) {
                    nextMessage();
                } else {
                    quit();
                }
            }
            case QUIT -> {
                expect(code, 221);
                sessionDone();
                // Let the server close first; no close_notify from us either (nothing follows 221).
                connection.deadline(loop.nanoTime() + SERVER_CLOSE_WAIT_NANOS);
                return false;
            }
            case DONE -> {
                return false; // after 221 nothing matters; the server is closing
            }
            default -> {
                // A reply nobody asked for (during the handshake, or while waiting to send).
                fatal(ErrorKind.PROTOCOL);
                connection.abort();
                return false;
            }
        }
        return true;
    }

    private void onGreeting(int code) {
        connectionMetrics.record(Phase.GREETING, loop.nanoTime() - phaseStartNanos);
        if (expect(code, 220)) {
            send(State.EHLO, run.commands().ehlo, 0, run.commands().ehlo.length);
        } else {
            quit();
        }
    }

    private void onEhlo(int code) {
        if (!expect(code, 250)) {
            quit();
        } else if (options.tlsMode() == TlsMode.STARTTLS && !tlsActive) {
            if ((parser.keywords() & ReplyParser.STARTTLS) == 0) {
                fatal(ErrorKind.TLS_FAILURE); // required and not offered
                quit();
            } else {
                send(State.STARTTLS, run.commands().starttls, 0, run.commands().starttls.length);
            }
        } else {
            pipelined = options.pipelining() && (parser.keywords() & ReplyParser.PIPELINING) != 0;
            chunking = options.bdat() != BdatMode.OFF && (parser.keywords() & ReplyParser.CHUNKING) != 0;
            if (options.handshakeOnly()) {
                quit();
            } else if (options.bdat() == BdatMode.ON && !chunking) {
                chunkingNotOffered();
            } else {
                startMessage();
            }
        }
    }

    private boolean onStarttls(int code) {
        if (!expect(code, 220)) {
            quit();
            return true;
        }
        // RFC 3207 §4.2: nothing the server sent after 220 may be trusted; the handshake follows.
        connection.discardInput();
        parser.reset();
        installTls();
        return false;
    }

    private void onMail(int code) {
        if (!expect(code, 250)) {
            refused(code);
        }
        if (pipelined) {
            state = State.RCPT; // the RCPTs and DATA are already on their way
        } else if (transactionFailed) {
            resetTransaction();
        } else {
            sendRcpt();
        }
    }

    private void onRcpt(int code) {
        if (code == 250 || code == 251) {
            rcptAccepted++;
        } else {
            unexpected(code);
            refused(code);
        }
        rcptIndex++;
        if (rcptIndex < options.recipients()) {
            if (!pipelined) {
                sendRcpt();
            }
        } else if (chunking) {
            envelopeAnswered();
        } else if (pipelined) {
            state = State.DATA;
        } else if (rcptAccepted == 0) {
            resetTransaction();
        } else {
            CommandBytes commands = run.commands();
            send(State.DATA, commands.envelope, commands.dataOffset(), commands.dataLength());
        }
    }

    private void onData(int code) {
        if (code != 354) {
            unexpected(code);
            refused(code);
            resetTransaction();
            return;
        }
        long now = loop.nanoTime();
        ticketMetrics.record(Phase.ENVELOPE, now - envelopeStartNanos);
        dataStartNanos = now;
        byte[] header = headers[sizeIndex];
        run.templates().stamp(header, ticket.sequence, run.epochMicros(messageStartNanos));
        state = State.MESSAGE;
        body = run.templates().body(sizeIndex);
        bodyOffset = 0;
        connection.write(header, 0, header.length);
        writeBody();
        armReplyDeadline();
    }

    private void onMessageReply(int code) {
        messageAnswered(code, expect(code, 250));
    }

    /**
     * The last RCPT reply of a BDAT message. Pipelined, the chunks are on their way: wait for their
     * replies. Otherwise send the first chunk, unless no recipient was accepted.
     */
    private void envelopeAnswered() {
        if (rcptAccepted > 0) {
            // As DATA's envelope ends at 354, which comes only when some recipient was accepted.
            ticketMetrics.record(Phase.ENVELOPE, loop.nanoTime() - envelopeStartNanos);
        }
        if (pipelined) {
            state = State.CHUNK;
        } else if (rcptAccepted == 0) {
            resetTransaction(); // no chunk of it was sent
        } else {
            state = State.CHUNK;
            dataStartNanos = loop.nanoTime();
            framer.release(1);
            framer.write(connection);
            armReplyDeadline();
        }
    }

    /**
     * A reply to a BDAT chunk. Only the first refusal of a message counts as an error: once the
     * transaction failed, the replies to chunks already pipelined behind it are its echo.
     */
    private void onChunkReply(int code) {
        chunksAnswered++;
        if (code != 250 && chunkRefusalCode == 0) {
            chunkRefusalCode = code;
            unexpected(code);
        }
        if (chunksAnswered < framer.chunks()) {
            if (pipelined) {
                return; // the next chunk is on its way; its reply follows
            }
            if (chunkRefusalCode != 0) {
                // RFC 3030 §2: after a 4xx/5xx to a chunk, send no more chunks of the message.
                messageAnswered(chunkRefusalCode, false);
            } else {
                framer.release(chunksAnswered + 1);
                framer.write(connection);
                armReplyDeadline();
            }
            return;
        }
        if (rcptAccepted == 0) {
            // Pipelined with every recipient refused: as DATA's 554, the server took nothing.
            refused(chunkRefusalCode);
            resetTransaction();
            return;
        }
        messageAnswered(chunkRefusalCode == 0 ? code : chunkRefusalCode, chunkRefusalCode == 0);
    }

    /** The reply that decides the message (to the final dot, or to BDAT LAST or a refused chunk). */
    private void messageAnswered(int code, boolean accepted) {
        long now = loop.nanoTime();
        ticketMetrics.record(Phase.DATA, now - dataStartNanos);
        body = null;
        framer.clear();
        if (accepted && !transactionFailed) {
            ticketMetrics.record(Phase.MESSAGE, now - messageStartNanos);
            ticketMetrics.add(LoopMetrics.MESSAGE_BYTES, run.templates().messageBytes(sizeIndex));
            ticketMetrics.add(LoopMetrics.RECIPIENTS_ACCEPTED, rcptAccepted);
        }
        // The ledger follows the reply to the final dot (BDAT LAST) alone: a 250 there means the
        // server has the message, even if some recipient was refused.
        finishTicket(accepted && !transactionFailed, accepted ? LedgerOutcome.ACKNOWLEDGED : LedgerOutcome.REJECTED,
                code);
        if (accepted) {
            nextMessage();
        } else {
            resetTransaction();
        }
    }

    // ---------------------------------------------------------------- sending

    /** Starts the next message, now or when its ticket is due, or QUITs. */
    private void nextMessage() {
        if (messagesOnConnection >= options.messagesPerConnection() || run.control().stopping()
                || !run.schedule().claim(loop.nanoTime(), ticket)) {
            quit();
            return;
        }
        ticketOpen = true;
        ticketMetrics = metricsByWindow.of(ticket.window);
        if (ticket.intendedNanos - loop.nanoTime() > 0) {
            state = State.READY;
            connection.deadline(ticket.intendedNanos);
        } else {
            startMessage();
        }
    }

    private void startMessage() {
        long now = loop.nanoTime();
        transactionFailed = false;
        refusalCode = 0;
        rcptIndex = 0;
        rcptAccepted = 0;
        messageStartNanos = options.openModel() ? ticket.intendedNanos : now;
        envelopeStartNanos = now;
        sizeIndex = options.sizes().pick(nextRandom());
        CommandBytes commands = run.commands();
        if (chunking) {
            startChunkedMessage(commands, now);
        } else if (pipelined) {
            send(State.MAIL, commands.envelope, 0, commands.envelope.length);
            // Servers that answer each pipelined command with its own write and Nagle on (Haraka)
            // hold the second reply until we ACK the first; do not let Linux delay that ACK 40 ms.
            connection.flushAndAckQuickly();
        } else {
            send(State.MAIL, commands.envelope, 0, commands.mailLength());
        }
    }

    /** MAIL (and, pipelined, every RCPT and every chunk) of a message sent with BDAT. */
    private void startChunkedMessage(CommandBytes commands, long now) {
        byte[] header = headers[sizeIndex];
        run.templates().stamp(header, ticket.sequence, run.epochMicros(messageStartNanos));
        framer.start(header, run.templates().body(sizeIndex),
                run.templates().messageBytes(sizeIndex) - header.length, options.chunkOctets());
        chunksAnswered = 0;
        chunkRefusalCode = 0;
        if (pipelined) {
            // RFC 3030 §4.2: BDAT commands may be pipelined, so the text follows the envelope at once.
            send(State.MAIL, commands.envelope, 0, commands.dataOffset());
            dataStartNanos = now;
            framer.release(framer.chunks());
            framer.write(connection);
            connection.flushAndAckQuickly();
        } else {
            send(State.MAIL, commands.envelope, 0, commands.mailLength());
        }
    }

    private void sendRcpt() {
        CommandBytes commands = run.commands();
        send(State.RCPT, commands.envelope, commands.offsets[rcptIndex], commands.rcptLength(rcptIndex));
    }

    /** {@code --bdat on} and no CHUNKING in the EHLO reply: the message fails, the session QUITs. */
    private void chunkingNotOffered() {
        ticketMetrics.countError(ErrorKind.CHUNKING_NOT_OFFERED);
        run.control().onError();
        finishTicket(false, LedgerOutcome.NOT_SENT, 0);
        quit();
    }

    /** Ends a failed transaction: the message is lost; RSET before the next one. */
    private void resetTransaction() {
        framer.clear();
        if (ticketOpen) {
            finishTicket(false, LedgerOutcome.NOT_SENT, refusalCode);
        }
        send(State.RSET, run.commands().rset, 0, run.commands().rset.length);
    }

    private void quit() {
        if (ticketOpen && !options.handshakeOnly()) {
            ticketOpen = false; // claimed for a next message that will not be sent: no failure
        }
        send(State.QUIT, run.commands().quit, 0, run.commands().quit.length);
    }

    private void send(State next, byte[] bytes, int offset, int length) {
        state = next;
        connection.write(bytes, offset, length);
        armReplyDeadline();
    }

    /** Writes body chunks until done or the connection is above its high-water mark. */
    private void writeBody() {
        while (bodyOffset < body.length) {
            int chunk = Math.min(BODY_CHUNK_BYTES, body.length - bodyOffset);
            connection.write(body, bodyOffset, chunk);
            bodyOffset += chunk;
            if (!connection.isWritable()) {
                connection.flush();
                if (!connection.isWritable()) {
                    return; // onWritable continues
                }
            }
        }
    }

    private void armReplyDeadline() {
        connection.deadline(loop.nanoTime() + options.replyTimeoutNanos());
    }

    // ---------------------------------------------------------------- accounting

    /** The envelope reply {@code code} refused the current message. */
    private void refused(int code) {
        if (!transactionFailed) {
            transactionFailed = true;
            refusalCode = code;
        }
    }

    /**
     * Closes the open ticket: counts the message as ok or failed and writes its ledger line.
     *
     * @param code the reply that decided {@code outcome}, or 0 when none did
     */
    private void finishTicket(boolean ok, LedgerOutcome outcome, int code) {
        ticketOpen = false;
        if (options.handshakeOnly()) {
            return; // the ticket is the session; counted by sessionDone or onClose
        }
        if (ledger != null) {
            ledger.record(ticket.sequence, outcome, code);
        }
        refusalCode = 0;
        messagesOnConnection++;
        ticketMetrics.increment(ok ? LoopMetrics.MESSAGES_OK : LoopMetrics.MESSAGES_FAILED);
    }

    private void sessionDone() {
        if (state == State.DONE) {
            return;
        }
        state = State.DONE;
        ticketOpen = false;
        connectionMetrics.increment(LoopMetrics.SESSIONS_OK);
        connectionMetrics.record(Phase.SESSION, loop.nanoTime() - sessionStartNanos);
    }

    /** Counts {@code code} as an error unless it is the expected one. */
    private boolean expect(int code, int expected) {
        if (code == expected) {
            return true;
        }
        unexpected(code);
        return false;
    }

    private void unexpected(int code) {
        ticketMetrics.countError(ErrorKind.UNEXPECTED_REPLY);
        run.control().onError();
    }

    /** Counts a connection-ending error once per connection. */
    private void fatal(ErrorKind kind) {
        if (!fatalCounted) {
            fatalCounted = true;
            ticketMetrics.countError(kind);
            run.control().onError();
        }
    }

    private ErrorKind classify(Throwable cause) {
        if (cause instanceof ConnectException) {
            return ErrorKind.CONNECT_REFUSED;
        }
        if (cause instanceof SocketTimeoutException && state == State.CONNECTING) {
            return ErrorKind.CONNECT_TIMEOUT;
        }
        if (cause instanceof SSLException || state == State.HANDSHAKE) {
            return ErrorKind.TLS_FAILURE;
        }
        return state == State.CONNECTING ? ErrorKind.CONNECT_REFUSED : ErrorKind.IO;
    }

    /** xorshift64: picks message sizes without a shared Random. */
    private long nextRandom() {
        long x = randomState;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        randomState = x;
        return x;
    }
}
