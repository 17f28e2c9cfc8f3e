package io.sluice.smtp.server;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.function.Function;

import io.sluice.reactor.Connection;
import io.sluice.reactor.ConnectionHandler;
import io.sluice.smtp.auth.Authenticator;
import io.sluice.smtp.auth.UserDatabase;
import io.sluice.smtp.protocol.BareNewline;
import io.sluice.smtp.protocol.Body;
import io.sluice.smtp.protocol.Command;
import io.sluice.smtp.protocol.CommandParser;
import io.sluice.smtp.protocol.DataDecoder;
import io.sluice.smtp.protocol.MailPath;
import io.sluice.smtp.protocol.Replies;
import io.sluice.smtp.protocol.Reply;
import io.sluice.smtp.proxy.ProxyHeaderParser;
import io.sluice.smtp.server.EventLog.Level;
import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.DsnReturn;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.EnvelopeDsn;
import io.sluice.smtp.spool.EnvelopeOctets;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.RecipientDsn;

/**
 * The server side of one SMTP connection (RFC 5321, with PIPELINING, SIZE, 8BITMIME, SMTPUTF8,
 * ENHANCEDSTATUSCODES, DSN, CHUNKING, BINARYMIME and STARTTLS). A state machine driven by its
 * connection's loop: every method runs on that thread, except {@link #durable} (see there). Commands are parsed in place from the read buffer; message
 * text is decoded into the loop's scratch buffer and handed to the store, never assembled in heap.
 *
 * <p>Replies to pipelined commands are written in order and leave together when the loop flushes
 * after the read. While a message is being made durable the session reads nothing more, so the
 * {@code 250} for it is always the next reply the client sees.
 */
public final class SmtpSession implements ConnectionHandler, CommitListener, TlsUpgrade.HandshakeListener {

    private enum Phase { PROXY_HEADER, GREET_PAUSE, COMMAND, DATA, BDAT, COMMITTING, AUTH_RESPONSE, AUTH_CHECK, CLOSED }

    /** The SASL mechanisms we offer (RFC 4954), both only inside TLS. */
    private enum Mechanism { PLAIN, LOGIN }

    private static final byte[] QUEUED_PREFIX = "250 2.0.0 Ok: queued as ".getBytes(StandardCharsets.US_ASCII);
    /** postscreen's verdict on a client that speaks first; not a parser reply, so it lives here. */
    private static final Reply PREGREET = Reply.of(554, "5.5.1", "Protocol error: talked before greeting");
    private static final byte[] CRLF = {'\r', '\n'};
    /** Added to the command line limit while DSN is offered: ENVID's 100 and ORCPT's 500 characters. */
    static final int DSN_LINE_OCTETS = 600;
    /** Most recipients named in a message's log line; the delivery lines name each one anyway. */
    private static final int LOGGED_RECIPIENTS = 10;
    /**
     * Longest SASL response line we read, CRLF included. RFC 4954 4 has us take the largest response
     * our mechanisms make, whatever the command line limit: PLAIN's is authzid NUL authcid NUL passwd
     * with each part up to 255 octets (RFC 4616 2), 767 octets, 1024 in base64.
     */
    static final int SASL_RESPONSE_MAX_LINE_OCTETS = 1024 + 2;
    /** Indexed by SMTPUTF8 (4), TLS (2) and AUTH (1); see {@link #protocol()}. */
    private static final String[] WITH_PROTOCOLS = {
        "ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA", "UTF8SMTP", "UTF8SMTPA", "UTF8SMTPS", "UTF8SMTPSA"};

    private final ListenerContext listener;
    private final Function<Connection, SessionServices> servicesOf;
    private SessionServices services;
    private final SessionSettings settings;
    private final CommandParser parser;
    /** Reads SASL responses, which may be longer than a command; made at the first one (see below). */
    private CommandParser saslParser;
    private final Command command = new Command();
    private final DataDecoder decoder;
    /** Received: fields of the message being read (mail loop detection). */
    private final HopCounter hops = new HopCounter();
    private final List<String> recipients = new ArrayList<>();
    /** Null until a RCPT of the transaction carries NOTIFY or ORCPT, then one per recipient. */
    private List<RecipientDsn> recipientDsn;
    /** Upper bound on the envelope's spool octets so far (EnvelopeOctets); kept within its MAX_OCTETS. */
    private int envelopeOctets;

    private Connection connection;
    /** Who the client is: the socket's peer, or on a {@code +proxy} listener the one its header names. */
    private InetAddress client;
    /** On a {@code +proxy} listener the load balancer (the socket's peer), else {@code null}. */
    private InetAddress balancer;
    /** The limits' key for this client (its IPv4 address or IPv6 prefix), computed once at open. */
    private long clientKey;
    /** What the connection limiter handed out, given back at close; REFUSED while none is held. */
    private int limiterSlot = ConnectionLimiter.REFUSED;
    private boolean relayClient;
    /** A PROXY header said LOCAL or UNKNOWN: {@link #client} is the balancer, which gets no relay right. */
    private boolean unnamedBehindProxy;
    /** A byte came while waiting for the PROXY header: a close now is a refusal, not a health check. */
    private boolean proxyHeaderStarted;
    /** Counted as a balancer's health check: its disconnect line is DEBUG, not INFO. */
    private boolean healthCheck;
    /** Past the connection limits and rate: a session refused there is a rejection, never a health check. */
    private boolean admitted;
    /** A MAIL or AUTH came (a health check sends neither). */
    private boolean mailOrAuthSeen;
    /** The client ended the session (QUIT, or its FIN); a reset shows as onClose before our close. */
    private boolean clientEnded;
    private boolean inputShutdown;
    /**
     * We refused this transaction's MAIL (not for want of EHLO): this many of the 503s that RCPT,
     * DATA and BDAT draw until the next MAIL, RSET, HELO/EHLO or STARTTLS are not the client's
     * errors, since a pipelining client sent them before it could see the refusal. At most what one
     * pipelined transaction holds (smtp.max_recipients RCPTs and a DATA or BDAT): past that the
     * client has read the refusal and the 503s count again. Not reset with the transaction: a
     * refused BDAT resets that, and its pipelined followers must still be excused.
     */
    private int excusable503s;
    private Phase phase = Phase.COMMAND;
    private int errors;

    private String helo;
    private boolean esmtp;
    private String tlsProtocol;
    private String tlsCipher;
    private String authenticatedUser;
    private Mechanism authMechanism;
    private String authLoginUser;
    /** The users snapshot of the AUTH exchange under way (see {@link Authenticator#users()}). */
    private UserDatabase authUsers;

    private MailPath sender;
    private boolean smtpUtf8;
    private Body body = Body.NONE;
    private DsnReturn dsnReturn = DsnReturn.NONE;
    private String envelopeId = "";
    private QueueId messageId;
    private boolean storeFailed;
    private long storedOctets;
    private long chunkRemaining;
    private boolean chunkLast;
    private long chunkOctets;
    private boolean chunking;
    private Reply chunkError;
    /** Why a chunk of this transaction failed: every later chunk is read, discarded and answered so. */
    private Reply chunkFailure;
    private int messagesInSession;
    /**
     * The accepted message's log line, built on the loop before its commit and written by
     * {@link #durable} on the spool writer's thread: the commit request's hand-over to the writer
     * orders the two, and the loop does not build the next before {@link #committed}.
     */
    private volatile Object[] acceptedLine;
    /** Most bytes this session had queued for the client at once (for the bounded-memory check). */
    private long peakPendingBytes;

    /** Links in the loop's list of open sessions ({@link SessionServices}); loop thread only. */
    SmtpSession previousOnLoop;
    SmtpSession nextOnLoop;

    /**
     * @param servicesOf finds the shared services of the loop a connection landed on
     */
    public SmtpSession(ListenerContext listener, Function<Connection, SessionServices> servicesOf) {
        this.listener = listener;
        this.servicesOf = servicesOf;
        this.settings = listener.settings;
        // RFC 3461 4: ENVID (100) and ORCPT (500 characters) lengthen MAIL and RCPT past RFC 5321's 512.
        this.parser = new CommandParser(settings.maxLineOctets() + (settings.dsn() ? DSN_LINE_OCTETS : 0), settings.dsn());
        BareNewline policy = settings.bareNewline();
        this.decoder = new DataDecoder(policy, settings.maxTextLineOctets(), settings.maxMessageOctets());
    }

    // ---- connection events ------------------------------------------------------------------

    @Override
    public void onOpen(Connection connection) {
        this.connection = connection;
        this.services = servicesOf.apply(connection);
        services.add(this);
        java.net.InetSocketAddress remote = connection.remoteAddress();
        if (remote == null) { // reset before we could ask: nothing to serve
            phase = Phase.CLOSED;
            connection.abort();
            return;
        }
        this.client = remote.getAddress();
        listener.stats.connections.increment();
        if (services.shuttingDown()) {
            reply(Replies.SHUTTING_DOWN);
            close();
            return;
        }
        if (listener.proxy != null) {
            awaitProxyHeader();
        } else {
            admit();
        }
    }

    /**
     * Admits the client (once known: at open, or after a PROXY header): the connection limits and
     * rate, then TLS (smtps), the greeting pause or the greeting.
     */
    private void admit() {
        clientKey = listener.clientKey.of(client);
        // Behind a PROXY header the connection already holds its place in the total (see awaitProxyHeader).
        limiterSlot = limiterSlot == ConnectionLimiter.REFUSED ? listener.limiter.tryAcquire(clientKey)
                : listener.limiter.tryAcquireClient(limiterSlot, clientKey);
        if (limiterSlot == ConnectionLimiter.REFUSED) {
            listener.stats.rejectConnection(ConnectionRejection.LIMIT);
            log(Level.INFO, "reject", "reason", "connection limit");
            reply(Replies.TOO_MANY_CONNECTIONS);
            close();
            return;
        }
        boolean relayNetwork = settings.relayClients().test(client); // once per connection, not per RCPT
        // A LOCAL/UNKNOWN PROXY header names no client (a health check, or a frontend the balancer
        // cannot describe, such as a unix socket): the balancer's own relay right must not pass to it.
        relayClient = relayNetwork && !unnamedBehindProxy;
        // Like Postfix's smtpd_client_event_limit_exceptions (default $mynetworks): relay networks are exempt.
        if (!relayNetwork && !listener.connectionRate.tryAcquire(clientKey)) {
            listener.stats.rejectedConnections.increment();
            log(Level.INFO, "reject", "reason", "connection rate");
            reply(Replies.CONNECTION_RATE);
            close();
            return;
        }
        admitted = true;
        log(Level.DEBUG, "connect");
        if (listener.implicitTls) {
            connection.installLayer(listener.tls.newServerLayer(this));
            connection.deadline(now() + settings.handshakeTimeoutNanos());
        } else if (settings.greetPauseNanos() > 0) {
            phase = Phase.GREET_PAUSE;
            connection.deadline(now() + settings.greetPauseNanos());
        } else {
            greet();
        }
    }

    @Override
    public void onRead(Connection connection, ByteBuffer in) {
        readInput(in);
        notePendingBytes();
    }

    private void readInput(ByteBuffer in) {
        while (in.hasRemaining()) {
            switch (phase) {
                case PROXY_HEADER:
                    proxyHeaderStarted = true;
                    // After the header, smtps's TLS layer takes the rest of the read as network bytes.
                    if (!readProxyHeader(in) || connection.layer() != null) {
                        return;
                    }
                    break;
                case COMMAND:
                    // A client that pipelines without reading its replies: stop parsing at the high-water
                    // mark, so what we queue for it stays bounded; the connection reads nothing more and
                    // presents the rest again once the client has taken enough.
                    if (!connection.isWritable() || !parser.parse(in, command)) {
                        return;
                    }
                    dispatch();
                    break;
                case DATA:
                    readData(in);
                    break;
                case BDAT:
                    readChunk(in);
                    break;
                case AUTH_RESPONSE:
                    if (!saslParser().parse(in, command)) {
                        return;
                    }
                    authResponse();
                    break;
                case GREET_PAUSE:
                    preGreetTalker(in);
                    return;
                case COMMITTING:
                case AUTH_CHECK:
                    return;
                case CLOSED:
                default:
                    in.position(in.limit());
                    return;
            }
        }
    }

    @Override
    public void onDeadline(Connection connection) {
        if (phase == Phase.PROXY_HEADER) {
            refuseProxy(ProxyRefusal.TIMEOUT, null);
            return;
        }
        if (phase == Phase.GREET_PAUSE) {
            greet();
            return;
        }
        if (phase == Phase.COMMITTING || phase == Phase.AUTH_CHECK) {
            // The spool (or the password check) answers every request; a client waiting for it is not idle.
            connection.deadline(now() + settings.commandTimeoutNanos());
            return;
        }
        listener.stats.timeouts.increment();
        log(Level.INFO, "timeout", "phase", phase);
        abortMessage();
        if (!connection.isWritable()) {
            // It has not read its replies for a whole deadline: a 421 would only wait behind them.
            phase = Phase.CLOSED;
            connection.abort();
            return;
        }
        reply(Replies.TIMEOUT);
        close();
    }

    @Override
    public void onInputShutdown(Connection connection) {
        if (phase == Phase.PROXY_HEADER && !proxyHeaderStarted) {
            countHealthCheck(false);
            close();
        } else if (phase == Phase.PROXY_HEADER) {
            refuseProxy(ProxyRefusal.NO_HEADER, null);
        } else if (phase == Phase.COMMITTING) {
            inputShutdown = true; // answer the message first: it may already be durable
        } else {
            clientEnded = true;
            abortMessage();
            close();
        }
    }

    @Override
    public void onClose(Connection connection, Throwable cause) {
        // Our own close() says CLOSED first: any other phase here means the peer reset (or the
        // loop stopped under us).
        boolean closedUnderUs = phase != Phase.CLOSED;
        // Reset before any byte (HAProxy ends its checks with a RST), or an admitted LOCAL/UNKNOWN
        // session the balancer ended without mail (smtpchk: HELO, QUIT): the balancer checking we are up.
        boolean silentConnect = phase == Phase.PROXY_HEADER && !proxyHeaderStarted;
        boolean checkLocal = unnamedBehindProxy && (clientEnded || closedUnderUs) && looksLikeAHealthCheck();
        if (!healthCheck && (silentConnect || checkLocal)) {
            countHealthCheck(!silentConnect);
        } else if (phase == Phase.PROXY_HEADER) {
            countProxyRefusal(ProxyRefusal.NO_HEADER, null); // part of a header, then a reset
        }
        if (phase != Phase.COMMITTING) {
            abortMessage();
        }
        phase = Phase.CLOSED;
        services.remove(this);
        if (limiterSlot != ConnectionLimiter.REFUSED) {
            listener.limiter.release(limiterSlot);
            limiterSlot = ConnectionLimiter.REFUSED;
        }
        logDisconnect(healthCheck ? Level.DEBUG : Level.INFO, cause);
    }

    /** One line per connection, as operators expect from an MTA's log (a health check's at DEBUG). */
    private void logDisconnect(Level level, Throwable cause) {
        String tls = tlsProtocol == null ? "-" : tlsProtocol;
        if (balancer != null) {
            log(level, "disconnect", "messages", messagesInSession, "errors", errors, "tls", tls,
                    "via", balancer.getHostAddress(), "error", cause == null ? "-" : cause.toString());
        } else if (cause != null) {
            log(level, "disconnect", "messages", messagesInSession, "errors", errors, "tls", tls,
                    "error", cause.toString());
        } else {
            log(level, "disconnect", "messages", messagesInSession, "errors", errors, "tls", tls);
        }
    }

    private void countProxyRefusal(ProxyRefusal reason, String detail) {
        listener.stats.refuseProxy(reason);
        if (detail != null) {
            log(Level.INFO, "reject", "reason", "proxy " + reason.label(), "detail", detail);
        } else {
            log(Level.INFO, "reject", "reason", "proxy " + reason.label());
        }
    }

    // ---- PROXY protocol (a +proxy listener: a load balancer's header names the client) ------

    /** Takes a header only from a trusted balancer, and only until the deadline. */
    private void awaitProxyHeader() {
        if (!listener.proxy.trustedBalancers().test(client)) {
            refuseProxy(ProxyRefusal.UNTRUSTED, null);
            return;
        }
        // Counted in the total while it waits, so a flood (or a balancer's bug) cannot hold thousands
        // of sockets past limits.connections; not per client: the peer is the balancer, not the client.
        limiterSlot = listener.limiter.tryAcquireTotal();
        if (limiterSlot == ConnectionLimiter.REFUSED) {
            refuseProxy(ProxyRefusal.LIMIT, null);
            return;
        }
        phase = Phase.PROXY_HEADER;
        connection.deadline(now() + listener.proxy.headerTimeoutNanos()); // absolute: not renewed per read
    }

    /**
     * Reads the header in place; after it the client is the one it names (or, for LOCAL and UNKNOWN,
     * still the balancer), and the bytes behind it are the client's. Until it is whole, the
     * connection keeps what came (at most {@link ProxyHeaderParser#V2_MAX_OCTETS}: past that the
     * parser says TOO_LONG) and presents it again with more.
     *
     * @return true when the header was read and the client admitted
     */
    private boolean readProxyHeader(ByteBuffer in) {
        ProxyHeaderParser parser = services.proxyParser();
        ProxyHeaderParser.Result result = parser.parse(in);
        switch (result) {
            case INCOMPLETE:
                return false;
            case MALFORMED:
                refuseProxy(ProxyRefusal.MALFORMED, parser.problem());
                return false;
            case TOO_LONG:
                refuseProxy(ProxyRefusal.TOO_LONG, parser.problem());
                return false;
            case PROXIED:
                balancer = client;
                client = parser.sourceAddress();
                break;
            case LOCAL:
            default:
                unnamedBehindProxy = true;
                break;
        }
        listener.stats.proxyHeader(parser.version(), result == ProxyHeaderParser.Result.PROXIED);
        if (listener.log.enabled(Level.DEBUG)) { // getHostAddress builds a String: only when it is logged
            log(Level.DEBUG, "proxy", "version", parser.version(), "via", (balancer == null ? client : balancer).getHostAddress(),
                    "local", result == ProxyHeaderParser.Result.LOCAL);
        }
        phase = Phase.COMMAND;
        connection.deadline(0);
        admit();
        return phase != Phase.CLOSED;
    }

    /**
     * A balancer's health check: a connection closed before any byte, or after a LOCAL/UNKNOWN
     * header a session without MAIL, AUTH or error that the balancer ended (QUIT, close or reset;
     * HELO/EHLO, NOOP, RSET allowed: HAProxy's smtpchk says HELO then QUIT). Counted, not logged at
     * INFO: HAProxy checks every 2 s by default, and a line each would bury the log.
     */
    private void countHealthCheck(boolean local) {
        healthCheck = true;
        listener.stats.proxyHealthCheck(local);
    }

    /** Admitted, and no MAIL, AUTH or error (a greeting, HELO/EHLO and the like at most). */
    private boolean looksLikeAHealthCheck() {
        return admitted && !mailOrAuthSeen && errors == 0 && messagesInSession == 0;
    }

    /** Closes without a reply: the peer is the balancer (or a stranger), not an SMTP client. */
    private void refuseProxy(ProxyRefusal reason, String detail) {
        countProxyRefusal(reason, detail);
        phase = Phase.CLOSED;
        connection.discardInput();
        close();
    }

    // ---- TLS ------------------------------------------------------------------------------

    @Override
    public void handshakeCompleted(String protocol, String cipherSuite) {
        tlsProtocol = protocol;
        tlsCipher = cipherSuite;
        listener.stats.tlsHandshake(protocol, cipherSuite);
        log(Level.DEBUG, "tls", "protocol", protocol, "cipher", cipherSuite);
        if (listener.implicitTls && phase == Phase.COMMAND && helo == null && messagesInSession == 0) {
            greet();
            connection.flush();
        } else {
            connection.deadline(now() + settings.commandTimeoutNanos());
        }
    }

    @Override
    public void handshakeFailed(Throwable cause) {
        listener.stats.tlsFailures.increment();
        log(Level.INFO, "tls-failed", "error", cause.toString());
        phase = Phase.CLOSED;
        connection.abort();
    }

    private void startTls() {
        if (command.hasArgument()) {
            error(Replies.NO_PARAMETERS_ALLOWED);
        } else if (tlsProtocol != null || connection.layer() != null) {
            error(Replies.ALREADY_TLS);
        } else if (listener.tls == null) {
            error(Replies.TLS_NOT_AVAILABLE);
        } else {
            // RFC 3207 4.2: forget everything learned before TLS, and drop whatever the client
            // pipelined after STARTTLS (CVE-2011-0411). The 220 leaves in plaintext because it is
            // queued before the layer goes in.
            reply(Replies.READY_FOR_TLS);
            connection.installLayer(listener.tls.newServerLayer(this));
            connection.discardInput();
            parser.reset();
            resetTransaction();
            excusable503s = 0;
            helo = null;
            esmtp = false;
            connection.deadline(now() + settings.handshakeTimeoutNanos());
        }
    }

    // ---- commands -------------------------------------------------------------------------

    private void dispatch() {
        Reply syntax = command.error();
        if (command.verb() == io.sluice.smtp.protocol.Verb.HTTP) {
            http();
            return;
        }
        if (services.shuttingDown() && sender == null) {
            reply(Replies.SHUTTING_DOWN); // no transaction to finish: RFC 5321 3.8
            close();
            return;
        }
        if (syntax != null) {
            if (command.verb() == io.sluice.smtp.protocol.Verb.MAIL) {
                excusable503s = 0; // a MAIL of its own: what follows it is the client's doing
            }
            refuse(syntax);
            return;
        }
        if (settings.tlsRequired() && tlsProtocol == null && needsTls()) {
            refuse(Replies.STARTTLS_REQUIRED);
            return;
        }
        connection.deadline(now() + settings.commandTimeoutNanos());
        switch (command.verb()) {
            case EHLO -> hello(true);
            case HELO -> hello(false);
            case MAIL -> mail();
            case RCPT -> rcpt();
            case DATA -> data();
            case BDAT -> bdat();
            case RSET -> rset();
            case NOOP -> reply(Replies.OK);
            case QUIT -> quit();
            case VRFY -> reply(Replies.CANNOT_VRFY);
            case EXPN -> error(Replies.EXPN_NOT_SUPPORTED);
            case HELP -> reply(Replies.HELP);
            case STARTTLS -> startTls();
            case AUTH -> auth();
            case HTTP -> http();
            default -> error(Replies.COMMAND_UNRECOGNIZED);
        }
    }

    // ---- AUTH (RFC 4954) ----------------------------------------------------------------------

    private void auth() {
        mailOrAuthSeen = true;
        String argument = command.authArgument();
        if (listener.auth == null) {
            error(Replies.AUTH_NOT_AVAILABLE);
        } else if (tlsProtocol == null) {
            error(Replies.AUTH_NEEDS_TLS);
        } else if (helo == null) {
            error(Replies.NEED_HELO);
        } else if (authenticatedUser != null) {
            error(Replies.ALREADY_AUTHENTICATED);
        } else if (sender != null) {
            error(Replies.AUTH_IN_TRANSACTION);
        } else if (argument == null) {
            error(Replies.SYNTAX_ERROR_PARAMETERS);
        } else {
            int space = argument.indexOf(' ');
            String name = space < 0 ? argument : argument.substring(0, space);
            String initial = space < 0 ? null : argument.substring(space + 1);
            if (name.equalsIgnoreCase("PLAIN")) {
                authMechanism = Mechanism.PLAIN;
            } else if (name.equalsIgnoreCase("LOGIN")) {
                authMechanism = Mechanism.LOGIN;
            } else {
                error(Replies.AUTH_MECHANISM_UNKNOWN);
                return;
            }
            authLoginUser = null;
            // The users file may be reloaded while this exchange runs: it is checked against the users of its start.
            authUsers = listener.auth.users();
            if (initial == null) {
                phase = Phase.AUTH_RESPONSE;
                reply(authMechanism == Mechanism.PLAIN ? Replies.AUTH_CONTINUE : Replies.AUTH_USERNAME);
            } else {
                saslStep("=".equals(initial) ? "" : initial);
            }
        }
    }

    private void authResponse() {
        phase = Phase.COMMAND;
        Reply lineError = command.error();
        // A response is not a command: only errors of the line itself (length, CR/LF, controls) count.
        if (lineError == Replies.LINE_TOO_LONG || lineError == Replies.BARE_NEWLINE_IN_COMMAND
                || lineError == Replies.CONTROL_CHARACTER) {
            error(Replies.AUTH_BAD_RESPONSE);
        } else if ("*".equals(saslParser.lastLine())) {
            error(Replies.AUTH_CANCELLED);
        } else {
            saslStep(saslParser.lastLine());
        }
    }

    /** Allocates once per session that authenticates (rare, and a 1 KiB line array per session would not be). */
    private CommandParser saslParser() {
        if (saslParser == null) {
            saslParser = new CommandParser(Math.max(settings.maxLineOctets(), SASL_RESPONSE_MAX_LINE_OCTETS));
        }
        return saslParser;
    }

    /** One client response of the exchange: base64 of PLAIN's triple, or of LOGIN's name then password. */
    private void saslStep(String base64) {
        byte[] decoded;
        try {
            decoded = Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            error(Replies.AUTH_BAD_RESPONSE);
            return;
        }
        String text = new String(decoded, StandardCharsets.UTF_8);
        Arrays.fill(decoded, (byte) 0);
        if (authMechanism == Mechanism.LOGIN && authLoginUser == null) {
            authLoginUser = text;
            phase = Phase.AUTH_RESPONSE;
            reply(Replies.AUTH_PASSWORD);
            return;
        }
        String user;
        String password;
        if (authMechanism == Mechanism.LOGIN) {
            user = authLoginUser;
            password = text;
        } else {
            // authzid NUL authcid NUL passwd; an authzid other than the authcid is not supported
            int first = text.indexOf('\0');
            int second = first < 0 ? -1 : text.indexOf('\0', first + 1);
            if (second < 0) {
                error(Replies.AUTH_BAD_RESPONSE);
                return;
            }
            String authzid = text.substring(0, first);
            user = text.substring(first + 1, second);
            password = text.substring(second + 1);
            if (!authzid.isEmpty() && !authzid.equals(user)) {
                failAuth(user);
                return;
            }
        }
        checkCredentials(user, password.toCharArray());
    }

    private void checkCredentials(String user, char[] password) {
        phase = Phase.AUTH_CHECK;
        connection.suspendRead();
        boolean queued = listener.auth.check(authUsers, user, password, client, services.executor(), ok -> {
            if (phase != Phase.AUTH_CHECK) {
                return; // closed meanwhile
            }
            if (ok) {
                authenticatedUser = user;
                log(Level.INFO, "auth", "user", user, "result", "ok");
                reply(Replies.AUTH_SUCCEEDED);
                resumeCommands();
            } else {
                failAuth(user);
            }
        });
        if (!queued) {
            phase = Phase.COMMAND;
            connection.resumeRead();
            error(Replies.AUTH_TEMPORARY_FAILURE);
        }
    }

    /** A failure is answered late, the later the more this client failed recently (a brake on guessing). */
    private void failAuth(String user) {
        log(Level.INFO, "auth", "user", user, "result", "failed");
        long delay = listener.auth.failureDelayNanos(client);
        phase = Phase.AUTH_CHECK;
        connection.suspendRead();
        services.scheduler().schedule(now() + delay, () -> {
            if (phase != Phase.AUTH_CHECK) {
                return;
            }
            error(Replies.AUTH_FAILED);
            if (phase != Phase.CLOSED) {
                resumeCommands();
            } else {
                connection.flush();
            }
        });
    }

    private boolean needsTls() {
        switch (command.verb()) {
            case EHLO, HELO, NOOP, RSET, QUIT, STARTTLS, AUTH: // AUTH answers 538 itself
                return false;
            default:
                return true;
        }
    }

    private void hello(boolean extended) {
        excusable503s = 0;
        resetTransaction();
        helo = command.domain();
        esmtp = extended;
        if (!extended) {
            reply(listener.replies.helo);
        } else {
            reply(tlsProtocol == null ? listener.replies.ehloPlain : listener.replies.ehloTls);
        }
    }

    private void mail() {
        mailOrAuthSeen = true;
        if (helo == null) {
            error(Replies.NEED_HELO);
        } else if (sender != null) {
            error(Replies.NESTED_MAIL);
        } else if (command.authParameter() && !authOffered()) {
            error(Replies.UNSUPPORTED_PARAMETER); // RFC 4954 5: AUTH= belongs to the AUTH extension
        } else if (settings.maxMessageOctets() > 0 && command.size() > settings.maxMessageOctets()) {
            error(Replies.MESSAGE_TOO_LARGE);
        } else if (command.body() == Body.BINARY_MIME && !settings.binaryMime()) {
            error(Replies.UNSUPPORTED_PARAMETER); // not in our EHLO reply (smtp.binarymime = false)
        } else if (command.dsnParameter() && !settings.dsn()) {
            error(Replies.UNSUPPORTED_PARAMETER); // not in our EHLO reply (smtp.dsn = false)
        } else if (command.path().isUtf8() && !command.smtpUtf8()) {
            error(Replies.SMTPUTF8_REQUIRED);
        } else if (services.store().stalled()) {
            // The spool's fsync hangs: a message taken now would wait behind it for its 250, maybe
            // for minutes; a 451 sends the client to retry (or to another MX). Checked before the
            // rate limit so the refusal costs the client no token; our failure: not counted.
            listener.stats.rejectMessage(Replies.LOCAL_ERROR.code());
            log(Level.INFO, "reject", "reason", "spool stalled");
            reply(Replies.LOCAL_ERROR);
        } else if (!relayClient && !listener.messageRate.tryAcquire(clientKey)) {
            listener.stats.rejectedMessages.increment();
            log(Level.INFO, "reject", "reason", "message rate");
            reply(Replies.MESSAGE_RATE);
            close();
        } else {
            sender = command.path();
            smtpUtf8 = command.smtpUtf8();
            body = command.body();
            dsnReturn = command.ret() == Command.RET_FULL ? DsnReturn.FULL
                    : command.ret() == Command.RET_HDRS ? DsnReturn.HEADERS : DsnReturn.NONE;
            envelopeId = command.envelopeId() != null ? command.envelopeId() : "";
            envelopeOctets = EnvelopeOctets.beforeRecipients(sender.address(), helo, envelopeId);
            reply(Replies.MAIL_OK);
        }
        // Refused for a reason the client learns only from our reply (not NEED_HELO; NESTED_MAIL keeps its sender).
        excusable503s = sender == null && helo != null ? (int) Math.min(Integer.MAX_VALUE, settings.maxRecipients() + 1L) : 0;
    }

    /** AUTH is in our EHLO reply only inside TLS and only with a user database (ListenerReplies). */
    private boolean authOffered() {
        return listener.auth != null && tlsProtocol != null;
    }

    private void rcpt() {
        if (sender == null) {
            sequenceError(Replies.NEED_MAIL);
            return;
        }
        MailPath path = command.path();
        int rcptOctets = EnvelopeOctets.ofRecipient(path.address(), command.originalRecipient());
        if (recipients.size() >= settings.maxRecipients() || envelopeOctets + rcptOctets > EnvelopeOctets.MAX_OCTETS) {
            // Not an error of the client's (RFC 5321 4.5.3.1.10): it sends the message to the recipients
            // we took and the rest in a later transaction, so a pipelined overshoot must not reach the
            // error limit's 421, which would lose the whole transaction (Postfix's recipient overshoot).
            // The same for the spool's envelope limit, which long ORCPTs reach before the count does.
            reply(Replies.TOO_MANY_RECIPIENTS);
        } else if (command.dsnParameter() && !settings.dsn()) {
            error(Replies.UNSUPPORTED_PARAMETER); // not in our EHLO reply (smtp.dsn = false)
        } else if ((path.isUtf8() || command.originalRecipientUtf8()) && !smtpUtf8) {
            error(Replies.SMTPUTF8_REQUIRED); // RFC 6533 3: utf-8-addr-unitext only under SMTPUTF8
        } else if (!path.isPostmaster() && !mayRelayTo(path)) {
            error(Replies.RELAY_DENIED);
        } else {
            addRecipientDsn();
            recipients.add(path.address());
            envelopeOctets += rcptOctets;
            reply(Replies.RCPT_OK);
        }
    }

    /** Keeps NOTIFY and ORCPT beside the recipient; the list exists only once some RCPT had them. */
    private void addRecipientDsn() {
        if (command.notifyBits() == 0 && command.originalRecipient() == null) {
            if (recipientDsn != null) {
                recipientDsn.add(RecipientDsn.NONE);
            }
            return;
        }
        if (recipientDsn == null) {
            // Allocation allowed: only transactions that use DSN pay for the list.
            recipientDsn = new ArrayList<>(Math.max(8, recipients.size() + 1));
            for (int i = 0; i < recipients.size(); i++) {
                recipientDsn.add(RecipientDsn.NONE);
            }
        }
        // Command's NOTIFY bits are RecipientDsn's (same values; DsnParameterParserTest checks).
        String orcpt = command.originalRecipient();
        recipientDsn.add(new RecipientDsn(command.notifyBits(), orcpt != null ? orcpt : ""));
    }

    private boolean mayRelayTo(MailPath path) {
        return relayClient || authenticatedUser != null || settings.localDomains().contains(path.domain());
    }

    private void data() {
        if (command.hasArgument()) {
            error(Replies.NO_PARAMETERS_ALLOWED);
        } else if (chunking) {
            error(Replies.BAD_SEQUENCE);
        } else if (sender == null) {
            sequenceError(Replies.NEED_MAIL);
        } else if (body == Body.BINARY_MIME) {
            error(Replies.BINARYMIME_NEEDS_BDAT); // RFC 3030 3: a BINARYMIME message comes only with BDAT
        } else if (recipients.isEmpty()) {
            error(Replies.NEED_RCPT);
        } else if (beginMessage()) {
            decoder.reset();
            reply(Replies.START_DATA);
            phase = Phase.DATA;
            connection.deadline(now() + settings.dataTimeoutNanos());
        }
    }

    private void bdat() {
        chunkRemaining = command.chunkSize();
        chunkLast = command.lastChunk();
        chunkError = chunkFailure;
        if (sender == null) {
            chunkError = Replies.NEED_MAIL;
        } else if (recipients.isEmpty()) {
            chunkError = Replies.NEED_RCPT;
        } else if (!chunking) {
            chunking = true;
            chunkOctets = 0;
            if (!beginMessage()) {
                chunkError = Replies.INSUFFICIENT_STORAGE;
            }
        }
        if (chunking && chunkOctets == 0 && phase == Phase.COMMAND) {
            connection.deadline(now() + settings.dataTimeoutNanos());
        }
        phase = Phase.BDAT;
        if (chunkRemaining == 0) {
            chunkDone();
        }
    }

    /** Answers a command refused before it ran; a BDAT whose size could be read has its chunk read first. */
    private void refuse(Reply reason) {
        if (command.verb() == io.sluice.smtp.protocol.Verb.BDAT && command.chunkSize() >= 0) {
            refuseChunk(reason);
        } else {
            error(reason);
        }
    }

    /**
     * A BDAT refused before it ran still carries its chunk (RFC 3030 2): read and discard those
     * octets, then answer, so they are never taken for commands.
     */
    private void refuseChunk(Reply reason) {
        chunkRemaining = command.chunkSize();
        chunkLast = command.lastChunk();
        chunkError = reason;
        phase = Phase.BDAT;
        if (chunkRemaining == 0) {
            chunkDone();
        }
    }

    private void rset() {
        if (command.hasArgument()) {
            error(Replies.NO_PARAMETERS_ALLOWED); // RFC 5321 4.1.1.5: rset = "RSET" CRLF
            return;
        }
        excusable503s = 0;
        resetTransaction();
        reply(Replies.OK);
    }

    private void quit() {
        if (command.hasArgument()) {
            error(Replies.NO_PARAMETERS_ALLOWED); // RFC 5321 4.1.1.10: quit = "QUIT" CRLF
            return;
        }
        reply(Replies.BYE);
        clientEnded = true;
        close();
    }

    private void http() {
        listener.stats.rejectConnection(ConnectionRejection.HTTP);
        log(Level.INFO, "reject", "reason", "http request");
        reply(Replies.HTTP_NOT_SERVED);
        close();
    }

    // ---- message text ---------------------------------------------------------------------

    /** Opens the message in the store and writes our Received: line; false after replying 452. */
    private boolean beginMessage() {
        storeFailed = false;
        long arrival = System.currentTimeMillis();
        try {
            messageId = services.store().begin(envelope(arrival));
            storedOctets = 0;
            boolean keeps = services.store().keepsContent();
            // The sink keeps and relays nothing, so no loop can go through it: it does not count hops.
            // Our own Received: line below goes to the store directly and is not counted either.
            hops.begin(keeps ? settings.maxHops() : 0);
            if (keeps) {
                ByteBuffer received = ReceivedHeader.build(helo, client, settings.hostname(), protocol(),
                        tlsProtocol, tlsCipher, messageId.toString(), recipients, arrival);
                storedOctets = received.remaining();
                services.store().append(messageId, received);
            }
            return true;
        } catch (IOException e) {
            storageError(e);
            abortMessage(); // begin may have succeeded before the append failed
            if (!chunking) {
                reply(Replies.INSUFFICIENT_STORAGE); // our failure, not the client's: not counted
            }
            return false;
        } catch (IllegalArgumentException e) {
            // The store refused the envelope (too large for its BEGIN record): rcpt() counts against
            // that limit, so this is our miscount; answer (BDAT: at its chunk) rather than drop.
            log(Level.WARN, "envelope-refused", "error", e.toString());
            abortMessage();
            if (!chunking) {
                reply(Replies.INSUFFICIENT_STORAGE);
            }
            return false;
        }
    }

    private Envelope envelope(long arrivalMillis) {
        EnvelopeDsn dsn = dsnReturn == DsnReturn.NONE && envelopeId.isEmpty() && recipientDsn == null
                ? EnvelopeDsn.NONE
                : new EnvelopeDsn(dsnReturn, envelopeId, recipientDsn != null ? recipientDsn : List.of());
        return new Envelope(sender.address(), recipients, client.getHostAddress(), helo,
                protocol(), arrivalMillis, bodyType(), smtpUtf8, dsn);
    }

    private BodyType bodyType() {
        return body == Body.EIGHT_BIT_MIME ? BodyType.EIGHT_BIT_MIME
                : body == Body.BINARY_MIME ? BodyType.BINARY_MIME : BodyType.SEVEN_BIT;
    }

    /**
     * The Received: "with" keyword, from the registered names only (RFC 3848, RFC 6531 3.7.3): TLS and
     * AUTH are ESMTP extensions, so a client that said HELO but used them is ESMTPS/ESMTPA, never the
     * unregistered "SMTPS"; a transaction with MAIL's SMTPUTF8 parameter is UTF8SMTP*.
     */
    private String protocol() {
        boolean tls = tlsProtocol != null;
        boolean authenticated = authenticatedUser != null;
        if (!esmtp && !tls && !authenticated && !smtpUtf8) {
            return "SMTP";
        }
        return WITH_PROTOCOLS[(smtpUtf8 ? 4 : 0) | (tls ? 2 : 0) | (authenticated ? 1 : 0)];
    }

    private void readData(ByteBuffer in) {
        ByteBuffer scratch = services.scratch();
        boolean end;
        do {
            scratch.clear();
            end = decoder.decode(in, scratch);
            scratch.flip();
            store(scratch);
        } while (!end && in.hasRemaining());
        if (end) {
            endOfData();
        }
    }

    private void readChunk(ByteBuffer in) {
        int n = (int) Math.min(chunkRemaining, in.remaining());
        int limit = in.limit();
        in.limit(in.position() + n);
        chunkOctets += n;
        if (chunkError == null && settings.maxMessageOctets() > 0 && chunkOctets > settings.maxMessageOctets()) {
            chunkError = Replies.MESSAGE_TOO_LARGE;
        }
        if (chunkError == null) {
            store(in);
        }
        in.position(in.limit());
        in.limit(limit);
        chunkRemaining -= n;
        if (chunkRemaining == 0) {
            chunkDone();
        }
    }

    private void chunkDone() {
        phase = Phase.COMMAND;
        if (chunkError != null) {
            Reply failure = chunkError;
            boolean firstFailure = chunkFailure == null;
            if (firstFailure && sender != null && isMessageVerdict(failure)) {
                logRefused(messageId, chunkOctets, "result", failure.code());
            }
            if (chunkLast || sender == null || recipients.isEmpty()) {
                abortMessage();
                resetTransaction();
            } else {
                // RFC 3030 2: the transaction has failed; chunks already pipelined behind this one are
                // read and discarded, never acknowledged, until BDAT LAST or RSET ends it.
                chunkFailure = failure;
            }
            if (firstFailure) {
                listener.stats.rejectMessage(failure.code());
            }
            if (isMessageVerdict(failure)) {
                reply(failure); // every chunk after the one that went over the limit gets it: none counts
            } else if (failure == Replies.NEED_MAIL) {
                sequenceError(failure);
            } else {
                error(failure);
            }
        } else if (chunkLast && hops.tooManyHops()) {
            refuseMessage(Replies.TOO_MANY_HOPS);
        } else if (chunkLast) {
            finishMessage(chunkOctets);
        } else {
            reply(Replies.OK);
        }
    }

    private void store(ByteBuffer data) {
        if (storeFailed || !data.hasRemaining()) {
            return;
        }
        hops.scan(data);
        if (hops.tooManyHops()) {
            return; // refused at its end anyway: spool no more of a looping message
        }
        try {
            storedOctets += data.remaining();
            services.store().append(messageId, data);
        } catch (IOException e) {
            storageError(e);
        }
    }

    private void storageError(IOException e) {
        if (!storeFailed) {
            storeFailed = true;
            log(Level.WARN, "spool-error", "error", e.toString());
        }
    }

    private void endOfData() {
        phase = Phase.COMMAND;
        Reply rejection = null;
        if (decoder.tooLarge()) {
            rejection = Replies.MESSAGE_TOO_LARGE;
        } else if (decoder.lineTooLong()) {
            rejection = Replies.DATA_LINE_TOO_LONG;
        } else if (decoder.bareNewlineSeen() && settings.bareNewline() == BareNewline.REJECT) {
            rejection = Replies.BARE_NEWLINE_IN_DATA;
        } else if (hops.tooManyHops()) {
            rejection = Replies.TOO_MANY_HOPS;
        }
        if (rejection != null) {
            refuseMessage(rejection);
            return;
        }
        finishMessage(decoder.messageOctets());
    }

    /** Refuses the whole message after its end (the session is in sync again): nothing is queued. */
    private void refuseMessage(Reply rejection) {
        long octets = chunking ? chunkOctets : decoder.messageOctets();
        if (rejection == Replies.TOO_MANY_HOPS) {
            logRefused(messageId, octets, "result", rejection.code(), "reason", "too many hops",
                    "hops", hops.hops(), "limit", settings.maxHops());
        } else {
            logRefused(messageId, octets, "result", rejection.code());
        }
        listener.stats.rejectMessage(rejection.code());
        abortMessage();
        resetTransaction();
        reply(rejection); // a verdict on the message, not a client error: see isMessageVerdict
    }

    /**
     * A refusal of a whole message rather than of a command: over the size limit, a mail loop, bare
     * CR/LF or an over-long line in its text, or our spool failing. The client kept to the protocol
     * and the session is in sync, so these do not count toward {@code smtp.max_errors}; a relay
     * passing on a burst of looping or oversized mail is not cut off with good mail queued behind.
     * Postfix's smtpd counts them (data_cmd returns the cleanup status and its command loop adds one
     * to error_count) but forgives all errors once a message is accepted; not counting them at all
     * is the simpler rule with the same effect on a well-behaved relay.
     */
    private static boolean isMessageVerdict(Reply reply) {
        return reply == Replies.MESSAGE_TOO_LARGE || reply == Replies.INSUFFICIENT_STORAGE
                || reply == Replies.TOO_MANY_HOPS || reply == Replies.BARE_NEWLINE_IN_DATA
                || reply == Replies.DATA_LINE_TOO_LONG;
    }

    /** Asks the store to make the message durable; the reply waits for {@link #committed}. */
    private void finishMessage(long octets) {
        if (storeFailed) {
            logRefused(messageId, octets, "result", Replies.INSUFFICIENT_STORAGE.code());
            listener.stats.rejectMessage(Replies.INSUFFICIENT_STORAGE.code());
            abortMessage();
            resetTransaction();
            reply(Replies.INSUFFICIENT_STORAGE); // our failure, not the client's: not counted
            return;
        }
        chunkOctets = octets;
        if (listener.log.enabled(Level.INFO)) {
            acceptedLine = messageLine(messageId, octets, "result", 250);
        }
        // Waiting state first: a store may answer before commit() returns (the sink does).
        phase = Phase.COMMITTING;
        connection.suspendRead();
        try {
            services.store().commit(messageId, storedOctets, this, services.executor());
        } catch (IOException e) {
            storageError(e);
            listener.stats.rejectMessage(Replies.INSUFFICIENT_STORAGE.code());
            messageId = null;
            resetTransaction();
            phase = Phase.COMMAND;
            connection.resumeRead();
            reply(Replies.INSUFFICIENT_STORAGE); // our failure, not the client's: not counted
        }
    }

    @Override
    public void committed(QueueId id) {
        if (!id.equals(messageId)) {
            return;
        }
        messagesInSession++;
        listener.stats.messages.increment();
        listener.stats.messageOctets.add(chunkOctets);
        acceptedLine = null; // logged by durable(), before any delivery of it
        messageId = null;
        resetTransaction();
        if (phase == Phase.CLOSED) {
            return;
        }
        // Allocates the id's text once per message: the reply carries it.
        byte[] idText = id.toString().getBytes(StandardCharsets.US_ASCII);
        connection.write(QUEUED_PREFIX, 0, QUEUED_PREFIX.length);
        connection.write(idText, 0, idText.length);
        connection.write(CRLF, 0, CRLF.length);
        notePendingBytes();
        resumeCommands();
    }

    /**
     * The spool writer's thread, once the message is durable and before delivery can start: writes
     * its one log line (built on the loop by finishMessage), so that line comes before every
     * delivery line of the message and before the connection's. Reads nothing else of the session.
     */
    @Override
    public void durable(QueueId id) {
        Object[] line = acceptedLine;
        if (line != null) {
            listener.log.log(Level.INFO, "queued", line);
        }
    }

    /**
     * The one line per message: queue id, client, sender, recipients and size, then its outcome
     * ({@code result=} the reply code, and why). Allocates per message, as any log line does.
     */
    private Object[] messageLine(QueueId id, long octets, Object... outcome) {
        Object[] head = {"client", client.getHostAddress(), "id", id == null ? "-" : id,
            "from", sender.address(), "to", recipientList(), "rcpts", recipients.size(), "size", octets,
            "proto", protocol(), "auth", authenticatedUser == null ? "-" : authenticatedUser};
        Object[] all = Arrays.copyOf(head, head.length + outcome.length);
        System.arraycopy(outcome, 0, all, head.length, outcome.length);
        return all;
    }

    private String recipientList() {
        int shown = Math.min(recipients.size(), LOGGED_RECIPIENTS);
        String list = String.join(",", recipients.subList(0, shown));
        return shown == recipients.size() ? list : list + ",+" + (recipients.size() - shown);
    }

    /** A refused message's line (rare: built only when the log takes INFO). */
    private void logRefused(QueueId id, long octets, Object... outcome) {
        if (listener.log.enabled(Level.INFO)) {
            listener.log.log(Level.INFO, "reject", messageLine(id, octets, outcome));
        }
    }

    @Override
    public void failed(QueueId id, IOException cause) {
        if (!id.equals(messageId)) {
            return;
        }
        log(Level.WARN, "spool-error", "id", id, "error", cause.toString());
        logRefused(id, chunkOctets, "result", Replies.INSUFFICIENT_STORAGE.code());
        acceptedLine = null;
        listener.stats.rejectMessage(Replies.INSUFFICIENT_STORAGE.code());
        messageId = null;
        resetTransaction();
        if (phase == Phase.CLOSED) {
            return;
        }
        reply(Replies.INSUFFICIENT_STORAGE);
        resumeCommands();
    }

    private void resumeCommands() {
        if (inputShutdown) {
            close(); // the client half-closed while its message committed: the reply is flushed, then we go
            return;
        }
        phase = Phase.COMMAND;
        connection.deadline(now() + settings.commandTimeoutNanos());
        connection.flush();
        connection.resumeRead();
    }

    private void abortMessage() {
        if (messageId != null) {
            services.store().abort(messageId);
            messageId = null;
        }
    }

    private void resetTransaction() {
        abortMessage();
        sender = null;
        recipients.clear();
        recipientDsn = null;
        envelopeOctets = 0;
        smtpUtf8 = false;
        body = Body.NONE;
        dsnReturn = DsnReturn.NONE;
        envelopeId = "";
        chunking = false;
        chunkOctets = 0;
        chunkFailure = null;
        storeFailed = false;
        hops.begin(0);
    }

    // ---- replies and lifecycle ------------------------------------------------------------

    private void greet() {
        if (services.shuttingDown()) {
            reply(Replies.SHUTTING_DOWN);
            close();
            return;
        }
        phase = Phase.COMMAND;
        reply(listener.replies.greeting);
        connection.deadline(now() + settings.commandTimeoutNanos());
    }

    /** A client that speaks before our greeting is a bot that does not wait (postscreen's test). */
    private void preGreetTalker(ByteBuffer in) {
        in.position(in.limit());
        listener.stats.rejectConnection(ConnectionRejection.PREGREET);
        log(Level.INFO, "reject", "reason", "pregreet");
        reply(PREGREET);
        close();
    }

    private void reply(Reply reply) {
        byte[] bytes = reply.bytes();
        connection.write(bytes, 0, bytes.length);
    }

    /**
     * A 503 for want of MAIL: counted as {@link #error} unless it answers a command pipelined behind
     * a MAIL we refused ({@link #excusable503s}), which the client could not have known to hold back.
     */
    private void sequenceError(Reply reply) {
        if (excusable503s > 0) {
            excusable503s--;
            reply(reply);
        } else {
            error(reply);
        }
    }

    /** Sends an error reply and counts it; too many and the client is shown the door. */
    private void error(Reply reply) {
        reply(reply);
        if (++errors > settings.maxErrors() && phase != Phase.CLOSED) {
            listener.stats.rejectConnection(ConnectionRejection.TOO_MANY_ERRORS);
            log(Level.INFO, "reject", "reason", "too many errors");
            reply(Replies.TOO_MANY_ERRORS);
            close();
        }
    }

    // ---- graceful shutdown (SessionServices calls these on the loop) ------------------------

    /** After MAIL, in DATA or BDAT, or waiting for the spool: a transaction the shutdown lets finish. */
    boolean inTransaction() {
        return sender != null || phase == Phase.DATA || phase == Phase.BDAT || phase == Phase.COMMITTING;
    }

    /** The grace period is over: 421 4.3.2 and close, whatever the session was doing. */
    void shutDownNow() {
        if (phase == Phase.CLOSED || !connection.isOpen()) {
            return;
        }
        if (phase == Phase.PROXY_HEADER) {
            close(); // the peer is the balancer: nothing to say to it
            return;
        }
        log(Level.INFO, "shutdown", "phase", phase);
        if (phase != Phase.COMMITTING) {
            abortMessage(); // a message waiting for the spool may still become durable: leave it to the spool
        }
        reply(Replies.SHUTTING_DOWN);
        close();
    }

    /** Once per read (not per reply): replies pile up within a read and leave at the flush after it. */
    private void notePendingBytes() {
        long pending = connection.pendingWriteBytes();
        if (pending > peakPendingBytes) {
            peakPendingBytes = pending;
            listener.stats.peakPendingWriteBytes.accumulate(pending);
        }
    }

    private void close() {
        phase = Phase.CLOSED;
        connection.deadline(0);
        connection.close();
    }

    private long now() {
        return services.clock().nanoTime();
    }

    private void log(Level level, String event, Object... keyValues) {
        if (!listener.log.enabled(level)) {
            return;
        }
        Object[] all = new Object[keyValues.length + 2];
        all[0] = "client";
        all[1] = client == null ? "-" : client.getHostAddress();
        System.arraycopy(keyValues, 0, all, 2, keyValues.length);
        listener.log.log(level, event, all);
    }
}
