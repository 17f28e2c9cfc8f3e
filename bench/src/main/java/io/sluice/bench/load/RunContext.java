package io.sluice.bench.load;

import java.net.InetSocketAddress;

/**
 * What every session of a run shares: the options, the resolved target, the schedule, the
 * pre-encoded commands and messages, TLS contexts and the stop signal. Immutable references to
 * thread-safe or read-only objects; any thread.
 *
 * @param epochMicrosAtStart wall-clock microseconds at {@code nanosAtStart}, to stamp messages
 *                           with a send time a sink on another clock can compare
 */
record RunContext(
        LoadOptions options,
        InetSocketAddress target,
        MessageSchedule schedule,
        CommandBytes commands,
        MessageTemplates templates,
        ClientTls tls,
        RunControl control,
        long nanosAtStart,
        long epochMicrosAtStart) {

    /** Epoch microseconds of a loop-clock instant. */
    long epochMicros(long nanos) {
        return epochMicrosAtStart + (nanos - nanosAtStart) / 1000;
    }
}
