package io.sluice.smtp.dkim;

/**
 * A DKIM-Signature field made for one message: who signed ({@code d=}, {@code s=}) and the field
 * itself, folded, ending in CRLF, to be sent in front of the message. A value; any thread (do not
 * change the array).
 *
 * @param domain   the signing domain, {@code d=}
 * @param selector the selector, {@code s=}
 * @param field    the whole field, US-ASCII, CRLF at the end
 */
public record DkimSignature(String domain, String selector, byte[] field) {

    /** {@code d/s}, as the log shows it. */
    public String identity() {
        return domain + "/" + selector;
    }
}
