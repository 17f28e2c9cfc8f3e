package io.sluice.tls;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * Runs an action on SIGHUP through {@code sun.misc.Signal} (module {@code jdk.unsupported}),
 * reached by reflection so the build needs no unsupported API at compile time and
 * {@code -Xlint:all -Werror} stays quiet. The JVM calls the action on its own short-lived
 * "SIGHUP handler" thread. Installing replaces the JVM's default SIGHUP behaviour (run the
 * shutdown hooks and exit); {@link #restore()} puts the previous handler back.
 */
final class HangupSignal {

    private final Object signal;
    private final Method handle;
    private final Object previous;

    private HangupSignal(Object signal, Method handle, Object previous) {
        this.signal = signal;
        this.handle = handle;
        this.previous = previous;
    }

    /**
     * Installs {@code action} as the SIGHUP handler.
     *
     * @throws ReflectiveOperationException when {@code sun.misc.Signal} is missing, or the JVM refuses
     *     SIGHUP (started with {@code -Xrs}, or the platform has no SIGHUP)
     */
    static HangupSignal install(Runnable action) throws ReflectiveOperationException {
        Class<?> signalClass = Class.forName("sun.misc.Signal");
        Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
        Object signal = signalClass.getConstructor(String.class).newInstance("HUP");
        Object handler = Proxy.newProxyInstance(HangupSignal.class.getClassLoader(), new Class<?>[] {handlerClass},
                (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "handle":
                            action.run();
                            return null;
                        case "equals":
                            return proxy == args[0];
                        case "hashCode":
                            return System.identityHashCode(proxy);
                        default:
                            return "sluice TLS reload on SIGHUP";
                    }
                });
        Method handle = signalClass.getMethod("handle", signalClass, handlerClass);
        try {
            return new HangupSignal(signal, handle, handle.invoke(null, signal, handler));
        } catch (InvocationTargetException e) {
            // IllegalArgumentException "Signal already used by VM or OS" with -Xrs.
            throw new ReflectiveOperationException("SIGHUP cannot be handled here: " + e.getCause(), e.getCause());
        }
    }

    /** Puts back the handler that was there before {@link #install}. */
    void restore() {
        try {
            handle.invoke(null, signal, previous);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // Closing: the previous handler only matters to a JVM that keeps running.
        }
    }
}
