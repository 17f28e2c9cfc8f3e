package io.sluice.smtp.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class CommandParserTest {

    /** Parses exactly one CRLF-terminated line (CRLF appended here) and checks it was consumed whole. */
    static Command parse(String lineWithoutCrlf) {
        return parse(Wire.octets(lineWithoutCrlf + "\r\n"), CommandParser.DEFAULT_MAX_LINE_OCTETS);
    }

    static Command parse(byte[] wire, int maxLineOctets) {
        CommandParser parser = new CommandParser(maxLineOctets);
        Command command = new Command();
        ByteBuffer in = ByteBuffer.allocateDirect(wire.length);
        in.put(wire).flip();
        assertTrue(parser.parse(in, command), "a complete line must parse");
        assertEquals(wire.length, in.position(), "the whole line including CRLF is consumed");
        return command;
    }

    static Reply error(String line) {
        return parse(line).error();
    }

    @ParameterizedTest
    @CsvSource({
        "EHLO mx.example.com, EHLO", "ehlo mx.example.com, EHLO", "HELO mx.example.com, HELO", "hElO a, HELO",
        "MAIL FROM:<a@b.example>, MAIL", "RCPT TO:<a@b.example>, RCPT", "DATA, DATA", "data, DATA",
        "BDAT 10, BDAT", "RSET, RSET", "NOOP, NOOP", "NOOP anything at all, NOOP", "QUIT, QUIT", "qUiT, QUIT",
        "VRFY someone, VRFY", "EXPN list, EXPN", "HELP, HELP", "HELP MAIL, HELP", "STARTTLS, STARTTLS",
        "starttls, STARTTLS", "AUTH PLAIN, AUTH", "AUTH, AUTH"
    })
    void recognisesEveryVerbInAnyCase(String line, Verb verb) {
        Command command = parse(line);
        assertEquals(verb, command.verb());
        assertNull(command.error(), () -> "unexpected error " + command.error());
    }

    @ParameterizedTest
    @ValueSource(strings = {"DATA", "RSET", "QUIT", "STARTTLS", "NOOP", "HELP", "DATA ", "QUIT   "})
    void verbsWithoutArgumentHaveNone(String line) {
        Command command = parse(line);
        assertFalse(command.hasArgument());
        assertNull(command.error());
    }

    @ParameterizedTest
    @ValueSource(strings = {"DATA x", "RSET x", "QUIT now", "STARTTLS x", "NOOP x", "HELP x", "AUTH PLAIN"})
    void argumentIsFlaggedForTheSessionToJudge(String line) {
        Command command = parse(line);
        assertTrue(command.hasArgument());
        assertNull(command.error(), "the session, not the parser, answers 501 for these");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "EHL", "EHLOO x", "XEHLO x", "MAILFROM:<a@b>", "MAIL:FROM:<a@b>", " EHLO x",
        "\u00c5HLO x", "EHL\u00cf x", "DATA\u00a0", "\u00ff\u00ff\u00ff\u00ff", "STARTTLSX", "TURN", "ETRN x",
        "GET", "POST", "X-Injected: 1", "@HLO x"})
    void unknownVerbsAre500(String line) {
        Command command = parse(line);
        assertEquals(Verb.UNKNOWN, command.verb());
        assertSame(Replies.COMMAND_UNRECOGNIZED, command.error());
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET / HTTP/1.1", "POST /submit HTTP/1.1", "HEAD / HTTP/1.0", "PUT /x HTTP/1.1",
        "CONNECT mx.example.com:25 HTTP/1.1", "OPTIONS * HTTP/1.1", "get / HTTP/1.1", "Connect 192.0.2.1:25 HTTP/1.0"})
    void httpRequestsAreRecognised(String line) {
        Command command = parse(line);
        assertEquals(Verb.HTTP, command.verb());
        assertSame(Replies.HTTP_NOT_SERVED, command.error());
    }

    // ---- EHLO / HELO ----

    @ParameterizedTest
    @ValueSource(strings = {"mx.example.com", "localhost", "Example.COM", "example.com.", "a-b.c-d.example", "xn--bcher-kva.example",
        "1.example", "a", "[192.0.2.1]", "[0.0.0.0]", "[255.255.255.255]", "[IPv6:2001:db8::1]", "[IPv6:::1]", "[IPv6:::]",
        "[ipv6:2001:db8:0:0:0:0:0:1]", "[IPv6:::ffff:192.0.2.1]", "[IPv6:1:2:3:4:5:6:192.0.2.1]", "[IPv6:fe80::]",
        "[x-tag:some.thing:1]"})
    void ehloAcceptsDomainsAndAddressLiterals(String name) {
        for (String verb : new String[] {"EHLO ", "HELO "}) {
            Command command = parse(verb + name);
            assertNull(command.error(), () -> verb + name + " -> " + command.error());
            assertEquals(name, command.domain(), "kept exactly as sent");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"-a.example", "a-.example", "a..example", ".", "..", ".example", "a.example..", "a b", "a_b.example",
        "a;b", "a\"b", "<a.example>", "a@example", "h\u00e9.example", "[300.1.1.1]", "[1.2.3]", "[1.2.3.4.5]",
        "[1.2.3.4", "1.2.3.4]", "[]", "[IPv6:1:2:3:4:5:6:7]", "[IPv6:1:2:3:4:5:6:7:8:9]", "[IPv6:1::2::3]",
        "[IPv6:12345::1]", "[IPv6:1:2:3:4:5:6:7::]", "[IPv6:1:]", "[IPv6:]", "[tag:a b]", "[tag:a\\b]",
        "[tag:a=b]", "[-tag:x]", "[tag:]", "[IPv6:::1.2.3]", "x\ty", "[1.2.3.4]."})
    void ehloRejectsEverythingElse(String name) {
        for (String verb : new String[] {"EHLO ", "HELO "}) {
            Command command = parse(verb + name);
            assertNotNull(command.error(), () -> verb + name + " accepted");
            assertNull(command.domain());
        }
    }

    @Test
    void ehloWithoutHostnameGetsItsOwnSyntaxReply() {
        assertSame(Replies.EHLO_SYNTAX, error("EHLO"));
        assertSame(Replies.EHLO_SYNTAX, error("EHLO   "));
        assertSame(Replies.HELO_SYNTAX, error("HELO"));
        assertSame(Replies.BAD_HELO_HOSTNAME, error("EHLO a b"));
        assertSame(Replies.BAD_HELO_HOSTNAME, error("EHLO  a"));
    }

    @Test
    void ehloDomainOf255OctetsIsAcceptedAnd256IsNot() {
        assertNull(error("EHLO " + domainOfLength(255)));
        assertEquals(255, parse("EHLO " + domainOfLength(255)).domain().length());
        assertSame(Replies.BAD_HELO_HOSTNAME, error("EHLO " + domainOfLength(256)));
        assertNull(error("EHLO " + "a".repeat(63) + ".example"));
        assertSame(Replies.BAD_HELO_HOSTNAME, error("EHLO " + "a".repeat(64) + ".example"));
    }

    /** A valid domain of exactly {@code length} octets: labels of up to 63 octets. */
    static String domainOfLength(int length) {
        StringBuilder domain = new StringBuilder();
        while (length - domain.length() > 64) {
            domain.append("d".repeat(63)).append('.');
        }
        int rest = length - domain.length();
        domain.append(rest == 64 ? "e".repeat(62) + ".f" : "e".repeat(rest));
        return domain.toString();
    }

    @Test
    void headerInjectionThroughEhloEndsAtTheRealCrlfOrIsRejected() {
        List<String> viaCrlf = Wire.parseAll(512, Wire.octets("EHLO a\r\nX-Injected: 1\r\n"));
        assertEquals(List.of("Command{EHLO domain=a arg}", "Command{UNKNOWN error=500 5.5.1 Command unrecognized arg}"), viaCrlf);
        assertSame(Replies.BARE_NEWLINE_IN_COMMAND, error("EHLO a\nX-Injected: 1"));
        assertSame(Replies.BARE_NEWLINE_IN_COMMAND, error("EHLO a\rX-Injected: 1"));
        assertSame(Replies.CONTROL_CHARACTER, error("EHLO a\u0000X-Injected: 1"));
        assertSame(Replies.BAD_HELO_HOSTNAME, error("EHLO a: X-Injected"));
    }

    // ---- MAIL ----

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "MAIL FROM:<a@b.example>|a@b.example",
        "mail from:<a@b.example>|a@b.example",
        "MAIL FROM: <a@b.example>|a@b.example",
        "MAIL FROM:<First.Last@Example.COM>|First.Last@example.com",
        "MAIL FROM:<@relay.example:u@d.example>|u@d.example",
        "MAIL FROM:<@r1.example,@r2.example:u@d.example>|u@d.example",
        "MAIL FROM:<\"john doe\"@d.example>|\"john doe\"@d.example",
        "MAIL FROM:<\"a\\\"b\"@d.example>|\"a\\\"b\"@d.example",
        "MAIL FROM:<\"a@b\"@d.example>|\"a@b\"@d.example",
        "MAIL FROM:<a@[192.0.2.1]>|a@[192.0.2.1]",
        "MAIL FROM:<a@[IPv6:2001:DB8::1]>|a@[IPv6:2001:DB8::1]",
        "MAIL FROM:<a@[tag:x=y]>|a@[tag:x=y]",
        "MAIL FROM:<postmaster@d.example>|postmaster@d.example",
        "MAIL FROM:<a@b.example>   |a@b.example",
    })
    void mailAcceptsRfc5321Paths(String line, String address) {
        Command command = parse(line);
        assertNull(command.error(), () -> line + " -> " + command.error());
        assertEquals(Verb.MAIL, command.verb());
        assertEquals(address, command.path().address());
        assertEquals(-1, command.size());
        assertEquals(Body.NONE, command.body());
        assertFalse(command.smtpUtf8());
        assertFalse(command.path().isUtf8());
    }

    @Test
    void everyAtextOctetIsAcceptedInALocalPart() {
        String local = "!#$%&'*+-/=?^_`{|}~09azAZ";
        assertEquals(local + "@d.example", parse("MAIL FROM:<" + local + "@d.example>").path().address());
    }

    @Test
    void mailPathPartsAreSplitAndDomainLowerCased() {
        MailPath path = parse("MAIL FROM:<Some.One@Mail.Example.COM>").path();
        assertEquals("Some.One", path.localPart());
        assertEquals("mail.example.com", path.domain());
        assertFalse(path.isNull());
        assertFalse(path.isPostmaster());
        assertEquals("<Some.One@mail.example.com>", path.toString());
    }

    @Test
    void nullReversePathIsTheSharedConstant() {
        Command command = parse("MAIL FROM:<>");
        assertSame(MailPath.NULL, command.path());
        assertTrue(command.path().isNull());
        assertEquals("", command.path().address());
        assertSame(MailPath.NULL, parse("MAIL FROM: <> SIZE=10").path());
    }

    @Test
    void mailParameters() {
        Command command = parse("MAIL FROM:<a@b.example> SIZE=12345 BODY=8BITMIME SMTPUTF8");
        assertNull(command.error());
        assertEquals(12345, command.size());
        assertEquals(Body.EIGHT_BIT_MIME, command.body());
        assertTrue(command.smtpUtf8());
        assertEquals(Body.SEVEN_BIT, parse("MAIL FROM:<a@b.example> body=7bit").body());
        assertEquals(Body.BINARY_MIME, parse("MAIL FROM:<a@b.example> Body=BinaryMIME").body());
        assertEquals(0, parse("MAIL FROM:<a@b.example> size=0").size());
    }

    @ParameterizedTest
    @CsvSource({
        "SIZE=9223372036854775807, 9223372036854775807",
        "SIZE=9223372036854775808, 9223372036854775807",
        "SIZE=99999999999999999999, 9223372036854775807",
        "SIZE=00000000000000000001, 1",
    })
    void sizeSaturatesInsteadOfOverflowing(String parameter, long expected) {
        Command command = parse("MAIL FROM:<a@b.example> " + parameter);
        assertNull(command.error());
        assertEquals(expected, command.size());
    }

    @ParameterizedTest
    @ValueSource(strings = {"SIZE=", "SIZE", "SIZE=-1", "SIZE=1a", "SIZE=+1", "SIZE=100000000000000000000", "SIZE=1 SIZE=2",
        "BODY=", "BODY", "BODY=9BIT", "BODY=8BIT", "BODY=7BIT BODY=7BIT", "SMTPUTF8=yes", "SMTPUTF8 SMTPUTF8", "=1",
        " SIZE=1", "SIZE=1  BODY=7BIT"})
    void malformedMailParametersAre501(String parameters) {
        assertSame(Replies.SYNTAX_ERROR_PARAMETERS, error("MAIL FROM:<a@b.example> " + parameters));
    }

    @ParameterizedTest
    @ValueSource(strings = {"XFOO", "SIZE=1 XFOO", "MT-PRIORITY=3", "REQUIRETLS", "RET=HDRS XFOO", "NOTIFY=NEVER"})
    void unknownMailParametersAre555(String parameters) {
        assertSame(Replies.UNSUPPORTED_PARAMETER, error("MAIL FROM:<a@b.example> " + parameters));
    }

    /** RFC 4954 5: AUTH=xtext (RFC 3461 4) is parsed; the session answers 555 where AUTH is not offered. */
    @ParameterizedTest
    @ValueSource(strings = {"AUTH=<>", "auth=<>", "AUTH=alice@example.org", "AUTH=e+3Dmc2", "AUTH=a+2B+2Bb SIZE=10",
        "SIZE=10 AUTH=<> BODY=8BITMIME"})
    void mailAuthParameterIsParsed(String parameters) {
        Command command = parse("MAIL FROM:<a@b.example> " + parameters);
        assertNull(command.error(), () -> "unexpected " + command.error());
        assertTrue(command.authParameter());
        assertFalse(parse("MAIL FROM:<a@b.example>").authParameter());
    }

    @ParameterizedTest
    @ValueSource(strings = {"AUTH=", "AUTH", "AUTH=a=b", "AUTH=a+", "AUTH=a+4", "AUTH=a+3d", "AUTH=a+ZZ", "AUTH=<> AUTH=<>",
        "AUTH=\u00e9"})
    void malformedMailAuthParameterIs501(String parameters) {
        assertSame(Replies.SYNTAX_ERROR_PARAMETERS, error("MAIL FROM:<a@b.example> " + parameters));
    }

    @ParameterizedTest
    @ValueSource(strings = {"MAIL", "MAIL FROM:", "MAIL FROM", "MAIL FROM:a@b.example", "MAIL FROM:  <a@b.example>",
        "MAIL TO:<a@b.example>", "MAIL FROM <a@b.example>", "MAIL  FROM:<a@b.example>", "MAIL FROM:\"<a@b.example>\""})
    void mailWithoutFromPathIsSyntax(String line) {
        assertSame(Replies.MAIL_SYNTAX, error(line));
    }

    @ParameterizedTest
    @ValueSource(strings = {"<a@b.example", "<Postmaster>", "<postmaster>", "<a>", "<@b.example>", "<a@>", "<a@@b.example>",
        "<.a@b.example>", "<a.@b.example>", "<a..b@b.example>", "<a b@b.example>", "<a@b..example>", "<a@b.example.>",
        "<a@-b.example>", "<a@b-.example>", "<a@b_c.example>", "<a@[1.2.3.256]>", "<a@[IPv6:1::2::3]>", "<a@[tag:a\\b]>",
        "<a@[1.2.3.4>", "<\"unterminated@b.example>", "<a(comment)@b.example>", "<<a@b.example>>", "<@r.example,u@d.example>", "<@r.example u@d.example>", "<@:u@d.example>", "<\u00ff@b.example>",
        "<a@\u00c3.example>", "<\u00e9@b.example>", "<\"a\\\u00e9\"@b.example>"})
    void badReversePathsAre501517(String path) {
        assertSame(Replies.BAD_SENDER_ADDRESS, error("MAIL FROM:" + path), path);
    }

    @Test
    void utf8PathsAreAcceptedSyntacticallyAndFlagged() {
        byte[] wire = "MAIL FROM:<jos\u00e9@b\u00fccher.example> SMTPUTF8\r\n".getBytes(StandardCharsets.UTF_8);
        Command command = parse(wire, 512);
        assertNull(command.error());
        assertTrue(command.path().isUtf8());
        assertTrue(command.smtpUtf8());
        assertEquals("jos\u00e9", command.path().localPart());
        assertEquals("b\u00fccher.example", command.path().domain());
        Command withoutParameter = parse("RCPT TO:<\u7528\u6237@\u4f8b\u5b50.example>\r\n".getBytes(StandardCharsets.UTF_8), 512);
        assertNull(withoutParameter.error(), "the session, not the parser, checks SMTPUTF8");
        assertTrue(withoutParameter.path().isUtf8());
        assertEquals("\u7528\u6237@\u4f8b\u5b50.example", withoutParameter.path().address());
    }

    // ---- RCPT ----

    @Test
    void rcptAcceptsMailboxAndPostmaster() {
        Command command = parse("RCPT TO:<user@Example.com>");
        assertNull(command.error());
        assertEquals(Verb.RCPT, command.verb());
        assertEquals("user@example.com", command.path().address());
        assertEquals("user", command.path().localPart());
        for (String postmaster : new String[] {"<Postmaster>", "<postmaster>", "<POSTMASTER>", "<PostMaster>"}) {
            Command pm = parse("rcpt to:" + postmaster);
            assertNull(pm.error());
            assertSame(MailPath.POSTMASTER, pm.path());
            assertTrue(pm.path().isPostmaster());
            assertEquals("Postmaster", pm.path().address());
        }
        assertFalse(parse("RCPT TO:<postmaster@example.com>").path().isPostmaster());
        assertEquals("u@d.example", parse("RCPT TO: <@a.example,@b.example:u@d.example>").path().address());
    }

    @ParameterizedTest
    @ValueSource(strings = {"RCPT TO:<>", "RCPT TO:<a@b", "RCPT TO:<a>", "RCPT TO:<@x.example:Postmaster>", "RCPT TO:<a@b..c>",
        "RCPT TO:<Postmaster@>"})
    void badForwardPathsAre501513(String line) {
        assertSame(Replies.BAD_RECIPIENT_ADDRESS, error(line), line);
    }

    @ParameterizedTest
    @ValueSource(strings = {"RCPT", "RCPT TO", "RCPT TO:", "RCPT TO:a@b.example", "RCPT FROM:<a@b.example>", "RCPT TO:  <a@b.example>"})
    void rcptWithoutToPathIsSyntax(String line) {
        assertSame(Replies.RCPT_SYNTAX, error(line));
    }

    @ParameterizedTest
    @ValueSource(strings = {"XFOO", "SIZE=1", "RET=FULL", "ENVID=x", "NOTIFY=NEVER XFOO"})
    void unknownRcptParametersAre555(String parameter) {
        Command command = parse("RCPT TO:<a@b.example> " + parameter);
        assertSame(Replies.UNSUPPORTED_PARAMETER, command.error());
    }

    @Test
    void garbageAfterRcptPathIs501() {
        assertSame(Replies.SYNTAX_ERROR_PARAMETERS, error("RCPT TO:<a@b.example>x"));
        assertSame(Replies.SYNTAX_ERROR_PARAMETERS, error("RCPT TO:<a@b.example>  x"));
        assertSame(Replies.SYNTAX_ERROR_PARAMETERS, error("MAIL FROM:<a@b.example>>"));
        assertSame(Replies.SYNTAX_ERROR_PARAMETERS, error("MAIL FROM:<a@b.example>SIZE=1"));
    }

    // ---- length limits of paths ----

    @Test
    void localPartOf64IsAcceptedAnd65IsNot() {
        assertNull(error("RCPT TO:<" + "l".repeat(64) + "@b.example>"));
        assertSame(Replies.BAD_RECIPIENT_ADDRESS, error("RCPT TO:<" + "l".repeat(65) + "@b.example>"));
        assertNull(error("MAIL FROM:<\"" + "q".repeat(62) + "\"@b.example>"));
        assertSame(Replies.BAD_SENDER_ADDRESS, error("MAIL FROM:<\"" + "q".repeat(63) + "\"@b.example>"));
    }

    @Test
    void pathOf256OctetsIsAcceptedAnd257IsNot() {
        String local = "l".repeat(64);
        String fits = "<" + local + "@" + domainOfLength(256 - 3 - 64) + ">";
        assertEquals(256, fits.length());
        assertNull(error("RCPT TO:" + fits));
        assertNull(error("MAIL FROM:" + fits));
        String over = "<" + local + "@" + domainOfLength(257 - 3 - 64) + ">";
        assertEquals(257, over.length());
        assertSame(Replies.BAD_RECIPIENT_ADDRESS, error("RCPT TO:" + over));
        assertSame(Replies.BAD_SENDER_ADDRESS, error("MAIL FROM:" + over));
        String routed = "<@" + domainOfLength(200) + ":a@" + domainOfLength(51) + ">";
        assertEquals(257, routed.length(), "the source route counts toward the limit");
        assertSame(Replies.BAD_RECIPIENT_ADDRESS, error("RCPT TO:" + routed));
    }

    @Test
    void pathDomainOf255AndLabelOf63AreTheSyntaxLimits() {
        byte[] fits = Wire.octets(domainOfLength(255) + ">");
        assertEquals(255, AddressSyntax.scanDomain(fits, 0, fits.length, true));
        byte[] over = Wire.octets(domainOfLength(256) + ">");
        assertEquals(-1, AddressSyntax.scanDomain(over, 0, over.length, true));
        assertNull(error("RCPT TO:<a@" + "x".repeat(63) + ".example>"));
        assertSame(Replies.BAD_RECIPIENT_ADDRESS, error("RCPT TO:<a@" + "x".repeat(64) + ".example>"));
    }

    // ---- BDAT ----

    @ParameterizedTest
    @CsvSource({"BDAT 0, 0, false", "BDAT 0 LAST, 0, true", "bdat 1000 last, 1000, true", "BDAT 65536, 65536, false",
        "BDAT 999999999999999999 LAST, 999999999999999999, true", "BDAT 007, 7, false"})
    void bdatSizeAndLast(String line, long size, boolean last) {
        Command command = parse(line);
        assertNull(command.error());
        assertEquals(size, command.chunkSize());
        assertEquals(last, command.lastChunk());
    }

    @ParameterizedTest
    @ValueSource(strings = {"BDAT", "BDAT x", "BDAT -1", "BDAT 1 FIRST", "BDAT 1 LAST x", "BDAT 1x", "BDAT 1  LAST",
        "BDAT 1000000000000000000", "BDAT 99999999999999999999999", "BDAT LAST", "BDAT  1"})
    void malformedBdatIs501(String line) {
        assertSame(Replies.BDAT_SYNTAX, error(line));
    }

    /** RFC 3030 2: the chunk follows a refused BDAT too, so a readable size is kept for the session to skip it. */
    @ParameterizedTest
    @ValueSource(strings = {"BDAT 1 FIRST", "BDAT 1 LAST x", "BDAT 1  LAST", "bdat 1 LASTX"})
    void malformedBdatKeepsAReadableSize(String line) {
        Command command = parse(line);
        assertSame(Replies.BDAT_SYNTAX, command.error());
        assertEquals(1, command.chunkSize());
        assertFalse(command.lastChunk());
    }

    @ParameterizedTest
    @ValueSource(strings = {"VRFY", "EXPN", "VRFY  ", "EXPN "})
    void vrfyAndExpnNeedAnArgument(String line) {
        assertSame(Replies.ARGUMENT_REQUIRED, error(line));
    }

    // ---- line framing and hostile input ----

    static Stream<Arguments> hostileLines() {
        return Stream.of(
            Arguments.of("QUIT\rRSET", Replies.BARE_NEWLINE_IN_COMMAND),
            Arguments.of("QUIT\nRSET", Replies.BARE_NEWLINE_IN_COMMAND),
            Arguments.of("\n", Replies.BARE_NEWLINE_IN_COMMAND),
            Arguments.of("\r", Replies.BARE_NEWLINE_IN_COMMAND),
            Arguments.of("\n\r", Replies.BARE_NEWLINE_IN_COMMAND),
            Arguments.of("DATA\n.\n", Replies.BARE_NEWLINE_IN_COMMAND),
            Arguments.of("MAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>", Replies.BARE_NEWLINE_IN_COMMAND),
            Arguments.of("EHLO a\u0000", Replies.CONTROL_CHARACTER),
            Arguments.of("MAIL FROM:<\"a\u0001\"@b.example>", Replies.CONTROL_CHARACTER),
            Arguments.of("\u0000", Replies.CONTROL_CHARACTER),
            Arguments.of("NOOP \u0000", Replies.CONTROL_CHARACTER),
            Arguments.of("MAIL FROM:<a\u0000@b.example>", Replies.CONTROL_CHARACTER),
            Arguments.of("RCPT TO:<a@b.example>\u001b[31m", Replies.CONTROL_CHARACTER),
            Arguments.of("HELO a\tb", Replies.CONTROL_CHARACTER),
            Arguments.of("NOOP \u007f", Replies.CONTROL_CHARACTER),
            Arguments.of("QUIT\u0000\n", Replies.BARE_NEWLINE_IN_COMMAND),
            Arguments.of("\u00c5HLO x", Replies.COMMAND_UNRECOGNIZED),
            Arguments.of("EHLO \u00ff\u00fe", Replies.BAD_HELO_HOSTNAME),
            Arguments.of("\u0080\u0081\u0082\u0083 x", Replies.COMMAND_UNRECOGNIZED),
            Arguments.of("GET / HTTP/1.1", Replies.HTTP_NOT_SERVED),
            Arguments.of("POST / HTTP/1.1", Replies.HTTP_NOT_SERVED));
    }

    @ParameterizedTest
    @MethodSource("hostileLines")
    void hostileLinesGetTheirReply(String line, Reply expected) {
        assertSame(expected, error(line), () -> "line " + line.replace("\r", "\\r").replace("\n", "\\n"));
    }

    @ParameterizedTest
    @ValueSource(ints = {509, 510, 511, 512})
    void linesUpToTheLimitAreParsed(int octets) {
        byte[] wire = Wire.octets("NOOP " + "x".repeat(octets - 7) + "\r\n");
        assertEquals(octets, wire.length);
        Command command = parse(wire, 512);
        assertNull(command.error());
        assertEquals(Verb.NOOP, command.verb());
    }

    @ParameterizedTest
    @ValueSource(ints = {513, 514, 600, 5000})
    void linesOverTheLimitAreDiscardedAndAnsweredOnce(int octets) {
        byte[] wire = Wire.octets("NOOP " + "x".repeat(octets - 7) + "\r\nQUIT\r\n");
        List<String> results = Wire.parseAll(512, wire);
        assertEquals(List.of("Command{UNKNOWN error=500 5.5.2 Line too long}", "Command{QUIT}"), results);
    }

    @Test
    void overLongLineIsConsumedWithoutBeingBuffered() {
        CommandParser parser = new CommandParser(16);
        Command command = new Command();
        ByteBuffer in = ByteBuffer.wrap(Wire.octets("NOOP 0123456789abcdef"));
        assertFalse(parser.parse(in, command));
        assertEquals(in.limit(), in.position(), "everything discarded was consumed");
        in = ByteBuffer.wrap(Wire.octets("more junk\r"));
        assertFalse(parser.parse(in, command));
        assertEquals(in.limit(), in.position());
        in = ByteBuffer.wrap(Wire.octets("\nQUIT\r\n"));
        assertTrue(parser.parse(in, command));
        assertSame(Replies.LINE_TOO_LONG, command.error());
        assertEquals(1, in.position(), "stops just after the LF ending the long line");
        assertTrue(parser.parse(in, command));
        assertEquals(Verb.QUIT, command.verb());
        assertNull(command.error());
    }

    @Test
    void crAtTheLimitFollowedByLfIsOneOctetTooMany() {
        // 16-octet limit: 15 octets then CR LF is 17 octets.
        List<String> results = Wire.parseAll(16, Wire.octets("NOOP 0123456789\r\nQUIT\r\n"));
        assertEquals(List.of("Command{UNKNOWN error=500 5.5.2 Line too long}", "Command{QUIT}"), results);
        List<String> exact = Wire.parseAll(16, Wire.octets("NOOP 012345678\r\nQUIT\r\n"));
        assertEquals(List.of("Command{NOOP arg}", "Command{QUIT}"), exact);
    }

    @Test
    void incompleteLineLeavesPositionUnchanged() {
        CommandParser parser = new CommandParser();
        Command command = new Command();
        ByteBuffer in = ByteBuffer.wrap(Wire.octets("xxMAIL FROM:<a@b.example>\r"));
        in.position(2);
        assertFalse(parser.parse(in, command));
        assertEquals(2, in.position());
    }

    @Test
    void resetForgetsADiscardInProgress() {
        CommandParser parser = new CommandParser(16);
        Command command = new Command();
        assertFalse(parser.parse(ByteBuffer.wrap(Wire.octets("NOOP 0123456789abcdef")), command));
        parser.reset();
        ByteBuffer in = ByteBuffer.wrap(Wire.octets("EHLO a\r\n"));
        assertTrue(parser.parse(in, command));
        assertEquals(Verb.EHLO, command.verb());
        assertNull(command.error());
    }

    @Test
    void commandIsFullyOverwrittenByTheNextLine() {
        CommandParser parser = new CommandParser();
        Command command = new Command();
        ByteBuffer in = ByteBuffer.wrap(Wire.octets("MAIL FROM:<a@b.example> SIZE=5 BODY=8BITMIME SMTPUTF8\r\nBDAT 5 LAST\r\nRSET\r\n"));
        assertTrue(parser.parse(in, command));
        assertEquals(5, command.size());
        assertTrue(parser.parse(in, command));
        assertNull(command.path());
        assertEquals(-1, command.size());
        assertEquals(Body.NONE, command.body());
        assertFalse(command.smtpUtf8());
        assertTrue(command.lastChunk());
        assertTrue(parser.parse(in, command));
        assertEquals("Command{RSET}", command.toString());
    }

    @Test
    void maxLineOctetsBelowMinimumIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new CommandParser(5));
        assertEquals(512, new CommandParser().maxLineOctets());
    }

    // ---- every split point ----

    static Stream<String> sessions() {
        return Stream.of(
            "EHLO client.example\r\nMAIL FROM:<a@b.example> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<c@d.example>\r\n"
                + "RCPT TO:<Postmaster>\r\nDATA\r\nQUIT\r\n",
            "BDAT 10 LAST\r\nbad\nline\r\nNOOP\u0000\r\n\r\n\r\r\n\n\r\nRSET\r\n",
            "NOOP " + "y".repeat(40) + "\r\nHELO " + "z".repeat(30) + "\r\nGET / HTTP/1.1\r\n",
            "VRFY x\r\n\r\r\r\nEXPN\r\nSTARTTLS\r\n");
    }

    @ParameterizedTest
    @MethodSource("sessions")
    void everyTwoAndThreePieceSplitGivesTheSameCommands(String session) {
        byte[] wire = Wire.octets(session);
        List<String> whole = Wire.parseAll(32, wire);
        assertTrue(whole.size() >= 3, whole::toString);
        for (int i = 0; i <= wire.length; i++) {
            assertEquals(whole, Wire.parseAll(32, wire, i), "split at " + i);
            for (int j = i; j <= wire.length; j += 3) {
                assertEquals(whole, Wire.parseAll(32, wire, i, j), "split at " + i + "," + j);
            }
        }
    }

    @Test
    void oneOctetAtATimeGivesTheSameCommands() {
        String session = sessions().findFirst().orElseThrow();
        byte[] wire = Wire.octets(session + "NOOP " + "n".repeat(600) + "\r\nQUIT\r\n");
        int[] everyOctet = new int[wire.length - 1];
        for (int i = 0; i < everyOctet.length; i++) {
            everyOctet[i] = i + 1;
        }
        List<String> whole = Wire.parseAll(512, wire);
        assertEquals("Command{UNKNOWN error=500 5.5.2 Line too long}", whole.get(whole.size() - 2));
        assertEquals(whole, Wire.parseAll(512, wire, everyOctet));
    }

    // ---- allocation ----

    @Test
    void repeatedPathsAndHeloNamesReuseTheImmutableValue() {
        CommandParser parser = new CommandParser();
        Command command = new Command();
        ByteBuffer in = ByteBuffer.wrap(Wire.octets("MAIL FROM:<a@B.example>\r\nMAIL FROM:<a@b.example>\r\n"
                + "MAIL FROM:<c@b.example>\r\nRCPT TO:<a@b.example>\r\nEHLO x.example\r\nEHLO x.example\r\n"));
        assertTrue(parser.parse(in, command));
        MailPath first = command.path();
        assertTrue(parser.parse(in, command));
        assertSame(first, command.path(), "same path after lower-casing the domain");
        assertTrue(parser.parse(in, command));
        assertEquals("c@b.example", command.path().address());
        assertTrue(parser.parse(in, command));
        assertEquals("a@b.example", command.path().address());
        assertFalse(first == command.path(), "forward paths are remembered apart from reverse paths");
        assertTrue(parser.parse(in, command));
        String name = command.domain();
        assertTrue(parser.parse(in, command));
        assertSame(name, command.domain());
    }

    @Test
    void repeatedSessionsAllocateNothing() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        CommandParser parser = new CommandParser();
        Command command = new Command();
        ByteBuffer in = ByteBuffer.allocateDirect(256);
        in.put(Wire.octets("EHLO c.example\r\nMAIL FROM:<a@b.example> SIZE=100 BODY=8BITMIME\r\n"
                + "RCPT TO:<u@d.example>\r\nDATA\r\nQUIT\r\n")).flip();
        int rounds = 100_000;
        long checksum = 0;
        for (int pass = 0; pass < 2; pass++) {
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < rounds; i++) {
                in.position(0);
                while (parser.parse(in, command)) {
                    checksum += command.verb().ordinal();
                }
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            if (pass == 1) {
                assertTrue(allocated < rounds / 100, "allocated " + allocated + " bytes for " + rounds + " sessions");
            }
        }
        assertTrue(checksum > 0);
    }

    @Test
    void parsingVerbsWithoutArgumentsAllocatesNothing() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        CommandParser parser = new CommandParser();
        Command command = new Command();
        ByteBuffer in = ByteBuffer.allocateDirect(64);
        in.put(Wire.octets("RSET\r\nNOOP\r\nDATA\r\nQUIT\r\nBDAT 100 LAST\r\n")).flip();
        int rounds = 200_000;
        long checksum = 0;
        // The least of several measured rounds: a one-off allocation by the runtime (a JIT
        // deoptimisation, an instrumentation hook) lands in one round, per-command garbage in all.
        long least = Long.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < rounds; i++) {
                in.position(0);
                while (parser.parse(in, command)) {
                    checksum += command.verb().ordinal();
                }
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            if (round > 0) {
                least = Math.min(least, allocated);
            }
        }
        assertTrue(least < rounds / 100, "allocated " + least + " bytes for " + rounds * 5 + " commands");
        assertTrue(checksum > 0);
    }
}
