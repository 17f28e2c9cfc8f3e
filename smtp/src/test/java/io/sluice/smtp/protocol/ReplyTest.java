package io.sluice.smtp.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class ReplyTest {

    static Stream<String> constantNames() {
        return Arrays.stream(Replies.class.getFields())
                .filter(f -> Modifier.isStatic(f.getModifiers()) && f.getType() == Reply.class)
                .map(Field::getName);
    }

    static Reply constant(String name) throws ReflectiveOperationException {
        return (Reply) Replies.class.getField(name).get(null);
    }

    @ParameterizedTest
    @MethodSource("constantNames")
    void everyConstantIsOneWellFormedLine(String name) throws ReflectiveOperationException {
        Reply reply = constant(name);
        String wire = new String(reply.bytes(), StandardCharsets.US_ASCII);
        assertTrue(wire.endsWith("\r\n"));
        assertEquals(wire.indexOf('\r'), wire.length() - 2, "exactly one CR");
        assertEquals(wire.indexOf('\n'), wire.length() - 1, "exactly one LF");
        String expected = reply.code() + " " + (reply.enhanced() == null ? "" : reply.enhanced() + " ") + reply.text() + "\r\n";
        assertEquals(expected, wire);
        assertEquals(wire.length(), reply.length());
        assertEquals(wire.substring(0, wire.length() - 2), reply.toString());
        assertEquals(reply.code() >= 500, reply.isPermanent());
        assertEquals(reply.code() >= 400 && reply.code() < 500, reply.isTransient());
        if (reply.code() / 100 != 3) { // 3xx (354, SASL 334) carry no enhanced code (RFC 3463 applies to 2xx, 4xx, 5xx)
            assertEquals(String.valueOf(reply.code() / 100), reply.enhanced().substring(0, 1), "RFC 3463 class matches");
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "BYE|221|2.0.0|Bye",
        "OK|250|2.0.0|Ok",
        "MAIL_OK|250|2.1.0|Ok",
        "RCPT_OK|250|2.1.5|Ok",
        "START_DATA|354||End data with <CR><LF>.<CR><LF>",
        "CANNOT_VRFY|252|2.5.0|Cannot VRFY user, but will accept message",
        "EXPN_NOT_SUPPORTED|502|5.5.1|EXPN not supported",
        "BAD_SEQUENCE|503|5.5.1|Bad sequence of commands",
        "NEED_MAIL|503|5.5.1|Error: need MAIL command",
        "NEED_RCPT|503|5.5.1|Error: need RCPT command",
        "NESTED_MAIL|503|5.5.1|Error: nested MAIL command",
        "COMMAND_UNRECOGNIZED|500|5.5.1|Command unrecognized",
        "LINE_TOO_LONG|500|5.5.2|Line too long",
        "BARE_NEWLINE_IN_COMMAND|500|5.5.2|Syntax error: bare CR or LF",
        "CONTROL_CHARACTER|501|5.5.2|Syntax error: control character in command",
        "SYNTAX_ERROR_PARAMETERS|501|5.5.4|Syntax error in parameters or arguments",
        "EHLO_SYNTAX|501|5.5.4|Syntax: EHLO hostname",
        "HELO_SYNTAX|501|5.5.4|Syntax: HELO hostname",
        "BAD_SENDER_ADDRESS|501|5.1.7|Bad sender address syntax",
        "BAD_RECIPIENT_ADDRESS|501|5.1.3|Bad recipient address syntax",
        "UNSUPPORTED_PARAMETER|555|5.5.4|Unsupported parameter",
        "MESSAGE_TOO_LARGE|552|5.3.4|Message size exceeds fixed limit",
        "TOO_MANY_RECIPIENTS|452|4.5.3|Too many recipients",
        "BARE_NEWLINE_IN_DATA|550|5.6.0|Message contains bare CR or LF",
        "DATA_LINE_TOO_LONG|500|5.5.2|Line too long in message data",
        "RELAY_DENIED|550|5.7.1|Relay access denied",
        "TIMEOUT|421|4.4.2|Timeout exceeded - closing connection",
        "TOO_MANY_ERRORS|421|4.7.0|Too many errors",
        "TOO_MANY_CONNECTIONS|421|4.7.0|Too many connections",
        "SHUTTING_DOWN|421|4.3.2|Service shutting down",
        "CONNECTION_RATE|421|4.7.0|Too many connections per minute, try again later",
        "MESSAGE_RATE|421|4.7.0|Too many messages per minute, try again later",
        "INSUFFICIENT_STORAGE|452|4.3.1|Insufficient system storage",
        "LOCAL_ERROR|451|4.3.0|Local error in processing",
        "SMTPUTF8_REQUIRED|553|5.6.7|SMTPUTF8 required",
        "STARTTLS_REQUIRED|530|5.7.0|Must issue a STARTTLS command first",
        "TLS_NOT_AVAILABLE|454|4.7.0|TLS not available",
        "ALREADY_TLS|554|5.5.1|Already in TLS",
        "AUTH_NOT_AVAILABLE|502|5.5.1|AUTH not available",
        "HTTP_NOT_SERVED|500|5.5.1|HTTP requests not served here",
        "READY_FOR_TLS|220|2.0.0|Ready to start TLS",
    })
    void requiredConstants(String name, int code, String enhanced, String text) throws ReflectiveOperationException {
        Reply reply = constant(name);
        assertEquals(code, reply.code());
        assertEquals(enhanced, reply.enhanced());
        assertEquals(text, reply.text());
    }

    @Test
    void helpIs214() {
        assertEquals(214, Replies.HELP.code());
        assertEquals("2.0.0", Replies.HELP.enhanced());
        assertFalse(Replies.HELP.isPermanent());
    }

    @Test
    void multilineEncodesEhloStyle() {
        Reply ehlo = Reply.multiline(250, "mx.example.com", "PIPELINING", "SIZE 10240000", "8BITMIME");
        assertEquals("250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n",
                new String(ehlo.bytes(), StandardCharsets.US_ASCII));
        assertEquals(250, ehlo.code());
        assertNull(ehlo.enhanced());
        assertEquals("mx.example.com\nPIPELINING\nSIZE 10240000\n8BITMIME", ehlo.text());
        assertEquals("250 only\r\n", new String(Reply.multiline(250, "only").bytes(), StandardCharsets.US_ASCII));
    }

    @Test
    void writeToCopiesTheEncodedBytes() {
        ByteBuffer out = ByteBuffer.allocate(64);
        Replies.OK.writeTo(out);
        out.flip();
        byte[] written = new byte[out.remaining()];
        out.get(written);
        assertArrayEquals("250 2.0.0 Ok\r\n".getBytes(StandardCharsets.US_ASCII), written);
    }

    @Test
    void invalidRepliesAreRefusedAtBuildTime() {
        assertThrows(IllegalArgumentException.class, () -> Reply.of(199, null, "x"));
        assertThrows(IllegalArgumentException.class, () -> Reply.of(600, null, "x"));
        assertThrows(IllegalArgumentException.class, () -> Reply.of(550, "4.1.1", "class mismatch"));
        assertThrows(IllegalArgumentException.class, () -> Reply.of(354, "3.0.0", "no class 3"));
        assertThrows(IllegalArgumentException.class, () -> Reply.of(550, "5.1", "two parts"));
        assertThrows(IllegalArgumentException.class, () -> Reply.of(550, "5.1234.1", "subject too long"));
        assertThrows(IllegalArgumentException.class, () -> Reply.of(550, "5.x.1", "letters"));
        assertThrows(IllegalArgumentException.class, () -> Reply.of(550, "5.1.1", "injected\r\n250 Ok"));
        assertThrows(IllegalArgumentException.class, () -> Reply.of(550, "5.1.1", "bare\nLF"));
        assertThrows(IllegalArgumentException.class, () -> Reply.of(550, "5.1.1", "caf\u00e9"));
        assertThrows(IllegalArgumentException.class, () -> Reply.of(550, "5.1.1", ""));
        assertThrows(IllegalArgumentException.class, () -> Reply.multiline(250));
        assertThrows(IllegalArgumentException.class, () -> Reply.multiline(250, "ok", "bad\r\n"));
    }

    @Test
    void configTimeRepliesWork() {
        Reply greeting = Reply.of(220, null, "mx.example.com ESMTP Sluice");
        assertEquals("220 mx.example.com ESMTP Sluice\r\n", new String(greeting.bytes(), StandardCharsets.US_ASCII));
        assertFalse(greeting.isPermanent());
        assertFalse(greeting.isTransient());
        assertTrue(Replies.TIMEOUT.isTransient());
        assertTrue(Replies.RELAY_DENIED.isPermanent());
    }
}
