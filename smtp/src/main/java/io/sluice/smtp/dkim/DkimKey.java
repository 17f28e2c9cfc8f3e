package io.sluice.smtp.dkim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.NamedParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.Locale;

/**
 * One signing identity: the domain ({@code d=}), the selector ({@code s=}), the algorithm and the
 * private key, with the public key's DNS record. Loaded from an unencrypted PKCS#8 PEM file (RSA of
 * at least {@link #MIN_RSA_BITS} bits, or Ed25519). Immutable; any thread.
 */
public final class DkimKey {
    /** RFC 8301 §3.2: signers MUST use RSA keys of at least 1024 bits (2048 recommended). */
    public static final int MIN_RSA_BITS = 1024;
    private static final String BEGIN = "-----BEGIN PRIVATE KEY-----";
    private static final String END = "-----END PRIVATE KEY-----";
    /** An Ed25519 public key in X.509 form is this 12-octet prefix and the 32-octet key. */
    private static final int ED25519_SPKI_PREFIX_OCTETS = 12;

    private final String domain;
    private final String selector;
    private final DkimAlgorithm algorithm;
    private final PrivateKey privateKey;
    private final String publicKeyBase64;
    private final int bits;

    private DkimKey(String domain, String selector, DkimAlgorithm algorithm, PrivateKey privateKey,
            String publicKeyBase64, int bits) {
        this.domain = domain.toLowerCase(Locale.ROOT);
        this.selector = selector.toLowerCase(Locale.ROOT);
        this.algorithm = algorithm;
        this.privateKey = privateKey;
        this.publicKeyBase64 = publicKeyBase64;
        this.bits = bits;
    }

    /**
     * Reads a key file. The messages of the exceptions say what is wrong in words and never quote
     * the file's content.
     *
     * @throws IOException              the file cannot be read
     * @throws GeneralSecurityException the file is not an unencrypted PKCS#8 RSA (>= 1024 bits) or Ed25519 key
     */
    public static DkimKey load(String domain, String selector, Path file) throws IOException, GeneralSecurityException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new IOException("no such file");
        } catch (AccessDeniedException e) {
            throw new IOException("permission denied");
        } catch (IOException e) {
            throw new IOException("cannot read (" + e.getClass().getSimpleName() + ")");
        }
        return fromPem(domain, selector, text);
    }

    /** Parses PEM text (see {@link #load}). */
    public static DkimKey fromPem(String domain, String selector, String pem) throws GeneralSecurityException {
        return fromPkcs8(domain, selector, pkcs8Der(pem));
    }

    /** From the DER of a PKCS#8 PrivateKeyInfo (see {@link #load}). */
    public static DkimKey fromPkcs8(String domain, String selector, byte[] der) throws GeneralSecurityException {
        PrivateKey rsa = tryKey("RSA", der);
        if (rsa instanceof RSAPrivateCrtKey crt) {
            int bits = crt.getModulus().bitLength();
            if (bits < MIN_RSA_BITS) {
                throw new GeneralSecurityException("RSA key of " + bits + " bits < MIN=" + MIN_RSA_BITS + " (2048 recommended)");
            }
            PublicKey pub = KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(crt.getModulus(), crt.getPublicExponent()));
            return new DkimKey(domain, selector, DkimAlgorithm.RSA_SHA256, rsa,
                    Base64.getEncoder().encodeToString(pub.getEncoded()), bits);
        }
        if (rsa != null) {
            throw new GeneralSecurityException("RSA key without its public exponent (not a CRT key): cannot publish its record");
        }
        PrivateKey ed = tryKey("Ed25519", der);
        if (ed == null) {
            throw new GeneralSecurityException("not an RSA or Ed25519 key (only rsa-sha256 and ed25519-sha256 are supported)");
        }
        return new DkimKey(domain, selector, DkimAlgorithm.ED25519_SHA256, ed, ed25519PublicKey(der), 256);
    }

    private static PrivateKey tryKey(String algorithm, byte[] der) throws GeneralSecurityException {
        try {
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (InvalidKeySpecException e) {
            return null; // another algorithm's key, or not PKCS#8: the caller says which in its own words
        }
    }

    private static byte[] pkcs8Der(String pem) throws GeneralSecurityException {
        if (pem.contains("-----BEGIN RSA PRIVATE KEY-----")) {
            throw new GeneralSecurityException("PKCS#1 (BEGIN RSA PRIVATE KEY), expected PKCS#8 (BEGIN PRIVATE KEY):"
                    + " convert with openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW");
        }
        if (pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
            throw new GeneralSecurityException("an encrypted key (BEGIN ENCRYPTED PRIVATE KEY), expected an unencrypted PKCS#8 key");
        }
        int begin = pem.indexOf(BEGIN);
        int end = pem.indexOf(END);
        if (begin < 0 || end < begin) {
            throw new GeneralSecurityException("no PEM block BEGIN PRIVATE KEY ... END PRIVATE KEY (PKCS#8)");
        }
        try {
            return Base64.getMimeDecoder().decode(pem.substring(begin + BEGIN.length(), end));
        } catch (IllegalArgumentException e) {
            throw new GeneralSecurityException("the PEM block is not base64");
        }
    }

    /**
     * The JDK has no call that derives an Ed25519 public key from a private one, but its key pair
     * generator takes the 32-octet seed from the random source it is given: handing it the seed
     * reproduces the pair (RFC 8032 §5.1.5).
     */
    private static String ed25519PublicKey(byte[] pkcs8) throws GeneralSecurityException {
        byte[] seed = ed25519Seed(pkcs8);
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("Ed25519");
            generator.initialize(NamedParameterSpec.ED25519, new SeedSource(seed));
            byte[] spki = generator.generateKeyPair().getPublic().getEncoded();
            return Base64.getEncoder().encodeToString(Arrays.copyOfRange(spki, ED25519_SPKI_PREFIX_OCTETS, spki.length));
        } finally {
            Arrays.fill(seed, (byte) 0);
        }
    }

    /** The seed is the last 32 octets of the PKCS#8 form (an OCTET STRING inside the privateKey OCTET STRING). */
    private static byte[] ed25519Seed(byte[] pkcs8) throws GeneralSecurityException {
        // 30 2e 02 01 00 30 05 06 03 2b 65 70 04 22 04 20 <32>: RFC 8410 §7, without the optional attributes.
        if (pkcs8.length < 48 || pkcs8[14] != 0x04 || pkcs8[15] != 0x20) {
            throw new GeneralSecurityException("an Ed25519 key in a PKCS#8 form other than RFC 8410's plain one");
        }
        return Arrays.copyOfRange(pkcs8, 16, 48);
    }

    /** Returns the given seed as its "random" octets (see {@link #ed25519PublicKey}). */
    private static final class SeedSource extends SecureRandom {
        private static final long serialVersionUID = 1L;
        private final byte[] seed;

        SeedSource(byte[] seed) {
            this.seed = seed;
        }

        @Override
        public void nextBytes(byte[] bytes) {
            if (bytes.length != seed.length) {
                throw new IllegalStateException("Ed25519 asked for " + bytes.length + " random octets, not " + seed.length);
            }
            System.arraycopy(seed, 0, bytes, 0, bytes.length);
        }
    }

    /** The signing domain ({@code d=}), lower case. */
    public String domain() {
        return domain;
    }

    /** The selector ({@code s=}), lower case. */
    public String selector() {
        return selector;
    }

    public DkimAlgorithm algorithm() {
        return algorithm;
    }

    /** RSA modulus bits, or 256 for Ed25519. */
    public int bits() {
        return bits;
    }

    PrivateKey privateKey() {
        return privateKey;
    }

    /** The {@code p=} value: base64 of the X.509 public key (RSA) or of the raw 32-octet key (Ed25519, RFC 8463 §4.2). */
    public String publicKeyBase64() {
        return publicKeyBase64;
    }

    /** The owner name of the key record, {@code selector._domainkey.domain}. */
    public String recordName() {
        return selector + "._domainkey." + domain;
    }

    /** The TXT record's text, {@code v=DKIM1; k=...; p=...} (one string; split as {@link #zoneLine()} does for zone files). */
    public String recordText() {
        return "v=DKIM1; k=" + algorithm.keyType() + "; p=" + publicKeyBase64;
    }

    /** A zone-file line: the TXT text in quoted strings of at most 255 characters each (RFC 1035 §3.3.14). */
    public String zoneLine() {
        String text = recordText();
        StringBuilder out = new StringBuilder(text.length() + 64).append(recordName()).append(". IN TXT (");
        for (int i = 0; i < text.length(); i += 255) {
            out.append(" \"").append(text, i, Math.min(text.length(), i + 255)).append('"');
        }
        return out.append(" )").toString();
    }

    /** Same d=, s=, algorithm and public key: the same signing identity (a reload that found nothing new). */
    boolean sameKeyAs(DkimKey other) {
        return domain.equals(other.domain) && selector.equals(other.selector) && algorithm == other.algorithm
                && publicKeyBase64.equals(other.publicKeyBase64);
    }

    /** Never the key material: domain, selector and algorithm. */
    @Override
    public String toString() {
        return "DkimKey[d=" + domain + ", s=" + selector + ", a=" + algorithm.tag() + ", bits=" + bits + "]";
    }
}
