package io.sluice.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.LocalDate;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Fixes the JMH settings every Sluice benchmark shares (forks, warm-up, measurement, heap) and runs
 * benchmarks with JSON results written to {@code perf-results/jmh/<benchmark>-<date>.json} at the
 * repository root. Subclasses are JMH {@code @State} classes; JMH runs each on its own threads.
 *
 * <p>Run (from the repository root; the classpath file is written once per dependency change):
 * <pre>
 * mvn -B -q -o -pl bench -am package -DskipTests
 * mvn -B -q -o -pl bench dependency:build-classpath -Dmdep.outputFile=cp.txt
 * java -cp bench/target/classes:smtp/target/classes:tls/target/classes:reactor/target/classes:$(cat bench/cp.txt) io.sluice.bench.AbstractBenchmark [JMH options] [regex]
 * </pre>
 * The module classes directories come first on purpose: cp.txt names the sluice-* jars in the
 * local Maven repository, which may hold an older build (or another branch's).
 * Any JMH command-line option works (e.g. {@code -f 1 -wi 1 -i 2 -w 1s -r 1s -prof gc}); an option
 * given on the command line overrides the annotation defaults below.
 */
@Fork(value = 2, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch"})
@Warmup(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public abstract class AbstractBenchmark {

    /** Runs every benchmark matching the regexes in {@code args} (all of io.sluice.bench when none). */
    public static void main(String[] args) throws RunnerException, CommandLineOptionException, IOException {
        run("all", args);
    }

    /** Runs one benchmark class (plus any JMH options in {@code args}); called from each benchmark's main. */
    protected static void run(Class<?> benchmark, String[] args) throws RunnerException, CommandLineOptionException, IOException {
        String[] withInclude = new String[args.length + 1];
        System.arraycopy(args, 0, withInclude, 0, args.length);
        withInclude[args.length] = benchmark.getName();
        run(benchmark.getSimpleName(), withInclude);
    }

    private static void run(String name, String[] args) throws RunnerException, CommandLineOptionException, IOException {
        CommandLineOptions commandLine = new CommandLineOptions(args);
        Path directory = perfResultsDirectory().resolve("jmh");
        Files.createDirectories(directory);
        Path json = directory.resolve(name + "-" + LocalDate.now() + ".json");
        ChainedOptionsBuilder options = new OptionsBuilder().parent(commandLine)
                .resultFormat(ResultFormatType.JSON)
                .result(json.toString());
        if (commandLine.getIncludes().isEmpty()) {
            options.include(AbstractBenchmark.class.getPackageName() + "\\..*Benchmark");
        }
        new Runner(options.build()).run();
        System.out.println("JMH results: " + json);
    }

    /**
     * Walks up from {@code user.dir} to the first directory holding {@code perf-results}; failing
     * that, to the repository root (the first directory holding {@code .git}), where it is created.
     */
    static Path perfResultsDirectory() {
        Path start = Paths.get(System.getProperty("user.dir")).toAbsolutePath();
        for (Path dir = start; dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("perf-results"))) {
                return dir.resolve("perf-results");
            }
        }
        for (Path dir = start; dir != null; dir = dir.getParent()) {
            if (Files.exists(dir.resolve(".git"))) {
                return dir.resolve("perf-results");
            }
        }
        return start.resolve("perf-results");
    }
}
