package io.sluice.smtp.dkim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.sluice.smtp.config.NetworkSet;

/**
 * RFC 5322 §3.6: exactly one From: field. A message with two (or one naming several mailboxes)
 * does not get our d= on it: verifiers and MUAs differ on which author they show and which one
 * DMARC aligns with (RFC 7489 §6.6.1 lets receivers reject such mail outright). Counted as
 * {@code ambiguous_from}, reported to the listener, sent unsigned.
 */
class SingleAuthorTest {
    private final List<String> reasons = new ArrayList<>();

    private static DkimSigner signer(DkimKey key) {
        return new DkimSigner(Map.of("example.org", key), DkimSigner.DEFAULT_HEADERS, "mx.example.org",
                NetworkSet.parse("127.0.0.0/8, ::1/128"), () -> 1_800_000_000_000L);
    }

    private DkimSignature sign(DkimSigner signer, long id, String header) throws Exception {
        byte[] m = (header + "To: b@example.net\r\nSubject: authors\r\n\r\nbody\r\n").getBytes(StandardCharsets.ISO_8859_1);
        return signer.signatureFor(DkimSignerTest.msg(id), m, m.length, (message, reason) -> reasons.add(reason));
    }

    @Test
    void aMessageWithTwoFromFieldsIsNotSigned() throws Exception {
        DkimSigner signer = signer(DkimSignerTest.ed("example.org", "s"));
        assertNull(sign(signer, 1, "From: ceo@example.org\r\nFrom: someone@other.example\r\n"),
                "signed a message with two From: fields");
        assertNull(sign(signer, 2, "From: someone@other.example\r\nFrom: ceo@example.org\r\n"), "ours second");
        assertNull(sign(signer, 3, "From: ceo@example.org\r\nFROM : ceo@example.org\r\n"), "the same author twice");
        assertNull(sign(signer, 4, "From: undisclosed\r\nFrom: ceo@example.org\r\n"), "a second field, even an empty first");
        assertEquals(4, signer.stats().ambiguousFromCount());
        assertEquals(List.of("ambiguous_from", "ambiguous_from", "ambiguous_from", "ambiguous_from"), reasons);
        assertEquals(0, signer.stats().signedCount());
    }

    @ParameterizedTest
    @ValueSource(strings = {"ceo@example.org, someone@other.example", "someone@other.example, ceo@example.org",
        "Board: ceo@example.org, cfo@example.org;", "<ceo@example.org> <cfo@example.org>"})
    void aFromWithSeveralMailboxesIsNotSigned(String value) throws Exception {
        DkimSigner signer = signer(DkimSignerTest.ed("example.org", "s"));
        assertNull(sign(signer, 5, "From: " + value + "\r\n"), value);
        assertEquals(List.of("ambiguous_from"), reasons, value);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ceo@example.org", "\"Doe, John\" <ceo@example.org>", "Doe, John <ceo@example.org>",
        "ceo@example.org (Ann <x@other.example>, Bob)", "Board: ceo@example.org;", "<ceo@example.org> (CEO)"})
    void oneMailboxIsSigned(String value) throws Exception {
        DkimSigner signer = signer(DkimSignerTest.ed("example.org", "s"));
        assertNotNull(sign(signer, 6, "From: " + value + "\r\n"), value);
        assertEquals(List.of(), reasons);
        assertEquals(0, signer.stats().ambiguousFromCount());
    }

    @Test
    void aMalformedFromIsNotSigned() throws Exception {
        DkimSigner signer = signer(DkimSignerTest.ed("example.org", "s"));
        assertNull(sign(signer, 9, "From: ceo@example.org, <cfo@example.org\r\n"), "an open <");
        assertEquals(0, signer.stats().signedCount());
    }

    @Test
    void twoAuthorsOfOtherDomainsAreNeitherSignedNorCounted() throws Exception {
        DkimSigner signer = signer(DkimSignerTest.ed("example.org", "s"));
        assertNull(sign(signer, 7, "From: a@other.example\r\nFrom: b@else.example\r\n"));
        assertEquals(0, signer.stats().ambiguousFromCount(), "not a signing domain's message");
        assertEquals(List.of(), reasons);
    }

    @Test
    void otherReasonsReachTheListenerToo() throws Exception {
        DkimSigner signer = signer(DkimSignerTest.ed("example.org", "s"));
        byte[] m = "From: ceo@example.org\r\nFrom: x@example.org\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII);
        assertNull(signer.signatureFor(DkimSignerTest.msg(8, "192.0.2.7", "ESMTP"), m, m.length,
                (message, reason) -> reasons.add(message.id() + " " + reason)));
        assertEquals(List.of(DkimSignerTest.msg(8).id() + " untrusted_client"), reasons,
                "an outside client's mail is untrusted first, whatever its From: fields");
    }

    @Test
    void addrSpecsOfAFromValue() {
        assertEquals(List.of("a@b.example", "c@d.example"), AuthorAddress.addrSpecs(" Team: a@b.example, c@d.example;"));
        assertEquals(List.of("ann@example.org"), AuthorAddress.addrSpecs(" \"Ann, Sales\" <ann@example.org>"));
        assertEquals(List.of("ann@example.org"), AuthorAddress.addrSpecs(" Sales, Ann <ann@example.org>"));
        assertEquals(List.of("a@b.example"), AuthorAddress.addrSpecs(" a@b.example (c@d.example, e@f.example)"));
        assertEquals(List.of(), AuthorAddress.addrSpecs(" undisclosed-recipients:;"));
        assertEquals(List.of(), AuthorAddress.addrSpecs(" a@b.example, <c@d.example"), "an open < is malformed: no author");
    }
}
