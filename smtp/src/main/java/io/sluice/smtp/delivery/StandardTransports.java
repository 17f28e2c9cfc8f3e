package io.sluice.smtp.delivery;

import java.util.function.Function;

/**
 * Makes the transport for a route: maildir, discard and error are built here; SMTP and LMTP
 * routes go to the remote factory (the outbound client, {@code io.sluice.smtp.client.SmtpClient}),
 * or get the {@link UnbuiltClientTransport} (451 4.4.0) when there is none.
 * Immutable; any thread (the queue manager calls it once per route and caches the result).
 */
public final class StandardTransports implements Function<Route, Transport> {
    private final String hostname;
    private final boolean maildirDeliveredTo;
    private final Function<Route, Transport> remote;

    /** Without a client: SMTP and LMTP routes defer. */
    public StandardTransports(String hostname, boolean maildirDeliveredTo) {
        this(hostname, maildirDeliveredTo, null);
    }

    /**
     * @param hostname           our host name (maildir file names, domain of bare recipients)
     * @param maildirDeliveredTo whether maildir files carry Delivered-To:
     * @param remote             makes LMTP and SMTP transports; null = they defer
     */
    public StandardTransports(String hostname, boolean maildirDeliveredTo, Function<Route, Transport> remote) {
        this.hostname = hostname;
        this.maildirDeliveredTo = maildirDeliveredTo;
        this.remote = remote;
    }

    @Override
    public Transport apply(Route route) {
        switch (route.kind()) {
            case MAILDIR:
                return new MaildirTransport(route.target(), hostname, maildirDeliveredTo);
            case DISCARD:
                return new DiscardTransport();
            case ERROR:
                return new ErrorTransport(route.target(), route.text());
            case LMTP:
                return remote != null ? remote.apply(route) : new UnbuiltClientTransport("LMTP");
            default:
                return remote != null ? remote.apply(route) : new UnbuiltClientTransport("SMTP");
        }
    }
}
