package io.sluice.smtp.dns;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.xbill.DNS.Name;
import org.xbill.DNS.Type;

/** The {@link NextHopLookupException}s the resolver reports, each with its RFC 3463 code. Stateless. */
final class Failures {
    private Failures() {
    }

    static NextHopLookupException temporary(Name name, int type, String why) {
        return new NextHopLookupException(false, "4.4.3",
                DomainNames.text(name) + " " + Type.string(type) + ": " + why);
    }

    static NextHopLookupException noSuchDomain(String domain) {
        return new NextHopLookupException(true, "5.1.2", domain + ": no such domain (NXDOMAIN)");
    }

    static NextHopLookupException badDomain(String domain, String why) {
        return new NextHopLookupException(true, "5.1.2", "bad domain name '" + printable(domain) + "': " + why);
    }

    static NextHopLookupException nullMx(String domain) {
        return new NextHopLookupException(true, "5.1.10", domain + ": null MX, the domain accepts no mail (RFC 7505)");
    }

    static NextHopLookupException noAddress(String domain, String what) {
        return new NextHopLookupException(true, "5.4.4", domain + ": " + what);
    }

    static NextHopLookupException allTemporary(String domain, String what) {
        return new NextHopLookupException(false, "4.4.3", domain + ": " + what);
    }

    /** Whatever a lookup future failed with, as a lookup exception (unknown failures are temporary). */
    static NextHopLookupException of(Throwable failure, Name name, int type) {
        Throwable cause = failure;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof NextHopLookupException) {
            return (NextHopLookupException) cause;
        }
        String why = cause instanceof TimeoutException || cause instanceof java.net.SocketTimeoutException
                ? "DNS timeout"
                : "DNS error: " + cause;
        return temporary(name, type, why);
    }

    /** Same as {@link #of} for a failure not tied to one question. */
    static NextHopLookupException of(Throwable failure, String domain) {
        Throwable cause = failure;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof NextHopLookupException) {
            return (NextHopLookupException) cause;
        }
        return allTemporary(domain, "DNS error: " + cause);
    }

    private static String printable(String text) {
        StringBuilder out = new StringBuilder(Math.min(text.length(), 80));
        for (int i = 0; i < text.length() && out.length() < 80; i++) {
            char c = text.charAt(i);
            out.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return text.length() > 80 ? out + "..." : out.toString();
    }
}
