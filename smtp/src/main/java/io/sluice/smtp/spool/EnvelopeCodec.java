package io.sluice.smtp.spool;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Binary form of an {@link Envelope} (the BEGIN record's payload): version byte, arrival millis,
 * body type code, flags, then sender, client address, HELO name, protocol as (u16 length, UTF-8),
 * then a u32 recipient count and each recipient the same way. Stateless; any thread.
 *
 * <p>Version 2 (RFC 3461 DSN parameters) appends, after the recipients: u8 RET code, ENVID as a
 * string, u8 flag (1 = per-recipient parameters follow) and then per recipient u8 NOTIFY bits and
 * ORCPT as a string. An envelope without DSN parameters is still written as version 1, byte for
 * byte what older releases wrote (so they can read it after a downgrade), and version 1 decodes
 * to {@link EnvelopeDsn#NONE}: every spool written before DSN support stays readable. Releases
 * before DSN support cannot read version 2; a version newer than this build knows makes recovery
 * quarantine the segment ({@link #version} tells it apart from a malformed envelope).
 */
final class EnvelopeCodec {
    /** Version 1: no DSN parameters. */
    static final int VERSION_1 = 1;
    /** Version 2: version 1 plus the DSN parameters. */
    static final int VERSION_2 = 2;
    static final int MAX_STRING_OCTETS = 0xFFFF;
    static final int MAX_RECIPIENTS = 100_000;
    private static final int FLAG_SMTPUTF8 = 1;

    private EnvelopeCodec() {
    }

    /** Encodes; allocates (once per message, off the per-byte path). */
    static byte[] encode(Envelope e) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(128 + 64 * e.recipients().size());
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            boolean dsn = !e.dsn().isEmpty();
            out.writeByte(dsn ? VERSION_2 : VERSION_1);
            out.writeLong(e.arrivalMillis());
            out.writeByte(e.bodyType().code());
            out.writeByte(e.smtpUtf8() ? FLAG_SMTPUTF8 : 0);
            writeString(out, e.sender());
            writeString(out, e.clientAddress());
            writeString(out, e.heloName());
            writeString(out, e.protocol());
            if (e.recipients().size() > MAX_RECIPIENTS) {
                throw new IllegalArgumentException(
                        "recipients=" + e.recipients().size() + " > MAX_RECIPIENTS=" + MAX_RECIPIENTS);
            }
            out.writeInt(e.recipients().size());
            for (String rcpt : e.recipients()) {
                writeString(out, rcpt);
            }
            if (dsn) {
                writeDsn(out, e.dsn());
            }
        } catch (IOException impossible) {
            throw new UncheckedIOException(impossible);
        }
        return bytes.toByteArray();
    }

    private static void writeDsn(DataOutputStream out, EnvelopeDsn dsn) throws IOException {
        out.writeByte(dsn.ret().code());
        writeString(out, dsn.envelopeId());
        out.writeByte(dsn.recipients().isEmpty() ? 0 : 1);
        for (RecipientDsn r : dsn.recipients()) {
            out.writeByte(r.notifyBits());
            writeString(out, r.originalRecipient());
        }
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        if (utf8.length > MAX_STRING_OCTETS) {
            throw new IllegalArgumentException(
                    "envelope string octets=" + utf8.length + " > MAX_STRING_OCTETS=" + MAX_STRING_OCTETS);
        }
        out.writeShort(utf8.length);
        out.write(utf8);
    }

    /** The version byte of the envelope at the buffer's position (not moved), -1 when it is empty. */
    static int version(ByteBuffer in) {
        return in.hasRemaining() ? in.get(in.position()) & 0xFF : -1;
    }

    /** Decodes the buffer's remaining bytes; IOException if they are not a valid envelope. */
    static Envelope decode(ByteBuffer in) throws IOException {
        try {
            int version = in.get() & 0xFF;
            if (version != VERSION_1 && version != VERSION_2) {
                throw new IOException("envelope version=" + version + " not one of the supported 1, 2");
            }
            long arrival = in.getLong();
            BodyType bodyType = BodyType.ofCode(in.get() & 0xFF);
            boolean smtpUtf8 = (in.get() & FLAG_SMTPUTF8) != 0;
            String sender = readString(in);
            String client = readString(in);
            String helo = readString(in);
            String protocol = readString(in);
            int count = in.getInt();
            if (count < 1 || count > MAX_RECIPIENTS) {
                throw new IOException("envelope recipients=" + count + " outside 1.." + MAX_RECIPIENTS);
            }
            List<String> rcpts = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                rcpts.add(readString(in));
            }
            EnvelopeDsn dsn = version == VERSION_2 ? readDsn(in, count) : EnvelopeDsn.NONE;
            if (in.hasRemaining()) {
                throw new IOException("envelope trailing octets=" + in.remaining());
            }
            return new Envelope(sender, rcpts, client, helo, protocol, arrival, bodyType, smtpUtf8, dsn);
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new IOException("malformed envelope", e);
        }
    }

    private static EnvelopeDsn readDsn(ByteBuffer in, int count) {
        DsnReturn ret = DsnReturn.ofCode(in.get() & 0xFF);
        String envelopeId = readString(in);
        int flag = in.get() & 0xFF;
        if (flag > 1) {
            throw new IllegalArgumentException("envelope DSN flag=" + flag + " > 1");
        }
        List<RecipientDsn> recipients = new ArrayList<>(flag == 0 ? 0 : count);
        for (int i = 0; flag == 1 && i < count; i++) {
            int notify = in.get() & 0xFF;
            recipients.add(new RecipientDsn(notify, readString(in)));
        }
        return new EnvelopeDsn(ret, envelopeId, recipients);
    }

    private static String readString(ByteBuffer in) {
        int len = in.getShort() & 0xFFFF;
        if (len > in.remaining()) {
            throw new BufferUnderflowException();
        }
        String s;
        if (in.hasArray()) {
            s = new String(in.array(), in.arrayOffset() + in.position(), len, StandardCharsets.UTF_8);
        } else {
            byte[] tmp = new byte[len];
            in.get(in.position(), tmp);
            s = new String(tmp, StandardCharsets.UTF_8);
        }
        in.position(in.position() + len);
        return s;
    }
}
