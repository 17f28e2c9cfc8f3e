package io.sluice.smtp.dkim;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * A DKIM verifier for tests (relaxed/relaxed only): checks the {@code index}th DKIM-Signature
 * field of a message against a key record from a function (the "DNS"). It strips the {@code b=}
 * value from the received field itself and selects the signed fields from the received {@code h=},
 * so it checks what a receiver sees, not what the signer meant. Test thread only.
 */
public final class DkimTestVerifier {
    /** The X.509 SubjectPublicKeyInfo prefix of an Ed25519 key (RFC 8410). */
    private static final byte[] ED25519_SPKI = HexFormat.of().parseHex("302a300506032b6570032100");

    private DkimTestVerifier() {
    }

    /** The outcome, with the reason when it is not a pass. */
    public record Result(boolean pass, String reason, Map<String, String> tags) {
    }

    /** Verifies the first (topmost) DKIM-Signature field. */
    public static Result verify(byte[] message, Function<String, String> txt) {
        return verify(message, 0, txt);
    }

    /** Verifies the {@code index}th DKIM-Signature field (0 = topmost). */
    public static Result verify(byte[] message, int index, Function<String, String> txt) {
        HeaderBlock header = HeaderBlock.parse(message, message.length);
        if (header == null) {
            return new Result(false, "unparsable header", Map.of());
        }
        int field = nth(header, "dkim-signature", index);
        if (field < 0) {
            return new Result(false, "no DKIM-Signature #" + index, Map.of());
        }
        Map<String, String> tags = DkimSigner.tags(header.unfoldedValue(field));
        try {
            String problem = check(header, field, tags, txt);
            return new Result(problem == null, problem, tags);
        } catch (GeneralSecurityException | RuntimeException e) {
            return new Result(false, e.toString(), tags);
        }
    }

    private static String check(HeaderBlock header, int field, Map<String, String> tags, Function<String, String> txt)
            throws GeneralSecurityException {
        if (!"1".equals(tags.get("v")) || !"relaxed/relaxed".equals(tags.get("c"))) {
            return "v=" + tags.get("v") + " c=" + tags.get("c");
        }
        byte[] bh = RelaxedCanonicalization.bodyHash(message(header), header.bodyStart(), header.contentLength());
        if (!Arrays.equals(bh, Base64.getDecoder().decode(tags.get("bh")))) {
            return "body hash mismatch: computed " + Base64.getEncoder().encodeToString(bh) + ", bh=" + tags.get("bh");
        }
        List<String> names = new ArrayList<>();
        for (String name : tags.get("h").split(":")) {
            names.add(name.strip().toLowerCase(Locale.ROOT));
        }
        if (!names.contains("from")) {
            return "from not signed";
        }
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        canonicalHeadersExcept(header, names, field, data);
        String raw = new String(message(header), header.start(field), header.end(field) - header.start(field),
                StandardCharsets.ISO_8859_1);
        String stripped = raw.replaceFirst("([;:][ \t\r\n]*b[ \t\r\n]*=)[^;]*", "$1");
        int colon = stripped.indexOf(':');
        RelaxedCanonicalization.headerWithoutCrlf(stripped.substring(0, colon), stripped.substring(colon + 1), data);
        String record = txt.apply(tags.get("s") + "._domainkey." + tags.get("d"));
        if (record == null) {
            return "no key record";
        }
        Map<String, String> key = DkimSigner.tags(record);
        String a = tags.get("a");
        Signature verifier;
        PublicKey publicKey;
        byte[] signed = data.toByteArray();
        byte[] p = Base64.getDecoder().decode(key.get("p"));
        if (a.equals("rsa-sha256") && "rsa".equals(key.getOrDefault("k", "rsa"))) {
            publicKey = KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(p));
            verifier = Signature.getInstance("SHA256withRSA");
        } else if (a.equals("ed25519-sha256") && "ed25519".equals(key.get("k"))) {
            byte[] spki = Arrays.copyOf(ED25519_SPKI, ED25519_SPKI.length + p.length);
            System.arraycopy(p, 0, spki, ED25519_SPKI.length, p.length);
            publicKey = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
            verifier = Signature.getInstance("Ed25519");
            signed = MessageDigest.getInstance("SHA-256").digest(signed);
        } else {
            return "a=" + a + " with k=" + key.get("k");
        }
        verifier.initVerify(publicKey);
        verifier.update(signed);
        return verifier.verify(Base64.getDecoder().decode(tags.get("b"))) ? null : "signature does not verify";
    }

    /** As the signer selects (bottom up, each field once), but never the signature field itself. */
    private static void canonicalHeadersExcept(HeaderBlock header, List<String> names, int self, ByteArrayOutputStream out) {
        boolean[] used = new boolean[header.count()];
        used[self] = true;
        for (String name : names) {
            for (int i = header.count() - 1; i >= 0; i--) {
                if (!used[i] && header.named(i, name)) {
                    used[i] = true;
                    RelaxedCanonicalization.header(header, i, out);
                    break;
                }
            }
        }
    }

    private static byte[] message(HeaderBlock header) {
        return header.bytes();
    }

    private static int nth(HeaderBlock header, String name, int index) {
        int seen = 0;
        for (int i = 0; i < header.count(); i++) {
            if (header.named(i, name) && seen++ == index) {
                return i;
            }
        }
        return -1;
    }
}
