package io.sluice.smtp.server;

import java.util.ArrayList;
import java.util.List;

import io.sluice.smtp.protocol.Reply;

/**
 * The replies that carry our hostname or our extensions, encoded once per listener so that a
 * session writes them without building anything.
 */
final class ListenerReplies {

    final Reply greeting;
    final Reply helo;
    final Reply ehloPlain;
    final Reply ehloTls;

    ListenerReplies(SessionSettings settings, boolean startTlsAvailable, boolean authAvailable) {
        greeting = Reply.of(220, null, settings.hostname() + " " + settings.banner());
        helo = Reply.of(250, null, settings.hostname());
        ehloPlain = ehlo(settings, startTlsAvailable, false);
        ehloTls = ehlo(settings, false, authAvailable);
    }

    /**
     * STARTTLS is never the first line (that is our name) and never offered inside TLS; AUTH is
     * offered only inside TLS, so a password never crosses the network in the clear.
     */
    private static Reply ehlo(SessionSettings settings, boolean offerStartTls, boolean offerAuth) {
        List<String> lines = new ArrayList<>();
        lines.add(settings.hostname());
        lines.add("PIPELINING");
        lines.add(settings.maxMessageOctets() > 0 ? "SIZE " + settings.maxMessageOctets() : "SIZE");
        lines.add("8BITMIME");
        lines.add("SMTPUTF8");
        lines.add("ENHANCEDSTATUSCODES");
        if (settings.dsn()) {
            lines.add("DSN"); // RFC 3461
        }
        lines.add("CHUNKING");
        if (settings.binaryMime()) {
            lines.add("BINARYMIME"); // RFC 3030 3: only beside CHUNKING, which we always offer
        }
        if (offerStartTls) {
            lines.add("STARTTLS");
        }
        if (offerAuth) {
            lines.add("AUTH PLAIN LOGIN");
        }
        return Reply.multiline(250, lines.toArray(new String[0]));
    }
}
