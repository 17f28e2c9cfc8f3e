package io.sluice.reactor;

/** A monotonic clock in nanoseconds; tests substitute one they advance by hand. */
@FunctionalInterface
public interface NanoClock {

    NanoClock SYSTEM = System::nanoTime;

    long nanoTime();
}
