package io.sluice.smtp.dkim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.sluice.smtp.config.NetworkSet;
import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;

/** The signer: round trips for RSA and Ed25519, the field's layout, which messages it signs. */
class DkimSignerTest {
    private static final String MESSAGE = "From: \"Ann, Sales\" <ann@example.org>\r\n"
            + "To: bob@example.net\r\n"
            + "Received: from x by y; Fri, 1 Jan 2027 00:00:00 +0000\r\n"
            + "Subject: Hello\r\n  there, folded\r\n"
            + "Date: Fri, 1 Jan 2027 00:00:00 +0000\r\n"
            + "Message-ID: <1@example.org>\r\n"
            + "\r\n"
            + "Caf\u00e9  line with  blanks \r\n"
            + ".a line with a dot\r\n"
            + "\r\n\r\n";

    private final AtomicLong clockMillis = new AtomicLong(1_800_000_000_123L);

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private DkimSigner signer(Map<String, DkimKey> keys) {
        return new DkimSigner(keys, DkimSigner.DEFAULT_HEADERS, "mx.example.org", NetworkSet.parse("127.0.0.0/8, ::1/128"),
                clockMillis::get);
    }

    /** Message {@code id} as a client in relay.networks sent it. */
    static QueuedMessage msg(long id) {
        return msg(id, "127.0.0.1", "ESMTP");
    }

    static QueuedMessage msg(long id, String client, String protocol) {
        return new QueuedMessage(QueueId.of(id), new Envelope("a@example.org", List.of("b@example.net"), client, "client.example",
                protocol, 0, BodyType.SEVEN_BIT, false), 100, 0);
    }

    static DkimKey rsa(String domain, String selector) throws Exception {
        return DkimKey.fromPkcs8(domain, selector, TestKeys.rsa2048());
    }

    static DkimKey ed(String domain, String selector) throws Exception {
        return DkimKey.fromPkcs8(domain, selector, TestKeys.pkcs8("Ed25519", 0));
    }

    private static byte[] signed(DkimSignature sig, byte[] message) {
        byte[] out = new byte[sig.field().length + message.length];
        System.arraycopy(sig.field(), 0, out, 0, sig.field().length);
        System.arraycopy(message, 0, out, sig.field().length, message.length);
        return out;
    }

    private static Map<String, String> dns(DkimKey... keys) {
        Map<String, String> dns = new java.util.HashMap<>();
        for (DkimKey k : keys) {
            dns.put(k.recordName(), k.recordText());
        }
        return dns;
    }

    private void roundTrip(DkimKey key, String algorithm) throws Exception {
        DkimSigner signer = signer(Map.of("example.org", key));
        byte[] message = bytes(MESSAGE);
        DkimSignature sig = signer.signatureFor(msg(1), message, message.length);
        assertNotNull(sig);
        assertEquals("example.org/" + key.selector(), sig.identity());
        byte[] out = signed(sig, message);
        DkimTestVerifier.Result result = DkimTestVerifier.verify(out, dns(key)::get);
        assertTrue(result.pass(), result.reason());
        assertEquals(List.of("v", "a", "c", "d", "s", "t", "h", "bh", "b"), new ArrayList<>(result.tags().keySet()));
        assertEquals(algorithm, result.tags().get("a"));
        assertEquals("1800000000", result.tags().get("t"));
        assertEquals("from:from:to:subject:date:message-id", result.tags().get("h"),
                "present fields only, from over-signed, Received not signed");
        assertEquals(1, signer.stats().signedCount());

        String tampered = new String(out, StandardCharsets.UTF_8);
        assertFalse(DkimTestVerifier.verify(bytes(tampered.replace(".a line", ".b line")), dns(key)::get).pass(), "body changed");
        assertFalse(DkimTestVerifier.verify(bytes(tampered.replace("Subject: Hello", "Subject: Hullo")), dns(key)::get).pass(), "subject changed");
        String extraFrom = tampered.replace("From: \"Ann", "From: evil@example.com\r\nFrom: \"Ann");
        assertFalse(DkimTestVerifier.verify(bytes(extraFrom), dns(key)::get).pass(), "a From: added: over-signing catches it");
        String relaxedOk = tampered.replace("To: bob@example.net", "to:   bob@example.net  ").replace("blanks \r\n", "blanks\t\t\r\n");
        assertTrue(DkimTestVerifier.verify(bytes(relaxedOk), dns(key)::get).pass(), "relaxed forgives case and blanks");
    }

    @Test
    void rsaRoundTrip() throws Exception {
        roundTrip(rsa("example.org", "s2026"), "rsa-sha256");
    }

    @Test
    void ed25519RoundTrip() throws Exception {
        roundTrip(ed("example.org", "ed2026"), "ed25519-sha256");
    }

    @Test
    void fieldIsFoldedWithinSeventyEightColumns() throws Exception {
        DkimSigner signer = signer(Map.of("example.org", rsa("example.org", "s2026")));
        String many = MESSAGE.replace("To: bob@example.net\r\n",
                "To: bob@example.net\r\nCc: c@example.net\r\nReply-To: r@example.org\r\nIn-Reply-To: <0@x>\r\n"
                        + "References: <0@x>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        + "Content-Transfer-Encoding: 8bit\r\nList-Id: <l.example.org>\r\n"
                        + "List-Unsubscribe: <mailto:u@example.org>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
        byte[] message = bytes(many);
        DkimSignature sig = signer.signatureFor(msg(2), message, message.length);
        String field = new String(sig.field(), StandardCharsets.US_ASCII);
        assertTrue(field.startsWith("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;"), field);
        assertTrue(field.endsWith("\r\n"));
        String[] lines = field.substring(0, field.length() - 2).split("\r\n", -1);
        assertTrue(lines.length > 5, field);
        for (int i = 0; i < lines.length; i++) {
            assertTrue(lines[i].length() <= 78, "line " + i + " has " + lines[i].length() + " columns: " + lines[i]);
            assertTrue(i == 0 || lines[i].startsWith(" "), "continuation lines start with a blank: " + lines[i]);
            assertFalse(lines[i].isBlank(), "no empty line inside the field");
        }
        assertFalse(field.contains("l="), "l= is never used");
        DkimTestVerifier.Result r = DkimTestVerifier.verify(signed(sig, message), dns(signer.keys().iterator().next())::get);
        assertTrue(r.pass(), r.reason());
        assertEquals("from:from:to:cc:subject:date:message-id:reply-to:in-reply-to:references:mime-version:content-type:"
                + "content-transfer-encoding:list-id:list-unsubscribe:list-unsubscribe-post", r.tags().get("h"));
    }

    @Test
    void whichMessagesAreSigned() throws Exception {
        DkimKey org = ed("example.org", "a");
        DkimKey sub = ed("example.com", "b");
        DkimSigner signer = signer(Map.of("example.org", org, ".example.com", sub));
        assertSame(org, signer.keyFor(new AuthorAddress("x", "example.org")));
        assertNull(signer.keyFor(new AuthorAddress("x", "news.example.org")), "an exact entry is not for subdomains");
        assertSame(sub, signer.keyFor(new AuthorAddress("x", "news.example.com")));
        assertSame(sub, signer.keyFor(new AuthorAddress("x", "a.b.example.com")));
        assertNull(signer.keyFor(new AuthorAddress("x", "example.com")), "a .parent entry is for subdomains only");
        assertNull(signer.keyFor(new AuthorAddress("x", "example.net")));
        assertSame(org, signer.keyFor(new AuthorAddress("MAILER-DAEMON", "mx.example.org")), "our bounces: the hostname's domain");
        assertNull(signer.keyFor(new AuthorAddress("someone", "mx.example.org")), "only MAILER-DAEMON gets the parent's key");
        assertNull(signer.keyFor(new AuthorAddress("MAILER-DAEMON", "mx.example.net")));
    }

    @Test
    void bounceFromMailerDaemonIsSignedWithTheHostnamesDomain() throws Exception {
        DkimKey org = rsa("example.org", "s1");
        DkimSigner signer = signer(Map.of("example.org", org));
        byte[] bounce = bytes("From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\nTo: a@example.net\r\n"
                + "Subject: Undelivered Mail Returned to Sender\r\n\r\nsorry\r\n");
        DkimSignature sig = signer.signatureFor(msg(3), bounce, bounce.length);
        assertNotNull(sig);
        assertEquals("example.org/s1", sig.identity());
        assertTrue(DkimTestVerifier.verify(signed(sig, bounce), dns(org)::get).pass());
    }

    @Test
    void mailFromOutsideClientsIsNotSignedWhateverItsFrom() throws Exception {
        DkimSigner signer = signer(Map.of("example.org", ed("example.org", "s")));
        byte[] message = bytes(MESSAGE);
        assertNull(signer.signatureFor(msg(20, "192.0.2.7", "ESMTPS"), message, message.length), "an MX's inbound mail");
        assertNull(signer.signatureFor(msg(21, "2001:db8::7", "ESMTP"), message, message.length));
        assertNull(signer.signatureFor(msg(22, "host.example", "ESMTP"), message, message.length), "never a name lookup");
        assertEquals(3, signer.stats().untrustedCount());
        assertNotNull(signer.signatureFor(msg(23, "192.0.2.7", "ESMTPSA"), message, message.length), "authenticated");
        assertNotNull(signer.signatureFor(msg(24, "192.0.2.7", "UTF8SMTPA"), message, message.length), "authenticated");
        assertNotNull(signer.signatureFor(msg(25, "127.0.0.1", "LOCAL"), message, message.length), "our bounce");
        assertNotNull(signer.signatureFor(msg(26, "::1", "ESMTP"), message, message.length), "relay.networks");
        assertEquals(4, signer.stats().signedCount());
    }

    @Test
    void authorAddressForms() {
        assertEquals(new AuthorAddress("ann", "example.org"), AuthorAddress.parse(" \"Ann, Sales\" <ann@Example.ORG.>"));
        assertEquals(new AuthorAddress("ann", "example.org"), AuthorAddress.parse(" ann@example.org (Ann <x@y.z>)"));
        assertEquals(new AuthorAddress("a", "b.example"), AuthorAddress.parse(" Team: a@b.example, c@d.example;"));
        assertEquals(new AuthorAddress("a", "b.example"), AuthorAddress.parse(" a@b.example, c@d.example"));
        assertEquals(new AuthorAddress("\"odd@local\"", "example.org"), AuthorAddress.parse(" <\"odd@local\"@example.org>"));
        String utf8AsOctets = new String(" a@b\u00fccher.example".getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
        assertEquals(new AuthorAddress("a", "xn--bcher-kva.example"), AuthorAddress.parse(utf8AsOctets), "RFC 6532 From: as A-labels");
        assertNull(AuthorAddress.parse(" a@b\u00fccher.example"), "not UTF-8 (a lone Latin-1 octet)");
        assertNull(AuthorAddress.parse(" undisclosed"));
        assertNull(AuthorAddress.parse(" a@[192.0.2.1]"));
        assertNull(AuthorAddress.parse(""));
    }

    @Test
    void notSignedTwiceWithTheSameKeyButWithAnother() throws Exception {
        DkimKey first = ed("example.org", "one");
        byte[] message = bytes(MESSAGE);
        DkimSignature sig = signer(Map.of("example.org", first)).signatureFor(msg(4), message, message.length);
        byte[] once = signed(sig, message);
        DkimSigner same = signer(Map.of("example.org", ed("example.org", "one")));
        assertNull(same.signatureFor(msg(5), once, once.length), "same d= and s=: already ours");
        assertEquals(1, same.stats().alreadySignedCount());
        DkimSigner rotated = signer(Map.of("example.org", ed("example.org", "two")));
        assertNotNull(rotated.signatureFor(msg(6), once, once.length), "another selector signs again");
    }

    @Test
    void oneSignaturePerMessageAcrossAttempts() throws Exception {
        DkimSigner signer = signer(Map.of("example.org", rsa("example.org", "s1")));
        byte[] message = bytes(MESSAGE);
        DkimSignature a = signer.signatureFor(msg(7), message, message.length);
        clockMillis.addAndGet(60_000);
        DkimSignature b = signer.signatureFor(msg(7), message, message.length);
        assertArrayEquals(a.field(), b.field(), "the retry reuses the first signature");
        assertEquals(1, signer.stats().signedCount());
        assertEquals(1, signer.stats().reusedCount());
        DkimSignature c = signer.signatureFor(msg(8), message, message.length);
        assertFalse(new String(c.field(), StandardCharsets.US_ASCII).equals(new String(a.field(), StandardCharsets.US_ASCII)),
                "another message (and a later t=) is signed anew");
        assertEquals(2, signer.stats().signedCount());
    }

    @Test
    void messagesWithoutAUsableFromAreNotSigned() throws Exception {
        DkimSigner signer = signer(Map.of("example.org", ed("example.org", "s")));
        byte[] noFrom = bytes("To: a@example.net\r\n\r\nbody\r\n");
        assertNull(signer.signatureFor(msg(9), noFrom, noFrom.length));
        byte[] garbage = bytes("not a header\r\n\r\nbody\r\n");
        assertNull(signer.signatureFor(msg(10), garbage, garbage.length));
        byte[] other = bytes("From: a@example.com\r\n\r\nbody\r\n");
        assertNull(signer.signatureFor(msg(11), other, other.length));
        assertEquals(0, signer.stats().signedCount());
        assertFalse(DkimSigner.none().enabled());
        assertNull(DkimSigner.none().signatureFor(msg(12), other, other.length));
    }

    @Test
    void headerOnlyMessageHasAnEmptyBody() throws Exception {
        DkimKey key = ed("example.org", "s");
        byte[] message = bytes("From: a@example.org\r\nSubject: no body\r\n");
        DkimSignature sig = signer(Map.of("example.org", key)).signatureFor(msg(13), message, message.length);
        DkimTestVerifier.Result r = DkimTestVerifier.verify(signed(sig, message), dns(key)::get);
        assertTrue(r.pass(), r.reason());
        assertEquals("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", r.tags().get("bh"));
    }
}
