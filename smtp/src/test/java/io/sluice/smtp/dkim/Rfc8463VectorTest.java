package io.sluice.smtp.dkim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * RFC 8463 Appendix A: keys (A.1, A.2) and the message signed twice (A.3). Ed25519 and RSA
 * PKCS#1 v1.5 are both deterministic, so with the RFC's header fields our signing core must
 * reproduce both {@code b=} values exactly. (Our own fields carry no {@code i=} or {@code q=} and
 * fold differently; those are checked by round trips and by dkimpy.)
 */
class Rfc8463VectorTest {
    static final String ED25519_SEED = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
    static final String ED25519_PUBLIC = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    /** The RFC's RSA key (A.2 gives it as PKCS#1), converted with openssl pkcs8 -topk8 -nocrypt. */
    static final String RSA_PKCS8 = "MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAOQeU5CgFPNZGIazlXo2k/eJ1jpaTTxrmqF1HrDL"
            + "lt04pvaMtCJj8nXoliLRC/H9vJjMI1vdb3XLcW60AIN/PBD8EL97/y4GwJH7LPUvGP48vqUe+owqszesbiGy1PlCO8c70/OjFnJVgvMF87YR"
            + "4Lcincb7aSvI5MgpP6X8rjDdAgMBAAECgYAfRzE6EVkODNdaEOGcAkPDmziug5c3g6GOJdrxbtjeuFfcUmqYlI+4Lw329CbpJVtosAThIbmY"
            + "sy54eWHgpd98Sm4sSI2n1Kzc7hh8uJCltGoTtOblLEqO+9Chll7MeiuKY5oKFEvaK3juK5bHPFKJEy/hz6PvQaJZ3FefF7hSgQJBAPMkH/RT"
            + "nxbtFnLp6cZWPaRYXvfYKhYVlbOLUWJy52sEWjLrdDByjCmgJrMq29kYw2U9acLvH/qjwZy5J7SBrbECQQDwLs+Kk+bX/V9NFC+PWj90OZmn"
            + "bjfTjhk3LGOD78483ShYJtcgbHJa+ZlteuI5ahIAslOMTESCtocSCdeyy6TtAkEAuXkgKxgy7qEzE7veCd81rI2A/F1YVXpntQucrJXsdJVg"
            + "XSGBg4eN5h72Boy2IliijTMY34vcAC00/2G6qRaXMQJATVqWJwh5WWjV76onoyCqvRDsBrt9qVnjjxxxtIVgQ8PqgXGI6X1j2x72Jgdkop8h"
            + "yy2jsNTDX+HPYKTg3kmuBQJBALIq942+POSR3weNizRLAzR8+MrXr//moNnZSIMac564TPEEMCvnXxnxUVtHjWKfdbhjfIIOBCUuVwROtL7N"
            + "hws=";
    static final String RSA_PUBLIC = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi"
            + "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kr"
            + "yOTIKT+l/K4w3QIDAQAB";

    static final String MESSAGE = "From: Joe SixPack <joe@football.example.com>\r\n"
            + "To: Suzie Q <suzie@shopping.example.net>\r\n"
            + "Subject: Is dinner ready?\r\n"
            + "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
            + "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
            + "\r\n"
            + "Hi.\r\n"
            + "\r\n"
            + "We lost the game.  Are you hungry yet?\r\n"
            + "\r\n"
            + "Joe.\r\n";
    static final String BODY_HASH = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=";
    static final String ED25519_FIELD = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
            + " d=football.example.com; i=@football.example.com;\r\n"
            + " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
            + " subject : date : message-id : from : subject : date;\r\n"
            + " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
            + " b=";
    static final String ED25519_B = "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";
    static final String RSA_FIELD = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
            + " d=football.example.com; i=@football.example.com;\r\n"
            + " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
            + " date : message-id : from : subject : date;\r\n"
            + " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
            + " b=";
    static final String RSA_B = "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQ"
            + "TnGdaSGsgeefOsk2JzdA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=";
    static final List<String> H = List.of("from", "to", "subject", "date", "message-id", "from", "subject", "date");

    /** The RFC 8410 PKCS#8 form of a raw Ed25519 seed. */
    static byte[] ed25519Pkcs8(byte[] seed) {
        byte[] prefix = HexFormat.of().parseHex("302e020100300506032b657004220420");
        byte[] der = new byte[prefix.length + seed.length];
        System.arraycopy(prefix, 0, der, 0, prefix.length);
        System.arraycopy(seed, 0, der, prefix.length, seed.length);
        return der;
    }

    static DkimKey edKey() throws Exception {
        return DkimKey.fromPkcs8("football.example.com", "brisbane", ed25519Pkcs8(Base64.getDecoder().decode(ED25519_SEED)));
    }

    static DkimKey rsaKey() throws Exception {
        return DkimKey.fromPkcs8("football.example.com", "test", Base64.getDecoder().decode(RSA_PKCS8));
    }

    private static HeaderBlock message() {
        byte[] b = MESSAGE.getBytes(StandardCharsets.US_ASCII);
        return HeaderBlock.parse(b, b.length);
    }

    @Test
    void bodyHashMatches() {
        HeaderBlock m = message();
        assertEquals(BODY_HASH, Base64.getEncoder().encodeToString(
                RelaxedCanonicalization.bodyHash(m.bytes(), m.bodyStart(), m.contentLength())));
    }

    @Test
    void ed25519SignatureIsReproducedExactly() throws Exception {
        DkimKey key = edKey();
        assertEquals(DkimAlgorithm.ED25519_SHA256, key.algorithm());
        byte[] b = SignatureField.signature(key.algorithm(), key.privateKey(), message(), H, ED25519_FIELD);
        assertEquals(ED25519_B, Base64.getEncoder().encodeToString(b));
    }

    @Test
    void rsaSignatureIsReproducedExactly() throws Exception {
        DkimKey key = rsaKey();
        assertEquals(DkimAlgorithm.RSA_SHA256, key.algorithm());
        byte[] b = SignatureField.signature(key.algorithm(), key.privateKey(), message(), H, RSA_FIELD);
        assertEquals(RSA_B, Base64.getEncoder().encodeToString(b));
    }

    @Test
    void publicKeysAreTheRecordsOfTheRfc() throws Exception {
        assertEquals(ED25519_PUBLIC, edKey().publicKeyBase64());
        assertEquals("v=DKIM1; k=ed25519; p=" + ED25519_PUBLIC, edKey().recordText());
        assertEquals(RSA_PUBLIC, rsaKey().publicKeyBase64());
        assertEquals("brisbane._domainkey.football.example.com", edKey().recordName());
    }

    @Test
    void theTestVerifierAcceptsBothPublishedSignaturesAndRejectsATamperedOne() {
        String signed = ED25519_FIELD + "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
                + RSA_FIELD + "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
                + " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
                + " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n" + MESSAGE;
        Map<String, String> dns = Map.of("brisbane._domainkey.football.example.com", "v=DKIM1; k=ed25519; p=" + ED25519_PUBLIC,
                "test._domainkey.football.example.com", "v=DKIM1; k=rsa; p=" + RSA_PUBLIC);
        byte[] bytes = signed.getBytes(StandardCharsets.US_ASCII);
        assertTrue(DkimTestVerifier.verify(bytes, 0, dns::get).pass(), DkimTestVerifier.verify(bytes, 0, dns::get).reason());
        assertTrue(DkimTestVerifier.verify(bytes, 1, dns::get).pass(), DkimTestVerifier.verify(bytes, 1, dns::get).reason());
        byte[] tampered = signed.replace("Is dinner ready?", "Is dinner burnt?").getBytes(StandardCharsets.US_ASCII);
        assertFalse(DkimTestVerifier.verify(tampered, 0, dns::get).pass());
        assertFalse(DkimTestVerifier.verify(tampered, 1, dns::get).pass());
    }
}
