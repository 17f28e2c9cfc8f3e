package io.sluice.smtp.delivery;

import java.util.function.Function;

/**
 * Makes the transport for a route: maildir, discard and error are built here; SMTP and LMTP
 * routes get the {@link UnbuiltClientTransport} until the outbound client plugs in here.
 * Immutable; any thread (the queue manager calls it once per route and caches the result).
 */
public final class StandardTransports implements Function<Route, Transport> {
    private final String hostname;
    private final boolean maildirDeliveredTo;

    /**
     * @param hostname           our host name (maildir file names, domain of bare recipients)
     * @param maildirDeliveredTo whether maildir files carry Delivered-To:
     */
    public StandardTransports(String hostname, boolean maildirDeliveredTo) {
        this.hostname = hostname;
        this.maildirDeliveredTo = maildirDeliveredTo;
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
                return new UnbuiltClientTransport("LMTP");
            default:
                return new UnbuiltClientTransport("SMTP");
        }
    }
}
