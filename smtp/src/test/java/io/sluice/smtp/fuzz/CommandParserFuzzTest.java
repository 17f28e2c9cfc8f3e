package io.sluice.smtp.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

import io.sluice.smtp.protocol.Command;
import io.sluice.smtp.protocol.CommandParser;
import io.sluice.smtp.protocol.Replies;
import io.sluice.smtp.protocol.Reply;
import io.sluice.smtp.protocol.Verb;

/**
 * Fuzzes {@link CommandParser} with arbitrary octets cut into arbitrary reads. Each input is parsed
 * twice, in one read and in the fuzzed chunks, and both runs are checked against a reference framing
 * written here from RFC 5321's rule (a line ends at the first CRLF) and against each other.
 *
 * <p>Input layout ({@link FuzzedDataProvider} takes numbers from the end): last octet = line limit
 * selector (even: 512, odd n: 6 + n/2), next = flags (bit 0: direct buffer), next = chunk count
 * (0..16), then one octet per chunk size; the octets left at the front are the wire.
 */
class CommandParserFuzzTest {

    private static final byte CR = '\r';
    private static final byte LF = '\n';
    /** Reused: allocating a direct buffer per run would dominate the run and the RSS. */
    private static final ByteBuffer DIRECT = ByteBuffer.allocateDirect(1 << 20);

    @FuzzTest(maxDuration = "2m")
    void anySplitParsesLikeTheReferenceFraming(FuzzedDataProvider data) {
        int selector = data.consumeInt(0, 255);
        int maxLineOctets = (selector & 1) == 0 ? CommandParser.DEFAULT_MAX_LINE_OCTETS
                : CommandParser.MIN_LINE_OCTETS + (selector >>> 1);
        boolean direct = (data.consumeInt(0, 255) & 1) != 0;
        int[] chunks = new int[data.consumeInt(0, 16)];
        for (int i = 0; i < chunks.length; i++) {
            chunks[i] = data.consumeInt(0, 255);
        }
        byte[] wire = data.consumeRemainingAsBytes();

        List<ReferenceLine> expected = ReferenceLine.frame(wire, maxLineOctets);
        List<String> whole = parseAll(wire, new int[0], maxLineOctets, direct, expected);
        List<String> split = parseAll(wire, chunks, maxLineOctets, direct, expected);
        assertEquals(whole, split, "the split points changed the parse");
    }

    /**
     * Feeds {@code wire} in reads of the given sizes (the rest in one last read) through one
     * parser, checking every call; returns one description per parsed line.
     */
    private static List<String> parseAll(byte[] wire, int[] chunks, int maxLineOctets, boolean direct,
            List<ReferenceLine> expected) {
        CommandParser parser = new CommandParser(maxLineOctets);
        Command command = new Command();
        ByteBuffer in = direct && wire.length <= DIRECT.capacity()
                ? DIRECT.clear().limit(wire.length).slice() : ByteBuffer.allocate(wire.length);
        in.flip();
        List<String> results = new ArrayList<>();
        int fed = 0;
        long base = 0; // wire offset of in's index 0
        for (int c = 0; c <= chunks.length; c++) {
            int n = c < chunks.length ? Math.min(chunks[c], wire.length - fed) : wire.length - fed;
            base += in.position();
            in.compact().put(wire, fed, n).flip();
            fed += n;
            while (in.hasRemaining()) {
                int before = in.position();
                boolean parsed = parser.parse(in, command);
                int after = in.position();
                if (!parsed) {
                    assertTrue(after == before || after == in.limit(),
                            "false must leave the position alone or discard to the limit: " + before + "->" + after);
                    assertTrue(in.remaining() < maxLineOctets || !in.hasRemaining(),
                            "false with a full line's worth unconsumed: " + in.remaining());
                    break;
                }
                assertTrue(after > before, "true without consuming");
                assertEquals(LF, in.get(after - 1), "a line ends with LF");
                int index = results.size();
                if (index >= expected.size()) {
                    fail("parsed a line the reference does not see, ending at " + (base + after));
                }
                ReferenceLine line = expected.get(index);
                assertEquals(line.end, base + after, "line " + index + " ends elsewhere than at its first CRLF");
                checkCommand(line, wire, maxLineOctets, command);
                String text = command.error() == Replies.LINE_TOO_LONG ? "" : parser.lastLine();
                results.add((base + after) + " " + command + " " + text);
            }
        }
        assertEquals(expected.size(), results.size(), "complete lines parsed");
        return results;
    }

    private static void checkCommand(ReferenceLine line, byte[] wire, int maxLineOctets, Command command) {
        Reply error = command.error();
        if (line.tooLong(maxLineOctets)) {
            assertSame(Replies.LINE_TOO_LONG, error, "a line over " + maxLineOctets + " octets");
            return;
        }
        if (line.bareNewline) {
            assertSame(Replies.BARE_NEWLINE_IN_COMMAND, error);
            return;
        }
        if (line.control) {
            assertSame(Replies.CONTROL_CHARACTER, error);
            return;
        }
        assertTrue(error != Replies.LINE_TOO_LONG && error != Replies.BARE_NEWLINE_IN_COMMAND
                && error != Replies.CONTROL_CHARACTER, "clean line got " + error);
        String text = new String(wire, (int) line.start, (int) (line.end - line.start - 2), StandardCharsets.ISO_8859_1);
        int space = text.indexOf(' ');
        Verb verb = expectedVerb(space < 0 ? text : text.substring(0, space), space >= 0);
        assertSame(verb, command.verb(), "verb of " + text);
        String argument = space < 0 ? "" : text.substring(space + 1).replaceAll(" +$", "");
        assertEquals(!argument.isEmpty(), command.hasArgument(), "hasArgument of " + text);
        checkFields(command, argument);
    }

    /** Fields must match the verb: only MAIL has SIZE/BODY, only BDAT a chunk, and so on. */
    private static void checkFields(Command command, String argument) {
        Verb verb = command.verb();
        boolean ok = command.error() == null;
        switch (verb) {
            case UNKNOWN -> assertSame(Replies.COMMAND_UNRECOGNIZED, command.error());
            case HTTP -> assertSame(Replies.HTTP_NOT_SERVED, command.error());
            case EHLO, HELO -> {
                if (ok) {
                    assertEquals(argument, command.domain(), "EHLO/HELO name is the argument as sent");
                    assertTrue(argument.chars().allMatch(c -> c > 0x20 && c < 0x7F), "printable name: " + argument);
                }
            }
            case MAIL -> {
                if (ok) {
                    assertNotNull(command.path(), "valid MAIL without a path");
                }
            }
            case RCPT -> {
                if (ok) {
                    assertNotNull(command.path(), "valid RCPT without a path");
                    assertTrue(!command.path().isNull(), "RCPT TO:<> accepted");
                }
            }
            case BDAT -> {
                if (ok) {
                    assertTrue(command.chunkSize() >= 0, "valid BDAT without a size");
                }
            }
            case VRFY, EXPN -> {
                if (ok) {
                    assertTrue(command.hasArgument());
                }
            }
            case AUTH -> assertEquals(command.hasArgument() ? ascii(argument) : null, command.authArgument());
            default -> assertNull(command.error(), verb + " has no syntax of its own: " + command.error());
        }
        if (verb != Verb.EHLO && verb != Verb.HELO) {
            assertNull(command.domain(), "domain on " + verb);
        }
        if (verb != Verb.MAIL && verb != Verb.RCPT) {
            assertNull(command.path(), "path on " + verb);
        }
        if (verb != Verb.MAIL) {
            assertTrue(command.size() == -1 && !command.smtpUtf8()
                    && command.body() == io.sluice.smtp.protocol.Body.NONE, "MAIL parameters on " + verb);
        }
        if (verb != Verb.BDAT) {
            assertTrue(command.chunkSize() == -1 && !command.lastChunk(), "chunk on " + verb);
        }
        if (verb != Verb.AUTH) {
            assertNull(command.authArgument(), "AUTH argument on " + verb);
        }
    }

    /** AUTH's argument is kept as US-ASCII text: an octet over 127 becomes U+FFFD. */
    private static String ascii(String latin1) {
        return new String(latin1.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.US_ASCII);
    }

    private static Verb expectedVerb(String token, boolean followedBySpace) {
        if (!token.chars().allMatch(c -> c < 0x80)) {
            return Verb.UNKNOWN; // only ASCII letters fold to a verb
        }
        String upper = token.toUpperCase(Locale.ROOT);
        switch (upper) {
            case "GET", "PUT", "POST", "HEAD", "CONNECT", "OPTIONS":
                return followedBySpace ? Verb.HTTP : Verb.UNKNOWN;
            case "HTTP", "UNKNOWN":
                return Verb.UNKNOWN;
            default:
                try {
                    return Verb.valueOf(upper);
                } catch (IllegalArgumentException e) {
                    return Verb.UNKNOWN;
                }
        }
    }

    /** A command line framed by the RFC rule: it ends just after the first CRLF from its start. */
    private record ReferenceLine(long start, long end, boolean bareNewline, boolean control) {

        boolean tooLong(int maxLineOctets) {
            return end - start > maxLineOctets;
        }

        static List<ReferenceLine> frame(byte[] wire, int maxLineOctets) {
            List<ReferenceLine> lines = new ArrayList<>();
            int start = 0;
            boolean bare = false;
            boolean control = false;
            for (int i = start; i < wire.length; i++) {
                byte c = wire[i];
                if (c == CR && i + 1 < wire.length && wire[i + 1] == LF) {
                    lines.add(new ReferenceLine(start, i + 2, bare, control));
                    start = i + 2;
                    i++;
                    bare = false;
                    control = false;
                } else if (c == CR || c == LF) {
                    bare = true;
                } else if (c >= 0 && c < 0x20 || c == 0x7F) {
                    control = true;
                }
            }
            return lines;
        }
    }
}
