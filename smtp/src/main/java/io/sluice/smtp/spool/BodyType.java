package io.sluice.smtp.spool;

/** The MAIL FROM BODY= parameter (RFC 6152, RFC 3030); the code is what the spool stores. */
public enum BodyType {
    /** No BODY parameter, or BODY=7BIT. */
    SEVEN_BIT(0),
    /** BODY=8BITMIME. */
    EIGHT_BIT_MIME(1),
    /** BODY=BINARYMIME (only with BDAT). */
    BINARY_MIME(2);

    private final int code;

    BodyType(int code) {
        this.code = code;
    }

    /** The stable on-disk code. */
    public int code() {
        return code;
    }

    /** The body type for an on-disk code; IllegalArgumentException for an unknown one. */
    public static BodyType ofCode(int code) {
        for (BodyType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        throw new IllegalArgumentException("body type code=" + code + " unknown");
    }
}
