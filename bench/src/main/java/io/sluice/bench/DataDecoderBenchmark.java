/*
 * How to run and profile (from the repository root):
 *   mvn -B -q -o -pl bench -am package -DskipTests
 *   mvn -B -q -o -pl bench dependency:build-classpath -Dmdep.outputFile=cp.txt
 *   java -cp bench/target/classes:smtp/target/classes:tls/target/classes:reactor/target/classes:$(cat bench/cp.txt) io.sluice.bench.DataDecoderBenchmark -prof gc
 * Short check: append  -f 1 -wi 1 -i 2 -w 1s -r 1s
 * "decode" ops/s is messages per second; the "wireOctets" counter is wire bytes per second
 * (divide by 1e6 for MB/s); "gc.alloc.rate.norm" is bytes allocated per message (goal: 0).
 * JSON results go to perf-results/jmh/DataDecoderBenchmark-<date>.json.
 */
package io.sluice.bench;

import io.sluice.smtp.protocol.BareNewline;
import io.sluice.smtp.protocol.DataDecoder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;

/**
 * Decodes a whole DATA stream (78-octet text lines, every tenth dot-stuffed, ending CRLF.CRLF) from a
 * direct read buffer into a 64 KiB direct buffer standing in for the spool writer's, the way the
 * session loop does: decode until the output fills, hand it off (here: clear), repeat.
 */
@State(Scope.Thread)
public class DataDecoderBenchmark extends AbstractBenchmark {
    private static final int OUTPUT_OCTETS = 64 * 1024;

    @Param({"65536", "1048576"})
    public int messageOctets;

    private final DataDecoder decoder = new DataDecoder(BareNewline.NORMALIZE, DataDecoder.DEFAULT_MAX_LINE_OCTETS, 0);
    private final ByteBuffer out = ByteBuffer.allocateDirect(OUTPUT_OCTETS);
    private ByteBuffer wire;

    /** Wire octets decoded, reported by JMH as a rate (octets per second). */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Throughput {
        public long wireOctets;

        @Setup(Level.Iteration)
        public void clear() {
            wireOctets = 0;
        }
    }

    @Setup
    public void setUp() {
        StringBuilder text = new StringBuilder("From: a@example.com\r\nTo: b@example.org\r\nSubject: benchmark\r\n\r\n");
        String words = "The quick brown fox jumps over the lazy dog while the mail queue drains. ";
        for (int line = 0; text.length() < messageOctets - 100; line++) {
            String body = (words + words).substring(line % 37, line % 37 + 76);
            text.append(line % 10 == 0 ? ".." : "").append(body).append("\r\n");
        }
        byte[] bytes = text.append(".\r\n").toString().getBytes(StandardCharsets.US_ASCII);
        wire = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
    }

    /** One operation is one whole message. */
    @Benchmark
    public long decode(Throughput throughput) {
        wire.position(0);
        decoder.reset();
        out.clear();
        while (!decoder.decode(wire, out)) {
            out.clear(); // the spool writer would take the full buffer here
        }
        throughput.wireOctets += wire.limit();
        return decoder.messageOctets();
    }

    public static void main(String[] args) throws RunnerException, CommandLineOptionException, IOException {
        run(DataDecoderBenchmark.class, args);
    }
}
