package io.sluice.smtp.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;

import io.sluice.smtp.config.ConfigException;

/**
 * The user name and password the outbound client authenticates with to one destination (RFC
 * 4954), read once from a {@code delivery.auth.<destination>} file of one {@code username:password}
 * line. Only the encoded SASL responses are kept; the password is in no String, and neither
 * {@link #toString()} nor any exception shows it. Equality is identity: one instance per
 * configured destination, so the connection pool never mixes two configured credentials.
 * Immutable; any thread.
 */
public final class SmtpCredentials {
    /** A file larger than this is not one credentials line (and is not read into memory). */
    static final int MAX_FILE_OCTETS = 4096;

    private final String destination;
    private final String username;
    private final byte[] plainResponse;
    private final byte[] loginUsername;
    private final byte[] loginPassword;

    private SmtpCredentials(String destination, String username, byte[] user, byte[] password) {
        this.destination = destination;
        this.username = username;
        Base64.Encoder base64 = Base64.getEncoder();
        byte[] plain = new byte[user.length + password.length + 2]; // RFC 4616: [authzid] NUL authcid NUL passwd
        System.arraycopy(user, 0, plain, 1, user.length);
        System.arraycopy(password, 0, plain, user.length + 2, password.length);
        this.plainResponse = base64.encode(plain);
        this.loginUsername = base64.encode(user);
        this.loginPassword = base64.encode(password);
        Arrays.fill(plain, (byte) 0);
    }

    /**
     * Credentials from code (tests, tools).
     *
     * @throws IllegalArgumentException on an empty name or password, or a name with ':' or a control character
     */
    public static SmtpCredentials of(String destination, String username, String password) {
        String problem = problem(username, password);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        return new SmtpCredentials(destination, username, username.getBytes(StandardCharsets.UTF_8),
                password.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Reads {@code file}: one line {@code username:password} (split at the first ':'; UTF-8; a
     * final line break is allowed).
     *
     * @param key the configuration key that named the file, for the error message
     * @throws ConfigException naming the key and what is wrong with the file, never its content
     */
    public static SmtpCredentials read(String destination, String key, Path file) {
        byte[] octets;
        try {
            if (!Files.isRegularFile(file)) {
                throw ConfigException.badValue(key, file.toString(), "not a readable file");
            }
            if (Files.size(file) > MAX_FILE_OCTETS) {
                throw ConfigException.badValue(key, file.toString(), "file larger than " + MAX_FILE_OCTETS
                        + " octets: expected one line username:password");
            }
            octets = Files.readAllBytes(file);
        } catch (IOException e) {
            throw ConfigException.badValue(key, file.toString(), "cannot read the file (" + e.getClass().getSimpleName() + ")");
        }
        try {
            return parse(destination, key, file, octets);
        } finally {
            Arrays.fill(octets, (byte) 0);
        }
    }

    private static SmtpCredentials parse(String destination, String key, Path file, byte[] octets) {
        int length = octets.length;
        if (length > 0 && octets[length - 1] == '\n') {
            length--;
            if (length > 0 && octets[length - 1] == '\r') {
                length--;
            }
        }
        if (length == 0) {
            throw ConfigException.badValue(key, file.toString(), "the file is empty: expected one line username:password");
        }
        char[] text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(octets, 0, length)).array();
        } catch (CharacterCodingException e) {
            throw ConfigException.badValue(key, file.toString(), "the file is not UTF-8");
        }
        int colon = -1;
        for (int i = 0; i < length; i++) {
            if (octets[i] == '\r' || octets[i] == '\n') {
                throw ConfigException.badValue(key, file.toString(), "more than one line: expected one line username:password");
            }
            if (octets[i] == ':' && colon < 0) {
                colon = i;
            }
        }
        Arrays.fill(text, '\0');
        if (colon < 0) {
            throw ConfigException.badValue(key, file.toString(), "no ':' in the line: expected username:password");
        }
        byte[] user = Arrays.copyOfRange(octets, 0, colon);
        byte[] password = Arrays.copyOfRange(octets, colon + 1, length);
        try {
            String username = new String(user, StandardCharsets.UTF_8);
            String problem = problem(username, password.length == 0 ? "" : "x");
            if (problem == null && hasControl(password)) {
                problem = "the password has a control character";
            }
            if (problem != null) {
                throw ConfigException.badValue(key, file.toString(), problem);
            }
            return new SmtpCredentials(destination, username, user, password);
        } finally {
            Arrays.fill(password, (byte) 0);
        }
    }

    /** What makes a name/password pair unusable, or null; never quotes the password. */
    private static String problem(String username, String password) {
        if (username.isEmpty()) {
            return "the user name (before the first ':') is empty";
        }
        if (password.isEmpty()) {
            return "the password (after the first ':') is empty";
        }
        for (int i = 0; i < username.length(); i++) {
            if (username.charAt(i) < 0x20 || username.charAt(i) == 0x7f) {
                return "the user name has a control character";
            }
        }
        return hasControl(password.getBytes(StandardCharsets.UTF_8)) ? "the password has a control character" : null;
    }

    /** NUL would break PLAIN's framing; CR/LF the one-line file; other controls are surely typos. */
    private static boolean hasControl(byte[] octets) {
        for (byte b : octets) {
            if ((b >= 0 && b < 0x20) || b == 0x7f) {
                return true;
            }
        }
        return false;
    }

    /** The destination these credentials were configured for. */
    public String destination() {
        return destination;
    }

    /** The user name (not secret: it appears in the server's logs anyway). */
    public String username() {
        return username;
    }

    /** Base64 of RFC 4616's {@code NUL authcid NUL passwd} (no authzid). Callers must not modify it. */
    byte[] plainResponse() {
        return plainResponse;
    }

    /** Base64 of the user name, for AUTH LOGIN. Callers must not modify it. */
    byte[] loginUsername() {
        return loginUsername;
    }

    /** Base64 of the password, for AUTH LOGIN. Callers must not modify it. */
    byte[] loginPassword() {
        return loginPassword;
    }

    /** Never the password. */
    @Override
    public String toString() {
        return "SmtpCredentials[destination=" + destination + ", username=" + username + ", password=****]";
    }
}
