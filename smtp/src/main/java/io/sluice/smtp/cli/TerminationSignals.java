package io.sluice.smtp.cli;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * Runs an action on SIGTERM and SIGINT instead of the JVM's default (run the shutdown hooks and
 * exit with 128 + signal), so that {@code sluice serve} can stop gracefully and exit 0 as service
 * managers expect. Uses {@code sun.misc.Signal} (module {@code jdk.unsupported}) by reflection,
 * so the build needs no unsupported API and {@code -Xlint:all -Werror} stays quiet. The JVM calls
 * the action on its own short-lived signal thread; the action must only hand the stop over.
 */
final class TerminationSignals {

    private TerminationSignals() {
    }

    /**
     * Installs {@code action} for TERM and INT.
     *
     * @return false when the JVM does not allow it ({@code -Xrs}, no {@code sun.misc.Signal}):
     *     the caller must fall back to a shutdown hook
     */
    static boolean install(Runnable action) {
        try {
            Class<?> signalClass = Class.forName("sun.misc.Signal");
            Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
            Object handler = Proxy.newProxyInstance(TerminationSignals.class.getClassLoader(),
                    new Class<?>[] {handlerClass}, (proxy, method, args) -> {
                        switch (method.getName()) {
                            case "handle":
                                action.run();
                                return null;
                            case "equals":
                                return proxy == args[0];
                            case "hashCode":
                                return System.identityHashCode(proxy);
                            default:
                                return "sluice graceful shutdown";
                        }
                    });
            Method handle = signalClass.getMethod("handle", signalClass, handlerClass);
            for (String name : new String[] {"TERM", "INT"}) {
                handle.invoke(null, signalClass.getConstructor(String.class).newInstance(name), handler);
            }
            return true;
        } catch (InvocationTargetException e) {
            return false; // IllegalArgumentException "Signal already used by VM or OS" with -Xrs
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false;
        }
    }
}
