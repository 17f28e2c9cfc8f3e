package io.sluice.smtp.spool;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * Review s7a: the envelope of a transaction the session accepts with DSN on (1000 recipients,
 * each with an ORCPT of 500 characters decoded, lines within 512 + 600 octets) must fit the BEGIN
 * record; else SpoolAppender.begin throws IllegalArgumentException at DATA.
 */
class ReviewS7aEnvelopeSizeTest {
    @Test
    void anAcceptableDsnTransactionFitsTheBeginRecord() {
        String orcpt = "rfc822;" + "+2B".repeat(255) + "o".repeat(245);
        List<String> rcpts = new ArrayList<>();
        List<RecipientDsn> dsn = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            rcpts.add(String.format("%04d", i) + "l".repeat(60) + "@example.net");
            dsn.add(new RecipientDsn(0, orcpt));
        }
        Envelope e = new Envelope("a@example.org", rcpts, "127.0.0.1", "client.example", "ESMTP", 0,
                BodyType.SEVEN_BIT, false, new EnvelopeDsn(DsnReturn.NONE, "", dsn));
        int octets = EnvelopeCodec.encode(e).length;
        assertTrue(octets <= SpoolRecord.MAX_BEGIN_PAYLOAD_BYTES,
                "envelope octets=" + octets + " > MAX_BEGIN_PAYLOAD_BYTES=" + SpoolRecord.MAX_BEGIN_PAYLOAD_BYTES);
    }
}
