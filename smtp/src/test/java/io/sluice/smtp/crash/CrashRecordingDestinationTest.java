package io.sluice.smtp.crash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.sluice.smtp.delivery.Route;
import jakarta.mail.Address;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;

/**
 * The recording SMTP next hop of the crash harness on its own, ready for the day the outbound
 * client delivers to it: Angus Mail and a plain pipelining socket client send to it, and it must
 * record exactly the messages it answered with 250, per recipient, intact and stamped with the
 * epoch of their connection, and nothing that was cut mid-DATA.
 */
class CrashRecordingDestinationTest {

    private RecordingSmtpDestination destination;

    @BeforeEach
    void start() throws IOException {
        destination = new RecordingSmtpDestination();
    }

    @AfterEach
    void stop() throws IOException {
        destination.close();
    }

    @Test
    void itsTransportValueIsAFixedNextHopRoute() {
        Route route = Route.parse(destination.transport());
        assertEquals(Route.Kind.SMTP_HOST, route.kind());
        assertEquals("127.0.0.1", route.target());
        assertEquals(destination.port(), route.port());
    }

    @Test
    void recordsWhatAngusMailSendsPerRecipient() throws Exception {
        destination.serverStarted(3, 0);
        LoadMessage one = new LoadMessage("angus.1@load.test", List.of("u1@example.net"),
                LoadMessage.body("angus.1@load.test", 3000));
        LoadMessage two = new LoadMessage("angus.2@load.test", List.of("u2@example.net", "u3@example.net"),
                LoadMessage.body("angus.2@load.test", 70_000));
        Properties props = new Properties();
        props.put("mail.smtp.host", "127.0.0.1");
        props.put("mail.smtp.port", Integer.toString(destination.port()));
        props.put("mail.smtp.connectiontimeout", "5000");
        props.put("mail.smtp.timeout", "10000");
        Session session = Session.getInstance(props);
        try (Transport transport = session.getTransport("smtp")) {
            transport.connect();
            // sendMessage, not Transport.send: saveChanges() would replace our Message-ID.
            for (LoadMessage m : List.of(one, two)) {
                MimeMessage mime = new MimeMessage(session,
                        new ByteArrayInputStream(m.text().getBytes(StandardCharsets.ISO_8859_1)));
                Address[] to = m.recipients().stream().map(CrashRecordingDestinationTest::address).toArray(Address[]::new);
                transport.sendMessage(mime, to);
            }
        }
        List<CrashDestination.Delivery> got = sorted(destination.deliveries());
        assertEquals(3, got.size(), got.toString());
        assertEquals(List.of("angus.1@load.test u1@example.net", "angus.2@load.test u2@example.net",
                "angus.2@load.test u3@example.net"), got.stream().map(d -> d.messageId() + " " + d.recipient()).toList());
        assertTrue(got.stream().allMatch(CrashDestination.Delivery::intact), got.toString());
        assertTrue(got.stream().allMatch(d -> d.epoch() == 3), got.toString());
        assertEquals(2, destination.transactions());
    }

    @Test
    void pipelinedMessagesAreRecordedAndACutOneIsNot() throws Exception {
        LoadMessage whole = new LoadMessage("raw.1@load.test", List.of("u4@example.net", "u5@example.net"),
                LoadMessage.body("raw.1@load.test", 5000));
        LoadMessage cut = new LoadMessage("raw.2@load.test", List.of("u6@example.net"),
                LoadMessage.body("raw.2@load.test", 5000));
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", destination.port()), 5_000);
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            assertTrue(reply(in).startsWith("220 "));
            out.write("EHLO raw.test\r\n".getBytes(StandardCharsets.US_ASCII));
            assertTrue(reply(in).contains("250-PIPELINING"));
            out.write(("MAIL FROM:<load@example.org>\r\nRCPT TO:<U4@example.net>\r\nRCPT TO:<u5@example.net>\r\nDATA\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            assertEquals("250 2.1.0 Ok\r\n", reply(in));
            assertEquals("250 2.1.5 Ok\r\n", reply(in));
            assertEquals("250 2.1.5 Ok\r\n", reply(in));
            assertTrue(reply(in).startsWith("354 "));
            out.write((whole.wire() + ".\r\n").getBytes(StandardCharsets.ISO_8859_1));
            assertTrue(reply(in).startsWith("250 2.0.0 "));
            out.write("MAIL FROM:<load@example.org>\r\nRCPT TO:<u6@example.net>\r\nDATA\r\n".getBytes(StandardCharsets.US_ASCII));
            reply(in);
            reply(in);
            assertTrue(reply(in).startsWith("354 "));
            String text = cut.wire();
            out.write(text.substring(0, text.length() / 2).getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }
        // The cut transaction's thread sees the end of stream and must record nothing for it.
        assertTrue(await(() -> destination.closedConnections() == 1), "the cut connection's session ended");
        assertEquals(1, destination.transactions());
        List<CrashDestination.Delivery> got = sorted(destination.deliveries());
        assertEquals(List.of("raw.1@load.test u4@example.net", "raw.1@load.test u5@example.net"),
                got.stream().map(d -> d.messageId() + " " + d.recipient()).toList());
        assertTrue(got.stream().allMatch(CrashDestination.Delivery::intact), "dot-unstuffed body matches its check");
    }

    @Test
    void aDamagedBodyIsRecordedAsNotIntact() throws Exception {
        LoadMessage m = new LoadMessage("bad.1@load.test", List.of("u7@example.net"), LoadMessage.body("bad.1@load.test", 800));
        String damaged = m.wire().replace("filler line 2 ", "filler line X ");
        assertNotEquals(m.wire(), damaged);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", destination.port()), 5_000);
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            reply(in);
            out.write(("HELO raw.test\r\nMAIL FROM:<load@example.org>\r\nRCPT TO:<u7@example.net>\r\nDATA\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            for (int i = 0; i < 3; i++) {
                assertTrue(reply(in).startsWith("250"));
            }
            assertTrue(reply(in).startsWith("354"));
            out.write((damaged + ".\r\nQUIT\r\n").getBytes(StandardCharsets.ISO_8859_1));
            assertTrue(reply(in).startsWith("250"));
            assertTrue(reply(in).startsWith("221"));
        }
        List<CrashDestination.Delivery> got = destination.deliveries();
        assertEquals(1, got.size());
        assertEquals("bad.1@load.test", got.get(0).messageId());
        assertFalse(got.get(0).intact());
    }

    private static InternetAddress address(String a) {
        try {
            return new InternetAddress(a);
        } catch (jakarta.mail.internet.AddressException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static List<CrashDestination.Delivery> sorted(List<CrashDestination.Delivery> deliveries) {
        return deliveries.stream().sorted(Comparator.comparing(CrashDestination.Delivery::messageId)
                .thenComparing(CrashDestination.Delivery::recipient)).toList();
    }

    /** One reply, every line, CRLFs kept. */
    private static String reply(InputStream in) throws IOException {
        StringBuilder reply = new StringBuilder();
        StringBuilder line = new StringBuilder();
        for (int b; (b = in.read()) >= 0; ) {
            line.append((char) b);
            if (b == '\n') {
                reply.append(line);
                if (line.length() < 4 || line.charAt(3) != '-') {
                    return reply.toString();
                }
                line.setLength(0);
            }
        }
        throw new IOException("closed after " + reply + line);
    }

    private static boolean await(BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }
}
