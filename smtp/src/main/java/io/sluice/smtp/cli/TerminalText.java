package io.sluice.smtp.cli;

import java.util.Locale;

/**
 * Sender-controlled text made safe for an operator's terminal: C0 and C1 controls (ESC, CSI,
 * OSC, NEL), Unicode line and paragraph separators, format characters (bidi overrides) and lone
 * surrogates are printed as {@code \x{HH}}, so a field can neither drive the terminal nor start
 * a line of its own. Stateless; any thread.
 */
final class TerminalText {
    private TerminalText() {
    }

    /** {@code text} itself when nothing needs escaping (the usual case), else an escaped copy. */
    static String escape(String text) {
        int i = 0;
        while (i < text.length() && !unsafe(text.codePointAt(i))) {
            i += Character.charCount(text.codePointAt(i));
        }
        if (i == text.length()) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length() + 16).append(text, 0, i);
        while (i < text.length()) {
            int cp = text.codePointAt(i);
            if (unsafe(cp)) {
                out.append("\\x{").append(Integer.toHexString(cp).toUpperCase(Locale.ROOT)).append('}');
            } else {
                out.appendCodePoint(cp);
            }
            i += Character.charCount(cp);
        }
        return out.toString();
    }

    private static boolean unsafe(int cp) {
        if (Character.isISOControl(cp)) {
            return true;
        }
        switch (Character.getType(cp)) {
            case Character.LINE_SEPARATOR:
            case Character.PARAGRAPH_SEPARATOR:
            case Character.FORMAT:
            case Character.SURROGATE:
                return true;
            default:
                return false;
        }
    }
}
