package io.sluice.smtp.mtasts;

import java.util.List;

/**
 * The {@code _mta-sts.<domain>} TXT record (RFC 8461 §3.1): {@code v=STSv1; id=...;} with
 * optional extension fields. Records that do not start with {@code v=STSv1} are ignored; when
 * not exactly one valid record remains, the domain has no policy. Pure functions; any thread.
 */
public final class StsTxtRecord {
    /** Longest policy id (RFC 8461 §3.1: {@code 1*32(ALPHA / DIGIT)}). */
    public static final int MAX_ID_CHARS = 32;
    private static final int MAX_EXT_NAME_CHARS = 32;

    private StsTxtRecord() {
    }

    /**
     * The policy id of a domain from all its {@code _mta-sts} TXT records.
     *
     * @param records each TXT record's strings joined
     * @return the id, or null when no record or more than one starts with {@code v=STSv1}, or the one that does is invalid
     */
    public static String idOf(List<String> records) {
        String only = null;
        for (String r : records) {
            if (r.startsWith("v=STSv1")) {
                if (only != null) {
                    return null;
                }
                only = r;
            }
        }
        return only == null ? null : parseId(only);
    }

    /**
     * The id of one record, or null when it is not a valid STSv1 record: the version first, then
     * fields {@code name=value} split by {@code ;} and optional spaces, exactly one {@code id}.
     */
    public static String parseId(String record) {
        String[] fields = record.split(";", -1);
        if (!stripWsp(fields[0]).equals("v=STSv1")) {
            return null;
        }
        String id = null;
        for (int i = 1; i < fields.length; i++) {
            String field = stripWsp(fields[i]);
            if (field.isEmpty() && i == fields.length - 1) {
                break; // the optional trailing delimiter
            }
            int eq = field.indexOf('=');
            if (eq <= 0) {
                return null;
            }
            String name = field.substring(0, eq);
            String value = field.substring(eq + 1);
            if (name.equals("id")) {
                if (id != null || !validId(value)) {
                    return null;
                }
                id = value;
            } else if (!validExtension(name, value)) {
                return null;
            }
        }
        return id;
    }

    private static boolean validId(String value) {
        if (value.isEmpty() || value.length() > MAX_ID_CHARS) {
            return false;
        }
        for (int i = 0; i < value.length(); i++) {
            if (!alphaDigit(value.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** {@code sts-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")}, value {@code 1*(%x21-3A / %x3C / %x3E-7E)}. */
    private static boolean validExtension(String name, String value) {
        if (name.length() > MAX_EXT_NAME_CHARS || !alphaDigit(name.charAt(0))) {
            return false;
        }
        for (int i = 1; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!alphaDigit(c) && c != '_' && c != '-' && c != '.') {
                return false;
            }
        }
        if (value.isEmpty()) {
            return false;
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x21 || c > 0x7e || c == ';' || c == '=') {
                return false;
            }
        }
        return true;
    }

    static boolean alphaDigit(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }

    /** Removes leading and trailing spaces and tabs (the WSP around a delimiter). */
    static String stripWsp(String s) {
        int from = 0;
        int to = s.length();
        while (from < to && (s.charAt(from) == ' ' || s.charAt(from) == '\t')) {
            from++;
        }
        while (to > from && (s.charAt(to - 1) == ' ' || s.charAt(to - 1) == '\t')) {
            to--;
        }
        return s.substring(from, to);
    }
}
