package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.sluice.reactor.StreamLayer;
import io.sluice.smtp.auth.Authenticator;
import io.sluice.smtp.auth.PasswordHash;
import io.sluice.smtp.auth.UserDatabase;
import io.sluice.smtp.protocol.BareNewline;

/** The session state machine driven without sockets, on a clock the test moves. */
class SmtpSessionTest {

    private static final long SECOND = 1_000_000_000L;
    private static final String ENVELOPE = "EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n";

    private long now = 1_000 * SECOND;
    private final RecordingStore store = new RecordingStore();
    private final ConnectionLimiter limiter = new ConnectionLimiter(1000, 100);
    private FakeTls tls;
    private Authenticator auth;
    private final List<Runnable> scheduled = new ArrayList<>();
    private final Thread testThread = Thread.currentThread();
    private final java.util.Queue<Runnable> fromOtherThreads = new java.util.concurrent.ConcurrentLinkedQueue<>();
    /** The session's "loop": the test thread; tasks from other threads (password checks) wait for {@link #awaitReply}. */
    private final java.util.concurrent.Executor loop = task -> {
        if (Thread.currentThread() == testThread) {
            task.run();
        } else {
            fromOtherThreads.add(task);
        }
    };

    private FakeConnection open(SessionSettings settings, String clientIp) {
        ListenerContext listener = new ListenerContext(settings, tls, false, limiter, EventLog.silent(), new SessionStats(), auth);
        SessionServices services = new SessionServices(() -> now, loop, (deadline, task) -> scheduled.add(task), store);
        FakeConnection connection = new FakeConnection(clientIp);
        connection.open(new SmtpSession(listener, c -> services));
        return connection;
    }

    private FakeConnection open() {
        return open(SessionSettings.defaults("mx.test"), "127.0.0.1");
    }

    private static SessionSettings with(UnaryOperator<SessionSettingsBuilder> change) {
        return change.apply(new SessionSettingsBuilder()).build();
    }

    @Test
    void greetsWithHostnameAndBanner() {
        assertEquals("220 mx.test ESMTP Sluice\r\n", open().takeOutput());
    }

    @Test
    void ehloAdvertisesExtensionsWithoutStartTlsWhenNoCertificate() {
        FakeConnection c = open();
        c.takeOutput();
        c.feed("EHLO client.example\r\n");
        String reply = c.takeOutput();
        assertTrue(reply.startsWith("250-mx.test\r\n"), reply);
        for (String ext : new String[] {"PIPELINING", "SIZE 33554432", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING"}) {
            assertTrue(reply.contains(ext + "\r\n"), ext + " in " + reply);
        }
        assertFalse(reply.contains("STARTTLS"), reply);
        assertTrue(reply.endsWith("\r\n") && reply.lines().reduce((a, b) -> b).orElseThrow().startsWith("250 "), reply);
    }

    @Test
    void acknowledgesMessageOnlyAfterTheStoreMadeItDurable() {
        FakeConnection c = open();
        c.takeOutput();
        c.feed(ENVELOPE);
        assertTrue(c.takeOutput().endsWith("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"));
        c.feed("Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n");
        assertEquals("", c.takeOutput(), "no reply before the commit");
        assertEquals(1, store.pendingCommits());
        store.completeCommits();
        String reply = c.takeOutput();
        assertTrue(reply.matches("250 2\\.0\\.0 Ok: queued as [0-9A-Z]+\r\n"), reply);
        assertEquals("Subject: hi\r\n\r\n.dot\r\nbody\r\n", store.onlyBody());
        String stored = store.committed.values().iterator().next();
        assertTrue(stored.startsWith("Received: from client.example ([127.0.0.1])\r\n\tby mx.test (Sluice) with ESMTP id "), stored);
        assertTrue(stored.contains("for <b@example.net>;"), stored);
        assertEquals("a@example.org", store.envelopes.values().iterator().next().sender());
    }

    @Test
    void pipelinedCommandsAfterDataWaitForTheCommitAndKeepTheirOrder() {
        FakeConnection c = open();
        c.takeOutput();
        c.feed(ENVELOPE + "one\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<c@example.net>\r\nDATA\r\ntwo\r\n.\r\nQUIT\r\n");
        assertTrue(c.takeOutput().endsWith("354 End data with <CR><LF>.<CR><LF>\r\n"));
        assertTrue(c.pendingInput() > 0, "the rest waits while the first message commits");
        store.completeCommits();
        String afterFirst = c.takeOutput();
        assertTrue(afterFirst.startsWith("250 2.0.0 Ok: queued as "), afterFirst);
        assertTrue(afterFirst.endsWith("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"), afterFirst);
        store.completeCommits();
        String end = c.takeOutput();
        assertTrue(end.matches("250 2\\.0\\.0 Ok: queued as \\w+\r\n221 2\\.0\\.0 Bye\r\n"), end);
        assertEquals(2, store.committed.size());
        assertFalse(c.isOpen());
    }

    @Test
    void everySplitPointGivesTheSameDialogue() {
        String input = ENVELOPE + "a\r\n..b\r\n.\r\n";
        String expectedBody = "a\r\n.b\r\n";
        for (int split = 1; split < input.length(); split++) {
            RecordingStore fresh = new RecordingStore();
            ListenerContext listener = new ListenerContext(SessionSettings.defaults("mx.test"), null, false, limiter,
                    EventLog.silent(), new SessionStats(), null);
            SessionServices services = new SessionServices(() -> now, Runnable::run, (deadline, task) -> scheduled.add(task), fresh);
            FakeConnection c = new FakeConnection("127.0.0.1");
            c.open(new SmtpSession(listener, x -> services));
            c.feed(input.substring(0, split));
            c.feed(input.substring(split));
            fresh.completeCommits();
            assertTrue(c.takeOutput().contains("250 2.0.0 Ok: queued as "), "split " + split);
            assertEquals(expectedBody, fresh.onlyBody(), "split " + split);
        }
    }

    @Test
    void badSequencesAreRefused() {
        FakeConnection c = open();
        c.takeOutput();
        c.feed("MAIL FROM:<a@example.org>\r\n");
        assertEquals("503 5.5.1 Error: send HELO/EHLO first\r\n", c.takeOutput());
        c.feed("EHLO x.example\r\n");
        c.takeOutput();
        c.feed("RCPT TO:<b@example.net>\r\nDATA\r\nMAIL FROM:<a@example.org>\r\nDATA\r\nMAIL FROM:<a@example.org>\r\n");
        assertEquals("503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n250 2.1.0 Ok\r\n"
                + "503 5.5.1 Error: need RCPT command\r\n503 5.5.1 Error: nested MAIL command\r\n", c.takeOutput());
    }

    @Test
    void relayIsDeniedToForeignDomainsFromOutsideRelayNetworks() {
        SessionSettings settings = with(b -> b.localDomains(Set.of("example.net")));
        FakeConnection c = open(settings, "192.0.2.7");
        c.takeOutput();
        c.feed("EHLO x.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@elsewhere.example>\r\n"
                + "RCPT TO:<b@example.net>\r\nRCPT TO:<Postmaster>\r\n");
        String reply = c.takeOutput();
        assertTrue(reply.endsWith("250 2.1.0 Ok\r\n550 5.7.1 Relay access denied\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"), reply);
    }

    @Test
    void recipientsBeyondTheLimitGet452() {
        FakeConnection c = open(with(b -> b.maxRecipients(100).maxErrors(1000)), "127.0.0.1");
        c.takeOutput();
        StringBuilder dialogue = new StringBuilder("EHLO x.example\r\nMAIL FROM:<a@example.org>\r\n");
        for (int i = 0; i < 101; i++) {
            dialogue.append("RCPT TO:<r").append(i).append("@example.net>\r\n");
        }
        c.feed(dialogue.toString());
        String reply = c.takeOutput();
        assertEquals(100, reply.split("250 2.1.5 Ok", -1).length - 1);
        assertTrue(reply.endsWith("452 4.5.3 Too many recipients\r\n"), reply);
    }

    @Test
    void declaredSizeOverTheLimitIsRefusedAtMail() {
        FakeConnection c = open(with(b -> b.maxMessageOctets(1000)), "127.0.0.1");
        c.takeOutput();
        c.feed("EHLO x.example\r\nMAIL FROM:<a@example.org> SIZE=1001\r\nMAIL FROM:<a@example.org> SIZE=1000\r\n");
        assertTrue(c.takeOutput().endsWith("552 5.3.4 Message size exceeds fixed limit\r\n250 2.1.0 Ok\r\n"));
    }

    @Test
    void bodyOverTheLimitIsDrainedAndRefusedAfterEndOfData() {
        FakeConnection c = open(with(b -> b.maxMessageOctets(1000)), "127.0.0.1");
        c.takeOutput();
        c.feed(ENVELOPE);
        c.takeOutput();
        c.feed("x".repeat(900) + "\r\n" + "y".repeat(900) + "\r\n.\r\nNOOP\r\n");
        assertEquals("552 5.3.4 Message size exceeds fixed limit\r\n250 2.0.0 Ok\r\n", c.takeOutput());
        assertEquals(0, store.pendingCommits());
        assertEquals(1, store.aborted.size());
        assertTrue(store.committed.isEmpty());
    }

    @Test
    void bareNewlinesAreNormalisedByDefault() {
        FakeConnection c = open();
        c.takeOutput();
        c.feed(ENVELOPE + "a\nb\rc\r\n.\r\n");
        store.completeCommits();
        assertEquals("a\r\nb\rc\r\n", store.onlyBody());
    }

    @Test
    void bareNewlinesAreRefusedInRejectMode() {
        FakeConnection c = open(with(b -> b.bareNewline(BareNewline.REJECT)), "127.0.0.1");
        c.takeOutput();
        c.feed(ENVELOPE);
        c.takeOutput();
        c.feed("a\nb\r\n.\r\n");
        assertEquals("550 5.6.0 Message contains bare CR or LF\r\n", c.takeOutput());
        assertTrue(store.committed.isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n"})
    void smugglingVariantsDoNotEndTheMessage(String fakeEnd) {
        FakeConnection c = open();
        c.takeOutput();
        c.feed(ENVELOPE);
        c.takeOutput();
        c.feed("a" + fakeEnd + "MAIL FROM:<evil@example.org>\r\n");
        assertEquals("", c.takeOutput(), "still in DATA");
        c.feed("\r\n.\r\n");
        store.completeCommits();
        assertTrue(c.takeOutput().startsWith("250 2.0.0 Ok: queued as "));
        assertTrue(store.onlyBody().contains("MAIL FROM:<evil@example.org>"));
    }

    @Test
    void idleClientIsCutOffAtTheCommandDeadline() {
        FakeConnection c = open();
        c.takeOutput();
        c.feed("EHLO x.example\r\n");
        c.takeOutput();
        now += 299 * SECOND;
        assertFalse(c.tick(now));
        now += 2 * SECOND;
        assertTrue(c.tick(now));
        assertEquals("421 4.4.2 Timeout exceeded - closing connection\r\n", c.takeOutput());
        assertFalse(c.isOpen());
    }

    @Test
    void tricklingDataIsCutOffAtTheAbsoluteDataDeadline() {
        FakeConnection c = open();
        c.takeOutput();
        c.feed(ENVELOPE);
        c.takeOutput();
        long end = now + 600 * SECOND;
        while (now + 10 * SECOND < end) {
            c.feed("x");
            now += 10 * SECOND;
            assertFalse(c.tick(now), "a byte every 10 s does not extend the DATA deadline");
        }
        now = end;
        assertTrue(c.tick(now));
        assertEquals("421 4.4.2 Timeout exceeded - closing connection\r\n", c.takeOutput());
        assertEquals(1, store.aborted.size());
        assertTrue(store.committed.isEmpty());
    }

    @Test
    void tooManyErrorsCloseTheSession() {
        FakeConnection c = open(with(b -> b.maxErrors(3)), "127.0.0.1");
        c.takeOutput();
        c.feed("FOO\r\nBAR\r\nBAZ\r\nQUX\r\nNOOP\r\n");
        assertEquals("500 5.5.1 Command unrecognized\r\n".repeat(4) + "421 4.7.0 Too many errors\r\n", c.takeOutput());
        assertFalse(c.isOpen());
    }

    @Test
    void httpRequestsAreRefusedAndClosed() {
        FakeConnection c = open();
        c.takeOutput();
        c.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assertEquals("500 5.5.1 HTTP requests not served here\r\n", c.takeOutput());
        assertFalse(c.isOpen());
    }

    @Test
    void droppedConnectionDuringDataQueuesNothing() {
        FakeConnection c = open();
        c.feed(ENVELOPE + "partial message\r\n");
        c.shutdownInput();
        assertFalse(c.isOpen());
        assertEquals(0, store.pendingCommits());
        assertTrue(store.committed.isEmpty());
        assertEquals(1, store.aborted.size());
    }

    @Test
    void messageWhoseCommitIsInFlightStaysQueuedWhenTheClientLeaves() {
        FakeConnection c = open();
        c.feed(ENVELOPE + "body\r\n.\r\n");
        c.shutdownInput();
        c.close();
        store.completeCommits();
        assertEquals(1, store.committed.size(), "durable once committed; the client may send it again (a duplicate, never a loss)");
        assertTrue(store.aborted.isEmpty());
    }

    @Test
    void clientThatHalfClosesWhileItsMessageCommitsGetsTheReplyThenTheClose() {
        FakeConnection c = open();
        c.takeOutput();
        c.feed(ENVELOPE + "body\r\n.\r\n");
        c.takeOutput();
        c.shutdownInput();
        assertTrue(c.isOpen(), "still waiting for the spool");
        store.completeCommits();
        assertTrue(c.takeOutput().startsWith("250 2.0.0 Ok: queued as "));
        assertFalse(c.isOpen(), "closed once answered");
    }

    @Test
    void spoolErrorsAnswer452AndQueueNothing() {
        FakeConnection c = open();
        c.takeOutput();
        c.feed(ENVELOPE);
        c.takeOutput();
        store.failAppends = true;
        c.feed("body\r\n.\r\n");
        assertEquals("452 4.3.1 Insufficient system storage\r\n", c.takeOutput());
        store.failAppends = false;
        store.failCommits = true;
        c.feed("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nbody\r\n.\r\nNOOP\r\n");
        store.completeCommits();
        assertTrue(c.takeOutput().endsWith("354 End data with <CR><LF>.<CR><LF>\r\n452 4.3.1 Insufficient system storage\r\n250 2.0.0 Ok\r\n"));
        assertTrue(store.committed.isEmpty());
    }

    @Test
    void bdatChunksMakeOneMessageByteExact() {
        FakeConnection c = open();
        c.takeOutput();
        c.feed("EHLO x.example\r\nMAIL FROM:<a@example.org> BODY=8BITMIME\r\nRCPT TO:<b@example.net>\r\n"
                + "BDAT 5\r\nab\r\n.BDAT 5 LAST\r\nc\nd\r\n");
        String reply = c.takeOutput();
        assertTrue(reply.endsWith("250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n"), reply);
        store.completeCommits();
        assertTrue(c.takeOutput().startsWith("250 2.0.0 Ok: queued as "));
        assertEquals("ab\r\n.c\nd\r\n", store.onlyBody(), "BDAT content is taken as is: no unstuffing");
    }

    @Test
    void bdatWithoutTransactionIsConsumedThenRefused() {
        FakeConnection c = open();
        c.takeOutput();
        c.feed("EHLO x.example\r\nBDAT 6 LAST\r\nNOOP\r\nNOOP\r\n");
        assertTrue(c.takeOutput().endsWith("503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n"));
    }

    @Test
    void dataAfterBdatIsABadSequence() {
        FakeConnection c = open();
        c.takeOutput();
        c.feed("EHLO x.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nBDAT 2\r\nabDATA\r\n");
        assertTrue(c.takeOutput().endsWith("250 2.0.0 Ok\r\n503 5.5.1 Bad sequence of commands\r\n"));
    }

    @Test
    void connectionLimitPerClientAnswers421() {
        ConnectionLimiter tight = new ConnectionLimiter(10, 1);
        ListenerContext listener = new ListenerContext(SessionSettings.defaults("mx.test"), null, false, tight,
                EventLog.silent(), new SessionStats(), null);
        SessionServices services = new SessionServices(() -> now, loop, (deadline, task) -> scheduled.add(task), store);
        FakeConnection first = new FakeConnection("192.0.2.1");
        first.open(new SmtpSession(listener, x -> services));
        FakeConnection second = new FakeConnection("192.0.2.1");
        second.open(new SmtpSession(listener, x -> services));
        assertEquals("421 4.7.0 Too many connections\r\n", second.takeOutput());
        assertFalse(second.isOpen());
        first.close();
        assertEquals(0, tight.open());
    }

    @Test
    void addressesOfOneIpv6Slash64ShareTheConnectionLimitAndTheNextSlash64DoesNot() {
        ConnectionLimiter tight = new ConnectionLimiter(10, 1);
        ListenerContext listener = new ListenerContext(SessionSettings.defaults("mx.test"), null, false, tight,
                ClientRateLimiter.OFF, ClientRateLimiter.OFF, ClientKey.DEFAULT, EventLog.silent(), new SessionStats(),
                null);
        SessionServices services = new SessionServices(() -> now, loop, (deadline, task) -> scheduled.add(task), store);
        FakeConnection first = new FakeConnection("2001:db8:7:8::1");
        first.open(new SmtpSession(listener, x -> services));
        assertTrue(first.takeOutput().startsWith("220 "));
        FakeConnection sameSlash64 = new FakeConnection("2001:db8:7:8:9999::2");
        sameSlash64.open(new SmtpSession(listener, x -> services));
        assertEquals("421 4.7.0 Too many connections\r\n", sameSlash64.takeOutput());
        assertFalse(sameSlash64.isOpen());
        FakeConnection nextSlash64 = new FakeConnection("2001:db8:7:9::1");
        nextSlash64.open(new SmtpSession(listener, x -> services));
        assertTrue(nextSlash64.takeOutput().startsWith("220 "), "another /64 is another client");
        first.close();
        nextSlash64.close();
        assertEquals(0, tight.open());
    }

    @Test
    void withPrefixLength128TwoIpv6AddressesAreTwoClients() {
        ConnectionLimiter tight = new ConnectionLimiter(10, 1);
        ListenerContext listener = new ListenerContext(SessionSettings.defaults("mx.test"), null, false, tight,
                ClientRateLimiter.OFF, ClientRateLimiter.OFF, new ClientKey(128), EventLog.silent(), new SessionStats(),
                null);
        SessionServices services = new SessionServices(() -> now, loop, (deadline, task) -> scheduled.add(task), store);
        FakeConnection first = new FakeConnection("2001:db8:7:8::1");
        first.open(new SmtpSession(listener, x -> services));
        FakeConnection second = new FakeConnection("2001:db8:7:8::2");
        second.open(new SmtpSession(listener, x -> services));
        assertTrue(second.takeOutput().startsWith("220 "));
        assertEquals(2, tight.open());
    }

    @Test
    void utf8AddressesNeedSmtpUtf8() {
        FakeConnection c = open();
        c.takeOutput();
        c.feed("EHLO x.example\r\nMAIL FROM:<a@example.org>\r\n");
        c.feed("RCPT TO:<j\u00f6rg@example.net>\r\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertTrue(c.takeOutput().endsWith("553 5.6.7 SMTPUTF8 required\r\n"));
    }

    @Test
    void clientThatTalksBeforeTheGreetingIsRejected() {
        FakeConnection c = open(with(b -> b.greetPauseNanos(3 * SECOND)), "192.0.2.9");
        assertEquals("", c.takeOutput());
        c.feed("EHLO bot.example\r\n");
        assertEquals("554 5.5.1 Protocol error: talked before greeting\r\n", c.takeOutput());
        assertFalse(c.isOpen());

        FakeConnection patient = open(with(b -> b.greetPauseNanos(3 * SECOND)), "192.0.2.10");
        now += 3 * SECOND;
        assertTrue(patient.tick(now));
        assertEquals("220 mx.test ESMTP Sluice\r\n", patient.takeOutput());
    }

    // ---- STARTTLS ---------------------------------------------------------------------------

    @Test
    void startTlsIsOfferedOnlyBeforeTlsAndDiscardsPipelinedInput() {
        tls = new FakeTls();
        FakeConnection c = open();
        c.takeOutput();
        c.feed("EHLO x.example\r\n");
        String ehlo = c.takeOutput();
        assertTrue(ehlo.contains("250-STARTTLS\r\n") || ehlo.contains("250 STARTTLS\r\n"), ehlo);
        assertFalse(ehlo.startsWith("250-STARTTLS"), "never on the first line");
        c.feed("MAIL FROM:<a@example.org>\r\nSTARTTLS\r\nNOOP\r\nRSET\r\n");
        assertEquals("250 2.1.0 Ok\r\n220 2.0.0 Ready to start TLS\r\n", c.takeOutput(), "nothing after STARTTLS is answered");
        assertNotNull(c.layer());
        assertEquals(0, c.pendingInput(), "the pipelined plaintext was discarded");
        tls.listener.handshakeCompleted("TLSv1.3", "TLS_AES_256_GCM_SHA384");
        c.feed("MAIL FROM:<a@example.org>\r\n");
        assertEquals("503 5.5.1 Error: send HELO/EHLO first\r\n", c.takeOutput(), "pre-TLS EHLO and envelope forgotten");
        c.feed("EHLO x.example\r\n");
        assertFalse(c.takeOutput().contains("STARTTLS"), "not offered inside TLS");
        c.feed("STARTTLS\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nm\r\n.\r\n");
        assertTrue(c.takeOutput().startsWith("554 5.5.1 Already in TLS\r\n250 2.1.0 Ok\r\n"));
        store.completeCommits();
        String stored = store.committed.values().iterator().next();
        assertTrue(stored.contains("(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)"), stored);
        assertTrue(stored.contains("with ESMTPS id"), stored);
    }

    @Test
    void startTlsWithAParameterOrWithoutCertificateIsRefused() {
        FakeConnection c = open();
        c.takeOutput();
        c.feed("EHLO x.example\r\nSTARTTLS\r\n");
        assertTrue(c.takeOutput().endsWith("454 4.7.0 TLS not available\r\n"));
        tls = new FakeTls();
        FakeConnection d = open();
        d.takeOutput();
        d.feed("EHLO x.example\r\nSTARTTLS now\r\n");
        assertTrue(d.takeOutput().endsWith("501 5.5.4 Syntax error: no parameters allowed\r\n"));
        assertNull(d.layer());
    }

    @Test
    void mandatoryTlsRefusesMailBeforeStartTls() {
        tls = new FakeTls();
        FakeConnection c = open(with(b -> b.tlsRequired(true)), "192.0.2.3");
        c.takeOutput();
        c.feed("EHLO x.example\r\nMAIL FROM:<a@example.org>\r\nNOOP\r\n");
        assertTrue(c.takeOutput().endsWith("530 5.7.0 Must issue a STARTTLS command first\r\n250 2.0.0 Ok\r\n"));
    }

    @Test
    void failedHandshakeClosesTheConnection() {
        tls = new FakeTls();
        FakeConnection c = open();
        c.feed("EHLO x.example\r\nSTARTTLS\r\n");
        tls.listener.handshakeFailed(new javax.net.ssl.SSLHandshakeException("bad"));
        assertFalse(c.isOpen());
    }

    // ---- AUTH ------------------------------------------------------------------------------

    private FakeConnection authenticatedReady() {
        tls = new FakeTls();
        auth = new Authenticator(UserDatabase.of(Map.of("alice", PasswordHash.create("s3cret".toCharArray(), 10_000))), 1, 4);
        FakeConnection c = open(SessionSettings.defaults("mx.test"), "192.0.2.44");
        c.takeOutput();
        return c;
    }

    private void enterTls(FakeConnection c) {
        c.feed("EHLO x.example\r\nSTARTTLS\r\n");
        c.takeOutput();
        tls.listener.handshakeCompleted("TLSv1.3", "TLS_AES_128_GCM_SHA256");
        c.feed("EHLO x.example\r\n");
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

    private static String b64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void authIsOfferedOnlyInsideTlsAndRefusedBeforeIt() {
        FakeConnection c = authenticatedReady();
        c.feed("EHLO x.example\r\n");
        assertFalse(c.takeOutput().contains("AUTH"), "not advertised before TLS");
        c.feed("AUTH PLAIN " + b64("\0alice\0s3cret") + "\r\n");
        assertEquals("538 5.7.11 Encryption required for requested authentication mechanism\r\n", c.takeOutput());
        enterTls(c);
        assertTrue(c.takeOutput().contains("250 AUTH PLAIN LOGIN\r\n"));
        auth.close();
    }

    @Test
    void authPlainLetsTheClientRelayAndMarksEsmtpsa() throws Exception {
        FakeConnection c = authenticatedReady();
        enterTls(c);
        c.takeOutput();
        c.feed("MAIL FROM:<alice@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\nRSET\r\n");
        assertTrue(c.takeOutput().contains("550 5.7.1 Relay access denied"), "192.0.2.44 may not relay unauthenticated");
        c.feed("AUTH PLAIN " + b64("\0alice\0s3cret") + "\r\nMAIL FROM:<alice@example.org>\r\n");
        assertEquals("235 2.7.0 Authentication successful\r\n250 2.1.0 Ok\r\n", awaitReply(c), "pipelined MAIL waits for the check");
        c.feed("RCPT TO:<x@elsewhere.example>\r\nDATA\r\nhi\r\n.\r\nAUTH PLAIN\r\n");
        store.completeCommits();
        String out = c.takeOutput();
        assertTrue(out.startsWith("250 2.1.5 Ok\r\n354 "), out);
        assertTrue(out.endsWith("503 5.5.1 Already authenticated\r\n"), out);
        assertTrue(store.committed.values().iterator().next().contains("with ESMTPSA id"));
        auth.close();
    }

    @Test
    void authLoginWithPromptsAndWrongPasswordIsSlowedDown() throws Exception {
        FakeConnection c = authenticatedReady();
        enterTls(c);
        c.takeOutput();
        c.feed("AUTH LOGIN\r\n");
        assertEquals("334 VXNlcm5hbWU6\r\n", c.takeOutput());
        c.feed(b64("alice") + "\r\n");
        assertEquals("334 UGFzc3dvcmQ6\r\n", c.takeOutput());
        c.feed(b64("wrong") + "\r\n");
        assertEquals("535 5.7.8 Authentication credentials invalid\r\n", awaitReply(c));
        c.feed("AUTH LOGIN " + b64("alice") + "\r\n");
        assertEquals("334 UGFzc3dvcmQ6\r\n", c.takeOutput());
        c.feed(b64("s3cret") + "\r\n");
        assertEquals("235 2.7.0 Authentication successful\r\n", awaitReply(c));
        auth.close();
    }

    @Test
    void authExchangeCanBeCancelledAndRejectsGarbage() throws Exception {
        FakeConnection c = authenticatedReady();
        enterTls(c);
        c.takeOutput();
        c.feed("AUTH PLAIN\r\n");
        assertEquals("334 \r\n", c.takeOutput());
        c.feed("*\r\n");
        assertEquals("501 5.7.0 Authentication cancelled\r\n", c.takeOutput());
        c.feed("AUTH PLAIN !!notbase64!!\r\nAUTH CRAM-MD5\r\nAUTH PLAIN " + b64("no-nuls") + "\r\n");
        assertEquals("501 5.5.2 Cannot decode response\r\n504 5.5.4 Unrecognized authentication type\r\n"
                + "501 5.5.2 Cannot decode response\r\n", c.takeOutput());
        c.feed("AUTH PLAIN " + b64("mallory\0alice\0s3cret") + "\r\n");
        assertEquals("535 5.7.8 Authentication credentials invalid\r\n", awaitReply(c), "no proxy authorization");
        auth.close();
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
