package io.sluice.reactor;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * Runs an action on an operating-system signal (HUP, TERM, INT) through {@code sun.misc.Signal}
 * (module {@code jdk.unsupported}), reached by reflection so the build needs no unsupported API
 * at compile time and {@code -Xlint:all -Werror} stays quiet. The JVM calls the action on its own
 * short-lived signal thread, so the action must only hand the work over. Installing replaces the
 * JVM's default behaviour for that signal (run the shutdown hooks and exit); {@link #restore()}
 * puts the previous handler back. Any thread.
 */
public final class ProcessSignal {

    private final Object signal;
    private final Method handle;
    private final Object previous;
    private final boolean ignoredBefore;

    private ProcessSignal(Object signal, Method handle, Object previous, boolean ignoredBefore) {
        this.signal = signal;
        this.handle = handle;
        this.previous = previous;
        this.ignoredBefore = ignoredBefore;
    }

    /**
     * Installs {@code action} as the handler of signal {@code name}.
     *
     * @param name        the signal without its SIG prefix: {@code HUP}, {@code TERM}, {@code INT}
     * @param description what the handler does (its {@code toString}, seen in diagnostics)
     * @throws ReflectiveOperationException when {@code sun.misc.Signal} is missing, or the JVM refuses
     *     the signal (started with {@code -Xrs}, or the platform has no such signal)
     */
    public static ProcessSignal install(String name, Runnable action, String description)
            throws ReflectiveOperationException {
        Class<?> signalClass = Class.forName("sun.misc.Signal");
        Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
        Object signal;
        try {
            signal = signalClass.getConstructor(String.class).newInstance(name);
        } catch (InvocationTargetException e) {
            throw new ReflectiveOperationException("no signal SIG" + name + " here: " + e.getCause(), e.getCause());
        }
        Object handler = Proxy.newProxyInstance(ProcessSignal.class.getClassLoader(), new Class<?>[] {handlerClass},
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
                            return description;
                    }
                });
        Method handle = signalClass.getMethod("handle", signalClass, handlerClass);
        Object ignore = handlerClass.getField("SIG_IGN").get(null);
        try {
            Object previous = handle.invoke(null, signal, handler);
            return new ProcessSignal(signal, handle, previous, previous == ignore);
        } catch (InvocationTargetException e) {
            // IllegalArgumentException "Signal already used by VM or OS" with -Xrs.
            throw new ReflectiveOperationException("SIG" + name + " cannot be handled here: " + e.getCause(), e.getCause());
        }
    }

    /**
     * True when the process ignored the signal before {@link #install} ({@code nohup} does that
     * for HUP, a non-interactive shell's {@code &} for INT): HotSpot then leaves it ignored and
     * the action never runs, though {@code install} returned normally.
     */
    public boolean ignoredBefore() {
        return ignoredBefore;
    }

    /** Puts back the handler that was there before {@link #install}. */
    public void restore() {
        try {
            handle.invoke(null, signal, previous);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // Closing: the previous handler only matters to a JVM that keeps running.
        }
    }
}
