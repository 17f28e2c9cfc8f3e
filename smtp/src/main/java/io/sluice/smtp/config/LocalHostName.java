package io.sluice.smtp.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * This machine's canonical host name, looked up once on first use (the lookup may wait for DNS,
 * so only configurations that leave {@code hostname} empty pay for it). Any thread.
 */
final class LocalHostName {
    private LocalHostName() {
    }

    static String get() {
        return Holder.NAME;
    }

    private static final class Holder {
        static final String NAME = lookUp();
    }

    private static String lookUp() {
        try {
            String name = InetAddress.getLocalHost().getCanonicalHostName();
            // The lookup answers with an address literal when reverse DNS has no name.
            if (InetLiterals.isHostName(name)) {
                return name.toLowerCase(Locale.ROOT);
            }
        } catch (UnknownHostException | SecurityException e) {
            // fall through: localhost is the documented fallback
        }
        return "localhost";
    }
}
