package io.sluice.smtp.dkim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Relaxed header and body canonicalization (RFC 6376 §3.4.2, §3.4.4, the example of §3.4.6). */
class RelaxedCanonicalizationTest {

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** The relaxed form of every header field of {@code header} (which ends with its empty line). */
    private static String headers(String header) {
        byte[] b = ascii(header + "\r\n");
        HeaderBlock h = HeaderBlock.parse(b, b.length);
        assertNotNull(h);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < h.count(); i++) {
            RelaxedCanonicalization.header(h, i, out);
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    private static String bodyHash(String body) {
        byte[] b = ascii(body);
        return Base64.getEncoder().encodeToString(RelaxedCanonicalization.bodyHash(b, 0, b.length));
    }

    private static String sha256(String canonical) throws Exception {
        return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(ascii(canonical)));
    }

    @Test
    void rfc6376Section346HeaderExample() {
        assertEquals("a:X\r\nb:Y Z\r\n", headers("A: X\r\nB : Y\t\r\n\tZ  \r\n"));
    }

    @Test
    void rfc6376Section346BodyExample() throws Exception {
        assertEquals(sha256(" C\r\nD E\r\n"), bodyHash(" C \r\nD \t E\r\n\r\n\r\n"));
    }

    @Test
    void emptyBodyHashesTheEmptyString() throws Exception {
        assertEquals("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", bodyHash(""));
        assertEquals(sha256(""), bodyHash("\r\n\r\n"), "only empty lines is an empty body");
        assertEquals(sha256(""), bodyHash(" \t\r\n  \r\n"), "lines of blanks only are empty lines");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "a\\r\\n\\r\\n\\r\\n|a\\r\\n",
            "a|a\\r\\n",
            "a  \\t b \\r\\n|a b\\r\\n",
            "\\t lead\\r\\n|' lead\\r\\n'",
            "a\\r\\n\\r\\nb\\r\\n|a\\r\\n\\r\\nb\\r\\n",
            "a\\r\\n \\r\\nb\\r\\n|a\\r\\n\\r\\nb\\r\\n",
            "x\\ny\\r\\n|x\\ny\\r\\n",
    })
    void bodyRules(String body, String canonical) throws Exception {
        String in = body.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t");
        String want = canonical.replace("\\r", "\r").replace("\\n", "\n").replace("'", "");
        assertEquals(sha256(want), bodyHash(in), in);
    }

    @Test
    void bodyLongerThanTheScratchArray() throws Exception {
        StringBuilder body = new StringBuilder();
        StringBuilder want = new StringBuilder();
        for (int i = 0; i < 5000; i++) {
            body.append("line ").append(i).append("   with\t\tblanks  \r\n\r\n");
            want.append("line ").append(i).append(" with blanks\r\n\r\n");
        }
        body.append("\r\n\r\n\r\n");
        assertEquals(sha256(want.substring(0, want.length() - 2)), bodyHash(body.toString()));
    }

    @Test
    void foldedHeadersAreUnfoldedAndBlankRunsCollapse() {
        assertEquals("subject:a long subject folded twice\r\n",
                headers("SUBJECT :  a long\r\n  subject\r\n\tfolded   twice \r\n"));
        assertEquals("x-empty:\r\n", headers("X-Empty:   \r\n"));
        assertEquals("to:a@b.example\r\n", headers("To:a@b.example\r\n"));
    }

    @Test
    void eightBitOctetsStayAsTheyAre() {
        byte[] b = "Subject:  caf\u00e9  au lait\r\n\r\n".getBytes(StandardCharsets.UTF_8);
        HeaderBlock h = HeaderBlock.parse(b, b.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        RelaxedCanonicalization.header(h, 0, out);
        assertEquals("subject:caf\u00e9 au lait\r\n", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void headerParserFindsTheBodyAndRefusesGarbage() {
        byte[] b = ascii("A: 1\r\n folded\r\nB: 2\r\n\r\nbody\r\n");
        HeaderBlock h = HeaderBlock.parse(b, b.length);
        assertEquals(2, h.count());
        assertEquals(" 1 folded", h.unfoldedValue(0));
        assertEquals(b.length - 6, h.bodyStart());
        byte[] noBody = ascii("A: 1\r\n");
        assertEquals(noBody.length, HeaderBlock.parse(noBody, noBody.length).bodyStart());
        byte[] garbage = ascii("no colon here\r\n\r\nbody\r\n");
        assertNull(HeaderBlock.parse(garbage, garbage.length));
        byte[] leadingFold = ascii(" A: 1\r\n\r\n");
        assertNull(HeaderBlock.parse(leadingFold, leadingFold.length));
    }
}
