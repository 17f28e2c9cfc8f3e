package io.sluice.smtp.protocol;

/**
 * A validated MAIL FROM or RCPT TO path (RFC 5321 4.1.2) with any source route dropped. Immutable
 * and safe to share between threads; made by {@link CommandParser} (the one allocation it may
 * make per command) or taken from {@link #NULL} and {@link #POSTMASTER}.
 */
public final class MailPath {
    /** The null reverse-path {@code <>} (bounces); valid for MAIL only. */
    public static final MailPath NULL = new MailPath("", "", "", false, true, false);
    /** {@code <Postmaster>} without domain, any case; valid for RCPT only (RFC 5321 4.1.1.3). */
    public static final MailPath POSTMASTER = new MailPath("Postmaster", "", "Postmaster", false, false, true);

    private final String localPart;
    private final String domain;
    private final String address;
    private final boolean utf8;
    private final boolean isNull;
    private final boolean postmaster;

    private MailPath(String localPart, String domain, String address, boolean utf8, boolean isNull, boolean postmaster) {
        this.localPart = localPart;
        this.domain = domain;
        this.address = address;
        this.utf8 = utf8;
        this.isNull = isNull;
        this.postmaster = postmaster;
    }

    /**
     * Makes a mailbox path from parts the caller has already validated (the parser does).
     *
     * @param localPart as on the wire: a dot-string or a quoted string with its quotes
     * @param domain    lower-cased domain, or an address literal with its brackets
     */
    static MailPath mailbox(String localPart, String domain, boolean utf8) {
        return new MailPath(localPart, domain, localPart + '@' + domain, utf8, false, false);
    }

    /** @return true for {@code <>} */
    public boolean isNull() {
        return isNull;
    }

    /** @return true for {@code <Postmaster>} with no domain */
    public boolean isPostmaster() {
        return postmaster;
    }

    /** @return the local part as sent (case kept; a quoted string keeps its quotes and escapes); "" for null */
    public String localPart() {
        return localPart;
    }

    /** @return the domain, ASCII lower-cased; an address literal kept as {@code [..]}; "" for null and Postmaster */
    public String domain() {
        return domain;
    }

    /** @return {@code localPart@domain}, "" for the null path, "Postmaster" for {@code <Postmaster>} */
    public String address() {
        return address;
    }

    /** @return true when the path holds octets above 0x7F (well-formed UTF-8): it needs SMTPUTF8 */
    public boolean isUtf8() {
        return utf8;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MailPath && ((MailPath) o).address.equals(address) && ((MailPath) o).isNull == isNull;
    }

    @Override
    public int hashCode() {
        return address.hashCode();
    }

    /** @return {@code <address>} as it would appear on the wire */
    @Override
    public String toString() {
        return '<' + address + '>';
    }
}
