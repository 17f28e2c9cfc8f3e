package io.sluice.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Properties;

import jakarta.mail.Session;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;

import org.junit.jupiter.api.Test;

import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.DsnReturn;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.EnvelopeDsn;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;
import io.sluice.smtp.spool.RecipientDsn;

class DeliveryStatusReportTest {
    private static final long ARRIVAL = 1_700_000_000_000L;

    private static QueuedMessage original(String sender) {
        Envelope e = new Envelope(sender, List.of("a@example.net", "b@example.net"), "192.0.2.7", "client.test",
                "ESMTP", ARRIVAL, BodyType.SEVEN_BIT, false);
        return new QueuedMessage(QueueId.of(42L << 22), e, 100, ARRIVAL);
    }

    @Test
    void aMimeParserSeesAMultipartReportWithThreeParts() throws Exception {
        byte[] headers = "Received: from x by y\r\nSubject: the original\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] report = DeliveryStatusReport.build("mx.test", original("s@example.org"),
                DeliveryStatusReport.Row.inEnvelopeOrder(List.of(RecipientResult.failed("a@example.net", "5.1.1", "No such user"),
                        new RecipientResult("b@example.net", RecipientResult.Outcome.FAILED, 552, "5.2.2", "Over quota"))),
                headers, ARRIVAL + 1000);

        MimeMessage m = new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(report));
        assertTrue(m.getContentType().startsWith("multipart/report"), m.getContentType());
        assertTrue(m.getContentType().contains("report-type=delivery-status"), m.getContentType());
        assertEquals("Undelivered Mail Returned to Sender", m.getSubject());
        assertEquals("auto-replied", m.getHeader("Auto-Submitted", null));
        MimeMultipart parts = new MimeMultipart(m.getDataHandler().getDataSource());
        assertEquals(3, parts.getCount());
        assertTrue(parts.getBodyPart(0).getContentType().startsWith("text/plain"));
        assertTrue(parts.getBodyPart(1).getContentType().startsWith("message/delivery-status"));
        assertTrue(parts.getBodyPart(2).getContentType().startsWith("text/rfc822-headers"));

        String status = new String(((MimeBodyPart) parts.getBodyPart(1)).getRawInputStream().readAllBytes(),
                StandardCharsets.US_ASCII);
        assertTrue(status.startsWith("Reporting-MTA: dns; mx.test\r\n"), status);
        assertTrue(status.contains("Arrival-Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"), status);
        assertTrue(status.contains("\r\n\r\nFinal-Recipient: rfc822; a@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"),
                status);
        assertTrue(status.contains("Final-Recipient: rfc822; b@example.net\r\nAction: failed\r\nStatus: 5.2.2\r\n"
                + "Diagnostic-Code: smtp; 552 5.2.2 Over quota\r\n"), status);
        byte[] quoted = ((MimeBodyPart) parts.getBodyPart(2)).getRawInputStream().readAllBytes();
        assertArrayEquals(headers, quoted);
    }

    @Test
    void aUtf8RecipientIsAUtf8AddressTypeAndTheHumanPartStaysAscii() {
        String rcpt = "j\u00f6rg@example.net";
        byte[] report = DeliveryStatusReport.build("mx.test", original("s@example.org"),
                DeliveryStatusReport.Row.inEnvelopeOrder(List.of(RecipientResult.failed(rcpt, "5.1.1", "No such user"))),
                new byte[0], ARRIVAL);
        String text = new String(report, StandardCharsets.UTF_8);
        assertTrue(text.contains("Final-Recipient: utf-8; " + rcpt + "\r\n"), text);
        assertTrue(text.contains("<j?rg@example.net>: 550 5.1.1 No such user"), text);
    }

    @Test
    void theBounceEnvelopeHasTheNullSender() {
        Envelope e = DeliveryStatusReport.envelope(original("s@example.org"), "mx.test", ARRIVAL, false);
        assertEquals("", e.sender());
        assertEquals(List.of("s@example.org"), e.recipients());
        assertEquals(BodyType.SEVEN_BIT, e.bodyType());
    }

    @Test
    void headerCaptureKeepsTheHeaderBlockOnly() {
        HeaderCapture c = new HeaderCapture(1024);
        byte[] message = "A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore\r\n".getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < message.length; i += 3) { // split anywhere
            c.write(ByteBuffer.wrap(message, i, Math.min(3, message.length - i)));
        }
        assertEquals("A: 1\r\nB: 2\r\n", new String(c.headers(), StandardCharsets.US_ASCII));
        assertFalse(c.eightBit());

        HeaderCapture small = new HeaderCapture(14);
        small.write(ByteBuffer.wrap("A: 1\r\nB: 22222222\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("A: 1\r\n", new String(small.headers(), StandardCharsets.US_ASCII), "cut at a line end");

        HeaderCapture none = new HeaderCapture(64);
        none.write(ByteBuffer.wrap("\r\nbody only\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(0, none.headers().length);
    }

    /**
     * Review s7a: the same address given twice with different ORCPT (what an upstream Postfix sends
     * after two aliases expand to one mailbox: its duplicate filter keeps recipients whose ORCPT or
     * NOTIFY differ). Each row names its own Original-Recipient (RFC 3464 2.3.1), found by its
     * envelope index, not by address.
     */
    @Test
    void eachRowOfARepeatedAddressKeepsItsOwnOriginalRecipient() {
        Envelope e = new Envelope("a@example.org", List.of("x@example.net", "x@example.net"), "127.0.0.1", "c", "ESMTP",
                0, BodyType.SEVEN_BIT, false, new EnvelopeDsn(DsnReturn.NONE, "", List.of(
                        new RecipientDsn(RecipientDsn.NOTIFY_FAILURE, "rfc822;list-one@example.org"),
                        new RecipientDsn(RecipientDsn.NOTIFY_FAILURE, "rfc822;list-two@example.org"))));
        QueuedMessage m = new QueuedMessage(QueueId.of(1L << 22), e, 10, 0);
        RecipientResult failed = RecipientResult.failed("x@example.net", "5.1.1", "no such user");
        String both = new String(DeliveryStatusReport.build("mx.test", m, List.of(new DeliveryStatusReport.Row(0, failed),
                new DeliveryStatusReport.Row(1, failed)), new byte[0], 0), StandardCharsets.US_ASCII);
        assertTrue(both.contains("Original-Recipient: rfc822;list-one@example.org"), both);
        assertTrue(both.contains("Original-Recipient: rfc822;list-two@example.org"), both);
        String second = new String(DeliveryStatusReport.build("mx.test", m, List.of(new DeliveryStatusReport.Row(1, failed)),
                new byte[0], 0), StandardCharsets.US_ASCII);
        assertTrue(second.contains("Original-Recipient: rfc822;list-two@example.org"), second);
        assertFalse(second.contains("list-one"), second);
    }

    /** RFC 6533 3: a utf-8 ORCPT taken as unitext goes into the 7-bit status part as utf-8-addr-xtext. */
    @Test
    void aUnitextOriginalRecipientIsReportedWithEmbeddedUnicode() {
        Envelope e = new Envelope("a@example.org", List.of("caf\u00e9@example.net"), "127.0.0.1", "c", "UTF8SMTP",
                0, BodyType.SEVEN_BIT, true, new EnvelopeDsn(DsnReturn.NONE, "", List.of(
                        new RecipientDsn(RecipientDsn.NOTIFY_FAILURE, "utf-8;caf\u00e9\ud83d\ude00@example.net"))));
        QueuedMessage m = new QueuedMessage(QueueId.of(1L << 22), e, 10, 0);
        String report = new String(DeliveryStatusReport.build("mx.test", m, List.of(new DeliveryStatusReport.Row(0,
                RecipientResult.failed("caf\u00e9@example.net", "5.1.1", "no such user"))), new byte[0], 0),
                StandardCharsets.UTF_8);
        assertTrue(report.contains("Original-Recipient: utf-8;caf\\x{E9}\\x{1F600}@example.net\r\n"), report);
    }
}
