package io.sluice.smtp.mtasts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StsTxtRecordTest {

    @ParameterizedTest
    @ValueSource(strings = {"v=STSv1; id=20160831085700Z;", "v=STSv1;id=20160831085700Z", "v=STSv1; id=20160831085700Z",
        "v=STSv1 ; id=20160831085700Z ;", "v=STSv1;\tid=20160831085700Z;\t", "v=STSv1; ext_1=x.y; id=20160831085700Z;"})
    void validRecordsGiveTheirId(String record) {
        assertEquals("20160831085700Z", StsTxtRecord.parseId(record));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "v=STSv1;",                                 // no id
        "v=STSv1; id=;",                            // empty id
        "v=STSv1; id=abc-def;",                     // id: ALPHA / DIGIT only
        "v=STSv1; id=123456789012345678901234567890123;", // id over 32 characters
        "v=STSv1; id=a; id=b;",                     // two ids
        "v=STSv2; id=a;",                           // another version
        "id=a; v=STSv1;",                           // version not first
        "v=stsv1; id=a;",                           // the version is case-sensitive
        "v=STSv1; id=a;; ",                         // an empty field in the middle
        "v=STSv1; id=a; _x=1;",                     // extension name must start with ALPHA / DIGIT
        "v=STSv1; id=a; x=;",                       // extension value must not be empty
        "v=STSv1; id=a; x=a b;",                    // nor hold a space
        "v=STSv1; id=a; garbage;",                  // a field without '='
    })
    void invalidRecordsGiveNoId(String record) {
        assertNull(StsTxtRecord.parseId(record), record);
    }

    @Test
    void exactlyOneStsRecordAmongOthers() {
        assertEquals("abc", StsTxtRecord.idOf(List.of("google-site-verification=x", "v=STSv1; id=abc;", "v=spf1 -all")));
        assertNull(StsTxtRecord.idOf(List.of("v=STSv1; id=abc;", "v=STSv1; id=def;")), "two STS records: no policy");
        assertNull(StsTxtRecord.idOf(List.of("v=STSv1; id=abc;", "v=STSv1; bad")), "two, one invalid: still none");
        assertNull(StsTxtRecord.idOf(List.of()));
        assertNull(StsTxtRecord.idOf(List.of("v=spf1 -all")));
        assertNull(StsTxtRecord.idOf(List.of("v=STSv1; id=a-b;")), "the only record is invalid");
    }

    @Test
    void anotherVersionStartingWithStsV1IsNotCounted() {
        // RFC 8461 §3.1: "v=STSv1" then optional WSP and ";" (or the end); v=STSv10 is another version.
        assertEquals("abc", StsTxtRecord.idOf(List.of("v=STSv1; id=abc;", "v=STSv10; id=def;")));
        assertEquals("abc", StsTxtRecord.idOf(List.of("v=STSv1x; id=def;", "v=STSv1 \t; id=abc;")));
        assertNull(StsTxtRecord.idOf(List.of("v=STSv10; id=def;")), "only another version: no policy");
        assertNull(StsTxtRecord.idOf(List.of("v=STSv1", "v=STSv1; id=abc;")), "a bare v=STSv1 is an STSv1 record too");
    }
}
