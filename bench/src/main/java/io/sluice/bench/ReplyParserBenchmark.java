/*
 * How to run and profile (from the repository root):
 *   mvn -B -q -o -pl bench -am package -DskipTests
 *   mvn -B -q -o -pl bench dependency:build-classpath -Dmdep.outputFile=cp.txt
 *   java -cp bench/target/classes:smtp/target/classes:tls/target/classes:reactor/target/classes:$(cat bench/cp.txt) io.sluice.bench.ReplyParserBenchmark -prof gc
 * Short check: append  -f 1 -wi 1 -i 2 -w 1s -r 1s
 * Read "ops/s" as replies parsed per second and "gc.alloc.rate.norm" as bytes allocated per reply (goal: 0).
 * JSON results go to perf-results/jmh/ReplyParserBenchmark-<date>.json.
 */
package io.sluice.bench;

import io.sluice.smtp.client.ReplyParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;

/**
 * The outbound client's (and the load generator's) reply parser on what one connection carrying
 * ten messages reads: the greeting, a ten-line EHLO reply (with AUTH and SIZE), then per message
 * the replies to RSET, MAIL, two RCPTs, DATA and the dot; one operation per reply, from one
 * direct buffer (as a session reads them).
 */
@State(Scope.Thread)
public class ReplyParserBenchmark extends AbstractBenchmark {
    private static final String EHLO = "220 mx.example.net ESMTP ready\r\n"
            + "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-VRFY\r\n250-ETRN\r\n"
            + "250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n";
    private static final String MESSAGE = "250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
            + "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as 4Y2b1x0FQgz9vB7\r\n";
    private static final int MESSAGES = 10;
    private static final int REPLIES = 2 + MESSAGES * 6;

    private ByteBuffer wire;
    private final ReplyParser parser = new ReplyParser();

    /** Every reply of the connection, in one direct buffer. */
    @Setup
    public void setUp() {
        byte[] bytes = (EHLO + MESSAGE.repeat(MESSAGES)).getBytes(StandardCharsets.US_ASCII);
        wire = ByteBuffer.allocateDirect(bytes.length);
        wire.put(bytes).flip();
    }

    /** One connection's replies. */
    @Benchmark
    @OperationsPerInvocation(REPLIES)
    public void connection(Blackhole sink) {
        wire.position(0);
        for (int i = 0; i < REPLIES; i++) {
            sink.consume(parser.parse(wire));
        }
        sink.consume(parser.keywords());
    }

    public static void main(String[] args) throws RunnerException, CommandLineOptionException, IOException {
        run(ReplyParserBenchmark.class, args);
    }
}
