package io.sluice.smtp.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** The ORCPT value made for a recipient that came without one, checked against our own parser's rules. */
class XtextTest {
    private static String orcpt(String address, boolean smtpUtf8) {
        StringBuilder out = new StringBuilder("x");
        boolean appended = Xtext.appendOriginalRecipient(out, address, smtpUtf8);
        assertEquals(appended, out.length() > 1, "appends exactly when it says so");
        return appended ? out.substring(1) : null;
    }

    @Test
    void anAsciiAddressIsRfc822Xtext() {
        String value = orcpt("\"a b+c=d\"@example.net", false);
        assertEquals("rfc822;\"a+20b+2Bc+3Dd\"@example.net", value);
        byte[] xtext = value.substring("rfc822;".length()).getBytes(StandardCharsets.US_ASCII);
        assertEquals(21, Xtext.decodedLength(xtext, 0, xtext.length, true, false), "strict, printable xtext");
        assertEquals("\"a b+c=d\"@example.net", Xtext.decode(value.substring("rfc822;".length())));
    }

    @Test
    void anAsciiAddressIsTheSameWithSmtpUtf8() {
        assertEquals("rfc822;u@example.net", orcpt("u@example.net", true));
    }

    @Test
    void aNonAsciiAddressIsUtf8UnitextOnlyUnderSmtpUtf8() {
        String value = orcpt("j\u00f6rg+\\x=1 \uD83D\uDE00@b\u00fccher.example", true);
        assertEquals("utf-8;j\u00f6rg\\x{2B}\\x{5C}x\\x{3D}1\\x{20}\uD83D\uDE00@b\u00fccher.example", value);
        byte[] unitext = value.substring("utf-8;".length()).getBytes(StandardCharsets.UTF_8);
        assertEquals(26, Xtext.unitextLength(unitext, 0, unitext.length), "valid unitext, one per character");
        assertEquals(null, orcpt("j\u00f6rg@example.net", false), "cannot be expressed without SMTPUTF8");
    }

    @Test
    void whatCannotBeExpressedIsLeftOut() {
        assertEquals(null, orcpt("", false));
        assertEquals(null, orcpt("a\tb@example.net", false), "RFC 3461 4.2: printable only");
        assertEquals(null, orcpt("a\u0085b@example.net", true), "nor C1 controls");
        String longest = "a".repeat(488) + "@example.net";
        assertTrue(orcpt(longest, false) != null, "500 characters");
        assertFalse(orcpt("a" + longest, false) != null, "501 characters");
    }
}
