package io.sluice.smtp.server;

import java.net.InetAddress;
import java.util.Set;
import java.util.function.Predicate;

import io.sluice.smtp.protocol.BareNewline;

/** Test-side builder over {@link SessionSettings#defaults}, changing one rule at a time. */
final class SessionSettingsBuilder {

    private final SessionSettings d = SessionSettings.defaults("mx.test");
    private long maxMessageOctets = d.maxMessageOctets();
    private int maxRecipients = d.maxRecipients();
    private int maxErrors = d.maxErrors();
    private int maxHops = d.maxHops();
    private long greetPauseNanos = d.greetPauseNanos();
    private BareNewline bareNewline = d.bareNewline();
    private Set<String> localDomains = d.localDomains();
    private Predicate<InetAddress> relayClients = d.relayClients();
    private boolean tlsRequired = d.tlsRequired();
    private boolean binaryMime = d.binaryMime();
    private boolean dsn = d.dsn();

    SessionSettingsBuilder binaryMime(boolean v) {
        binaryMime = v;
        return this;
    }

    SessionSettingsBuilder maxMessageOctets(long v) {
        maxMessageOctets = v;
        return this;
    }

    SessionSettingsBuilder maxRecipients(int v) {
        maxRecipients = v;
        return this;
    }

    SessionSettingsBuilder maxErrors(int v) {
        maxErrors = v;
        return this;
    }

    SessionSettingsBuilder maxHops(int v) {
        maxHops = v;
        return this;
    }

    SessionSettingsBuilder greetPauseNanos(long v) {
        greetPauseNanos = v;
        return this;
    }

    SessionSettingsBuilder bareNewline(BareNewline v) {
        bareNewline = v;
        return this;
    }

    SessionSettingsBuilder localDomains(Set<String> v) {
        localDomains = v;
        return this;
    }

    SessionSettingsBuilder dsn(boolean v) {
        dsn = v;
        return this;
    }

    SessionSettingsBuilder tlsRequired(boolean v) {
        tlsRequired = v;
        return this;
    }

    SessionSettings build() {
        return new SessionSettings(d.hostname(), d.banner(), maxMessageOctets, maxRecipients, maxErrors, maxHops,
                d.maxLineOctets(), d.maxTextLineOctets(), d.commandTimeoutNanos(), d.dataTimeoutNanos(),
                d.handshakeTimeoutNanos(), greetPauseNanos, bareNewline, localDomains, relayClients, tlsRequired,
                binaryMime, dsn);
    }
}
