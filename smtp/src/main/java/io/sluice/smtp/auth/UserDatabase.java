package io.sluice.smtp.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The users that may authenticate: a file of {@code user:hash} lines ({@code #} comments and
 * blank lines allowed), hashes made by {@code sluice passwd}. Immutable after loading; any thread.
 */
public final class UserDatabase {

    /** Checked against for unknown users, so a wrong name costs as long as a wrong password. */
    private static final String DECOY = PasswordHash.create("decoy".toCharArray(), 10_000);

    private final Map<String, String> hashes;

    private UserDatabase(Map<String, String> hashes) {
        this.hashes = hashes;
    }

    /** Loads {@code file}; an IOException names the file and the line of any bad entry. */
    public static UserDatabase load(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        Map<String, String> hashes = new HashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int colon = line.indexOf(':');
            String where = file + ":" + (i + 1) + ": ";
            if (colon <= 0) {
                throw new IOException(where + "expected user:hash");
            }
            String user = line.substring(0, colon);
            String hash = line.substring(colon + 1);
            try {
                PasswordHash.check(hash);
            } catch (IllegalArgumentException e) {
                throw new IOException(where + "user " + user + ": " + e.getMessage(), e);
            }
            if (hashes.put(user, hash) != null) {
                throw new IOException(where + "user " + user + " appears twice");
            }
        }
        return new UserDatabase(Map.copyOf(hashes));
    }

    /** A database of the given {@code user -> hash} entries (tests, tools). */
    public static UserDatabase of(Map<String, String> hashes) {
        hashes.values().forEach(PasswordHash::check);
        return new UserDatabase(Map.copyOf(hashes));
    }

    /** True when {@code user} exists and {@code password} is theirs. Costs one PBKDF2 either way. */
    public boolean verify(String user, char[] password) {
        String hash = hashes.get(user);
        boolean match = PasswordHash.verify(password, hash != null ? hash : DECOY);
        return hash != null && match;
    }

    public int size() {
        return hashes.size();
    }
}
