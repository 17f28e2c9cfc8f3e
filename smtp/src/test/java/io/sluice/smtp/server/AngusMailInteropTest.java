package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.Random;

import org.eclipse.angus.mail.smtp.SMTPTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ListenerMode;
import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;
import jakarta.activation.DataHandler;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Multipart;
import jakarta.mail.Part;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import jakarta.mail.util.ByteArrayDataSource;

/**
 * Jakarta Mail (Eclipse Angus) as a real client: plaintext, STARTTLS required, implicit TLS, and an
 * 8-bit UTF-8 body with a 2 MiB attachment; each message is read back from the spool and parsed.
 */
class AngusMailInteropTest {

    private static final String FROM = "a@example.org";
    private static final String TO = "b@example.net";

    @TempDir
    Path dir;
    private TestServer server;

    @BeforeEach
    void start() throws IOException {
        server = new TestServer(dir);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void plaintext() throws Exception {
        Session session = session(server.port());
        MimeMessage sent = textMessage(session, "plain", "hello over plain SMTP\r\n");
        QueuedMessage queued = send(session, sent);
        assertEquals("ESMTP", queued.envelope().protocol());
        assertSameText(sent, readBack(session, queued));
    }

    @Test
    void startTlsRequired() throws Exception {
        Properties props = properties(server.port());
        props.put("mail.smtp.starttls.enable", "true");
        props.put("mail.smtp.starttls.required", "true");
        props.put("mail.smtp.ssl.trust", "*");
        Session session = Session.getInstance(props);
        MimeMessage sent = textMessage(session, "starttls", "hello inside STARTTLS\r\n");
        QueuedMessage queued = send(session, sent);
        assertEquals("ESMTPS", queued.envelope().protocol());
        assertReceivedOverTls13(queued);
        assertSameText(sent, readBack(session, queued));
    }

    @Test
    void implicitTlsOnTheSmtpsListener() throws Exception {
        Properties props = properties(server.address(ListenerMode.SMTPS).getPort());
        props.put("mail.smtp.ssl.enable", "true");
        props.put("mail.smtp.ssl.trust", "*");
        Session session = Session.getInstance(props);
        MimeMessage sent = textMessage(session, "smtps", "hello over implicit TLS\r\n");
        QueuedMessage queued = send(session, sent);
        assertEquals("ESMTPS", queued.envelope().protocol());
        assertReceivedOverTls13(queued);
        assertSameText(sent, readBack(session, queued));
    }

    @Test
    void eightBitUtf8BodyWithTwoMebibyteAttachment() throws Exception {
        Properties props = properties(server.port());
        props.put("mail.smtp.allow8bitmime", "true");
        // Angus converts text parts to 8bit when the server offers 8BITMIME but never declares it
        // in MAIL FROM by itself; this is how its users announce it.
        props.put("mail.smtp.mailextension", "BODY=8BITMIME");
        Session session = Session.getInstance(props);
        String text = "Grüße aus Zürich — 東京 — Ελλάδα — emoji 📬\r\nsecond line: ½ ≠ ∞\r\n";
        byte[] attachment = new byte[2 * 1024 * 1024];
        new Random(42).nextBytes(attachment);

        MimeMessage sent = new MimeMessage(session);
        sent.setFrom(new InternetAddress(FROM));
        sent.setRecipients(Message.RecipientType.TO, TO);
        sent.setSubject("Anhang: Grüße 📎", "UTF-8");
        MimeBodyPart body = new MimeBodyPart();
        body.setText(text, "UTF-8", "plain");
        MimeBodyPart file = new MimeBodyPart();
        file.setDataHandler(new DataHandler(new ByteArrayDataSource(attachment, "application/octet-stream")));
        file.setFileName("random.bin");
        MimeMultipart multipart = new MimeMultipart(body, file);
        sent.setContent(multipart);

        QueuedMessage queued = send(session, sent);
        assertEquals(BodyType.EIGHT_BIT_MIME, queued.envelope().bodyType(), "Angus announced BODY=8BITMIME");
        assertTrue(queued.sizeOctets() > attachment.length, "size " + queued.sizeOctets());
        byte[] stored = StoredMessages.content(server.server.spool(), queued.id());
        assertTrue(indexOf(stored, text.getBytes(StandardCharsets.UTF_8)) >= 0,
                "the UTF-8 text travelled as raw 8-bit octets and was stored unchanged");

        MimeMessage back = readBack(session, queued);
        assertEquals("Anhang: Grüße 📎", back.getSubject());
        Multipart parts = (Multipart) back.getContent();
        assertEquals(2, parts.getCount());
        assertEquals(text, parts.getBodyPart(0).getContent());
        Part file0 = parts.getBodyPart(1);
        assertEquals("random.bin", file0.getFileName());
        assertArrayEquals(attachment, file0.getInputStream().readAllBytes());
    }

    private Properties properties(int port) {
        Properties props = new Properties();
        props.put("mail.smtp.host", "127.0.0.1");
        props.put("mail.smtp.port", Integer.toString(port));
        props.put("mail.smtp.localhost", "client.example");
        props.put("mail.smtp.connectiontimeout", "5000");
        props.put("mail.smtp.timeout", "10000");
        props.put("mail.smtp.writetimeout", "10000");
        return props;
    }

    private Session session(int port) {
        return Session.getInstance(properties(port));
    }

    private static MimeMessage textMessage(Session session, String subject, String text) throws MessagingException {
        MimeMessage m = new MimeMessage(session);
        m.setFrom(new InternetAddress(FROM));
        m.setRecipients(Message.RecipientType.TO, TO);
        m.setSubject(subject);
        m.setText(text, "UTF-8");
        return m;
    }

    /** Sends through one transport and returns the spooled message named by the 250 reply. */
    private QueuedMessage send(Session session, MimeMessage message) throws Exception {
        message.saveChanges();
        String reply;
        try (SMTPTransport transport = (SMTPTransport) session.getTransport("smtp")) {
            transport.connect();
            transport.sendMessage(message, message.getAllRecipients());
            reply = transport.getLastServerResponse();
        }
        assertTrue(reply.startsWith("250 2.0.0 Ok: queued as "), reply);
        QueueId id = QueueId.parse(reply.substring("250 2.0.0 Ok: queued as ".length()).trim());
        QueuedMessage queued = server.server.spool().find(id)
                .orElseThrow(() -> new AssertionError("acknowledged " + id + " is not in the spool: " + server.queued()));
        assertEquals(FROM, queued.envelope().sender());
        assertEquals(List.of(TO), queued.envelope().recipients());
        assertEquals("client.example", queued.envelope().heloName());
        assertEquals("127.0.0.1", queued.envelope().clientAddress());
        return queued;
    }

    private MimeMessage readBack(Session session, QueuedMessage queued) throws Exception {
        byte[] stored = StoredMessages.withoutReceived(StoredMessages.content(server.server.spool(), queued.id()));
        return new MimeMessage(session, new ByteArrayInputStream(stored));
    }

    private void assertReceivedOverTls13(QueuedMessage queued) throws IOException {
        String stored = server.content(queued);
        assertTrue(stored.contains("(using TLSv1.3 with cipher "), stored);
    }

    private static void assertSameText(MimeMessage sent, MimeMessage back) throws Exception {
        assertEquals(sent.getSubject(), back.getSubject());
        assertEquals(sent.getMessageID(), back.getMessageID());
        assertEquals(sent.getContent(), back.getContent());
        assertEquals(FROM, ((InternetAddress) back.getFrom()[0]).getAddress());
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
