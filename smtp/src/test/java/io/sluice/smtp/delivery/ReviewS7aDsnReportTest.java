package io.sluice.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.DsnReturn;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.EnvelopeDsn;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;
import io.sluice.smtp.spool.RecipientDsn;

/**
 * Review s7a: the same address given twice with different ORCPT (what an upstream Postfix sends
 * after two aliases expand to one mailbox: its duplicate filter keeps recipients whose ORCPT or
 * NOTIFY differ). Each report row must name its own Original-Recipient (RFC 3464 2.3.1).
 */
class ReviewS7aDsnReportTest {
    @Test
    void eachRowKeepsItsOwnOriginalRecipient() {
        Envelope e = new Envelope("a@example.org", List.of("x@example.net", "x@example.net"), "127.0.0.1", "c", "ESMTP",
                0, BodyType.SEVEN_BIT, false, new EnvelopeDsn(DsnReturn.NONE, "", List.of(
                        new RecipientDsn(RecipientDsn.NOTIFY_FAILURE, "rfc822;list-one@example.org"),
                        new RecipientDsn(RecipientDsn.NOTIFY_FAILURE, "rfc822;list-two@example.org"))));
        QueuedMessage m = new QueuedMessage(QueueId.of(1L << 22), e, 10, 0);
        List<RecipientResult> failed = List.of(RecipientResult.failed("x@example.net", "5.1.1", "no such user"),
                RecipientResult.failed("x@example.net", "5.1.1", "no such user"));
        String report = new String(DeliveryStatusReport.build("mx.test", m, failed, new byte[0], 0),
                StandardCharsets.US_ASCII);
        assertTrue(report.contains("Original-Recipient: rfc822;list-one@example.org"), report);
        assertTrue(report.contains("Original-Recipient: rfc822;list-two@example.org"), report);
    }
}
