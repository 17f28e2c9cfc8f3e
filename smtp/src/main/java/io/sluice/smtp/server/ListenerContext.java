package io.sluice.smtp.server;

import io.sluice.smtp.auth.Authenticator;

/**
 * Everything the sessions of one listener share across loops: their rules, pre-encoded replies,
 * the TLS upgrade (or {@code null}), connection and rate limits, the PROXY protocol rules (or
 * {@code null}) and the event log. Immutable or thread-safe.
 */
public final class ListenerContext {

    final SessionSettings settings;
    final ListenerReplies replies;
    final TlsUpgrade tls;
    final boolean implicitTls;
    final ConnectionLimiter limiter;
    final EventLog log;
    final SessionStats stats;
    final Authenticator auth;
    final ClientRateLimiter connectionRate;
    final ClientRateLimiter messageRate;
    final ClientKey clientKey;
    /** The PROXY protocol rules, or {@code null} when clients connect directly. */
    final ProxyPolicy proxy;

    /**
     * @param tls         the STARTTLS (or implicit TLS) upgrade, or {@code null} for none
     * @param implicitTls TLS starts with the connection (RFC 8314 {@code smtps})
     * @param auth        SMTP AUTH inside TLS, or {@code null} for none
     */
    public ListenerContext(SessionSettings settings, TlsUpgrade tls, boolean implicitTls,
            ConnectionLimiter limiter, EventLog log, SessionStats stats, Authenticator auth) {
        this(settings, tls, implicitTls, limiter, ClientRateLimiter.OFF, ClientRateLimiter.OFF, ClientKey.DEFAULT,
                log, stats, auth);
    }

    /**
     * @param connectionRate connections per client and minute, checked before the greeting
     * @param messageRate    messages (MAIL commands) per client and minute
     * @param clientKey      what one client is for the limiter and both rates (IPv6 prefix length)
     */
    public ListenerContext(SessionSettings settings, TlsUpgrade tls, boolean implicitTls,
            ConnectionLimiter limiter, ClientRateLimiter connectionRate, ClientRateLimiter messageRate,
            ClientKey clientKey, EventLog log, SessionStats stats, Authenticator auth) {
        this(settings, tls, implicitTls, limiter, connectionRate, messageRate, clientKey, log, stats, auth, null);
    }

    /**
     * @param proxy the PROXY protocol rules of a {@code +proxy} listener (a header before the
     *              greeting names the client), or {@code null} when clients connect directly
     */
    public ListenerContext(SessionSettings settings, TlsUpgrade tls, boolean implicitTls,
            ConnectionLimiter limiter, ClientRateLimiter connectionRate, ClientRateLimiter messageRate,
            ClientKey clientKey, EventLog log, SessionStats stats, Authenticator auth, ProxyPolicy proxy) {
        if (implicitTls && tls == null) {
            throw new IllegalArgumentException("an implicit-TLS listener needs a certificate");
        }
        this.settings = settings;
        this.replies = new ListenerReplies(settings, tls != null && !implicitTls, auth != null);
        this.tls = tls;
        this.implicitTls = implicitTls;
        this.limiter = limiter;
        this.log = log;
        this.stats = stats;
        this.auth = auth;
        this.connectionRate = connectionRate;
        this.messageRate = messageRate;
        this.clientKey = clientKey;
        this.proxy = proxy;
    }
}
