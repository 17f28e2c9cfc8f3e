package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ListenerMode;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;

/**
 * CPython's smtplib as a real client: plain send_message, starttls() with an unverified context,
 * SMTP_SSL, many messages on one connection, SMTPUTF8, and relay refusal. Skipped without python3.
 */
class PythonSmtplibInteropTest {

    /** One script, one mode per run; prints "queued ID" for every 250 it saw and "tls VERSION". */
    private static final String SCRIPT = """
            import email.policy, smtplib, ssl, sys
            from email.message import EmailMessage

            mode, port = sys.argv[1], int(sys.argv[2])

            def message(subject, body, sender="a@example.org", to="b@example.net"):
                m = EmailMessage()
                m["From"] = sender
                m["To"] = to
                m["Subject"] = subject
                m.set_content(body)
                return m

            def unverified():
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                return context

            def send_raw(s, subject, body):
                # mail/rcpt/data one by one so the 250 text (with the queue id) is visible
                s.ehlo_or_helo_if_needed()
                s.mail("a@example.org")
                code, _ = s.rcpt("b@example.net")
                assert code == 250, code
                code, text = s.data(message(subject, body).as_bytes(policy=email.policy.SMTP))
                assert code == 250, (code, text)
                print("queued", text.decode().split()[-1])

            if mode == "plain":
                with smtplib.SMTP("127.0.0.1", port, local_hostname="py.example", timeout=10) as s:
                    refused = s.send_message(message("plain", "hello from smtplib\\n"))
                    assert refused == {}, refused
            elif mode == "starttls":
                with smtplib.SMTP("127.0.0.1", port, local_hostname="py.example", timeout=10) as s:
                    s.ehlo()
                    assert s.has_extn("starttls")
                    code, _ = s.starttls(context=unverified())
                    assert code == 220, code
                    s.ehlo()
                    assert not s.has_extn("starttls"), "STARTTLS offered again inside TLS"
                    print("tls", s.sock.version())
                    send_raw(s, "starttls", "hello inside TLS\\n")
            elif mode == "smtps":
                with smtplib.SMTP_SSL("127.0.0.1", port, local_hostname="py.example", timeout=10,
                                      context=unverified()) as s:
                    print("tls", s.sock.version())
                    send_raw(s, "smtps", "hello over implicit TLS\\n")
            elif mode == "many":
                with smtplib.SMTP("127.0.0.1", port, local_hostname="py.example", timeout=10) as s:
                    for i in range(20):
                        s.rset()
                        send_raw(s, "many %d" % i, "message %d\\n" % i)
            elif mode == "smtputf8":
                with smtplib.SMTP("127.0.0.1", port, local_hostname="py.example", timeout=10) as s:
                    refused = s.send_message(message("utf8 envelope", "Grüße\\n", sender="jörg@example.org",
                                                     to="zoë@example.net"))
                    assert refused == {}, refused
            elif mode == "dsn":
                with smtplib.SMTP("127.0.0.1", port, local_hostname="py.example", timeout=10) as s:
                    s.ehlo()
                    assert s.has_extn("dsn"), "DSN not offered"
                    refused = s.sendmail("a@example.org", ["b@example.net"],
                                         message("dsn", "with dsn\\n").as_bytes(policy=email.policy.SMTP),
                                         mail_options=["RET=HDRS", "ENVID=py+2B1"],
                                         rcpt_options=["NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;b@example.net"])
                    assert refused == {}, refused
                    s.mail("a@example.org")
                    code, text = s.rcpt("b@example.net", ["NOTIFY=NEVER,SUCCESS"])
                    print("bad notify", code, text.decode())
            elif mode == "relay":
                with smtplib.SMTP("127.0.0.1", port, local_hostname="py.example", timeout=10) as s:
                    refused = s.sendmail("a@example.org", ["b@example.net", "c@foreign.example"],
                                         message("partly", "one local recipient\\n").as_bytes(policy=email.policy.SMTP))
                    print("partly refused", refused["c@foreign.example"][0])
                    try:
                        s.sendmail("a@example.org", ["c@foreign.example"],
                                   message("refused", "no local recipient\\n").as_bytes(policy=email.policy.SMTP))
                        print("not refused")
                    except smtplib.SMTPRecipientsRefused as e:
                        code, text = e.recipients["c@foreign.example"]
                        print("refused", code, text.decode())
            print("done", mode)
            """;

    private static final Pattern QUEUED = Pattern.compile("^queued (\\w+)$", Pattern.MULTILINE);

    @TempDir
    Path dir;
    private TestServer server;
    private Path script;

    @BeforeAll
    static void requirePython() {
        Assumptions.assumeTrue(PeerProcess.works(List.of("python3", "-c", "import smtplib, ssl")),
                "python3 not found (or it lacks smtplib/ssl): Python smtplib interop skipped");
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void plainSendMessage() throws Exception {
        start(Map.of());
        run("plain", server.port());
        QueuedMessage only = single();
        assertEquals("a@example.org", only.envelope().sender());
        assertEquals(List.of("b@example.net"), only.envelope().recipients());
        assertEquals("py.example", only.envelope().heloName());
        String body = server.body(only);
        assertTrue(body.contains("Subject: plain\r\n"), body);
        assertTrue(body.endsWith("\r\n\r\nhello from smtplib\r\n"), body);
    }

    /** RFC 3461 parameters as smtplib sends them (mail_options, rcpt_options) are kept with the message. */
    @Test
    void dsnParametersFromSmtplibAreKept() throws Exception {
        start(Map.of());
        PeerProcess.Result result = run("dsn", server.port());
        assertTrue(result.stdout().contains("bad notify 501 5.5.4 Syntax: NOTIFY=NEVER or NOTIFY=SUCCESS,FAILURE,DELAY"),
                result.both());
        QueuedMessage only = single();
        io.sluice.smtp.spool.EnvelopeDsn dsn = only.envelope().dsn();
        assertEquals(io.sluice.smtp.spool.DsnReturn.HEADERS, dsn.ret());
        assertEquals("py+2B1", dsn.envelopeId());
        assertEquals(new io.sluice.smtp.spool.RecipientDsn(
                io.sluice.smtp.spool.RecipientDsn.NOTIFY_SUCCESS | io.sluice.smtp.spool.RecipientDsn.NOTIFY_DELAY,
                "rfc822;b@example.net"), only.envelope().dsnOf("b@example.net"));
    }

    @Test
    void startTlsWithUnverifiedContextThenEhloAgain() throws Exception {
        start(Map.of());
        PeerProcess.Result result = run("starttls", server.port());
        assertTrue(result.stdout().contains("tls TLSv1.3\n"), result.both());
        QueuedMessage only = single();
        assertEquals(queuedIds(result), Set.of(only.id().toString()));
        assertEquals("ESMTPS", only.envelope().protocol());
        String body = server.body(only);
        assertTrue(body.endsWith("\r\n\r\nhello inside TLS\r\n"), server.content(only));
    }

    @Test
    void smtpSslToTheSmtpsListener() throws Exception {
        start(Map.of());
        PeerProcess.Result result = run("smtps", server.address(ListenerMode.SMTPS).getPort());
        assertTrue(result.stdout().contains("tls TLSv1.3\n"), result.both());
        QueuedMessage only = single();
        assertEquals(queuedIds(result), Set.of(only.id().toString()));
        assertTrue(server.content(only).contains("(using TLSv1.3 with cipher "));
    }

    @Test
    void twentyMessagesOnOneConnection() throws Exception {
        start(Map.of());
        PeerProcess.Result result = run("many", server.port());
        Set<String> acknowledged = queuedIds(result);
        assertEquals(20, acknowledged.size(), result.both());
        Set<String> spooled = new TreeSet<>();
        for (QueuedMessage m : server.queued()) {
            spooled.add(m.id().toString());
        }
        assertEquals(acknowledged, spooled);
        for (String id : acknowledged) {
            QueuedMessage m = server.server.spool().find(QueueId.parse(id)).orElseThrow();
            String body = server.body(m);
            Matcher subject = Pattern.compile("Subject: many (\\d+)\r\n").matcher(body);
            assertTrue(subject.find(), body);
            assertTrue(body.endsWith("\r\n\r\nmessage " + subject.group(1) + "\r\n"), body);
        }
    }

    @Test
    void smtpUtf8Envelope() throws Exception {
        start(Map.of());
        run("smtputf8", server.port());
        QueuedMessage only = single();
        assertTrue(only.envelope().smtpUtf8(), "smtplib sent MAIL FROM with SMTPUTF8");
        assertEquals("jörg@example.org", only.envelope().sender());
        assertEquals(List.of("zoë@example.net"), only.envelope().recipients());
        assertTrue(server.body(only).endsWith("\r\n\r\nGrüße\r\n"));
    }

    @Test
    void clientOutsideRelayNetworksIsRefused550ForForeignDomains() throws Exception {
        start(Map.of("relay.networks", "192.0.2.0/24"));
        PeerProcess.Result result = run("relay", server.port());
        assertTrue(result.stdout().contains("partly refused 550\n"), result.both());
        assertTrue(result.stdout().contains("refused 550 5.7.1 Relay access denied\n"), result.both());
        QueuedMessage only = single();
        assertEquals(List.of("b@example.net"), only.envelope().recipients(), "only the local recipient kept");
        assertTrue(server.body(only).contains("Subject: partly\r\n"));
    }

    private void start(Map<String, String> settings) throws IOException {
        server = new TestServer(dir, SmtpServer.Mode.SERVE, settings);
        script = dir.resolve("smtplib_peer.py");
        Files.writeString(script, SCRIPT, StandardCharsets.UTF_8);
    }

    private PeerProcess.Result run(String mode, int port) throws Exception {
        List<String> command = new ArrayList<>(List.of("python3", script.toString(), mode, Integer.toString(port)));
        PeerProcess.Result result = PeerProcess.run(command, new byte[0], 30);
        assertEquals(0, result.exitCode(), result.both());
        assertTrue(result.stdout().endsWith("done " + mode + "\n"), result.both());
        return result;
    }

    private QueuedMessage single() {
        List<QueuedMessage> queued = server.queued();
        assertEquals(1, queued.size(), queued.toString());
        return queued.get(0);
    }

    private static Set<String> queuedIds(PeerProcess.Result result) {
        Set<String> ids = new TreeSet<>();
        Matcher m = QUEUED.matcher(result.stdout());
        while (m.find()) {
            ids.add(m.group(1));
        }
        return ids;
    }
}
