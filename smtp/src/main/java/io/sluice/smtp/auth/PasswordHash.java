package io.sluice.smtp.auth;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.spec.KeySpec;
import java.util.Base64;

import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * Password hashes in the form {@code $pbkdf2-sha256$ITERATIONS$SALT$HASH} (salt and hash in
 * base64 without padding): PBKDF2 with HMAC-SHA256 from the JDK, so no native library is needed.
 * Verification costs what the stored iteration count says; keep it off event loops. Thread-safe.
 */
public final class PasswordHash {

    static final String PREFIX = "$pbkdf2-sha256$";
    /** OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256. */
    public static final int DEFAULT_ITERATIONS = 600_000;
    private static final int SALT_OCTETS = 16;
    private static final int HASH_BITS = 256;
    private static final int MIN_ITERATIONS = 10_000;
    private static final SecureRandom RANDOM = new SecureRandom();

    private PasswordHash() {
    }

    /** A new hash of {@code password} with a random salt. */
    public static String create(char[] password, int iterations) {
        if (iterations < MIN_ITERATIONS) {
            throw new IllegalArgumentException("iterations=" + iterations + " < MIN=" + MIN_ITERATIONS);
        }
        byte[] salt = new byte[SALT_OCTETS];
        RANDOM.nextBytes(salt);
        Base64.Encoder b64 = Base64.getEncoder().withoutPadding();
        return PREFIX + iterations + "$" + b64.encodeToString(salt) + "$" + b64.encodeToString(derive(password, salt, iterations));
    }

    /** True when {@code password} matches {@code encoded}; compares in constant time. */
    public static boolean verify(char[] password, String encoded) {
        Parsed parsed = parse(encoded);
        return MessageDigest.isEqual(parsed.hash, derive(password, parsed.salt, parsed.iterations));
    }

    /** Throws {@link IllegalArgumentException} saying what is wrong when {@code encoded} is not one of ours. */
    public static void check(String encoded) {
        parse(encoded);
    }

    private static Parsed parse(String encoded) {
        if (!encoded.startsWith(PREFIX)) {
            throw new IllegalArgumentException("not a " + PREFIX + " hash (make one with: sluice passwd USER)");
        }
        String[] parts = encoded.substring(PREFIX.length()).split("\\$", -1);
        if (parts.length != 3) {
            throw new IllegalArgumentException("expected " + PREFIX + "ITERATIONS$SALT$HASH");
        }
        try {
            int iterations = Integer.parseInt(parts[0]);
            if (iterations < MIN_ITERATIONS) {
                throw new IllegalArgumentException("iterations=" + iterations + " < MIN=" + MIN_ITERATIONS);
            }
            Base64.Decoder b64 = Base64.getDecoder();
            byte[] hash = b64.decode(parts[2]);
            if (hash.length != HASH_BITS / 8) {
                throw new IllegalArgumentException("hash length=" + hash.length + " != " + HASH_BITS / 8);
            }
            return new Parsed(iterations, b64.decode(parts[1]), hash);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad iteration count " + parts[0]);
        }
    }

    private static byte[] derive(char[] password, byte[] salt, int iterations) {
        KeySpec spec = new PBEKeySpec(password, salt, iterations, HASH_BITS);
        try {
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PBKDF2WithHmacSHA256 unavailable in this JDK", e);
        } finally {
            ((PBEKeySpec) spec).clearPassword();
        }
    }

    /** Only ever read field by field; never compared or printed. */
    private record Parsed(int iterations, byte[] salt, byte[] hash) {
    }
}
