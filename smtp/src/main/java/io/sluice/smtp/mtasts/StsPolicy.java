package io.sluice.smtp.mtasts;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A parsed MTA-STS policy (RFC 8461 §3.2): mode, the MX host patterns ({@code mx.example.com}
 * or {@code *.example.com}, a wildcard standing for exactly one leftmost label) and the lifetime.
 * Immutable; any thread.
 *
 * @param mode          what to do with MX hosts and certificates
 * @param mxPatterns    lower-case patterns without a trailing dot, in policy order
 * @param maxAgeSeconds how long the policy may be cached, 0 to {@link #MAX_AGE_SECONDS}
 */
public record StsPolicy(StsMode mode, List<String> mxPatterns, long maxAgeSeconds) {
    /** The largest {@code max_age} (about one year). */
    public static final long MAX_AGE_SECONDS = 31_557_600;
    /** The largest policy body (RFC 8461 §3.3). */
    public static final int MAX_BODY_OCTETS = 64 * 1024;
    /**
     * Most {@code mx} lines a policy may hold; more make it invalid. RFC 8461 sets no limit, but
     * real policies list a handful, and with patterns of at most 255 characters this bounds one
     * cached policy to about 20 KiB (the cache keeps up to {@link MtaStsPolicies#MAX_DOMAINS}).
     */
    public static final int MAX_MX_PATTERNS = 64;
    private static final int MAX_AGE_DIGITS = 10;

    /** Copies the patterns. */
    public StsPolicy {
        mxPatterns = List.copyOf(mxPatterns);
    }

    /**
     * Parses a policy body: lines {@code key: value} ending in LF or CRLF; {@code version: STSv1},
     * {@code mode} and {@code max_age} exactly once each, {@code mx} at least once unless the mode
     * is {@code none} and at most {@link #MAX_MX_PATTERNS} times; extension keys ignored.
     *
     * @throws InvalidPolicyException naming the first rule broken
     */
    public static StsPolicy parse(String body) throws InvalidPolicyException {
        String version = null;
        StsMode mode = null;
        long maxAge = -1;
        List<String> mx = new ArrayList<>();
        String[] lines = body.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
            if (line.isEmpty() && i == lines.length - 1) {
                break; // the optional final line end
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new InvalidPolicyException("line " + (i + 1) + " is not key: value");
            }
            String key = line.substring(0, colon);
            String value = StsTxtRecord.stripWsp(line.substring(colon + 1));
            switch (key) {
                case "version" -> version = once(key, version, value);
                case "mode" -> mode = parseMode(once(key, mode == null ? null : "", value));
                case "max_age" -> maxAge = parseMaxAge(once(key, maxAge < 0 ? null : "", value));
                case "mx" -> mx.add(parsePattern(checkMxCount(mx.size(), value)));
                default -> checkExtensionName(key);
            }
        }
        if (!"STSv1".equals(version)) {
            throw new InvalidPolicyException(version == null ? "no version" : "version=" + version + " is not STSv1");
        }
        if (mode == null) {
            throw new InvalidPolicyException("no mode");
        }
        if (maxAge < 0) {
            throw new InvalidPolicyException("no max_age");
        }
        if (mx.isEmpty() && mode != StsMode.NONE) {
            throw new InvalidPolicyException("no mx in mode " + mode.name().toLowerCase(Locale.ROOT));
        }
        return new StsPolicy(mode, mx, maxAge);
    }

    /** Whether an MX host name matches a pattern of the policy (RFC 8461 §4.1). */
    public boolean allows(String mxHost) {
        String host = canonical(mxHost);
        for (String pattern : mxPatterns) {
            if (matches(pattern, host)) {
                return true;
            }
        }
        return false;
    }

    static boolean matches(String pattern, String host) {
        if (!pattern.startsWith("*.")) {
            return pattern.equals(host);
        }
        int dot = host.indexOf('.');
        return dot > 0 && host.substring(dot + 1).equals(pattern.substring(2));
    }

    private static String canonical(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
    }

    private static String once(String key, Object seen, String value) throws InvalidPolicyException {
        if (seen != null) {
            throw new InvalidPolicyException(key + " appears twice");
        }
        return value;
    }

    private static StsMode parseMode(String value) throws InvalidPolicyException {
        return switch (value) {
            case "enforce" -> StsMode.ENFORCE;
            case "testing" -> StsMode.TESTING;
            case "none" -> StsMode.NONE;
            default -> throw new InvalidPolicyException("mode=" + value + " is not enforce|testing|none");
        };
    }

    private static long parseMaxAge(String value) throws InvalidPolicyException {
        if (value.isEmpty() || value.length() > MAX_AGE_DIGITS || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new InvalidPolicyException("max_age=" + value + " is not 1 to 10 digits");
        }
        long seconds = Long.parseLong(value);
        if (seconds > MAX_AGE_SECONDS) {
            throw new InvalidPolicyException("max_age=" + seconds + " > MAX_AGE_SECONDS=" + MAX_AGE_SECONDS);
        }
        return seconds;
    }

    /** The value of one more mx line, unless the policy already has {@link #MAX_MX_PATTERNS}. */
    private static String checkMxCount(int patternsSoFar, String value) throws InvalidPolicyException {
        if (patternsSoFar >= MAX_MX_PATTERNS) {
            throw new InvalidPolicyException("more than MAX_MX_PATTERNS=" + MAX_MX_PATTERNS + " mx lines");
        }
        return value;
    }

    /** {@code ["*."] Domain}: labels of letters, digits and inner hyphens, at most 63 octets each. */
    private static String parsePattern(String value) throws InvalidPolicyException {
        String pattern = canonical(value);
        String domain = pattern.startsWith("*.") ? pattern.substring(2) : pattern;
        if (domain.isEmpty() || domain.length() > 253) {
            throw new InvalidPolicyException("mx=" + value + " is not a domain pattern");
        }
        for (String label : domain.split("\\.", -1)) {
            if (!validLabel(label)) {
                throw new InvalidPolicyException("mx=" + value + " is not a domain pattern");
            }
        }
        return pattern;
    }

    private static boolean validLabel(String label) {
        if (label.isEmpty() || label.length() > 63 || label.startsWith("-") || label.endsWith("-")) {
            return false;
        }
        for (int i = 0; i < label.length(); i++) {
            char c = label.charAt(i);
            if (!StsTxtRecord.alphaDigit(c) && c != '-') {
                return false;
            }
        }
        return true;
    }

    private static void checkExtensionName(String key) throws InvalidPolicyException {
        boolean ok = key.length() <= 32 && StsTxtRecord.alphaDigit(key.charAt(0));
        for (int i = 1; ok && i < key.length(); i++) {
            char c = key.charAt(i);
            ok = StsTxtRecord.alphaDigit(c) || c == '_' || c == '-' || c == '.';
        }
        if (!ok) {
            throw new InvalidPolicyException("key " + key + " is not a field name");
        }
    }
}
