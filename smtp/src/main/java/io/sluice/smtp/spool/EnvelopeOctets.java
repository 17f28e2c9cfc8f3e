package io.sluice.smtp.spool;

/**
 * An upper bound on the size of an envelope's BEGIN record ({@link EnvelopeCodec}'s version 2 form,
 * the larger one), counted part by part as a session takes MAIL and RCPT commands, so that it can
 * refuse the recipient that would make the envelope too large for the spool instead of failing at
 * DATA. Stateless and allocation-free; any thread.
 */
public final class EnvelopeOctets {
    /** The most a BEGIN record's envelope may take: {@link SpoolAppender#begin} refuses more. */
    public static final int MAX_OCTETS = SpoolRecord.MAX_BEGIN_PAYLOAD_BYTES;
    /** Longest client address text counted: IPv6 with a scope id; what is stored is never longer. */
    static final int CLIENT_ADDRESS_OCTETS = 64;
    /** Longest protocol name counted ({@code UTF8SMTPSA} is the longest RFC 3848 / 6531 names). */
    static final int PROTOCOL_OCTETS = 16;
    /** Version, arrival millis, body type, flags, recipient count, RET and the DSN flag. */
    private static final int FIXED_OCTETS = 1 + 8 + 1 + 1 + 4 + 1 + 1;

    private EnvelopeOctets() {
    }

    /** Octets of everything but the recipients, client address and protocol counted at their bounds. */
    public static int beforeRecipients(String sender, String heloName, String envelopeId) {
        return FIXED_OCTETS + stringOctets(sender) + stringOctets(heloName) + stringOctets(envelopeId)
                + 2 + CLIENT_ADDRESS_OCTETS + 2 + PROTOCOL_OCTETS;
    }

    /** Octets one recipient adds: its address, NOTIFY bits and ORCPT ({@code ""} or null when none). */
    public static int ofRecipient(String address, String originalRecipient) {
        return stringOctets(address) + 1 + stringOctets(originalRecipient == null ? "" : originalRecipient);
    }

    /** A string as the codec writes it: u16 length and UTF-8 octets. */
    private static int stringOctets(String s) {
        int octets = 2;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            // A surrogate pair is 4 octets: 2 for each half. An unpaired one encodes as '?' (1 octet), counted 2: a bound.
            octets += c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3;
        }
        return octets;
    }
}
