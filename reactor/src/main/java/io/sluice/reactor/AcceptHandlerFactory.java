package io.sluice.reactor;

import java.net.InetSocketAddress;

/**
 * Creates the handler of each accepted connection. Called on the acceptor thread, before the
 * connection reaches its loop, so it must be quick and thread-safe (it typically builds a fresh
 * session object and captures shared, immutable configuration).
 */
@FunctionalInterface
public interface AcceptHandlerFactory {

    /**
     * @param remote      the peer's address
     * @param local       the address the listener accepted on
     * @param listenerTag the object given to {@link Acceptor#bind} (say, which port's policy applies)
     * @return the handler; throwing closes the accepted channel
     */
    ConnectionHandler create(InetSocketAddress remote, InetSocketAddress local, Object listenerTag);
}
