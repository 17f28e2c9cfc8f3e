package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.sluice.reactor.StreamLayer;
import io.sluice.smtp.auth.Authenticator;
import io.sluice.smtp.auth.PasswordHash;
import io.sluice.smtp.auth.UserDatabase;

/**
 * The inbound session read against the RFCs: each test names the section it checks and pins a
 * behaviour that once differed from it. Driven without sockets, like {@link SmtpSessionTest}.
 */
class RfcConformanceTest {

    private static final long SECOND = 1_000_000_000L;

    private final long now = 1_000 * SECOND;
    private final RecordingStore store = new RecordingStore();
    private final ConnectionLimiter limiter = new ConnectionLimiter(1000, 100);
    private final List<Runnable> scheduled = new ArrayList<>();
    private final Thread testThread = Thread.currentThread();
    private final java.util.Queue<Runnable> fromOtherThreads = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.util.concurrent.Executor loop = task -> {
        if (Thread.currentThread() == testThread) {
            task.run();
        } else {
            fromOtherThreads.add(task);
        }
    };
    private FakeTls tls;
    private Authenticator auth;

    @AfterEach
    void closeAuthenticator() {
        if (auth != null) {
            auth.close();
        }
    }

    private FakeConnection open(SessionSettings settings, String clientIp) {
        ListenerContext listener = new ListenerContext(settings, tls, false, limiter, EventLog.silent(), new SessionStats(), auth);
        SessionServices services = new SessionServices(() -> now, loop, (deadline, task) -> scheduled.add(task), store);
        FakeConnection connection = new FakeConnection(clientIp);
        connection.open(new SmtpSession(listener, c -> services));
        connection.takeOutput();
        return connection;
    }

    private FakeConnection open() {
        return open(SessionSettings.defaults("mx.test"), "127.0.0.1");
    }

    private static SessionSettings with(UnaryOperator<SessionSettingsBuilder> change) {
        return change.apply(new SessionSettingsBuilder()).build();
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private void startTls(FakeConnection c) {
        c.feed("EHLO x.example\r\nSTARTTLS\r\n");
        c.takeOutput();
        tls.listener.handshakeCompleted("TLSv1.3", "TLS_AES_128_GCM_SHA256");
    }

    /** Waits (bounded) for the password check on the authenticator's thread to answer. */
    private String awaitReply(FakeConnection c) throws InterruptedException {
        long end = System.nanoTime() + 10 * SECOND;
        String out = c.takeOutput();
        while (out.isEmpty() && System.nanoTime() < end) {
            Thread.sleep(5);
            for (Runnable task; (task = fromOtherThreads.poll()) != null; ) {
                task.run();
            }
            List<Runnable> due = new ArrayList<>(scheduled);
            scheduled.clear();
            due.forEach(Runnable::run);
            out = c.takeOutput();
        }
        return out;
    }

    private String onlyStored() {
        store.completeCommits();
        assertEquals(1, store.committed.size(), "one message queued");
        return store.committed.values().iterator().next();
    }

    // ---- RFC 5321 4.3.2: the replies each command may give -----------------------------------

    @Test
    void relayRefusalIsA550BecauseRcptMayNotAnswer554() {
        FakeConnection c = open(with(b -> b.localDomains(Set.of("example.net"))), "192.0.2.7");
        c.feed("EHLO x.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@elsewhere.example>\r\n");
        assertTrue(c.takeOutput().endsWith("250 2.1.0 Ok\r\n550 5.7.1 Relay access denied\r\n"));
    }

    // ---- RFC 5321 4.1.1.5 / 4.1.1.10: RSET and QUIT take no argument ---------------------------

    @Test
    void rsetWithAnArgumentIsASyntaxErrorAndKeepsTheTransaction() {
        FakeConnection c = open();
        c.feed("EHLO x.example\r\nMAIL FROM:<a@example.org>\r\nRSET everything\r\nMAIL FROM:<a@example.org>\r\n");
        assertTrue(c.takeOutput().endsWith("250 2.1.0 Ok\r\n501 5.5.4 Syntax error: no parameters allowed\r\n"
                + "503 5.5.1 Error: nested MAIL command\r\n"));
    }

    @Test
    void quitWithAnArgumentIsASyntaxErrorAndDoesNotClose() {
        FakeConnection c = open();
        c.feed("QUIT now\r\n");
        assertEquals("501 5.5.4 Syntax error: no parameters allowed\r\n", c.takeOutput());
        assertTrue(c.isOpen());
        c.feed("QUIT\r\n");
        assertEquals("221 2.0.0 Bye\r\n", c.takeOutput());
        assertFalse(c.isOpen());
    }

    // ---- RFC 5321 4.5.3.1.10: too many recipients is 452, and the transaction goes on ----------

    @Test
    void recipientsOverTheLimitDoNotCountAsErrorsSoTheAcceptedOnesAreDelivered() {
        FakeConnection c = open(with(b -> b.maxRecipients(100).maxErrors(3)), "127.0.0.1");
        StringBuilder dialogue = new StringBuilder("EHLO x.example\r\nMAIL FROM:<a@example.org>\r\n");
        for (int i = 0; i < 110; i++) {
            dialogue.append("RCPT TO:<r").append(i).append("@example.net>\r\n");
        }
        c.feed(dialogue.append("DATA\r\nhi\r\n.\r\n").toString());
        String reply = c.takeOutput();
        assertEquals(10, reply.split("452 4.5.3 Too many recipients\r\n", -1).length - 1, reply);
        assertTrue(reply.endsWith("354 End data with <CR><LF>.<CR><LF>\r\n"), reply);
        assertEquals(100, store.envelopes.values().iterator().next().recipients().size());
        assertTrue(onlyStored().endsWith("hi\r\n"));
    }

    // ---- RFC 3030 2: a refused BDAT still carries its chunk ------------------------------------

    @Test
    void bdatRefusedBeforeTlsStillConsumesItsChunk() {
        tls = new FakeTls();
        FakeConnection c = open(with(b -> b.tlsRequired(true)), "192.0.2.3");
        c.feed("EHLO x.example\r\n");
        c.takeOutput();
        c.feed("BDAT 12 LAST\r\nQUIT\r\nRSET\r\nNOOP\r\n");
        assertEquals("530 5.7.0 Must issue a STARTTLS command first\r\n250 2.0.0 Ok\r\n", c.takeOutput(),
                "the 12 octets of the chunk are data, never commands");
        assertTrue(c.isOpen());
    }

    @Test
    void bdatWithAMalformedTailStillConsumesTheChunkItAnnounced() {
        FakeConnection c = open();
        c.feed("EHLO x.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n");
        c.takeOutput();
        c.feed("BDAT 6 FINAL\r\nQUIT\r\nNOOP\r\n");
        assertEquals("501 5.5.4 Syntax: BDAT size [LAST]\r\n250 2.0.0 Ok\r\n", c.takeOutput());
        assertTrue(c.isOpen());
    }

    @Test
    void chunksAfterAFailedChunkAreDiscardedAndNotAcknowledged() {
        FakeConnection c = open();
        c.feed("EHLO x.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n");
        c.takeOutput();
        store.failAppends = true;
        c.feed("BDAT 3\r\nabcBDAT 3\r\ndefBDAT 3 LAST\r\nghiNOOP\r\n");
        String reply = c.takeOutput();
        assertEquals("452 4.3.1 Insufficient system storage\r\n".repeat(3) + "250 2.0.0 Ok\r\n", reply,
                "a chunk of a failed transaction is never answered 250");
        store.failAppends = false;
        c.feed("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nBDAT 2 LAST\r\nok");
        assertTrue(c.takeOutput().endsWith("250 2.1.5 Ok\r\n"), "the next transaction starts clean");
        assertTrue(onlyStored().endsWith("ok"));
    }

    // ---- RFC 4954 5: the AUTH parameter of MAIL, wherever AUTH is offered ------------------------

    private FakeConnection withAuthOffered() {
        tls = new FakeTls();
        auth = new Authenticator(UserDatabase.of(Map.of("alice", PasswordHash.create("s3cret".toCharArray(), 10_000))), 1, 4);
        return open(with(b -> b.localDomains(Set.of("example.net"))), "192.0.2.44");
    }

    @Test
    void mailAuthParameterIsParsedAndIgnoredWhereAuthIsOffered() {
        FakeConnection c = withAuthOffered();
        startTls(c);
        c.feed("EHLO x.example\r\n");
        assertTrue(c.takeOutput().contains("AUTH PLAIN LOGIN"));
        c.feed("MAIL FROM:<a@example.org> AUTH=<>\r\nRSET\r\nMAIL FROM:<a@example.org> SIZE=10 AUTH=alice+40example.org\r\n"
                + "RCPT TO:<x@elsewhere.example>\r\nRSET\r\nMAIL FROM:<a@example.org> AUTH=a+4\r\n");
        assertEquals("250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n550 5.7.1 Relay access denied\r\n250 2.0.0 Ok\r\n"
                + "501 5.5.4 Syntax error in parameters or arguments\r\n", c.takeOutput(),
                "AUTH=<addr> from an unauthenticated client proves nothing (treated as AUTH=<>); bad xtext is 501");
    }

    @Test
    void mailAuthParameterIsUnsupportedWhereAuthIsNotOffered() {
        FakeConnection c = withAuthOffered();
        c.feed("EHLO x.example\r\nMAIL FROM:<a@example.org> AUTH=<>\r\n");
        assertTrue(c.takeOutput().endsWith("555 5.5.4 Unsupported parameter\r\n"), "not offered before TLS");
    }

    @Test
    void mailAuthParameterAfterAuthenticationIsAccepted() throws Exception {
        FakeConnection c = withAuthOffered();
        startTls(c);
        c.feed("EHLO x.example\r\n");
        c.takeOutput();
        String plain = Base64.getEncoder().encodeToString(utf8("\0alice\0s3cret"));
        c.feed("AUTH PLAIN " + plain + "\r\n");
        assertEquals("235 2.7.0 Authentication successful\r\n", awaitReply(c));
        c.feed("MAIL FROM:<alice@example.org> AUTH=alice@example.org\r\nRCPT TO:<x@elsewhere.example>\r\n");
        assertEquals("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n", c.takeOutput());
    }

    @Test
    void saslResponseLongerThanACommandLineIsRead() throws Exception {
        tls = new FakeTls();
        String user = "u".repeat(200);
        String password = "p".repeat(255); // RFC 4616 2: PLAIN takes identities and passwords of 255 octets
        auth = new Authenticator(UserDatabase.of(Map.of(user, PasswordHash.create(password.toCharArray(), 10_000))), 1, 4);
        FakeConnection c = open();
        startTls(c);
        c.feed("EHLO x.example\r\nAUTH PLAIN\r\n");
        assertTrue(c.takeOutput().endsWith("334 \r\n"));
        String response = Base64.getEncoder().encodeToString(utf8(user + "\0" + user + "\0" + password));
        assertTrue(response.length() + 2 > 512, "longer than the command line limit");
        c.feed(response + "\r\n");
        assertEquals("235 2.7.0 Authentication successful\r\n", awaitReply(c));
    }

    // ---- Received: (RFC 5321 4.4) with registered protocol names (RFC 3848, RFC 6531 3.7.3) ----

    @Test
    void heloThenStartTlsIsRecordedAsEsmtpsNotTheUnregisteredSmtps() {
        tls = new FakeTls();
        FakeConnection c = open();
        c.feed("HELO x.example\r\nSTARTTLS\r\n");
        c.takeOutput();
        tls.listener.handshakeCompleted("TLSv1.3", "TLS_AES_128_GCM_SHA256");
        c.feed("HELO x.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nm\r\n.\r\n");
        String stored = onlyStored();
        assertTrue(stored.contains(" with ESMTPS id "), stored);
        assertEquals("ESMTPS", store.envelopes.values().iterator().next().protocol());
    }

    @Test
    void plainHeloIsRecordedAsSmtp() {
        FakeConnection c = open();
        c.feed("HELO x.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nm\r\n.\r\n");
        assertTrue(onlyStored().contains(" with SMTP id "));
    }

    @Test
    void smtpUtf8TransactionsAreRecordedAsUtf8Smtp() {
        FakeConnection c = open();
        c.feed("EHLO x.example\r\n");
        c.feed(utf8("MAIL FROM:<j\u00f6rg@example.org> SMTPUTF8\r\nRCPT TO:<b@example.net>\r\nDATA\r\nm\r\n.\r\n"));
        String stored = onlyStored();
        assertTrue(stored.contains(" with UTF8SMTP id "), stored);
    }

    @Test
    void smtpUtf8InsideTlsIsRecordedAsUtf8Smtps() {
        tls = new FakeTls();
        FakeConnection c = open();
        startTls(c);
        c.feed("EHLO x.example\r\nMAIL FROM:<a@example.org> SMTPUTF8\r\nRCPT TO:<b@example.net>\r\nDATA\r\nm\r\n.\r\n");
        assertTrue(onlyStored().contains(" with UTF8SMTPS id "));
    }

    @Test
    void receivedFromNamesTheClientWithoutATrailingRootDot() {
        FakeConnection c = open();
        c.feed("EHLO client.example.\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nm\r\n.\r\n");
        String stored = onlyStored();
        assertTrue(stored.startsWith("Received: from client.example ([127.0.0.1])\r\n"), stored);
    }

    @Test
    void postmasterWithoutDomainIsStampedAsOurPostmasterMailbox() {
        FakeConnection c = open();
        c.feed("EHLO x.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<postmaster>\r\nDATA\r\nm\r\n.\r\n");
        String stored = onlyStored();
        assertTrue(stored.contains("\r\n\tfor <Postmaster@mx.test>; "), stored);
        assertEquals(List.of("Postmaster"), store.envelopes.values().iterator().next().recipients(),
                "the envelope keeps the RFC 5321 4.1.1.3 form; routing gives it our domain");
    }

    /** Records the listener of the one layer it hands out. */
    private static final class FakeTls implements TlsUpgrade {
        HandshakeListener listener;

        @Override
        public StreamLayer newServerLayer(HandshakeListener listener) {
            this.listener = listener;
            return new PassThroughLayer();
        }
    }
}
