package io.sluice.smtp.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The session's running count of an envelope's spool octets ({@link EnvelopeOctets}) is never below
 * what {@link EnvelopeCodec} writes, and not far above it, so refusing the RCPT that passes
 * {@link EnvelopeOctets#MAX_OCTETS} keeps every accepted transaction within the BEGIN record's limit.
 */
class EnvelopeOctetsTest {
    private static final int SLACK = EnvelopeOctets.CLIENT_ADDRESS_OCTETS + EnvelopeOctets.PROTOCOL_OCTETS + 4;

    private static int counted(Envelope e) {
        int octets = EnvelopeOctets.beforeRecipients(e.sender(), e.heloName(), e.dsn().envelopeId());
        for (int i = 0; i < e.recipients().size(); i++) {
            octets += EnvelopeOctets.ofRecipient(e.recipients().get(i), e.dsn().recipient(i).originalRecipient());
        }
        return octets;
    }

    private static void assertBounds(Envelope e) {
        int exact = EnvelopeCodec.encode(e).length;
        int counted = counted(e);
        assertTrue(counted >= exact, "counted=" + counted + " < encoded=" + exact);
        assertTrue(counted <= exact + SLACK + 3 * e.recipients().size(), "counted=" + counted + " encoded=" + exact);
    }

    @Test
    void theCountBoundsTheEncodedSize() {
        assertBounds(new Envelope("a@example.org", List.of("b@example.net"), "127.0.0.1", "c", "ESMTP", 0,
                BodyType.SEVEN_BIT, false));
        assertBounds(new Envelope("a@example.org", List.of("b@example.net", "c@example.net"),
                "2001:db8::1234:5678:9abc:def0", "client.example", "UTF8SMTPSA", 0, BodyType.EIGHT_BIT_MIME, true,
                new EnvelopeDsn(DsnReturn.FULL, "QQ+2B1", List.of(RecipientDsn.NONE,
                        new RecipientDsn(RecipientDsn.NOTIFY_FAILURE, "utf-8;caf\u00e9\u4e2d\ud83d\ude00@example.net")))));
        assertBounds(new Envelope("j\u00f6rg@example.org", List.of("\u4e2d@example.net"), "192.0.2.1", "h\u00e9lo",
                "UTF8SMTP", 0, BodyType.SEVEN_BIT, true));
    }

    /**
     * Review s7a: 1000 recipients each with an ORCPT of 500 characters decoded (RCPT lines within
     * 512 + 600 octets) make an envelope over the BEGIN record's 1 MiB, which SpoolAppender.begin
     * refuses: the count passes the limit there too, so the session refuses that RCPT (452 4.5.3).
     */
    @Test
    void aThousandMaximalOrcptsPassTheLimitInTheCountAsInTheCodec() {
        String orcpt = "rfc822;" + "+2B".repeat(255) + "o".repeat(245);
        List<String> rcpts = new ArrayList<>();
        List<RecipientDsn> dsn = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            rcpts.add(String.format("%04d", i) + "l".repeat(60) + "@example.net");
            dsn.add(new RecipientDsn(0, orcpt));
        }
        Envelope e = new Envelope("a@example.org", rcpts, "127.0.0.1", "client.example", "ESMTP", 0,
                BodyType.SEVEN_BIT, false, new EnvelopeDsn(DsnReturn.NONE, "", dsn));
        assertTrue(EnvelopeCodec.encode(e).length > SpoolRecord.MAX_BEGIN_PAYLOAD_BYTES);
        assertTrue(counted(e) > EnvelopeOctets.MAX_OCTETS);
        assertBounds(e);
        assertEquals(SpoolRecord.MAX_BEGIN_PAYLOAD_BYTES, EnvelopeOctets.MAX_OCTETS);
    }
}
