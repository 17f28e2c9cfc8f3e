package io.sluice.smtp.protocol;

import static io.sluice.smtp.protocol.CommandParserTest.error;
import static io.sluice.smtp.protocol.CommandParserTest.parse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import io.sluice.smtp.spool.DsnReturn;
import io.sluice.smtp.spool.RecipientDsn;

/** RFC 3461 parameters on MAIL (RET, ENVID) and RCPT (NOTIFY, ORCPT): values, errors, xtext, splits. */
class DsnParameterParserTest {

    @ParameterizedTest
    @CsvSource({"RET=FULL, 1", "RET=HDRS, 2", "ret=full, 1", "Ret=Hdrs, 2", "SIZE=5 RET=HDRS BODY=8BITMIME, 2"})
    void retIsFullOrHdrs(String parameters, int ret) {
        Command command = parse("MAIL FROM:<a@b.example> " + parameters);
        assertNull(command.error(), () -> "unexpected " + command.error());
        assertEquals(ret, command.ret());
        assertTrue(command.dsnParameter());
    }

    @Test
    void retCodesAreTheSpoolsCodes() {
        assertEquals(DsnReturn.FULL.code(), Command.RET_FULL);
        assertEquals(DsnReturn.HEADERS.code(), Command.RET_HDRS);
        assertEquals(RecipientDsn.NOTIFY_SUCCESS, Command.NOTIFY_SUCCESS);
        assertEquals(RecipientDsn.NOTIFY_FAILURE, Command.NOTIFY_FAILURE);
        assertEquals(RecipientDsn.NOTIFY_DELAY, Command.NOTIFY_DELAY);
        assertEquals(RecipientDsn.NOTIFY_NEVER, Command.NOTIFY_NEVER);
    }

    @ParameterizedTest
    @ValueSource(strings = {"RET=", "RET", "RET=BOTH", "RET=FULLX", "RET=HDR", "RET=FULL "})
    void badRetIs501WithItsOwnText(String parameters) {
        Reply e = error("MAIL FROM:<a@b.example> " + parameters);
        if (parameters.endsWith(" ")) {
            assertNull(e, "trailing spaces are trimmed");
        } else {
            assertSame(Replies.RET_SYNTAX, e);
            assertEquals("501 5.5.4 Syntax: RET=FULL or RET=HDRS", e.toString().trim());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"RET=FULL RET=FULL", "RET=FULL RET=HDRS", "ENVID=a ENVID=a", "envid=a ENVID=b"})
    void repeatedMailDsnParameterIs501(String parameters) {
        assertSame(Replies.DUPLICATE_PARAMETER, error("MAIL FROM:<a@b.example> " + parameters));
    }

    @ParameterizedTest
    @CsvSource({"ENVID=abc, abc", "ENVID=QQ+2B+3D, QQ+2B+3D", "envid=a+20b, a+20b", "ENVID=<>, <>",
        "ENVID=a+2b+3D+3d, a+2B+3D+3D"})
    void envidKeepsTheXtextAsSent(String parameters, String kept) {
        Command command = parse("MAIL FROM:<a@b.example> " + parameters);
        assertNull(command.error(), () -> "unexpected " + command.error());
        assertEquals(kept, command.envelopeId());
    }

    @Test
    void envidIsAtMost100CharactersDecoded() {
        assertNull(error("MAIL FROM:<a@b.example> ENVID=" + "e".repeat(100)));
        assertSame(Replies.ENVID_SYNTAX, error("MAIL FROM:<a@b.example> ENVID=" + "e".repeat(101)));
        // 100 decoded characters take 300 octets encoded: the decoded length is what counts.
        assertNull(parse(Wire.octets("MAIL FROM:<a@b.example> ENVID=" + "+2B".repeat(100) + "\r\n"), 1024).error());
        assertSame(Replies.ENVID_SYNTAX,
                parse(Wire.octets("MAIL FROM:<a@b.example> ENVID=" + "+2B".repeat(100) + "x\r\n"), 1024).error());
    }

    /**
     * RFC 3461 4: "+" needs two hex digits (lower case is made upper, as Postfix reads them); "=" and
     * controls are never xtext; ENVID decodes to printable ASCII.
     */
    @ParameterizedTest
    @ValueSource(strings = {"ENVID=", "ENVID", "ENVID=a=b", "ENVID=a+", "ENVID=a+4", "ENVID=a+4g", "ENVID=+0a",
        "ENVID=+0A", "ENVID=+7F", "ENVID=+FF", "ENVID=+00", "ENVID=+fG", "ENVID=\u00e9"})
    void badEnvidIs501WithItsOwnText(String parameters) {
        assertSame(Replies.ENVID_SYNTAX, error("MAIL FROM:<a@b.example> " + parameters));
    }

    @ParameterizedTest
    @CsvSource({"NOTIFY=NEVER, 8", "NOTIFY=SUCCESS, 1", "NOTIFY=FAILURE, 2", "NOTIFY=DELAY, 4",
        "'NOTIFY=FAILURE,DELAY', 6", "'notify=delay,success,failure', 7", "'NOTIFY=Success,Delay', 5"})
    void notifyIsNeverOrAListOfKeywords(String parameter, int bits) {
        Command command = parse("RCPT TO:<u@y.example> " + parameter);
        assertNull(command.error(), () -> "unexpected " + command.error());
        assertEquals(bits, command.notifyBits());
        assertTrue(command.dsnParameter());
    }

    @ParameterizedTest
    @ValueSource(strings = {"NOTIFY=", "NOTIFY", "NOTIFY=NEVER,FAILURE", "NOTIFY=SUCCESS,NEVER", "NOTIFY=NEVER,NEVER",
        "NOTIFY=FAILURE,FAILURE", "NOTIFY=FAILURE,", "NOTIFY=,FAILURE", "NOTIFY=FAILURE,,DELAY", "NOTIFY=FAIL",
        "NOTIFY=SUCCESSES", "NOTIFY=ALWAYS", "NOTIFY=FAILURE;DELAY"})
    void badNotifyIs501WithItsOwnText(String parameter) {
        assertSame(Replies.NOTIFY_SYNTAX, error("RCPT TO:<u@y.example> " + parameter));
    }

    @ParameterizedTest
    @CsvSource({"ORCPT=rfc822;u@y.example, rfc822;u@y.example", "ORCPT=RFC822;u+2Bx@y.example, RFC822;u+2Bx@y.example",
        "orcpt=utf-8;u+40y, utf-8;u+40y", "ORCPT=x-local;+20a, x-local;+20a",
        "ORCPT=rfc822;u+2bz@y, rfc822;u+2Bz@y", "ORCPT=a+b;u+2b, a+b;u+2B"})
    void orcptKeepsTypeAndXtextAsSent(String parameter, String kept) {
        Command command = parse("RCPT TO:<u@y.example> " + parameter);
        assertNull(command.error(), () -> "unexpected " + command.error());
        assertEquals(kept, command.originalRecipient());
    }

    @ParameterizedTest
    @ValueSource(strings = {"ORCPT=", "ORCPT", "ORCPT=rfc822", "ORCPT=rfc822;", "ORCPT=;u@y", "ORCPT=rf c822;u@y",
        "ORCPT=rfc822;u=y", "ORCPT=rfc822;u+3", "ORCPT=rfc822;u+0D+0A", "ORCPT=rfc(822);u@y", "ORCPT=rfc822;u\u00e9@y"})
    void badOrcptIs501WithItsOwnText(String parameter) {
        assertSame(Replies.ORCPT_SYNTAX, error("RCPT TO:<u@y.example> " + parameter));
    }

    @Test
    void orcptAddressIsAtMost500CharactersDecoded() {
        String ok = "RCPT TO:<u@y.example> ORCPT=rfc822;" + "o".repeat(500) + "\r\n";
        assertNull(parse(Wire.octets(ok), 1200).error());
        String over = "RCPT TO:<u@y.example> ORCPT=rfc822;" + "o".repeat(501) + "\r\n";
        assertSame(Replies.ORCPT_SYNTAX, parse(Wire.octets(over), 1200).error());
    }

    @ParameterizedTest
    @ValueSource(strings = {"NOTIFY=NEVER NOTIFY=NEVER", "NOTIFY=SUCCESS NOTIFY=FAILURE",
        "ORCPT=rfc822;a ORCPT=rfc822;a", "ORCPT=rfc822;a NOTIFY=DELAY ORCPT=rfc822;b"})
    void repeatedRcptDsnParameterIs501(String parameters) {
        assertSame(Replies.DUPLICATE_PARAMETER, error("RCPT TO:<u@y.example> " + parameters));
    }

    @Test
    void bothRcptParametersInEitherOrder() {
        Command a = parse("RCPT TO:<u@y.example> NOTIFY=FAILURE,DELAY ORCPT=rfc822;u@y.example");
        assertNull(a.error());
        assertEquals(6, a.notifyBits());
        assertEquals("rfc822;u@y.example", a.originalRecipient());
        assertEquals("u@y.example", a.path().address());
        Command b = parse("RCPT TO:<u@y.example> ORCPT=rfc822;u@y.example NOTIFY=SUCCESS");
        assertNull(b.error());
        assertEquals(1, b.notifyBits());
    }

    @Test
    void rcptParameterGarbageIs501() {
        assertSame(Replies.SYNTAX_ERROR_PARAMETERS, error("RCPT TO:<u@y.example> =x"));
        assertSame(Replies.SYNTAX_ERROR_PARAMETERS, error("RCPT TO:<u@y.example> NOTIFY=NEVER  ORCPT=rfc822;a"));
    }

    @Test
    void aReusedCommandForgetsTheLastDsnParameters() {
        CommandParser parser = new CommandParser();
        Command command = new Command();
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(Wire.octets(
                "MAIL FROM:<a@b.example> RET=FULL ENVID=x\r\nRCPT TO:<u@y.example> NOTIFY=NEVER ORCPT=rfc822;u\r\n"
                + "RCPT TO:<v@y.example>\r\nMAIL FROM:<a@b.example>\r\n"));
        assertTrue(parser.parse(in, command));
        assertEquals(Command.RET_FULL, command.ret());
        assertTrue(parser.parse(in, command));
        assertEquals(Command.NOTIFY_NEVER, command.notifyBits());
        assertEquals(0, command.ret());
        assertTrue(parser.parse(in, command));
        assertFalse(command.dsnParameter());
        assertNull(command.originalRecipient());
        assertTrue(parser.parse(in, command));
        assertFalse(command.dsnParameter());
        assertNull(command.envelopeId());
    }

    @Test
    void repeatedDsnValuesReuseTheirString() {
        CommandParser parser = new CommandParser();
        Command command = new Command();
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(Wire.octets(
                "MAIL FROM:<a@b.example> ENVID=j1\r\nRCPT TO:<u@y.example> ORCPT=rfc822;u@y.example\r\n"
                + "MAIL FROM:<a@b.example> ENVID=j1\r\nRCPT TO:<u@y.example> ORCPT=rfc822;u@y.example\r\n"
                + "RCPT TO:<v@y.example> ORCPT=rfc822;v@y.example\r\n"));
        assertTrue(parser.parse(in, command));
        String envid = command.envelopeId();
        assertTrue(parser.parse(in, command));
        String orcpt = command.originalRecipient();
        assertTrue(parser.parse(in, command));
        assertSame(envid, command.envelopeId());
        assertTrue(parser.parse(in, command));
        assertSame(orcpt, command.originalRecipient());
        assertTrue(parser.parse(in, command));
        assertEquals("rfc822;v@y.example", command.originalRecipient());
    }

    @Test
    void everySplitPointGivesTheSameCommands() {
        byte[] wire = Wire.octets("MAIL FROM:<a@b.example> RET=HDRS ENVID=abc+2B1\r\n"
                + "RCPT TO:<u@y.example> NOTIFY=FAILURE,DELAY ORCPT=rfc822;u@y.example\r\n"
                + "RCPT TO:<v@y.example> NOTIFY=NEVER,SUCCESS\r\nRCPT TO:<w@y.example> NOTIFY=SUCCESS\r\n");
        List<String> whole = Wire.parseAll(512, wire);
        assertEquals(List.of("Command{MAIL path=<a@b.example> arg ret=2 envid=abc+2B1}",
                "Command{RCPT path=<u@y.example> arg notify=6 orcpt=rfc822;u@y.example}",
                "Command{RCPT error=501 5.5.4 Syntax: NOTIFY=NEVER or NOTIFY=SUCCESS,FAILURE,DELAY (any of them, each once)"
                        + " path=<v@y.example> arg}",
                "Command{RCPT path=<w@y.example> arg notify=1}"), whole);
        for (int i = 0; i <= wire.length; i++) {
            assertEquals(whole, Wire.parseAll(512, wire, i), "split at " + i);
            for (int j = i; j <= wire.length; j += 7) {
                assertEquals(whole, Wire.parseAll(512, wire, i, j), "split at " + i + "," + j);
            }
        }
    }

    @Test
    void xtextDecodesPrintableAndKeepsTheRestEncoded() {
        assertEquals("u+x=y@z", Xtext.decode("u+2Bx+3Dy@z"));
        assertEquals("a+0Ab", Xtext.decode("a+0Ab"));
        assertEquals("a+", Xtext.decode("a+"));
        assertEquals("u+2Bx+3Dy@z+C3+A9", Xtext.encode("u+x=y@z\u00e9"));
        assertEquals("abc", Xtext.encode("abc"));
        assertEquals("+20", Xtext.encode(" "));
    }

    private static Command parseUtf8(String line) {
        return parse((line + "\r\n").getBytes(StandardCharsets.UTF_8), CommandParser.DEFAULT_MAX_LINE_OCTETS);
    }

    /** RFC 6533 3: {@code utf-8;} with UTF-8 octets is utf-8-addr-unitext, kept as received and flagged for the session. */
    @ParameterizedTest
    @ValueSource(strings = {"utf-8;caf\u00e9@y.example", "UTF-8;\u4e2d\u6587@y.example", "utf-8;\ud83d\ude00\\x{E9}@y",
        "utf-8;a\\x{10FFFF}\u00e9"})
    void utf8OrcptTakesUnitext(String value) {
        Command command = parseUtf8("RCPT TO:<u@y.example> ORCPT=" + value);
        assertNull(command.error(), () -> "unexpected " + command.error());
        assertEquals(value, command.originalRecipient());
        assertTrue(command.originalRecipientUtf8());
    }

    @Test
    void asciiOrcptIsNotUnitext() {
        Command command = parse("RCPT TO:<u@y.example> ORCPT=utf-8;caf\\x{E9}@y.example");
        assertNull(command.error());
        assertFalse(command.originalRecipientUtf8());
    }

    @ParameterizedTest
    @ValueSource(strings = {"utf-8;a+2Bb\u00e9", "utf-8;a=\u00e9", "utf-8;\u00e9\\x{D800}", "utf-8;\u00e9\\x{110000}",
        "utf-8;\u00e9\\x{E}", "utf-8;\u00e9\\x{1234567}", "utf-8;\u00e9\\x{E9", "utf-8;\u00e9\\y", "rfc822;\u00e9@y"})
    void badUnitextIs501(String value) {
        assertSame(Replies.ORCPT_SYNTAX, parseUtf8("RCPT TO:<u@y.example> ORCPT=" + value).error(), value);
    }

    @Test
    void malformedUtf8IsNotUnitext() {
        byte[] overlong = "RCPT TO:<u@y.example> ORCPT=utf-8;a\u00c0\u00afb\r\n".getBytes(StandardCharsets.ISO_8859_1);
        assertSame(Replies.ORCPT_SYNTAX, parse(overlong, CommandParser.DEFAULT_MAX_LINE_OCTETS).error());
        byte[] truncated = "RCPT TO:<u@y.example> ORCPT=utf-8;a\u00e4\u00b8\r\n".getBytes(StandardCharsets.ISO_8859_1);
        assertSame(Replies.ORCPT_SYNTAX, parse(truncated, CommandParser.DEFAULT_MAX_LINE_OCTETS).error());
    }

    @Test
    void unitextIsAtMost500Characters() {
        String ok = "RCPT TO:<u@y.example> ORCPT=utf-8;" + "\u00e9".repeat(500) + "\r\n";
        assertNull(parse(ok.getBytes(StandardCharsets.UTF_8), 1200).error());
        String over = "RCPT TO:<u@y.example> ORCPT=utf-8;" + "\u00e9".repeat(501) + "\r\n";
        assertSame(Replies.ORCPT_SYNTAX, parse(over.getBytes(StandardCharsets.UTF_8), 1200).error());
    }

    /** With DSN off the parser does not look at the values: RET, ENVID, NOTIFY and ORCPT are unknown (555). */
    @ParameterizedTest
    @ValueSource(strings = {"MAIL FROM:<a@b.example> RET=FULL", "MAIL FROM:<a@b.example> RET=BOTH",
        "MAIL FROM:<a@b.example> ENVID=a+zz", "RCPT TO:<u@y.example> NOTIFY=SOMETIMES",
        "RCPT TO:<u@y.example> ORCPT=rfc822", "RCPT TO:<u@y.example> ORCPT=rfc822;u@y"})
    void withoutDsnItsParametersAreUnknown(String line) {
        CommandParser parser = new CommandParser(CommandParser.DEFAULT_MAX_LINE_OCTETS, false);
        Command command = new Command();
        assertTrue(parser.parse(ByteBuffer.wrap(Wire.octets(line + "\r\n")), command));
        assertSame(Replies.UNSUPPORTED_PARAMETER, command.error());
        assertFalse(command.dsnParameter());
    }
}
