package io.sluice.smtp.mtasts;

import java.util.List;

/**
 * The {@code _mta-sts.<domain>} TXT record (RFC 8461 §3.1): {@code v=STSv1; id=...;} with
 * optional extension fields. Records whose version field is not {@code v=STSv1} (followed by
 * optional WSP and {@code ;} or the end, so {@code v=STSv10} is another version) are ignored; when
 * not exactly one valid record remains, the domain has no policy. Pure functions; any thread.
 */
public final class StsTxtRecord {
    /** Longest policy id (RFC 8461 §3.1: {@code 1*32(ALPHA / DIGIT)}). */
    public static final int MAX_ID_CHARS = 32;
    private static final int MAX_EXT_NAME_CHARS = 32;
    private static final String VERSION = "v=STSv1";

    private StsTxtRecord() {
    }

    /**
     * The policy id of a domain from all its {@code _mta-sts} TXT records.
     *
     * @param records each TXT record's strings joined
     * @return the id, or null when no record or more than one is an STSv1 record, or the one that is is invalid
     */
    public static String idOf(List<String> records) {
        String only = null;
        for (String r : records) {
            if (isStsV1(r)) {
                if (only != null) {
                    return null;
                }
                only = r;
            }
        }
        return only == null ? null : parseId(only);
    }

    /** Whether a record is of version STSv1: {@code v=STSv1}, then optional WSP, then {@code ;} or the end (RFC 8461 §3.1). */
    static boolean isStsV1(String record) {
        if (!record.startsWith(VERSION)) {
            return false;
        }
        int i = VERSION.length();
        while (i < record.length() && (record.charAt(i) == ' ' || record.charAt(i) == '\t')) {
            i++;
        }
        return i == record.length() || record.charAt(i) == ';';
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
