package io.sluice.smtp.mtasts;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The bytes of one HTTP/1.1 response as read so far: where the head ends, and the body by
 * Content-Length, chunked transfer coding, or up to the close. One fetch's thread.
 *
 * @param buffer   the bytes read
 * @param length   how many of them
 * @param headEnd  the index of the blank line's CRLF CRLF, or -1 when not read yet
 * @param overflow the reader stopped at its size limit, not at the end of the response
 */
record Response(byte[] buffer, int length, int headEnd, boolean overflow) {

    /** The response once its head is complete; null before. */
    static Response of(byte[] buffer, int length) {
        for (int i = 0; i + 3 < length; i++) {
            if (buffer[i] == '\r' && buffer[i + 1] == '\n' && buffer[i + 2] == '\r' && buffer[i + 3] == '\n') {
                return new Response(buffer, length, i, false);
            }
        }
        return null;
    }

    /** Whether a Content-Length body has fully arrived (so the reader need not wait for the close). */
    boolean complete() {
        long declared = contentLength();
        return declared >= 0 && length - bodyStart() >= declared;
    }

    /** The same bytes once the reader has stopped. */
    Response closed(boolean stoppedAtLimit) {
        return new Response(buffer, length, headEnd, stoppedAtLimit);
    }

    /** The body, de-chunked, at most {@link StsPolicy#MAX_BODY_OCTETS}. */
    byte[] body(boolean chunked, String host) throws PolicyFetchException {
        if (chunked) {
            return dechunk(host);
        }
        long declared = contentLength();
        int available = length - bodyStart();
        if (declared > StsPolicy.MAX_BODY_OCTETS || (declared < 0 && (overflow || available > StsPolicy.MAX_BODY_OCTETS))) {
            throw tooLarge(host);
        }
        if (declared > available) {
            throw new PolicyFetchException(FetchResult.BAD_RESPONSE, host + ": body shorter than its Content-Length");
        }
        return Arrays.copyOfRange(buffer, bodyStart(), bodyStart() + (declared >= 0 ? (int) declared : available));
    }

    private int bodyStart() {
        return headEnd + 4;
    }

    /** The Content-Length, or -1 when absent or not a number. */
    private long contentLength() {
        String head = new String(buffer, 0, headEnd, StandardCharsets.ISO_8859_1);
        String value = PolicyFetcher.header(head.split("\r\n"), "content-length");
        if (value == null || value.isEmpty() || value.length() > 12 || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return -1;
        }
        return Long.parseLong(value);
    }

    private byte[] dechunk(String host) throws PolicyFetchException {
        byte[] out = new byte[StsPolicy.MAX_BODY_OCTETS];
        int outLength = 0;
        int at = bodyStart();
        while (true) {
            int lineEnd = lineEnd(at);
            if (lineEnd < 0) {
                throw truncated(host);
            }
            String sizeText = new String(buffer, at, lineEnd - at, StandardCharsets.ISO_8859_1).split(";", 2)[0].trim();
            int size;
            try {
                size = sizeText.length() > 7 ? Integer.MAX_VALUE : Integer.parseInt(sizeText, 16);
            } catch (NumberFormatException e) {
                throw new PolicyFetchException(FetchResult.BAD_RESPONSE, host + ": bad chunk size " + sizeText);
            }
            if (size == 0) {
                return Arrays.copyOf(out, outLength);
            }
            if (size > out.length - outLength) {
                throw tooLarge(host);
            }
            at = lineEnd + 2;
            if (at + size + 2 > length) {
                throw truncated(host);
            }
            System.arraycopy(buffer, at, out, outLength, size);
            outLength += size;
            at += size + 2;
        }
    }

    private int lineEnd(int from) {
        for (int i = from; i + 1 < length; i++) {
            if (buffer[i] == '\r' && buffer[i + 1] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private PolicyFetchException truncated(String host) {
        return overflow ? tooLarge(host) : new PolicyFetchException(FetchResult.BAD_RESPONSE, host + ": truncated chunked body");
    }

    private static PolicyFetchException tooLarge(String host) {
        return new PolicyFetchException(FetchResult.TOO_LARGE, host + ": body > MAX_BODY_OCTETS=" + StsPolicy.MAX_BODY_OCTETS);
    }
}
