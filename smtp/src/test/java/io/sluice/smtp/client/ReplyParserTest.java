package io.sluice.smtp.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ReplyParserTest {

    private static ByteBuffer ascii(String text) {
        return ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void singleLineReply() {
        ReplyParser parser = new ReplyParser();
        ByteBuffer in = ascii("250 2.0.0 ok\r\n");
        assertEquals(250, parser.parse(in));
        assertEquals(0, in.remaining());
    }

    @Test
    void codeOnlyLine() {
        assertEquals(354, new ReplyParser().parse(ascii("354\r\n")));
    }

    @Test
    void multiLineEhloWithKeywords() {
        ReplyParser parser = new ReplyParser();
        ByteBuffer in = ascii("250-mx.example\r\n250-pipelining\r\n250-SIZE 100\r\n250 STARTTLS\r\n220 next\r\n");
        assertEquals(250, parser.parse(in));
        assertEquals(ReplyParser.PIPELINING | ReplyParser.SIZE | ReplyParser.STARTTLS, parser.keywords());
        assertEquals(100, parser.sizeLimit());
        assertEquals(220, parser.parse(in));
        assertEquals(0, parser.keywords());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "250-mx\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n=768",
        "250-mx\r\n250-auth login plain cram-md5\r\n250 OK\r\n=768",
        "250-mx\r\n250-AUTH=LOGIN\r\n250 OK\r\n=512",
        "250-mx\r\n250-AUTH=PLAIN LOGIN\r\n250 OK\r\n=768",
        "250-mx\r\n250-AUTH CRAM-MD5 XOAUTH2 PLAINX\r\n250 OK\r\n=0",
        "250-mx\r\n250-AUTH\r\n250 OK\r\n=0",
        "250-mx\r\n250-AUTHX PLAIN\r\n250 OK\r\n=0",
        "250-mx\r\n250-X-AUTH PLAIN\r\n250 OK\r\n=0",
    })
    void authMechanisms(String wireAndBits) {
        int eq = wireAndBits.lastIndexOf('=');
        ReplyParser parser = new ReplyParser();
        assertEquals(250, parser.parse(ascii(wireAndBits.substring(0, eq))));
        assertEquals(Integer.parseInt(wireAndBits.substring(eq + 1)),
                parser.keywords() & (ReplyParser.AUTH_PLAIN | ReplyParser.AUTH_LOGIN), wireAndBits);
    }

    @Test
    void keywordMustBeAWholeWord() {
        ReplyParser parser = new ReplyParser();
        assertEquals(250, parser.parse(ascii("250-mx\r\n250-STARTTLSX\r\n250 PIPELININGS\r\n")));
        assertEquals(0, parser.keywords());
    }

    @Test
    void everySplitPointGivesTheSameReplies() {
        String wire = "220 hi\r\n250-a\r\n250-PIPELINING\r\n250 b\r\n451 4.3.0 later\r\n";
        byte[] bytes = wire.getBytes(StandardCharsets.US_ASCII);
        for (int split = 0; split <= bytes.length; split++) {
            ReplyParser parser = new ReplyParser();
            ByteBuffer in = ByteBuffer.allocate(bytes.length);
            in.put(bytes, 0, split).flip();
            StringBuilder codes = new StringBuilder();
            drain(parser, in, codes);
            in.compact().put(bytes, split, bytes.length - split).flip();
            drain(parser, in, codes);
            assertEquals("220,250,451,", codes.toString(), "split=" + split);
            assertEquals(0, in.remaining());
        }
    }

    private static void drain(ReplyParser parser, ByteBuffer in, StringBuilder codes) {
        int code;
        while ((code = parser.parse(in)) > 0) {
            codes.append(code).append(',');
        }
        assertEquals(ReplyParser.NEED_MORE, code);
    }

    @ParameterizedTest
    @ValueSource(strings = {"25 ok\r\n", "2x0 ok\r\n", "650 ok\r\n", "160 ok\r\n", "270 ok\r\n", "250_ok\r\n",
        "250 ok\n", "250 ok\rx", "250-a\r\n251 b\r\n", "abc\r\n", "\r\n"})
    void malformedReplies(String wire) {
        assertEquals(ReplyParser.MALFORMED, new ReplyParser().parse(ascii(wire)));
    }

    @Test
    void overLongLineIsMalformedEvenWithoutCrlf() {
        ReplyParser parser = new ReplyParser();
        assertEquals(ReplyParser.NEED_MORE, parser.parse(ascii("250 " + "x".repeat(100))));
        assertEquals(ReplyParser.MALFORMED, parser.parse(ascii("250 " + "x".repeat(ReplyParser.MAX_LINE_BYTES))));
    }

    @Test
    void capabilitiesSizeAndTextOfAnEhloReply() {
        ReplyParser parser = new ReplyParser();
        ByteBuffer in = ascii("250-mx.example\r\n250-size 1000\r\n250-8bitmime\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n"
                + "250 ENHANCEDSTATUSCODES\r\n");
        assertEquals(250, parser.parse(in));
        assertEquals(ReplyParser.SIZE | ReplyParser.EIGHT_BIT_MIME | ReplyParser.SMTPUTF8 | ReplyParser.CHUNKING
                | ReplyParser.ENHANCED_STATUS_CODES, parser.keywords());
        assertEquals(1000, parser.sizeLimit());
        assertEquals("mx.example size 1000 8bitmime SMTPUTF8 CHUNKING ENHANCEDSTATUSCODES", parser.text());
    }

    @Test
    void textOfAFailureJoinsItsLines() {
        ReplyParser parser = new ReplyParser();
        assertEquals(550, parser.parse(ascii("550-5.1.1 no such\r\n550 5.1.1 user\r\n")));
        assertEquals("5.1.1 no such 5.1.1 user", parser.text());
        assertEquals(0, parser.keywords());
    }
}
