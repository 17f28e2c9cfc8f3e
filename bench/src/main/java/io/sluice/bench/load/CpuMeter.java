package io.sluice.bench.load;

/**
 * Samples the CPU time of the server under load (its process tree, when {@code --server-pid} is
 * given) and of this generator, from a baseline to the end of the run and per progress interval.
 * On a machine the generator shares with the server, wall-clock rates say who won the scheduler;
 * messages per server CPU-second say what the server costs. Used by the thread that runs
 * {@link LoadGenerator#run()} only.
 */
final class CpuMeter {

    private final ProcessCpu server;
    private final ProcessCpu generator = ProcessCpu.self();
    private double serverAtBaseline;
    private double generatorAtBaseline;
    private double serverLast;
    private double generatorLast;
    private double serverIntervalSeconds = Double.NaN;
    private double generatorIntervalSeconds = Double.NaN;

    /** @param serverPid the server's pid, or 0 to measure the generator alone */
    CpuMeter(long serverPid) {
        this.server = serverPid > 0 ? ProcessCpu.tree(serverPid) : null;
    }

    /** Starts the measured period now (the run's start, or the end of warm-up). */
    void baseline() {
        serverAtBaseline = serverLast = server == null ? Double.NaN : server.cpuSeconds();
        generatorAtBaseline = generatorLast = generator.cpuSeconds();
    }

    /** Takes a reading; {@link #serverIntervalSeconds()} is then the CPU used since the previous one. */
    void sample() {
        double s = server == null ? Double.NaN : server.cpuSeconds();
        double g = generator.cpuSeconds();
        serverIntervalSeconds = s - serverLast;
        generatorIntervalSeconds = g - generatorLast;
        serverLast = s;
        generatorLast = g;
    }

    boolean measuresServer() {
        return server != null;
    }

    long serverPid() {
        return server == null ? 0 : server.pid();
    }

    /** Server CPU seconds between the last two readings (NaN without a server or when it is gone). */
    double serverIntervalSeconds() {
        return serverIntervalSeconds;
    }

    double generatorIntervalSeconds() {
        return generatorIntervalSeconds;
    }

    /** What the measured period cost, as of the last {@link #sample()}. */
    CpuUsage usage() {
        return new CpuUsage(serverPid(), serverLast - serverAtBaseline, generatorLast - generatorAtBaseline);
    }

    /**
     * CPU seconds of the measured period.
     *
     * @param serverPid        0 when no server was measured
     * @param serverSeconds    the server tree's user+system seconds, NaN when not measured or gone
     * @param generatorSeconds this JVM's user+system seconds, NaN off Linux
     */
    record CpuUsage(long serverPid, double serverSeconds, double generatorSeconds) {

        /** {@code count} per CPU-second of {@code seconds}, or NaN. */
        static double perCpuSecond(long count, double seconds) {
            return seconds > 0 ? count / seconds : Double.NaN;
        }

        /** Milliseconds of CPU per one of {@code count}, or NaN. */
        static double millisEach(double seconds, long count) {
            return count > 0 && !Double.isNaN(seconds) ? 1000.0 * seconds / count : Double.NaN;
        }
    }
}
