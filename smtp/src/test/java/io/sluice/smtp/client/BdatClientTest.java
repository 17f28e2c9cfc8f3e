package io.sluice.smtp.client;

import static io.sluice.smtp.delivery.RecipientResult.Outcome.DEFERRED;
import static io.sluice.smtp.delivery.RecipientResult.Outcome.DELIVERED;
import static io.sluice.smtp.delivery.RecipientResult.Outcome.FAILED;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.delivery.RecipientResult;
import io.sluice.smtp.delivery.Route;
import io.sluice.smtp.spool.BodyType;

/**
 * CHUNKING (RFC 3030) on the outbound client against {@link FakeNextHop}: BDAT instead of DATA
 * when offered, pipelined behind MAIL and RCPT, raw (unstuffed) octets with the exact count, one
 * reply per chunk (LMTP: per recipient after LAST), failures on a chunk, BINARYMIME.
 */
class BdatClientTest {
    private static final String MESSAGE = "Subject: hi\r\n\r\nHello.\r\n.leading dot\r\nbare\nlf\r\n";
    private static final String WIRE = "Subject: hi\r\n\r\nHello.\r\n.leading dot\r\nbare\r\nlf\r\n";

    @TempDir
    Path dir;

    private FakeNextHop fake;
    private ClientHarness harness;

    @AfterEach
    void tearDown() throws Exception {
        if (harness != null) {
            harness.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    private void start(String capabilities, boolean chunking, int chunkOctets) throws Exception {
        fake = new FakeNextHop();
        fake.extraCapabilities = capabilities;
        harness = new ClientHarness(ClientSettings.defaults("client.test", TlsPolicyTable.uniform(ClientTlsLevel.MAY))
                .withTimeouts(Duration.ofSeconds(10)).withChunking(chunking, chunkOctets), dir);
    }

    private Route route() {
        return new Route(fake.lmtp ? Route.Kind.LMTP : Route.Kind.SMTP_HOST, "127.0.0.1", fake.port(), "");
    }

    private Map<String, RecipientResult> send(String content, String... recipients) throws Exception {
        return harness.deliver(route(), "a@example.org", List.of(recipients), content);
    }

    private RecipientResult sendOne(String content) throws Exception {
        return send(content, "b@example.net").get("b@example.net");
    }

    private long count(String prefix) {
        return fake.commands.stream().filter(c -> c.startsWith(prefix)).count();
    }

    @Test
    void bdatLastCarriesTheUnstuffedContentPipelinedBehindMailAndRcpt() throws Exception {
        start("CHUNKING", true, ClientSettings.BDAT_CHUNK_OCTETS);
        fake.repliesOnlyAfterContentCommand = true; // a client that waits for MAIL's reply would time out
        harness.close();
        harness = new ClientHarness(ClientSettings.defaults("client.test", TlsPolicyTable.uniform(ClientTlsLevel.MAY))
                .withTimeouts(Duration.ofSeconds(3)), dir);
        RecipientResult r = sendOne(MESSAGE);
        assertEquals(DELIVERED, r.outcome(), r.reply());
        assertTrue(r.text().contains("(in reply to BDAT LAST)"), r.text());
        int octets = WIRE.getBytes(StandardCharsets.US_ASCII).length;
        assertEquals(List.of("EHLO client.test", "MAIL FROM:<a@example.org>", "RCPT TO:<b@example.net>",
                "BDAT " + octets + " LAST"), fake.commands);
        assertArrayEquals(WIRE.getBytes(StandardCharsets.US_ASCII), fake.chunkedMessages.get(0), "raw, not dot-stuffed");
        assertEquals(1, harness.client.stats().chunkedMessages());
    }

    @Test
    void dataIsUsedWhenChunkingIsNotOfferedOrTurnedOff() throws Exception {
        start("", true, ClientSettings.BDAT_CHUNK_OCTETS);
        assertEquals(DELIVERED, sendOne(MESSAGE).outcome());
        assertEquals(1, count("DATA"));
        assertEquals(0, count("BDAT"));
        assertEquals(List.of(WIRE.replace("\n.leading", "\n..leading")), fake.messages, "stuffed after DATA");
        tearDown();
        start("CHUNKING", false, ClientSettings.BDAT_CHUNK_OCTETS);
        assertEquals(DELIVERED, sendOne(MESSAGE).outcome());
        assertEquals(1, count("DATA"));
        assertEquals(0, count("BDAT"));
        assertEquals(0, harness.client.stats().chunkedMessages());
    }

    @Test
    void largeContentGoesInSeveralChunksWithAndWithoutPipelining() throws Exception {
        String body = "Subject: big\r\n\r\n" + ".x\r\n".repeat(80); // 336 octets
        int octets = body.length();
        for (boolean pipelining : new boolean[] {true, false}) {
            start("CHUNKING", true, 100);
            fake.pipelining = pipelining;
            assertEquals(DELIVERED, sendOne(body).outcome(), "pipelining " + pipelining);
            assertEquals(List.of("BDAT 100", "BDAT 100", "BDAT 100", "BDAT " + (octets - 300) + " LAST"),
                    fake.commands.stream().filter(c -> c.startsWith("BDAT")).toList(), "pipelining " + pipelining);
            assertArrayEquals(body.getBytes(StandardCharsets.US_ASCII), fake.chunkedMessages.get(0));
            tearDown();
        }
        harness = null;
        fake = null;
    }

    @Test
    void aFailedChunkFailsTheAcceptedRecipientsAndTheConnectionIsResetForTheNext() throws Exception {
        String body = "Subject: big\r\n\r\n" + "y".repeat(320) + "\r\n";
        for (boolean pipelining : new boolean[] {true, false}) {
            start("CHUNKING", true, 100);
            fake.pipelining = pipelining;
            fake.replies.put("BDAT:2", "452 4.3.1 out of space");
            fake.byRecipient.put("gone@example.net", "550 5.1.1 no such user");
            Map<String, RecipientResult> r = send(body, "b@example.net", "gone@example.net");
            assertEquals(DEFERRED, r.get("b@example.net").outcome(), "pipelining " + pipelining);
            assertEquals("4.3.1", r.get("b@example.net").enhancedCode());
            assertTrue(r.get("b@example.net").text().contains("(in reply to BDAT)"), r.get("b@example.net").text());
            assertEquals(FAILED, r.get("gone@example.net").outcome());
            if (!pipelining) {
                assertEquals(2, count("BDAT"), "no chunk after the failed one: " + fake.commands);
            }
            fake.replies.remove("BDAT:2");
            fake.replies.put("DOT", "554 5.6.0 content refused");
            assertEquals(FAILED, sendOne(body).outcome(), "a 5xx to LAST bounces");
            fake.replies.put("DOT", "250 2.0.0 queued");
            assertEquals(DELIVERED, sendOne(body).outcome());
            assertEquals(1, fake.connections.get(), "the connection is reused, pipelining " + pipelining + ": " + fake.commands);
            assertEquals(2, count("RSET"));
            assertEquals(2, fake.chunkedMessages.size(), "the refused one and the last one arrived whole");
            tearDown();
        }
        harness = null;
        fake = null;
    }

    @Test
    void refusedMailOrEveryRcptRefusedStillConsumesTheChunkRepliesWhenPipelined() throws Exception {
        start("CHUNKING", true, ClientSettings.BDAT_CHUNK_OCTETS);
        fake.replies.put("MAIL", "550 5.7.1 sender refused");
        RecipientResult r = sendOne(MESSAGE);
        assertEquals(FAILED, r.outcome());
        assertTrue(r.text().contains("(in reply to MAIL FROM)"), r.text());
        fake.replies.put("MAIL", "250 2.1.0 ok");
        fake.replies.put("RCPT", "450 4.2.1 later");
        assertEquals(DEFERRED, sendOne(MESSAGE).outcome());
        fake.replies.put("RCPT", "250 2.1.5 ok");
        assertEquals(DELIVERED, sendOne(MESSAGE).outcome());
        assertEquals(1, fake.connections.get());
        assertEquals(3, count("BDAT"));
        assertEquals(1, fake.chunkedMessages.size());
    }

    @Test
    void aDisconnectInsideAChunkDefersAndTheNextMessageGoesOnANewConnection() throws Exception {
        start("CHUNKING", true, 100);
        fake.dropAfterContentOctets = 150; // inside the second chunk
        String body = "Subject: big\r\n\r\n" + "q".repeat(320) + "\r\n";
        RecipientResult r = sendOne(body);
        assertEquals(DEFERRED, r.outcome());
        assertTrue(r.text().contains("lost connection"), r.text());
        fake.dropAfterContentOctets = -1;
        assertEquals(DELIVERED, sendOne(body).outcome());
        assertEquals(2, fake.connections.get());
        assertArrayEquals(body.getBytes(StandardCharsets.US_ASCII), fake.chunkedMessages.get(0));
    }

    @Test
    void a421ToTheLastChunkDefersAndTheConnectionIsNotReused() throws Exception {
        start("CHUNKING", true, ClientSettings.BDAT_CHUNK_OCTETS);
        fake.replies.put("DOT", "421 4.3.2 shutting down");
        RecipientResult r = sendOne(MESSAGE);
        assertEquals(DEFERRED, r.outcome());
        assertEquals("4.3.2", r.enhancedCode());
        fake.replies.put("DOT", "250 2.0.0 queued");
        assertEquals(DELIVERED, sendOne(MESSAGE).outcome());
        assertEquals(2, fake.connections.get());
    }

    @Test
    void binaryMimeGoesWithBdatOnlyWhenChunkingAndBinaryMimeAreOffered() throws Exception {
        byte[] binary = {'S', 'u', 'b', 'j', 'e', 'c', 't', ':', ' ', 'b', '\r', '\n', '\r', '\n', 0, 1, '\n', '.', '\r',
            (byte) 0xff, 'z'};
        start("CHUNKING,BINARYMIME", true, ClientSettings.BDAT_CHUNK_OCTETS);
        RecipientResult r = harness.deliver(route(), "a@example.org", List.of("b@example.net"), binary,
                BodyType.BINARY_MIME, false).get("b@example.net");
        assertEquals(DELIVERED, r.outcome(), r.reply());
        assertTrue(fake.commands.contains("MAIL FROM:<a@example.org> BODY=BINARYMIME"), fake.commands.toString());
        assertArrayEquals(binary, fake.chunkedMessages.get(0), "verbatim");
        tearDown();
        for (String capabilities : new String[] {"CHUNKING", "BINARYMIME", ""}) {
            start(capabilities, true, ClientSettings.BDAT_CHUNK_OCTETS);
            r = harness.deliver(route(), "a@example.org", List.of("b@example.net"), binary, BodyType.BINARY_MIME, false)
                    .get("b@example.net");
            assertEquals(FAILED, r.outcome(), capabilities);
            assertEquals("5.6.3", r.enhancedCode());
            assertEquals(0, count("MAIL"), "nothing sent");
            tearDown();
        }
        start("CHUNKING,BINARYMIME", false, ClientSettings.BDAT_CHUNK_OCTETS);
        r = harness.deliver(route(), "a@example.org", List.of("b@example.net"), binary, BodyType.BINARY_MIME, false)
                .get("b@example.net");
        assertEquals(FAILED, r.outcome());
        assertTrue(r.text().contains("delivery.chunking is off"), r.text());
    }

    @Test
    void lmtpRepliesPerRecipientAfterTheLastChunk() throws Exception {
        start("CHUNKING", true, 100);
        fake.lmtp = true;
        fake.byRecipient.put("DOT:full@example.net", "452 4.2.2 mailbox full");
        fake.byRecipient.put("gone@example.net", "550 5.1.1 no such user");
        String body = "Subject: x\r\n\r\n" + "z".repeat(250) + "\r\n";
        Map<String, RecipientResult> r = send(body, "full@example.net", "gone@example.net", "ok@example.net");
        assertEquals(DEFERRED, r.get("full@example.net").outcome());
        assertEquals("4.2.2", r.get("full@example.net").enhancedCode());
        assertEquals(FAILED, r.get("gone@example.net").outcome());
        assertEquals(DELIVERED, r.get("ok@example.net").outcome());
        assertEquals(3, count("BDAT"));
        r = send(body, "ok@example.net", "full@example.net");
        assertEquals(DELIVERED, r.get("ok@example.net").outcome());
        assertEquals(DEFERRED, r.get("full@example.net").outcome());
        assertEquals(1, fake.connections.get(), "replies all consumed: the connection carried the next message");
        assertFalse(fake.commands.contains("DATA"));
    }
}
