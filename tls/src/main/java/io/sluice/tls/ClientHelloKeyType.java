package io.sluice.tls;

import java.nio.ByteBuffer;

/**
 * Reads, from the raw first TLS record of a connection, whether the client can take an ECDSA
 * certificate, so a Conscrypt server holding an RSA and an ECDSA certificate can still hand old
 * RSA-only clients the RSA one (Conscrypt shows the key manager no peer signature algorithms,
 * see {@link ConscryptQuirks}). Stateless; reads by absolute index, moves no buffer position and
 * allocates nothing. Any thread.
 */
final class ClientHelloKeyType {

    /** Not a parsable ClientHello (or cut short before the extensions): keep the default choice. */
    static final int UNKNOWN = 0;
    /** The client accepts an ECDSA certificate on a protocol both sides can use. */
    static final int ECDSA = 1;
    /** The client cannot take ECDSA: serve RSA. */
    static final int RSA_ONLY = 2;

    private static final int HANDSHAKE = 22;
    private static final int CLIENT_HELLO = 1;
    private static final int EXT_SIGNATURE_ALGORITHMS = 13;
    private static final int EXT_SUPPORTED_VERSIONS = 43;
    private static final int TLS13 = 0x0304;

    private ClientHelloKeyType() {
    }

    /**
     * @param record         bytes from {@code position()}: at least the first record, ideally whole
     * @param serverAllows13 whether the server may negotiate TLS 1.3
     * @return {@link #ECDSA}, {@link #RSA_ONLY} or {@link #UNKNOWN}
     */
    static int of(ByteBuffer record, boolean serverAllows13) {
        int p = record.position();
        int end = record.limit();
        if (end - p < 9 || u8(record, p) != HANDSHAKE || u8(record, p + 5) != CLIENT_HELLO) {
            return UNKNOWN;
        }
        end = Math.min(end, p + 5 + u16(record, p + 3)); // this record only
        int q = p + 9 + 2 + 32; // record header, handshake header, client_version, random
        if (q >= end) {
            return UNKNOWN;
        }
        q += 1 + u8(record, q); // session_id
        if (q + 2 > end) {
            return UNKNOWN;
        }
        int suitesStart = q + 2;
        int suitesEnd = suitesStart + u16(record, q);
        if (suitesEnd + 1 > end) {
            return UNKNOWN;
        }
        q = suitesEnd + 1 + u8(record, suitesEnd); // compression_methods
        boolean ecdsaSuite = hasEcdsaSuite(record, suitesStart, suitesEnd);
        if (q + 2 > end) {
            // No extensions (an old TLS 1.2 client): RFC 5246 then implies {sha1, ecdsa} for ECDSA suites.
            return q == end ? (ecdsaSuite ? ECDSA : RSA_ONLY) : UNKNOWN;
        }
        int extensionsEnd = Math.min(end, q + 2 + u16(record, q));
        boolean complete = q + 2 + u16(record, q) <= end;
        q += 2;
        int sigalgs = -1; // -1 absent; else 1 when an ECDSA scheme is listed, 0 when not
        boolean offers13 = false;
        while (q + 4 <= extensionsEnd) {
            int type = u16(record, q);
            int length = u16(record, q + 2);
            int data = q + 4;
            if (data + length > extensionsEnd) {
                return UNKNOWN;
            }
            if (type == EXT_SIGNATURE_ALGORITHMS && length >= 2) {
                sigalgs = hasEcdsaScheme(record, data + 2, Math.min(data + length, data + 2 + u16(record, data))) ? 1 : 0;
            } else if (type == EXT_SUPPORTED_VERSIONS && length >= 1) {
                offers13 = lists(record, data + 1, Math.min(data + length, data + 1 + u8(record, data)), TLS13);
            }
            q = data + length;
        }
        if (sigalgs < 0 && !complete) {
            return UNKNOWN; // the extension may be in the part of the hello we did not see
        }
        if (sigalgs == 0) {
            return RSA_ONLY;
        }
        return (offers13 && serverAllows13) || ecdsaSuite ? ECDSA : RSA_ONLY;
    }

    /** ecdsa_secp256r1_sha256, _secp384r1_sha384, _secp521r1_sha512, ecdsa_sha1. */
    private static boolean hasEcdsaScheme(ByteBuffer b, int from, int to) {
        for (int i = from; i + 2 <= to; i += 2) {
            int scheme = u16(b, i);
            if ((scheme & 0xff) == 0x03 && scheme >= 0x0203 && scheme <= 0x0603) {
                return true;
            }
        }
        return false;
    }

    /** TLS 1.2 and older ECDHE_ECDSA (and ECDH_ECDSA) suites: 0xC001-0xC00A, 0xC023/24, 0xC02B/2C, 0xCCA9, 0xC0AC-AF. */
    private static boolean hasEcdsaSuite(ByteBuffer b, int from, int to) {
        for (int i = from; i + 2 <= to; i += 2) {
            int suite = u16(b, i);
            if ((suite >= 0xC001 && suite <= 0xC00A) || suite == 0xC023 || suite == 0xC024 || suite == 0xC02B
                    || suite == 0xC02C || suite == 0xCCA9 || (suite >= 0xC0AC && suite <= 0xC0AF)) {
                return true;
            }
        }
        return false;
    }

    private static boolean lists(ByteBuffer b, int from, int to, int value) {
        for (int i = from; i + 2 <= to; i += 2) {
            if (u16(b, i) == value) {
                return true;
            }
        }
        return false;
    }

    private static int u8(ByteBuffer b, int i) {
        return b.get(i) & 0xff;
    }

    private static int u16(ByteBuffer b, int i) {
        return (b.get(i) & 0xff) << 8 | (b.get(i + 1) & 0xff);
    }
}
