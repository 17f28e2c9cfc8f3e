package io.sluice.smtp.spool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The envelope's DSN fields on disk, and envelopes written before they existed. */
class EnvelopeCodecDsnTest {
    private static final List<String> RCPTS = List.of("u@y.example", "v@y.example", "w@y.example");

    /**
     * What the release before DSN support wrote for this envelope (version 1: version, arrival,
     * body type, flags, four strings, count, recipients; see theFormerLayoutIsWhatTheHexSays).
     */
    private static final String VERSION_1_HEX = "01" + "000000000000007b" + "01" + "00"
            + "0003" + "612e78" + "0009" + "3139322e302e322e37" + "0006" + "636c69656e74" + "0005" + "45534d5450"
            + "00000002" + "0003" + "622e79" + "0003" + "632e7a";

    @Test
    void anEnvelopeOfTheFormerFormatDecodesWithoutDsn() throws IOException {
        byte[] old = HexFormat.of().parseHex(VERSION_1_HEX);
        Envelope e = EnvelopeCodec.decode(ByteBuffer.wrap(old));
        assertEquals(new Envelope("a.x", List.of("b.y", "c.z"), "192.0.2.7", "client", "ESMTP", 123L,
                BodyType.EIGHT_BIT_MIME, false), e);
        assertSame(EnvelopeDsn.NONE, e.dsn());
        assertEquals(RecipientDsn.NONE, e.dsnOf("b.y"));
        // And an envelope without DSN parameters is still written byte for byte as before.
        assertArrayEquals(old, EnvelopeCodec.encode(e));
    }

    @Test
    void dsnFieldsRoundTrip() throws IOException {
        EnvelopeDsn dsn = new EnvelopeDsn(DsnReturn.FULL, "abc+2B1", List.of(
                new RecipientDsn(RecipientDsn.NOTIFY_NEVER, ""),
                new RecipientDsn(RecipientDsn.NOTIFY_SUCCESS | RecipientDsn.NOTIFY_FAILURE, "rfc822;u@y.example"),
                RecipientDsn.NONE));
        Envelope e = envelope(dsn);
        byte[] encoded = EnvelopeCodec.encode(e);
        assertEquals(EnvelopeCodec.VERSION_2, encoded[0]);
        Envelope back = EnvelopeCodec.decode(ByteBuffer.wrap(encoded));
        assertEquals(e, back);
        assertEquals("rfc822;u@y.example", back.dsnOf("v@y.example").originalRecipient());
        assertEquals(RecipientDsn.NOTIFY_NEVER, back.dsn().recipient(0).notifyBits());
    }

    @Test
    void messageLevelDsnAloneRoundTrips() throws IOException {
        Envelope e = envelope(new EnvelopeDsn(DsnReturn.HEADERS, "", List.of()));
        Envelope back = EnvelopeCodec.decode(ByteBuffer.wrap(EnvelopeCodec.encode(e)));
        assertEquals(e, back);
        assertEquals(RecipientDsn.NONE, back.dsnOf("w@y.example"));
        assertEquals(DsnReturn.HEADERS, back.dsn().ret());
    }

    @Test
    void corruptDsnFieldsAreIoErrors() throws IOException {
        byte[] good = EnvelopeCodec.encode(envelope(new EnvelopeDsn(DsnReturn.FULL, "x",
                List.of(RecipientDsn.NONE, RecipientDsn.NONE, new RecipientDsn(1, "")))));
        byte[] truncated = Arrays.copyOf(good, good.length - 1);
        assertThrows(IOException.class, () -> EnvelopeCodec.decode(ByteBuffer.wrap(truncated)));
        byte[] badNotify = good.clone();
        badNotify[good.length - 3] = 9; // NEVER with SUCCESS
        assertThrows(IOException.class, () -> EnvelopeCodec.decode(ByteBuffer.wrap(badNotify)));
        byte[] trailing = Arrays.copyOf(good, good.length + 1);
        assertThrows(IOException.class, () -> EnvelopeCodec.decode(ByteBuffer.wrap(trailing)));
        byte[] version3 = good.clone();
        version3[0] = 3;
        assertThrows(IOException.class, () -> EnvelopeCodec.decode(ByteBuffer.wrap(version3)));
    }

    @Test
    void theFormerLayoutIsWhatTheHexSays() throws IOException {
        // Guards the captured constant itself: written field by field as the old codec did.
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(1);
            out.writeLong(123L);
            out.writeByte(1);
            out.writeByte(0);
            for (String s : List.of("a.x", "192.0.2.7", "client", "ESMTP")) {
                out.writeShort(s.length());
                out.write(s.getBytes(StandardCharsets.UTF_8));
            }
            out.writeInt(2);
            for (String s : List.of("b.y", "c.z")) {
                out.writeShort(s.length());
                out.write(s.getBytes(StandardCharsets.UTF_8));
            }
        }
        assertEquals(VERSION_1_HEX, HexFormat.of().formatHex(bytes.toByteArray()));
    }

    @Test
    void dsnRecipientsMustMatchTheEnvelope() {
        assertThrows(IllegalArgumentException.class, () -> envelope(new EnvelopeDsn(DsnReturn.NONE, "",
                List.of(RecipientDsn.NONE))));
        assertThrows(IllegalArgumentException.class, () -> new RecipientDsn(RecipientDsn.NOTIFY_NEVER | 1, ""));
    }

    private static Envelope envelope(EnvelopeDsn dsn) {
        return new Envelope("s@x.example", RCPTS, "192.0.2.7", "client", "ESMTP", 5L, BodyType.SEVEN_BIT, false, dsn);
    }
}
