package io.sluice.smtp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class TerminalTextTest {
    @Test
    void plainTextIsReturnedAsIs() {
        String text = "b\u00fccher@example.net \"quoted local\"@x.test";
        assertSame(text, TerminalText.escape(text));
    }

    @Test
    void controlsSeparatorsAndFormatCharactersAreEscaped() {
        assertEquals("a\\x{1B}[2Jb\\x{9B}c\\x{85}d\\x{2028}e\\x{2029}f\\x{202E}g\\x{D}\\x{A}h",
                TerminalText.escape("a\u001b[2Jb\u009bc\u0085d\u2028e\u2029f\u202eg\r\nh"));
    }

    @Test
    void aLoneSurrogateIsEscapedAndAPairKept() {
        assertEquals("x\\x{D800}y\ud83d\ude00", TerminalText.escape("x\ud800y\ud83d\ude00"));
    }
}
