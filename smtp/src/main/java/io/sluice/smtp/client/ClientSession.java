package io.sluice.smtp.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

import io.sluice.reactor.Connection;
import io.sluice.reactor.ConnectionHandler;
import io.sluice.reactor.EventLoop;
import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.protocol.Xtext;
import io.sluice.smtp.spool.DsnReturn;
import io.sluice.smtp.spool.EnvelopeDsn;
import io.sluice.smtp.spool.RecipientDsn;
import io.sluice.tls.TlsContext;
import io.sluice.tls.TlsLayer;
import io.sluice.tls.TlsListener;

/**
 * The client side of one outbound SMTP or LMTP connection: a state machine on one event loop.
 * It greets (EHLO, HELO on a 5xx, LHLO for LMTP), applies the TLS policy (STARTTLS alone, input
 * after the 220 discarded, EHLO again inside TLS and only its capabilities used), authenticates
 * when the hop has credentials (RFC 4954: only inside TLS, AUTH PLAIN with an initial response,
 * else AUTH LOGIN; never pipelined with MAIL; a refusal defers), then carries
 * messages one at a time (RSET between them; MAIL, RCPTs and DATA in one write when the peer
 * offers PIPELINING; with CHUNKING the content goes as {@code BDAT n LAST} instead, pipelined
 * behind the RCPTs), reports each recipient through its {@link Delivery}, and waits in the
 * {@link ConnectionPool} between messages until {@code delivery.idle_timeout}.
 *
 * <p>Threading: made on any thread, then every method but {@link #claim()} and {@link #loop()}
 * runs on {@code loop}'s thread (it is the connection's handler and TLS listener). The pool hands
 * an idle session to another delivery by winning {@link #claim()} (a CAS that the idle timeout
 * races), then runs {@link #begin} on the loop.
 */
final class ClientSession implements ConnectionHandler, TlsListener {
    private static final int IDLE = 0;
    private static final int BUSY = 1;
    private static final int DEAD = 2;
    /** Content bytes written per step; the connection's water marks pace the rest. */
    private static final int CONTENT_CHUNK_BYTES = 16 * 1024;
    private static final byte[] RSET = ascii("RSET\r\n");
    private static final byte[] DATA = ascii("DATA\r\n");
    private static final byte[] QUIT = ascii("QUIT\r\n");
    private static final byte[] STARTTLS = ascii("STARTTLS\r\n");
    private static final byte[] END_OF_DATA = ascii(".\r\n");
    private static final byte[] STUFFING_DOT = ascii(".");
    private static final byte[] AUTH_PLAIN = ascii("AUTH PLAIN ");
    private static final byte[] AUTH_LOGIN = ascii("AUTH LOGIN\r\n");
    private static final byte[] AUTH_CANCEL = ascii("*\r\n");
    private static final byte[] CRLF = ascii("\r\n");
    /** Said instead of a reply text to AUTH, which may echo credentials. */
    private static final String NO_AUTH_TEXT = "; the server's reply text is not kept (it may echo credentials)";

    private enum State { CONNECTING, GREETING, HELLO, HELO, STARTTLS, HANDSHAKE, AUTH_PLAIN, AUTH_LOGIN,
        AUTH_LOGIN_USER, AUTH_LOGIN_PASSWORD, AUTH_CANCEL, READY, IDLE, TRANSACTION, CONTENT, ABORT_DATA, QUIT, CLOSED }

    private final SmtpClient client;
    private final HopKey key;
    private final EventLoop loop;
    private final boolean plaintextOnly;
    private final ReplyParser parser = new ReplyParser();
    private final AtomicInteger claim = new AtomicInteger(BUSY);

    private Connection connection;
    private State state = State.CONNECTING;
    private boolean tlsActive;
    /** The TLS layer once STARTTLS began (its peer chain is checked under a testing MTA-STS policy). */
    private TlsLayer tlsLayer;
    /** AUTH succeeded (235) on this connection, with {@code key.credentials()}. */
    private boolean authenticated;
    private int capabilities;
    private long sizeLimit;
    private int messages;
    /** Why we aborted the connection ourselves (timeout, malformed reply), for onClose's report. */
    private String abortReason;

    // The message in progress.
    private Delivery delivery;
    private byte[][] lines;
    private int step;
    private boolean rsetFirst;
    private boolean pipelined;
    private boolean mailFailed;
    private int mailCode;
    private String mailText;
    private boolean[] accepted;
    private int acceptedCount;
    private int lmtpNext;
    private boolean repliedInTransaction;
    // Its content: DATA (stuffing dots inserted while writing) or BDAT chunks (RFC 3030).
    private boolean chunked;
    private boolean contentStarted;
    /** Content remains to be written (onWritable continues); false while BDAT waits for a reply. */
    private boolean writing;
    private int contentOffset;
    private int nextDot;
    private int chunkEnd;
    private int chunksSent;
    private int chunkReplies;
    private boolean lastChunkSent;
    private boolean chunkFailed;

    ClientSession(SmtpClient client, HopKey key, EventLoop loop, Delivery delivery, boolean plaintextOnly) {
        this.client = client;
        this.key = key;
        this.loop = loop;
        this.delivery = delivery;
        this.plaintextOnly = plaintextOnly;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    EventLoop loop() {
        return loop;
    }

    HopKey key() {
        return key;
    }

    /** Any thread: takes an idle session for a new message; false if it is busy or gone. */
    boolean claim() {
        return claim.compareAndSet(IDLE, BUSY);
    }

    // ---------------------------------------------------------------- lifecycle

    @Override
    public void onOpen(Connection opened) {
        connection = opened;
        client.stats().connectionOpened();
        state = State.GREETING;
        connection.deadline(loop.nanoTime() + client.settings().greetingTimeoutNanos());
    }

    /** Loop thread: a claimed idle session takes its next message. */
    void begin(Delivery next) {
        if (state != State.IDLE || connection == null || !connection.isOpen()) {
            next.retryFresh(); // it closed between the claim and now: not the hop's fault
            return;
        }
        client.stats().connectionReused();
        delivery = next;
        startMessage();
        connection.flush(); // a task, not a read: the loop does not flush for us
    }

    @Override
    public void onDeadline(Connection timedOut) {
        if (state == State.IDLE) {
            if (claim.compareAndSet(IDLE, DEAD)) {
                client.pool().remove(this);
                quit();
                timedOut.flush();
            }
            return; // claimed: begin() is on its way
        }
        if (state == State.QUIT) {
            timedOut.abort();
            return;
        }
        abortReason = "timeout " + waitingFor();
        timedOut.abort();
    }

    @Override
    public void onInputShutdown(Connection closing) {
        if (abortReason == null && state != State.QUIT) {
            abortReason = "connection closed by the peer " + waitingFor();
        }
        closing.close();
    }

    @Override
    public void onClose(Connection closed, Throwable cause) {
        State was = state;
        state = State.CLOSED;
        claim.set(DEAD);
        client.pool().remove(this);
        Delivery d = delivery;
        delivery = null;
        if (d == null) {
            return;
        }
        d.flush(); // results held in the transaction go now, before the delivery moves on to another session
        String why = abortReason != null ? abortReason : cause != null ? describe(cause) : "connection closed " + waitingFor(was);
        switch (was) {
            case CONNECTING -> d.hopFailed(451, "4.4.1", "connect to " + key.describe() + ": " + why, false);
            case HANDSHAKE -> {
                boolean retryPlain = key.level() == ClientTlsLevel.MAY && !tlsRequired();
                d.hopFailed(451, "4.7.5", "TLS handshake with " + key.describe() + " failed: " + why, retryPlain);
            }
            case GREETING, HELLO, HELO, STARTTLS, AUTH_PLAIN, AUTH_LOGIN, AUTH_LOGIN_USER, AUTH_LOGIN_PASSWORD,
                    AUTH_CANCEL, READY -> d.hopFailed(451, "4.4.2",
                    "lost connection with " + key.describe() + ": " + why, false);
            case TRANSACTION, CONTENT, ABORT_DATA -> {
                if (messages > 0 && !repliedInTransaction) {
                    d.retryFresh(); // a cached connection that died before answering: try a new one
                } else {
                    d.reportUnreported(451, "4.4.2", "lost connection with " + key.describe() + ": " + why);
                }
            }
            default -> d.retryFresh();
        }
    }

    private static String describe(Throwable cause) {
        String message = cause.getMessage();
        return cause.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    private String waitingFor() {
        return waitingFor(state);
    }

    private static String waitingFor(State s) {
        return switch (s) {
            case CONNECTING -> "while connecting";
            case GREETING -> "while waiting for the greeting";
            case HELLO, HELO -> "while waiting for the reply to EHLO/HELO";
            case STARTTLS -> "while waiting for the reply to STARTTLS";
            case HANDSHAKE -> "during the TLS handshake";
            case AUTH_PLAIN, AUTH_LOGIN, AUTH_LOGIN_USER, AUTH_LOGIN_PASSWORD, AUTH_CANCEL ->
                    "while waiting for the reply to AUTH";
            case TRANSACTION -> "while waiting for a reply to MAIL/RCPT/DATA";
            case CONTENT, ABORT_DATA -> "while sending the message content";
            default -> "while idle";
        };
    }

    // ---------------------------------------------------------------- replies

    @Override
    public void onRead(Connection readable, ByteBuffer in) {
        while (connection.isOpen()) {
            int code = parser.parse(in);
            if (code == ReplyParser.NEED_MORE) {
                return;
            }
            if (code == ReplyParser.MALFORMED) {
                abortReason = "malformed reply " + waitingFor();
                connection.abort();
                return;
            }
            if (!onReply(code)) {
                return;
            }
        }
    }

    /** One complete reply; false when the rest of the input must not be read (STARTTLS). */
    private boolean onReply(int code) {
        switch (state) {
            case GREETING -> onGreeting(code);
            case HELLO -> onHello(code);
            case HELO -> onHelo(code);
            case STARTTLS -> {
                return onStarttls(code);
            }
            case AUTH_PLAIN, AUTH_LOGIN, AUTH_LOGIN_USER, AUTH_LOGIN_PASSWORD, AUTH_CANCEL -> onAuthReply(code);
            case TRANSACTION -> onTransactionReply(code);
            case CONTENT -> onContentReply(code);
            case ABORT_DATA -> finishMessage(false);
            case QUIT -> connection.close();
            default -> {
                // A reply nobody asked for (idle, handshake): the peer is confused or closing.
                abortReason = "unexpected reply " + code + " " + waitingFor();
                connection.abort();
                return false;
            }
        }
        return true;
    }

    private void onGreeting(int code) {
        if (code / 100 == 2) {
            sendHello();
        } else {
            failHop(code, "the greeting");
        }
    }

    private void sendHello() {
        state = State.HELLO;
        send((key.lmtp() ? "LHLO " : "EHLO ") + client.settings().heloName() + "\r\n");
    }

    private void onHello(int code) {
        if (code / 100 == 2) {
            capabilities = parser.keywords();
            sizeLimit = parser.sizeLimit();
            afterHello();
        } else if (code / 100 == 5 && !key.lmtp()) {
            state = State.HELO;
            send("HELO " + client.settings().heloName() + "\r\n");
        } else {
            failHop(code, key.lmtp() ? "LHLO" : "EHLO");
        }
    }

    private void onHelo(int code) {
        if (code / 100 == 2) {
            capabilities = 0;
            sizeLimit = 0;
            afterHello();
        } else {
            failHop(code, "HELO");
        }
    }

    /** After EHLO/HELO: STARTTLS by the policy, or defer, or go on. */
    private void afterHello() {
        if (tlsActive) {
            authenticateOrReady();
        } else if (key.level() != ClientTlsLevel.NONE && !plaintextOnly && has(ReplyParser.STARTTLS)) {
            state = State.STARTTLS;
            connection.write(STARTTLS, 0, STARTTLS.length); // alone: nothing is pipelined behind it
            armReply();
        } else if (tlsRequired()) {
            tlsMissing("did not offer STARTTLS");
        } else {
            noteMtaStsTesting(plaintextOnly ? "TLS handshake failed (sent in plaintext on a new connection)"
                    : "did not offer STARTTLS");
            ready();
        }
    }

    /** Under an MTA-STS policy in mode testing: this hop goes on without TLS, which enforce would refuse. */
    private void noteMtaStsTesting(String what) {
        Delivery d = delivery;
        if (d != null && d.mtaStsTesting()) {
            client.logMtaStsTesting(d, key, what);
        }
    }

    /**
     * Under an MTA-STS policy in mode testing the hop took any certificate: a worker checks it as
     * {@code verify} would and logs what enforce would have refused. Once per handshake.
     */
    private void noteMtaStsTestingCertificate() {
        Delivery d = delivery;
        if (d != null && d.mtaStsTesting() && key.level() != ClientTlsLevel.VERIFY && tlsLayer != null) {
            // Allocates (the chain list, a worker task): only under a testing policy, once per connection, not per message.
            client.checkMtaStsTestingCertificate(d.queueId(), d.mtaStsTestingDomain(), key, tlsLayer.peerCertificates());
        }
    }

    private boolean onStarttls(int code) {
        if (code == 220) {
            // RFC 3207 §4.2 / CVE-2021-38371: nothing the server sent after its 220 is trusted.
            connection.discardInput();
            parser.reset();
            installTls();
            return false;
        }
        if (tlsRequired()) {
            tlsMissing("refused STARTTLS: " + code + " " + parser.text());
        } else {
            noteMtaStsTesting("refused STARTTLS: " + code);
            ready(); // may: plaintext on this connection after a 454
        }
        return true;
    }

    private void installTls() {
        state = State.HANDSHAKE;
        connection.deadline(loop.nanoTime() + client.settings().handshakeTimeoutNanos());
        TlsContext context;
        try {
            context = key.level() == ClientTlsLevel.VERIFY ? client.verifyingTls() : client.opportunisticTls();
        } catch (IOException e) {
            abortReason = e.getMessage(); // the contexts were built before this attempt; this is a fallback
            connection.abort();
            return;
        }
        tlsLayer = context.newClientLayer(key.tlsName(), key.address().getPort(), this);
        connection.installLayer(tlsLayer);
    }

    @Override
    public void onHandshakeComplete(String protocol, String cipherSuite) {
        tlsActive = true;
        client.stats().tlsCompleted();
        if (client.memory() != null) {
            client.memory().remember(key.tlsName());
        }
        noteMtaStsTestingCertificate();
        sendHello(); // capabilities from before TLS are forgotten: only the new EHLO reply counts
    }

    @Override
    public void onHandshakeFailed(Throwable cause) {
        if (abortReason == null) {
            abortReason = describe(cause);
        }
    }

    /** Encrypt, verify, credentials to send, or a remembered host: TLS or nothing. */
    private boolean tlsRequired() {
        if (key.level() == ClientTlsLevel.ENCRYPT || key.level() == ClientTlsLevel.VERIFY || key.credentials() != null) {
            return true;
        }
        return key.level() == ClientTlsLevel.MAY && client.memory() != null && client.memory().requiresTls(key.tlsName());
    }

    private void tlsMissing(String what) {
        boolean remembered = key.level() == ClientTlsLevel.MAY;
        if (remembered) {
            client.logDowngrade(key, what);
        }
        Delivery d = delivery;
        delivery = null;
        if (d != null) {
            d.hopFailed(451, "4.7.4", "TLS is required" + (remembered ? " (host did TLS before: possible downgrade)" : "")
                    + (key.credentials() != null ? " (delivery.auth: credentials are sent only inside TLS)" : "")
                    + ", but " + key.describe() + " " + what, false);
        }
        quit();
    }

    /** A greeting or hello failed: this hop is done; the delivery tries the next one. */
    private void failHop(int code, String inReplyTo) {
        Delivery d = delivery;
        delivery = null;
        if (d != null) {
            d.hopFailed(code, null, said(code, inReplyTo), false);
        }
        quit();
    }

    // ---------------------------------------------------------------- AUTH (RFC 4954)

    /** Inside TLS after EHLO: AUTH when the hop has credentials (and this connection has not yet), else on. */
    private void authenticateOrReady() {
        SmtpCredentials credentials = key.credentials();
        if (credentials == null || authenticated) {
            ready();
        } else if (!tlsActive) {
            tlsMissing("is not encrypted, and credentials go only inside TLS"); // tlsRequired() makes this unreachable
        } else if (has(ReplyParser.AUTH_PLAIN)) {
            state = State.AUTH_PLAIN; // RFC 4616 with RFC 4954's initial response: one round trip
            connection.write(AUTH_PLAIN, 0, AUTH_PLAIN.length);
            writeLine(credentials.plainResponse());
        } else if (has(ReplyParser.AUTH_LOGIN)) {
            state = State.AUTH_LOGIN;
            connection.write(AUTH_LOGIN, 0, AUTH_LOGIN.length);
            armReply();
        } else {
            authRefused(454, "4.7.0", "authentication is configured for this destination, but " + key.describe()
                    + (capabilities == 0 ? " did not answer EHLO" : " offers neither AUTH PLAIN nor AUTH LOGIN"));
        }
    }

    /** A reply during AUTH: 334 asks for the next response, 235 is success, anything else a refusal. */
    private void onAuthReply(int code) {
        SmtpCredentials credentials = key.credentials();
        State was = state;
        if (code == 235 && (was == State.AUTH_PLAIN || was == State.AUTH_LOGIN_PASSWORD)) {
            authenticated = true;
            client.stats().authOk();
            ready();
        } else if (code == 334 && was == State.AUTH_LOGIN) {
            state = State.AUTH_LOGIN_USER;
            writeLine(credentials.loginUsername());
        } else if (code == 334 && was == State.AUTH_LOGIN_USER) {
            state = State.AUTH_LOGIN_PASSWORD;
            writeLine(credentials.loginPassword());
        } else if (code == 334 && was != State.AUTH_CANCEL) {
            // A challenge our response already answered: cancel (RFC 4954 §4), then report this.
            state = State.AUTH_CANCEL;
            connection.write(AUTH_CANCEL, 0, AUTH_CANCEL.length);
            armReply();
        } else if (was == State.AUTH_CANCEL) {
            authRefused(454, "4.7.0", key.describe() + " asked for more than AUTH " + mechanism()
                    + " gives; cancelled: " + code + NO_AUTH_TEXT);
        } else {
            authFailed(code, "AUTH " + mechanism());
        }
    }

    private String mechanism() {
        return has(ReplyParser.AUTH_PLAIN) ? "PLAIN" : "LOGIN";
    }

    /**
     * The hop refused our credentials: a 5xx (535, 534, 538...) is operator misconfiguration, so it
     * defers like a 4xx (as Postfix's smtp_sasl_auth_soft_bounce) and keeps the server's words
     * (minus anything of our credentials it echoed).
     */
    private void authFailed(int code, String inReplyTo) {
        String said = key.describe() + " said: " + code + " ";
        String enhanced = Delivery.enhancedCodeIn(said + parser.text(), code / 100);
        // The server's words stay out: they may echo our response (cut at the parser's limit, or
        // non-ASCII shown as '?', so no string match could mask it), and this text reaches the
        // delivery log, `sluice queue` and the DSN sent to the message's sender.
        String text = said + enhanced + " (in reply to " + inReplyTo + ")" + NO_AUTH_TEXT;
        if (code / 100 == 4) {
            authRefused(code, enhanced, text);
            return;
        }
        authRefused(454, enhanced.equals("5.0.0") ? "4.7.0" : "4" + enhanced.substring(1), text);
    }

    private void authRefused(int code, String enhancedCode, String text) {
        client.stats().authRefused();
        Delivery d = delivery;
        delivery = null;
        if (d != null) {
            d.hopFailed(code, enhancedCode, text, false);
        }
        quit();
    }

    /** One base64 response line; the bytes are the credentials' own, copied by the connection. */
    private void writeLine(byte[] base64) {
        connection.write(base64, 0, base64.length);
        connection.write(CRLF, 0, CRLF.length);
        armReply();
    }

    private String said(int code, String inReplyTo) {
        return key.describe() + " said: " + code + " " + parser.text() + " (in reply to " + inReplyTo + ")";
    }

    private void ready() {
        state = State.READY;
        if (delivery != null) {
            startMessage();
        } else {
            goIdle();
        }
    }

    // ---------------------------------------------------------------- one message

    private void startMessage() {
        Delivery d = delivery;
        if (!tlsActive && tlsRequired()) {
            tlsMissing("is a cached plaintext connection"); // memory learnt since this connection opened
            return;
        }
        if (key.credentials() != null && !authenticated) {
            authRefused(454, "4.7.0", key.describe() + ": connection not authenticated"); // the pool keys by credentials: never
            return;
        }
        String refusal = refusal(d);
        if (refusal != null) {
            delivery = null;
            d.reportUnreported(refusal.startsWith("5.3.4") ? 552 : 554, refusal.substring(0, 5), refusal.substring(6));
            afterMessage();
            return;
        }
        chunked = client.settings().chunking() && has(ReplyParser.CHUNKING);
        lines = commands(d);
        step = 0;
        rsetFirst = messages > 0;
        pipelined = has(ReplyParser.PIPELINING);
        mailFailed = false;
        accepted = new boolean[d.recipientCount()];
        acceptedCount = 0;
        lmtpNext = 0;
        repliedInTransaction = false;
        contentStarted = false;
        writing = false;
        chunksSent = 0;
        chunkReplies = 0;
        state = State.TRANSACTION;
        d.hold(); // results wait until the connection is idle again (LMTP flushes per recipient)
        if (pipelined) {
            for (byte[] line : lines) {
                connection.write(line, 0, line.length);
            }
            if (chunked) {
                startContent(); // RFC 3030 §4.2: BDAT may follow MAIL and RCPT in the same write
            }
            armReply();
            // Several replies answer this one write. A peer that writes each on its own with Nagle
            // on (Haraka) holds the second until we ACK the first, and with nothing more to send
            // Linux delays that ACK (40 ms or more): every message would stall that long.
            connection.flushAndAckQuickly();
            return;
        }
        connection.write(lines[0], 0, lines[0].length);
        armReply();
    }

    /** Why this peer cannot take this message ({@code "X.Y.Z text"}), or null. */
    private String refusal(Delivery d) {
        if (d.needsSmtpUtf8() && !has(ReplyParser.SMTPUTF8)) {
            return "5.6.7 the message needs SMTPUTF8, which " + key.describe() + " does not offer";
        }
        if (d.content().binary()) {
            if (!client.settings().chunking()) {
                return "5.6.3 the message is BINARYMIME, which needs BDAT, and delivery.chunking is off";
            }
            if (!has(ReplyParser.CHUNKING) || !has(ReplyParser.BINARYMIME)) {
                return "5.6.3 the message is BINARYMIME and " + key.describe() + " does not offer CHUNKING and BINARYMIME";
            }
            return null; // RFC 3030 §3: BINARYMIME covers 8-bit octets too
        }
        if (d.content().eightBit() && !has(ReplyParser.EIGHT_BIT_MIME)) {
            return "5.6.3 the message has 8-bit content and " + key.describe() + " does not offer 8BITMIME";
        }
        if (has(ReplyParser.SIZE) && sizeLimit > 0 && d.sizeOctets() > sizeLimit) {
            return "5.3.4 message size " + d.sizeOctets() + " exceeds the limit " + sizeLimit + " of " + key.describe();
        }
        return null;
    }

    /**
     * The transaction's command lines: [RSET], MAIL, one RCPT per recipient, and DATA unless the
     * content goes with BDAT (whose command lines the content writer makes). One array per
     * message (addresses differ per message; the connection copies them into its pooled buffers).
     */
    private byte[][] commands(Delivery d) {
        int n = d.recipientCount();
        boolean rset = messages > 0;
        byte[][] out = new byte[n + 1 + (chunked ? 0 : 1) + (rset ? 1 : 0)][];
        int i = 0;
        if (rset) {
            out[i++] = RSET;
        }
        StringBuilder mail = new StringBuilder(64).append("MAIL FROM:<").append(d.envelope().sender()).append('>');
        if (has(ReplyParser.SIZE)) {
            mail.append(" SIZE=").append(d.sizeOctets());
        }
        if (d.content().binary()) {
            mail.append(" BODY=BINARYMIME");
        } else if (d.content().eightBit()) {
            mail.append(" BODY=8BITMIME");
        }
        if (d.needsSmtpUtf8()) {
            mail.append(" SMTPUTF8");
        }
        // RFC 3461 5.2: the DSN parameters go only to a hop that offers DSN; to one that does not,
        // none is sent, and the queue reports success itself (Action: relayed).
        boolean dsn = has(ReplyParser.DSN);
        d.dsnPassedOn(dsn);
        if (dsn) {
            mailDsn(mail, d.envelope().dsn());
        }
        out[i++] = mail.append("\r\n").toString().getBytes(StandardCharsets.UTF_8);
        for (int r = 0; r < n; r++) {
            StringBuilder rcpt = new StringBuilder(32).append("RCPT TO:<").append(d.recipient(r)).append('>');
            if (dsn) {
                rcptDsn(rcpt, d.dsn(r), d.recipient(r), d.needsSmtpUtf8());
            }
            out[i++] = rcpt.append("\r\n").toString().getBytes(StandardCharsets.UTF_8);
        }
        if (!chunked) {
            out[i] = DATA;
        }
        return out;
    }

    /** RET and ENVID as received (ENVID is kept xtext-encoded, so it goes on unchanged). */
    private static void mailDsn(StringBuilder mail, EnvelopeDsn dsn) {
        if (dsn.ret() == DsnReturn.FULL) {
            mail.append(" RET=FULL");
        } else if (dsn.ret() == DsnReturn.HEADERS) {
            mail.append(" RET=HDRS");
        }
        if (!dsn.envelopeId().isEmpty()) {
            mail.append(" ENVID=").append(dsn.envelopeId());
        }
    }

    /**
     * The longest RCPT line we make up an ORCPT for, CRLF included: RFC 5321's 512 plus the 500
     * RFC 3461 4 adds for ORCPT. A hop may refuse a longer line, and the ORCPT is only a courtesy.
     */
    static final int MAX_RCPT_LINE_OCTETS = 512 + 500;

    /**
     * NOTIFY and ORCPT as received. A recipient that came without ORCPT gets one naming it as
     * received (RFC 3461 4.2, as Postfix does), so that the report the final hop sends names the
     * address the sender used; none when it cannot be expressed or would make the line longer than
     * {@link #MAX_RCPT_LINE_OCTETS} (xtext triples an address of '+' and spaces).
     */
    private static void rcptDsn(StringBuilder rcpt, RecipientDsn dsn, String recipient, boolean smtpUtf8) {
        if (dsn.notifyBits() != 0) {
            rcpt.append(" NOTIFY=").append(dsn.notifyText());
        }
        if (!dsn.originalRecipient().isEmpty()) {
            rcpt.append(" ORCPT=").append(dsn.originalRecipient());
        } else {
            int mark = rcpt.length();
            if (!Xtext.appendOriginalRecipient(rcpt.append(" ORCPT="), recipient, smtpUtf8)
                    || utf8Octets(rcpt) + 2 > MAX_RCPT_LINE_OCTETS) {
                rcpt.setLength(mark);
            }
        }
    }

    /** The UTF-8 length of {@code text}, without encoding it. */
    private static int utf8Octets(CharSequence text) {
        int octets = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            // a surrogate pair is 4 octets: 2 for each half
            octets += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3;
        }
        return octets;
    }

    private void onTransactionReply(int code) {
        int recipients = accepted.length;
        int first = rsetFirst ? 1 : 0;
        int at = step++;
        if (at < first) {
            // RSET: its outcome does not matter unless the server is leaving
            if (code == 421) {
                closingReply(code, "RSET");
            } else if (!pipelined) {
                sendStep();
            }
            return;
        }
        repliedInTransaction = true;
        if (at > first + recipients && chunked) {
            onChunkReply(code);
            return;
        }
        if (code == 421) {
            closingReply(code, at == first ? "MAIL FROM" : at <= first + recipients ? "RCPT TO" : "DATA");
            return;
        }
        if (at == first) {
            onMail(code);
        } else if (at <= first + recipients) {
            onRcpt(at - first - 1, code);
        } else {
            onData(code);
            return;
        }
        if (pipelined) {
            return; // the rest is already on its way
        }
        if (mailFailed || (at == first + recipients && acceptedCount == 0)) {
            finishMessage(false);
        } else if (chunked && at == first + recipients) {
            startContent();
        } else {
            sendStep();
        }
    }

    private void sendStep() {
        connection.write(lines[step], 0, lines[step].length);
        armReply();
    }

    private void onMail(int code) {
        armReply();
        if (code / 100 != 2) {
            mailFailed = true;
            mailCode = code;
            mailText = said(code, "MAIL FROM");
            delivery.reportUnreported(code, null, mailText);
        }
    }

    private void onRcpt(int index, int code) {
        armReply();
        if (mailFailed) {
            return; // reported with MAIL's reply
        }
        if (code / 100 == 2) {
            accepted[index] = true;
            acceptedCount++;
        } else {
            delivery.report(index, code, null, said(code, "RCPT TO:<" + delivery.recipient(index) + ">"));
        }
    }

    private void onData(int code) {
        if (code == 354) {
            if (mailFailed || acceptedCount == 0) {
                state = State.ABORT_DATA; // RFC 2920 §3.1: a 354 we cannot use still needs its dot
                connection.write(END_OF_DATA, 0, END_OF_DATA.length);
                armReply();
                return;
            }
            state = State.CONTENT;
            startContent();
            return;
        }
        delivery.hold(); // until the connection is idle again: see Delivery.hold
        if (!mailFailed) {
            reportAccepted(code, said(code, "DATA"));
        }
        finishMessage(code == 421);
    }

    // ---------------------------------------------------------------- content: DATA or BDAT

    /** After 354 (DATA), or with MAIL/RCPT (pipelined BDAT), or after the last RCPT reply (BDAT). */
    private void startContent() {
        contentStarted = true;
        writing = true;
        contentOffset = 0;
        nextDot = 0;
        chunkEnd = 0;
        chunksSent = 0;
        chunkReplies = 0;
        lastChunkSent = false;
        chunkFailed = false;
        if (chunked) {
            client.stats().messageChunked();
        }
        armReply();
        writeContent();
    }

    /** Writes until the content is out, the connection is above its high-water mark, or BDAT waits for a reply. */
    private void writeContent() {
        OutboundContent content = delivery.content();
        while (writing) {
            if (chunked) {
                writeChunkPiece(content);
            } else {
                writeDataPiece(content);
            }
            if (writing && !connection.isWritable()) {
                connection.flush();
                if (!connection.isWritable()) {
                    return; // onWritable continues
                }
            }
        }
    }

    /** DATA: the next run up to a line that starts with a dot (which gets its stuffing dot), then {@code .CRLF}. */
    private void writeDataPiece(OutboundContent content) {
        int length = content.length();
        if (contentOffset == length) {
            connection.write(END_OF_DATA, 0, END_OF_DATA.length);
            writing = false;
            if (key.lmtp() && acceptedCount > 1) {
                // One reply per accepted recipient follows (RFC 2033 §4.2): a server writing each
                // with Nagle on stalls as after a pipelined envelope (see startMessage).
                connection.flushAndAckQuickly();
            }
            return;
        }
        int dot = nextDot < content.dotCount() ? content.dotOffset(nextDot) : length;
        if (dot == contentOffset) {
            connection.write(STUFFING_DOT, 0, 1); // the line's own dot follows
            nextDot++;
            dot = nextDot < content.dotCount() ? content.dotOffset(nextDot) : length;
        }
        int end = Math.min(dot, contentOffset + CONTENT_CHUNK_BYTES);
        connection.write(content.bytes(), contentOffset, end - contentOffset);
        contentOffset = end;
    }

    /**
     * BDAT: at a chunk boundary the next {@code BDAT n [LAST]} line (unless the transaction
     * failed, or without PIPELINING the last chunk is not yet answered), else the next piece of
     * the current chunk, which is always finished: the peer counts its octets.
     */
    private void writeChunkPiece(OutboundContent content) {
        if (contentOffset == chunkEnd) {
            if (lastChunkSent || chunkFailed || mailFailed || (!pipelined && chunkReplies < chunksSent)) {
                writing = false; // RFC 3030 §3: no BDAT after a failed one; without PIPELINING wait
                return;
            }
            int size = Math.min(client.settings().bdatChunkOctets(), content.length() - contentOffset);
            lastChunkSent = contentOffset + size == content.length();
            // One small array per chunk (one per message for ordinary sizes): the octet count differs.
            byte[] command = ("BDAT " + size + (lastChunkSent ? " LAST\r\n" : "\r\n")).getBytes(StandardCharsets.US_ASCII);
            connection.write(command, 0, command.length);
            chunkEnd = contentOffset + size;
            chunksSent++;
            return;
        }
        int end = Math.min(chunkEnd, contentOffset + CONTENT_CHUNK_BYTES);
        connection.write(content.bytes(), contentOffset, end - contentOffset);
        contentOffset = end;
    }

    @Override
    public void onWritable(Connection writable) {
        if (writing && delivery != null) {
            writeContent();
            writable.flush();
            if (chunked && !writing && state == State.TRANSACTION && chunkReplies == chunksSent) {
                finishMessage(false); // stopped at a boundary after a failure that is already answered
            }
        }
    }

    /**
     * A reply to a BDAT chunk. SMTP: one per chunk; a 4xx/5xx fails the transaction for every
     * accepted recipient (RFC 3030 §3), the LAST chunk's reply is the message's. LMTP (RFC 2033
     * §4.2 read with RFC 3030): the LAST chunk of a transaction with accepted recipients gets one
     * reply per accepted recipient, in RCPT order. The transaction ends when every chunk sent is
     * answered; the next message starts with RSET, so a failed one leaves no state behind.
     */
    private void onChunkReply(int code) {
        Delivery d = delivery;
        if (chunkReplies == chunksSent) {
            abortReason = "unexpected reply " + code + " " + waitingFor(); // more replies than BDAT commands
            connection.abort();
            return;
        }
        d.hold(); // until the connection is idle again: see Delivery.hold
        int index = chunkReplies;
        boolean last = lastChunkSent && index == chunksSent - 1;
        boolean fullySent = index < chunksSent - 1 || contentOffset == chunkEnd;
        String text = said(code, last ? "BDAT LAST" : "BDAT");
        boolean perRecipient = last && key.lmtp() && !chunkFailed && !mailFailed && acceptedCount > 0;
        if (perRecipient && code != 421) {
            if (!lmtpReply(code, text) && fullySent) {
                armReply();
                d.flush();
                return; // more recipients' replies to come
            }
        } else if (!mailFailed && (code / 100 != 2 || last)) {
            reportAccepted(code, text);
        }
        chunkReplies++;
        if (code / 100 != 2 && !perRecipient) {
            chunkFailed = true;
        }
        if (!fullySent || code == 421) {
            finishMessage(true); // answered before its octets were all sent, or the peer is leaving
            return;
        }
        if (chunkFailed && contentOffset == chunkEnd) {
            writing = false;
        }
        if (!pipelined && !chunkFailed && !last && !mailFailed) {
            writing = true; // without PIPELINING each chunk waits for the previous one's 250
            writeContent();
        }
        if (!writing && chunkReplies == chunksSent) {
            finishMessage(false);
        } else {
            armReply(); // results stay held until every chunk sent is answered
        }
    }

    private void onContentReply(int code) {
        Delivery d = delivery;
        d.hold(); // until the connection is idle again: see Delivery.hold
        boolean early = writing;
        String text = said(code, "end of DATA");
        if (!key.lmtp()) {
            reportAccepted(code, text);
            finishMessage(early || code == 421);
            return;
        }
        if (lmtpReply(code, text) || early || code == 421) {
            finishMessage(early || code == 421);
        } else {
            armReply();
            d.flush();
        }
    }

    /** LMTP (RFC 2033 §4.2): the next accepted recipient's reply; true when every one has its reply. */
    private boolean lmtpReply(int code, String text) {
        while (lmtpNext < accepted.length && !accepted[lmtpNext]) {
            lmtpNext++;
        }
        if (lmtpNext < accepted.length) {
            delivery.report(lmtpNext, code, null, text);
            lmtpNext++;
        }
        while (lmtpNext < accepted.length && !accepted[lmtpNext]) {
            lmtpNext++;
        }
        return lmtpNext >= accepted.length;
    }

    private void reportAccepted(int code, String text) {
        for (int i = 0; i < accepted.length; i++) {
            if (accepted[i]) {
                delivery.report(i, code, null, text);
            }
        }
    }

    /** A 421 in the middle of a transaction: everything not yet answered takes its reply. */
    private void closingReply(int code, String inReplyTo) {
        delivery.reportUnreported(code, null, said(code, inReplyTo));
        finishMessage(true);
    }

    /** The message is done on this connection (every recipient reported). */
    private void finishMessage(boolean closeAfter) {
        Delivery d = delivery;
        delivery = null;
        lines = null;
        accepted = null;
        messages++;
        boolean midContent = writing;
        writing = false;
        contentStarted = false;
        if (d != null) {
            d.reportUnreported(451, "4.4.0", key.describe() + ": no reply for this recipient");
            client.stats().messageSent();
        }
        if (closeAfter && midContent) {
            connection.abort(); // a QUIT now would be read as content: the peer's framing is lost
        } else if (closeAfter) {
            quit();
        } else {
            afterMessage();
        }
        if (d != null) {
            d.flush(); // after the connection went back to the pool (or away)
        }
    }

    private void afterMessage() {
        if (plaintextOnly || messages >= client.settings().maxMessagesPerConnection()
                || client.settings().idleTimeoutNanos() == 0 || client.closing()) {
            quit();
        } else {
            goIdle();
        }
    }

    private void goIdle() {
        state = State.IDLE;
        connection.deadline(loop.nanoTime() + client.settings().idleTimeoutNanos());
        claim.set(IDLE);
        client.pool().release(this);
    }

    private void quit() {
        if (connection == null || !connection.isOpen() || state == State.QUIT) {
            return;
        }
        state = State.QUIT;
        connection.write(QUIT, 0, QUIT.length);
        armReply();
    }

    private void send(String line) {
        byte[] bytes = line.getBytes(StandardCharsets.US_ASCII); // once per connection (EHLO/HELO)
        connection.write(bytes, 0, bytes.length);
        armReply();
    }

    /** The deadline for the next reply; once content is on its way, the data timeout. */
    private void armReply() {
        long timeout = contentStarted ? client.settings().dataTimeoutNanos() : client.settings().replyTimeoutNanos();
        connection.deadline(loop.nanoTime() + timeout);
    }

    private boolean has(int capability) {
        return (capabilities & capability) != 0;
    }
}
