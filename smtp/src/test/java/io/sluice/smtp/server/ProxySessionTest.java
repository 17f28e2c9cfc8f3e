package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.sluice.smtp.config.NetworkSet;

/** A {@code +proxy} listener's sessions driven without sockets, on a clock the test moves. */
class ProxySessionTest {

    private static final long SECOND = 1_000_000_000L;
    private static final long HEADER_TIMEOUT = 5 * SECOND;
    private static final String HEADER = "PROXY TCP4 192.0.2.10 198.51.100.1 40000 25\r\n";
    private static final String DIALOGUE = "EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
            + "DATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n";

    private long now = 1_000 * SECOND;
    private final RecordingStore store = new RecordingStore();
    private final SessionStats stats = new SessionStats();
    private final List<Runnable> scheduled = new ArrayList<>();
    private ConnectionLimiter limiter = new ConnectionLimiter(1000, 100);
    /** example.net is ours: the proxied client (not a relay client) may send to it. */
    private SessionSettings settings = new SessionSettingsBuilder().localDomains(java.util.Set.of("example.net")).build();
    private SessionServices services;
    private EventLog log = EventLog.silent();

    private ListenerContext listener() {
        ProxyPolicy proxy = new ProxyPolicy(NetworkSet.parse("127.0.0.0/8, 10.0.0.0/8")::contains, HEADER_TIMEOUT);
        return new ListenerContext(settings, null, false, limiter, ClientRateLimiter.OFF,
                ClientRateLimiter.OFF, ClientKey.DEFAULT, log, stats, null, proxy);
    }

    private FakeConnection open(String balancerIp) {
        ListenerContext listener = listener();
        if (services == null) {
            services = new SessionServices(() -> now, Runnable::run, (deadline, task) -> scheduled.add(task), store);
        }
        FakeConnection connection = new FakeConnection(balancerIp);
        connection.open(new SmtpSession(listener, c -> services));
        return connection;
    }

    @Test
    void nothingIsSaidBeforeTheHeader() {
        FakeConnection c = open("10.0.0.1");
        assertEquals("", c.takeOutput());
        assertTrue(c.isOpen());
        c.feed("PROXY TCP4 192.0.2.10 ");
        assertEquals("", c.takeOutput(), "half a header: still nothing");
        assertTrue(c.isOpen());
    }

    @Test
    void everySplitPointOfHeaderAndPipelinedDialogueGivesTheSameSession() {
        String input = HEADER + DIALOGUE;
        for (int split = 0; split <= input.length(); split++) {
            RecordingStore fresh = new RecordingStore();
            services = new SessionServices(() -> now, Runnable::run, (deadline, task) -> scheduled.add(task), fresh);
            FakeConnection c = open("10.0.0.1");
            c.feed(input.substring(0, split));
            c.feed(input.substring(split));
            fresh.completeCommits();
            String output = c.takeOutput();
            assertTrue(output.startsWith("220 mx.test ESMTP Sluice\r\n250-mx.test\r\n"), "split " + split + ": " + output);
            assertTrue(output.endsWith("221 2.0.0 Bye\r\n"), "split " + split + ": " + output);
            String stored = fresh.committed.values().iterator().next();
            assertTrue(stored.startsWith("Received: from client.example ([192.0.2.10])\r\n"), "split " + split + ": " + stored);
            assertEquals("192.0.2.10", fresh.envelopes.values().iterator().next().clientAddress());
        }
    }

    @Test
    void theDeadlineIsAbsoluteFromConnectAndClosesUnanswered() {
        FakeConnection c = open("10.0.0.1");
        assertEquals(now + HEADER_TIMEOUT, c.deadlineNanos());
        now += 4 * SECOND;
        c.feed("PROXY TCP4 ");
        assertEquals(now - 4 * SECOND + HEADER_TIMEOUT, c.deadlineNanos(), "a partial header does not buy time");
        assertFalse(c.tick(now + SECOND - 1));
        assertTrue(c.tick(now + SECOND));
        assertEquals("", c.takeOutput(), "no greeting, no 421: the peer is the balancer");
        assertFalse(c.isOpen());
        assertEquals(1, stats.proxyRefusals().get(ProxyRefusal.TIMEOUT));
        assertEquals(0, stats.timeouts(), "not an SMTP timeout");
    }

    @Test
    void afterTheHeaderTheCommandTimeoutRuns() {
        FakeConnection c = open("10.0.0.1");
        c.feed(HEADER);
        assertEquals("220 mx.test ESMTP Sluice\r\n", c.takeOutput());
        assertEquals(now + settings.commandTimeoutNanos(), c.deadlineNanos());
    }

    @Test
    void untrustedMalformedAndEarlyCloseAreClosedUnansweredAndCounted() {
        FakeConnection stranger = open("192.0.2.99");
        assertFalse(stranger.isOpen());
        assertEquals("", stranger.takeOutput());
        FakeConnection garbage = open("10.0.0.1");
        garbage.feed("EHLO client.example\r\n");
        assertFalse(garbage.isOpen());
        assertEquals("", garbage.takeOutput());
        assertEquals(0, garbage.pendingInput(), "the rest is dropped, not read as SMTP");
        FakeConnection quitter = open("10.0.0.1");
        quitter.feed("PROXY");
        quitter.shutdownInput();
        assertFalse(quitter.isOpen());
        assertEquals("", quitter.takeOutput());
        FakeConnection huge = open("10.0.0.1");
        huge.feed("PROXY UNKNOWN " + "x".repeat(100));
        assertFalse(huge.isOpen());
        assertEquals(1, stats.proxyRefusals().get(ProxyRefusal.UNTRUSTED));
        assertEquals(1, stats.proxyRefusals().get(ProxyRefusal.MALFORMED));
        assertEquals(1, stats.proxyRefusals().get(ProxyRefusal.NO_HEADER));
        assertEquals(1, stats.proxyRefusals().get(ProxyRefusal.TOO_LONG));
        assertEquals(4, stats.rejectionsByReason().get(ConnectionRejection.PROXY));
        assertEquals(0, limiter.open(), "none of them took a connection");
    }

    @Test
    void theLimiterCountsTheHeadersClientAfterTheHeader() throws Exception {
        limiter = new ConnectionLimiter(1000, 1);
        FakeConnection a = open("10.0.0.1");
        FakeConnection b = open("10.0.0.1");
        FakeConnection again = open("10.0.0.1");
        assertEquals(3, limiter.open(), "waiting for a header: counted in the total");
        assertEquals(0, limiter.open(listener().clientKey.of(java.net.InetAddress.getByName("10.0.0.1"))),
                "not per client: the balancer's address meets no per-IP limit");
        a.feed("PROXY TCP4 192.0.2.1 10.0.0.1 1 25\r\n");
        b.feed("PROXY TCP4 192.0.2.2 10.0.0.1 1 25\r\n");
        again.feed("PROXY TCP4 192.0.2.1 10.0.0.1 2 25\r\n");
        assertEquals("220 mx.test ESMTP Sluice\r\n", a.takeOutput());
        assertEquals("220 mx.test ESMTP Sluice\r\n", b.takeOutput());
        assertTrue(again.takeOutput().startsWith("421 4.7.0 "));
        assertEquals(2, limiter.open(), "the refused one gave back its place in the total");
        a.close();
        b.close();
        assertEquals(0, limiter.open(), "given back at close");
    }

    @Test
    void waitingConnectionsMeetTheTotalAndAreClosedUnansweredOverIt() {
        limiter = new ConnectionLimiter(2, 100);
        FakeConnection a = open("10.0.0.1");
        FakeConnection b = open("10.0.0.1");
        FakeConnection over = open("10.0.0.1");
        assertTrue(a.isOpen());
        assertTrue(b.isOpen());
        assertFalse(over.isOpen(), "a third waiting connection is over limits.connections=2");
        assertEquals("", over.takeOutput(), "no 421: the peer is the balancer, which speaks PROXY, not SMTP");
        assertEquals(1, stats.proxyRefusals().get(ProxyRefusal.LIMIT));
        assertEquals(1, stats.rejectionsByReason().get(ConnectionRejection.PROXY));
        assertEquals(2, limiter.open());
        a.feed(HEADER);
        assertEquals("220 mx.test ESMTP Sluice\r\n", a.takeOutput());
        assertEquals(2, limiter.open(), "the header moves a's count onto its client; the total is unchanged");
        b.shutdownInput(); // gave up before a whole header: its place is given back
        assertFalse(b.isOpen());
        assertEquals(1, limiter.open());
        FakeConnection later = open("10.0.0.1");
        assertTrue(later.isOpen());
        now += HEADER_TIMEOUT;
        assertTrue(later.tick(now));
        assertFalse(later.isOpen());
        assertEquals(1, limiter.open(), "a timed-out wait gives back its place too");
    }

    @Test
    void healthChecksAreCountedNotLoggedAtInfoWhileAMalformedHeaderStillIs() {
        java.io.ByteArrayOutputStream logged = new java.io.ByteArrayOutputStream();
        log = new EventLog(EventLog.Level.INFO, new java.io.PrintStream(logged, true, StandardCharsets.UTF_8));
        FakeConnection connectOnly = open("10.0.0.1");
        connectOnly.shutdownInput();
        assertFalse(connectOnly.isOpen());
        assertEquals("", connectOnly.takeOutput());
        FakeConnection resetOnly = open("10.0.0.1");
        resetOnly.reset(); // HAProxy ends a check with a RST
        FakeConnection local = open("10.0.0.1");
        local.feed(v2Local());
        assertEquals("220 mx.test ESMTP Sluice\r\n", local.takeOutput());
        local.shutdownInput();
        assertFalse(local.isOpen());
        FakeConnection unknownThenReset = open("10.0.0.1");
        unknownThenReset.feed("PROXY UNKNOWN\r\n");
        unknownThenReset.reset();
        FakeConnection localThatTalks = open("10.0.0.1");
        localThatTalks.feed("PROXY UNKNOWN\r\nEHLO frontend.example\r\nMAIL FROM:<a@example.org>\r\n");
        localThatTalks.shutdownInput();
        FakeConnection partial = open("10.0.0.1");
        partial.feed("PROXY TCP4 ");
        partial.shutdownInput();
        FakeConnection garbage = open("10.0.0.1");
        garbage.feed("GET / HTTP/1.0\r\n");
        log.close(); // writes every queued line
        assertEquals(2, stats.proxyHealthChecks(false), "closed or reset before any byte");
        assertEquals(2, stats.proxyHealthChecks(true), "LOCAL/UNKNOWN, then closed or reset without MAIL");
        assertEquals(1, stats.proxyRefusals().get(ProxyRefusal.NO_HEADER), "part of a header, then closed: still a refusal");
        assertEquals(1, stats.proxyRefusals().get(ProxyRefusal.MALFORMED));
        assertEquals(2, stats.rejectionsByReason().get(ConnectionRejection.PROXY), "health checks are not rejections");
        String text = logged.toString(StandardCharsets.UTF_8);
        assertEquals(5, text.split("\n").length, text); // the talker's disconnect; two rejects and their disconnects
        assertTrue(text.contains("INFO disconnect client=10.0.0.1 messages=0 errors=0"), text);
        assertTrue(text.contains("reject client=10.0.0.1 reason=\"proxy no_header\""), text);
        assertTrue(text.contains("reject client=10.0.0.1 reason=\"proxy malformed\" detail="), text);
        assertEquals(0, limiter.open(), "every one gave back its place");
    }

    private static byte[] v2Local() {
        byte[] header = ProxyProtocolSocketTest.concat(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49,
            0x54, 0x0A}, new byte[] {0x20, 0x00, 0, 0});
        return header;
    }

    @Test
    void localKeepsTheBalancerButNotItsRelayRight() {
        FakeConnection c = open("127.0.0.1");
        c.feed("PROXY UNKNOWN\r\nEHLO lb\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\n");
        assertTrue(c.takeOutput().endsWith("250 2.1.0 Ok\r\n550 5.7.1 Relay access denied\r\n"),
                "127.0.0.1 is a relay network, but UNKNOWN names no client: it may be anyone (a unix-socket frontend)");
        FakeConnection direct = open("127.0.0.1");
        direct.feed("PROXY TCP4 127.0.0.1 127.0.0.1 1 25\r\nEHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\n");
        assertTrue(direct.takeOutput().endsWith("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"), "a named relay client still relays");
        FakeConnection proxied = open("127.0.0.1");
        proxied.feed("PROXY TCP4 192.0.2.1 127.0.0.1 1 25\r\nEHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\n");
        assertTrue(proxied.takeOutput().endsWith("250 2.1.0 Ok\r\n550 5.7.1 Relay access denied\r\n"),
                "the client it names is not");
        assertEquals(1, stats.proxyHeaders(1, false));
        assertEquals(2, stats.proxyHeaders(1, true));
    }

    @Test
    void aClientTalkingRightAfterTheHeaderMeetsTheGreetPause() {
        settings = new SessionSettingsBuilder().greetPauseNanos(SECOND).build();
        FakeConnection c = open("10.0.0.1");
        c.feed(HEADER + "EHLO too.early\r\n");
        assertTrue(c.takeOutput().startsWith("554 5.5.1 "), "the bytes behind the header are the client's");
        FakeConnection patient = open("10.0.0.1");
        patient.feed(HEADER);
        assertEquals("", patient.takeOutput());
        assertTrue(patient.tick(now + SECOND));
        assertEquals("220 mx.test ESMTP Sluice\r\n", patient.takeOutput());
    }

    @Test
    void aShutdownClosesAConnectionWaitingForItsHeaderUnanswered() {
        FakeConnection c = open("10.0.0.1");
        services.closeAllSessions();
        assertFalse(c.isOpen());
        assertEquals("", c.takeOutput());
    }

    @Test
    void v2BinaryHeaderWithTlvs() throws Exception {
        byte[] header = v2("203.0.113.5");
        FakeConnection c = open("10.0.0.1");
        byte[] both = new byte[header.length + 6];
        System.arraycopy(header, 0, both, 0, header.length);
        System.arraycopy("NOOP\r\n".getBytes(StandardCharsets.US_ASCII), 0, both, header.length, 6);
        c.feed(both);
        assertEquals("220 mx.test ESMTP Sluice\r\n250 2.0.0 Ok\r\n", c.takeOutput());
        assertEquals(1, stats.proxyHeaders(2, true));
    }

    /** A v2 PROXY header over TCP/IPv4 naming {@code source}, with a TLV (PP2_TYPE_AUTHORITY) behind the addresses. */
    private static byte[] v2(String source) throws java.io.IOException {
        byte[] tlv = ProxyProtocolSocketTest.concat(new byte[] {0x02, 0, 7}, "mx.test".getBytes(StandardCharsets.US_ASCII));
        byte[] header = ProxyProtocolSocketTest.v2Inet(source, 0x1234);
        header[15] += (byte) tlv.length; // the length field's low octet: 12 + 10 still fits it
        return ProxyProtocolSocketTest.concat(header, tlv);
    }

    /** HAProxy's {@code option smtpchk} with {@code check-send-proxy}: a LOCAL/UNKNOWN header, HELO, QUIT. */
    @Test
    void haproxySmtpchkBehindALocalHeaderIsAHealthCheck() {
        java.io.ByteArrayOutputStream logged = new java.io.ByteArrayOutputStream();
        log = new EventLog(EventLog.Level.INFO, new java.io.PrintStream(logged, true, StandardCharsets.UTF_8));
        FakeConnection check = open("10.0.0.1");
        check.feed("PROXY UNKNOWN\r\nHELO localhost\r\nQUIT\r\n");
        assertTrue(check.takeOutput().endsWith("221 2.0.0 Bye\r\n"));
        assertFalse(check.isOpen());
        FakeConnection ehloThenReset = open("10.0.0.1");
        ehloThenReset.feed(v2Local());
        ehloThenReset.feed("EHLO localhost\r\nNOOP\r\n");
        ehloThenReset.reset();
        FakeConnection idle = open("10.0.0.1");
        idle.feed("PROXY UNKNOWN\r\nHELO localhost\r\n");
        now += 3600 * SECOND;
        idle.tick(now); // our command timeout ends it: not the balancer's check
        assertFalse(idle.isOpen());
        FakeConnection auth = open("10.0.0.1");
        auth.feed("PROXY UNKNOWN\r\nEHLO localhost\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nQUIT\r\n");
        log.close();
        String text = logged.toString(StandardCharsets.UTF_8);
        assertEquals(2, stats.proxyHealthChecks(true), "smtpchk, and EHLO/NOOP then a reset: " + text);
        assertTrue(text.contains("INFO timeout"), text);
        assertEquals(2, text.split("INFO disconnect").length - 1, "the timed-out one and the AUTH one: " + text);
        assertEquals(0, limiter.open());
    }

    /** A LOCAL session refused by the connection rate is a rejection (421, INFO), not also a health check. */
    @Test
    void aLocalSessionRefusedByTheConnectionRateIsNotAlsoAHealthCheck() {
        ProxyPolicy proxy = new ProxyPolicy(NetworkSet.parse("10.0.0.0/8")::contains, HEADER_TIMEOUT);
        ListenerContext rated = new ListenerContext(settings, null, false, limiter,
                new ClientRateLimiter(1, () -> now), ClientRateLimiter.OFF, ClientKey.DEFAULT, log, stats, null, proxy);
        services = new SessionServices(() -> now, Runnable::run, (deadline, task) -> scheduled.add(task), store);
        FakeConnection first = new FakeConnection("10.0.0.1");
        first.open(new SmtpSession(rated, c -> services));
        first.feed("PROXY UNKNOWN\r\nQUIT\r\n");
        FakeConnection second = new FakeConnection("10.0.0.1");
        second.open(new SmtpSession(rated, c -> services));
        second.feed("PROXY UNKNOWN\r\n");
        String reply = second.takeOutput();
        assertFalse(second.isOpen(), reply);
        assertTrue(reply.startsWith("421 "), reply);
        assertEquals(1, stats.rejectedConnections.sum(), reply);
        assertEquals(1, stats.proxyHealthChecks(true), "only the first was a check; the second was refused");
    }

    /** Part of a header, then a reset (not a FIN): still a refusal, no_header. */
    @Test
    void aResetAfterPartOfAHeaderIsANoHeaderRefusal() {
        FakeConnection partial = open("10.0.0.1");
        partial.feed("PROXY TCP4 ");
        partial.reset();
        assertEquals(1, stats.proxyRefusals().get(ProxyRefusal.NO_HEADER));
        assertEquals(0, stats.proxyHealthChecks(false) + stats.proxyHealthChecks(true));
        assertEquals(0, limiter.open());
    }
}
