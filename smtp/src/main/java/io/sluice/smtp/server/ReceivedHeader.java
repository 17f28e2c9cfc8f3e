package io.sluice.smtp.server;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * Builds the one {@code Received:} line (RFC 5321 4.4) a session puts on top of every message.
 * Every value placed in it is either ours or validated by the parser (the EHLO name), so a client
 * cannot inject a header through it. Allocates once per message, which is the unit it serves.
 */
final class ReceivedHeader {

    private static final DateTimeFormatter DATE =
            DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ROOT).withZone(ZoneOffset.UTC);

    private ReceivedHeader() {
    }

    static ByteBuffer build(String helo, InetAddress client, String hostname, String protocol,
            String tlsProtocol, String tlsCipher, String queueId, List<String> recipients, long epochMillis) {
        StringBuilder h = new StringBuilder(256);
        h.append("Received: from ").append(helo == null ? "unknown" : withoutRootDot(helo))
                .append(" (").append(addressLiteral(client)).append(")\r\n");
        if (tlsProtocol != null) {
            h.append("\t(using ").append(tlsProtocol).append(" with cipher ").append(tlsCipher).append(")\r\n");
        }
        h.append("\tby ").append(hostname).append(" (Sluice) with ").append(protocol)
                .append(" id ").append(queueId);
        if (recipients.size() == 1) {
            String recipient = recipients.get(0);
            h.append("\r\n\tfor <").append(recipient);
            if (recipient.indexOf('@') < 0) {
                // RCPT TO:<Postmaster>: 4.4's For takes a Path or Mailbox, which has a domain; it is ours.
                h.append('@').append(hostname);
            }
            h.append('>');
        }
        h.append("; ").append(date(epochMillis)).append("\r\n");
        return ByteBuffer.wrap(h.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** The last date formatted, per thread: one format per second instead of one per message. */
    private static final ThreadLocal<Object[]> LAST_DATE = ThreadLocal.withInitial(() -> new Object[] {-1L, ""});

    static String date(long epochMillis) {
        Object[] last = LAST_DATE.get();
        long second = epochMillis / 1000;
        if ((Long) last[0] != second) {
            last[0] = second;
            last[1] = DATE.format(Instant.ofEpochSecond(second));
        }
        return (String) last[1];
    }

    /** EHLO may name the client "host.example." (we accept it); RFC 5321 4.4's Domain has no root dot. */
    private static String withoutRootDot(String helo) {
        return helo.endsWith(".") ? helo.substring(0, helo.length() - 1) : helo;
    }

    static String addressLiteral(InetAddress address) {
        if (address instanceof Inet6Address) {
            String text = address.getHostAddress();
            int zone = text.indexOf('%');
            return "[IPv6:" + (zone < 0 ? text : text.substring(0, zone)) + "]";
        }
        return "[" + address.getHostAddress() + "]";
    }
}
