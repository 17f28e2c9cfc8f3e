package io.sluice.smtp.spool;

/**
 * The MAIL FROM {@code RET=} parameter (RFC 3461 4.3): how much of the original a failure report
 * carries. The code is what the spool stores.
 */
public enum DsnReturn {
    /** No RET parameter: the report carries the headers, as with {@link #HEADERS}. */
    NONE(0),
    /** RET=FULL: the whole message (within the report size limit). */
    FULL(1),
    /** RET=HDRS: the header block only. */
    HEADERS(2);

    private final int code;

    DsnReturn(int code) {
        this.code = code;
    }

    /** The stable on-disk code. */
    public int code() {
        return code;
    }

    /** The value for an on-disk code; IllegalArgumentException for an unknown one. */
    public static DsnReturn ofCode(int code) {
        for (DsnReturn r : values()) {
            if (r.code == code) {
                return r;
            }
        }
        throw new IllegalArgumentException("RET code=" + code + " unknown");
    }
}
