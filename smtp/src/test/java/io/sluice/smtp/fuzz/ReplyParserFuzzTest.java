package io.sluice.smtp.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

import io.sluice.smtp.client.ReplyParser;

/**
 * Fuzzes the client's {@link ReplyParser} with arbitrary octets cut into arbitrary reads (as a
 * peer's replies arrive in TCP segments), and compares the replies it reports (code, keyword bits,
 * SIZE limit, text) with {@link ReferenceReplies}, a whole-input restatement of RFC 5321 §4.2's
 * reply syntax and the parser's documented strictness. The split must never change the outcome.
 *
 * <p>Input layout ({@link FuzzedDataProvider} takes numbers from the end): last octet = flags
 * (bit 0: direct buffer), next = chunk count (0..16), then one octet per chunk size; the octets
 * left at the front are the wire.
 */
class ReplyParserFuzzTest {

    static {
        JazzerOutput.pin();
    }

    /** Reused: allocating a direct buffer per run would dominate the run and the RSS. */
    private static final ByteBuffer DIRECT = ByteBuffer.allocateDirect(1 << 20);

    @FuzzTest(maxDuration = "2m")
    void anySplitParsesLikeTheReference(FuzzedDataProvider data) {
        boolean direct = (data.consumeInt(0, 255) & 1) != 0;
        int[] chunks = new int[data.consumeInt(0, 16)];
        for (int i = 0; i < chunks.length; i++) {
            chunks[i] = data.consumeInt(0, 255);
        }
        byte[] wire = data.consumeRemainingAsBytes();
        List<String> expected = ReferenceReplies.parse(wire);
        assertEquals(expected, parseAll(wire, new int[0], direct), "whole input");
        assertEquals(expected, parseAll(wire, chunks, direct), "split input");
    }

    /** Feeds the wire in chunks as a connection would (unconsumed bytes kept, more appended). */
    private static List<String> parseAll(byte[] wire, int[] chunks, boolean direct) {
        ReplyParser parser = new ReplyParser();
        ByteBuffer in = direct && wire.length <= DIRECT.capacity()
                ? DIRECT.clear().limit(wire.length).slice() : ByteBuffer.allocate(wire.length);
        in.flip();
        List<String> replies = new ArrayList<>();
        int fed = 0;
        for (int c = 0; c <= chunks.length; c++) {
            int n = c < chunks.length ? Math.min(chunks[c], wire.length - fed) : wire.length - fed;
            in.compact().put(wire, fed, n).flip();
            fed += n;
            while (true) {
                int before = in.position();
                int code = parser.parse(in);
                if (code == ReplyParser.MALFORMED) {
                    replies.add("MALFORMED");
                    return replies;
                }
                if (code == ReplyParser.NEED_MORE) {
                    assertTrue(in.remaining() < ReplyParser.MAX_LINE_BYTES * 64, "kept input grows without bound");
                    break;
                }
                if (in.position() == before) {
                    fail("a reply without consuming input");
                }
                replies.add(describe(code, parser.keywords(), parser.sizeLimit(), parser.text()));
            }
        }
        return replies;
    }

    static String describe(int code, int keywords, long size, String text) {
        return code + " k=" + keywords + " size=" + size + " text=" + text;
    }

    /** The reply grammar over the whole input, written for clarity, not speed. */
    private static final class ReferenceReplies {
        private static final String[] WORDS = {"PIPELINING", "STARTTLS", "SIZE", "8BITMIME", "SMTPUTF8", "CHUNKING",
            "ENHANCEDSTATUSCODES"};

        static List<String> parse(byte[] wire) {
            List<String> replies = new ArrayList<>();
            String all = new String(wire, StandardCharsets.ISO_8859_1);
            int at = 0;
            int code = 0;
            int keywords = 0;
            long size = 0;
            StringBuilder text = new StringBuilder();
            while (true) {
                int cr = all.indexOf('\r', at);
                int lf = all.indexOf('\n', at);
                if (lf >= 0 && (cr < 0 || lf < cr)) {
                    replies.add("MALFORMED"); // bare LF before any CR
                    return replies;
                }
                if (cr < 0 || cr + 1 == all.length()) {
                    int pending = (cr < 0 ? all.length() : cr + 2) - at;
                    if (pending > ReplyParser.MAX_LINE_BYTES || (cr < 0 && pending >= ReplyParser.MAX_LINE_BYTES)) {
                        replies.add("MALFORMED");
                    }
                    return replies;
                }
                if (all.charAt(cr + 1) != '\n' || cr + 2 - at > ReplyParser.MAX_LINE_BYTES) {
                    replies.add("MALFORMED");
                    return replies;
                }
                String line = all.substring(at, cr);
                at = cr + 2;
                int lineCode = code(line);
                if (lineCode < 0 || (code != 0 && lineCode != code)) {
                    replies.add("MALFORMED");
                    return replies;
                }
                String lineText = line.length() > 4 ? line.substring(4) : "";
                if (code != 0) {
                    text.append(' ');
                }
                text.append(lineText);
                for (int w = 0; w < WORDS.length; w++) {
                    if (isWord(lineText, WORDS[w])) {
                        keywords |= 1 << w;
                        if (WORDS[w].equals("SIZE")) {
                            size = number(lineText.substring(Math.min(lineText.length(), 5)));
                        }
                        break;
                    }
                }
                if (line.length() == 3 || line.charAt(3) == ' ') {
                    replies.add(describe(lineCode, keywords, size, printable(text)));
                    code = 0;
                    keywords = 0;
                    size = 0;
                    text.setLength(0);
                } else {
                    code = lineCode;
                }
            }
        }

        /** Only ASCII letters compare case-insensitively (as the parser's byte test does). */
        private static boolean isWord(String text, String word) {
            if (text.length() < word.length()) {
                return false;
            }
            for (int i = 0; i < word.length(); i++) {
                char t = text.charAt(i);
                char w = word.charAt(i);
                boolean letter = w >= 'A' && w <= 'Z';
                if (t != w && !(letter && (t & ~0x20) == w)) {
                    return false;
                }
            }
            return text.length() == word.length() || text.charAt(word.length()) == ' ';
        }

        private static long number(String s) {
            long v = 0;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c < '0' || c > '9') {
                    break;
                }
                if (v > (Long.MAX_VALUE - (c - '0')) / 10) {
                    return 0;
                }
                v = v * 10 + (c - '0');
            }
            return v;
        }

        private static int code(String line) {
            if (line.length() < 3) {
                return -1;
            }
            int d1 = line.charAt(0) - '0';
            int d2 = line.charAt(1) - '0';
            int d3 = line.charAt(2) - '0';
            if (d1 < 2 || d1 > 5 || d2 < 0 || d2 > 5 || d3 < 0 || d3 > 9) {
                return -1;
            }
            if (line.length() > 3 && line.charAt(3) != ' ' && line.charAt(3) != '-') {
                return -1;
            }
            return d1 * 100 + d2 * 10 + d3;
        }

        private static String printable(StringBuilder text) {
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < text.length() && i < ReplyParser.MAX_TEXT_BYTES; i++) {
                char c = text.charAt(i);
                out.append(c < 0x20 || c > 0x7e ? '?' : c);
            }
            return out.toString();
        }
    }
}
