package io.sluice.smtp.mtasts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StsPolicyTest {

    @Test
    void rfcExampleWithCrlf() throws Exception {
        StsPolicy p = StsPolicy.parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
                + "mx: backupmx.example.com\r\nmax_age: 604800\r\n");
        assertEquals(StsMode.ENFORCE, p.mode());
        assertEquals(List.of("mail.example.com", "*.example.net", "backupmx.example.com"), p.mxPatterns());
        assertEquals(604800, p.maxAgeSeconds());
    }

    @Test
    void lfLinesNoFinalLineEndTrailingSpacesAndExtensions() throws Exception {
        StsPolicy p = StsPolicy.parse("version: STSv1\nmode:testing  \nmx: MX.Example.COM.\nfuture_key: anything at all\nmax_age:0");
        assertEquals(StsMode.TESTING, p.mode());
        assertEquals(List.of("mx.example.com"), p.mxPatterns());
        assertEquals(0, p.maxAgeSeconds());
    }

    @Test
    void modeNoneNeedsNoMx() throws Exception {
        assertEquals(StsMode.NONE, StsPolicy.parse("version: STSv1\nmode: none\nmax_age: 86400\n").mode());
    }

    @Test
    void maxAgeUpToAYear() throws Exception {
        assertEquals(31_557_600, StsPolicy.parse("version: STSv1\nmode: none\nmax_age: 31557600\n").maxAgeSeconds());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "mode: enforce\nmx: a.example\nmax_age: 1\n",                             // no version
        "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",             // other version
        "version: stsv1\nmode: enforce\nmx: a.example\nmax_age: 1\n",             // case-sensitive
        "version: STSv1\nmx: a.example\nmax_age: 1\n",                            // no mode
        "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n",             // mode is case-sensitive
        "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n",              // unknown mode
        "version: STSv1\nmode: enforce\nmx: a.example\n",                         // no max_age
        "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n",      // over a year
        "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901\n",   // 11 digits
        "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n",            // not digits
        "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: \n",              // empty
        "version: STSv1\nmode: enforce\nmax_age: 86400\n",                        // enforce without mx
        "version: STSv1\nmode: testing\nmax_age: 86400\n",                        // testing without mx
        "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n",           // wildcard of one label only
        "version: STSv1\nmode: enforce\nmx: a*.example\nmax_age: 1\n",            // no partial wildcards
        "version: STSv1\nmode: enforce\nmx: -a.example\nmax_age: 1\n",            // bad label
        "version: STSv1\nmode: enforce\nmx: \nmax_age: 1\n",                      // empty mx
        "version: STSv1\nmode: enforce\nmode: none\nmx: a.example\nmax_age: 1\n", // a key twice
        "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\nnot a field\n",
        "version: STSv1\nmode: enforce\nmx: a.example\n\nmax_age: 1\n",           // an empty line inside
        "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n_ext: x\n",    // extension name
    })
    void invalidPoliciesAreRefused(String body) {
        assertThrows(InvalidPolicyException.class, () -> StsPolicy.parse(body), body);
    }

    @Test
    void atMostMaxMxPatternsMxLines() throws Exception {
        StringBuilder body = new StringBuilder("version: STSv1\nmode: enforce\nmax_age: 86400\n");
        for (int i = 0; i < StsPolicy.MAX_MX_PATTERNS; i++) {
            body.append("mx: mx").append(i).append(".example.com\n");
        }
        assertEquals(StsPolicy.MAX_MX_PATTERNS, StsPolicy.parse(body.toString()).mxPatterns().size());
        String tooMany = body.append("mx: one-more.example.com\n").toString();
        InvalidPolicyException e = assertThrows(InvalidPolicyException.class, () -> StsPolicy.parse(tooMany));
        assertTrue(e.getMessage().contains("MAX_MX_PATTERNS"), e.getMessage());
    }

    @Test
    void exactAndWildcardMatching() throws Exception {
        StsPolicy p = StsPolicy.parse("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 1\n");
        assertTrue(p.allows("mail.example.com"));
        assertTrue(p.allows("MAIL.Example.Com."));
        assertFalse(p.allows("example.com"));
        assertFalse(p.allows("other.mail.example.com"));
        assertTrue(p.allows("mx1.example.net"));
        assertFalse(p.allows("example.net"), "the wildcard stands for one label, not none");
        assertFalse(p.allows("a.b.example.net"), "nor for two");
        assertFalse(p.allows(".example.net"));
        assertFalse(p.allows("mx1.example.net.evil.test"));
    }
}
