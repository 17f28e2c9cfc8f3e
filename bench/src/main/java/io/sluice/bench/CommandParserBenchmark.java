/*
 * How to run and profile (from the repository root):
 *   mvn -B -q -o -pl bench -am package -DskipTests
 *   mvn -B -q -o -pl bench dependency:build-classpath -Dmdep.outputFile=cp.txt
 *   java -cp bench/target/classes:smtp/target/classes:tls/target/classes:reactor/target/classes:$(cat bench/cp.txt) io.sluice.bench.CommandParserBenchmark -prof gc
 * Short check: append  -f 1 -wi 1 -i 2 -w 1s -r 1s
 * Read "ops/s" as commands per second and "gc.alloc.rate.norm" as bytes allocated per command.
 * JSON results go to perf-results/jmh/CommandParserBenchmark-<date>.json.
 */
package io.sluice.bench;

import io.sluice.smtp.protocol.Command;
import io.sluice.smtp.protocol.CommandParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;

/**
 * Parses a realistic client mix (EHLO, MAIL FROM with SIZE and BODY, three RCPTs, DATA, RSET,
 * NOOP, QUIT) from one direct buffer, one operation per command. With {@code distinct=false}
 * every session repeats the same addresses (a bulk sender on one connection: the parser reuses
 * the last MailPath, so 0 B/op is the goal); with {@code distinct=true} the sessions rotate
 * through 64 different senders and recipients, so each MAIL/RCPT pays its MailPath and Strings.
 * With {@code dsn=true} MAIL carries {@code RET=HDRS ENVID=...} and each RCPT
 * {@code NOTIFY=FAILURE,DELAY ORCPT=rfc822;...} (RFC 3461, as bulk senders send them): each ENVID
 * and ORCPT costs its String, since they are kept with the envelope.
 */
@State(Scope.Thread)
public class CommandParserBenchmark extends AbstractBenchmark {
    private static final int COMMANDS_PER_SESSION = 10;
    private static final int SESSIONS = 64;

    @Param({"false", "true"})
    public boolean distinct;

    @Param({"false", "true"})
    public boolean dsn;

    private final CommandParser parser = new CommandParser();
    private final Command command = new Command();
    private ByteBuffer wire;

    @Setup
    public void setUp() {
        StringBuilder text = new StringBuilder();
        for (int s = 0; s < SESSIONS; s++) {
            int n = distinct ? s : 0;
            String mailDsn = dsn ? " RET=HDRS ENVID=job" + n + "+2Bmsg" : "";
            String rcptDsn = dsn ? " NOTIFY=FAILURE,DELAY ORCPT=rfc822;" : "";
            text.append("EHLO client").append(n % 4).append(".example.net\r\n")
                .append("MAIL FROM:<bounces+").append(n).append("@news.example.com> SIZE=").append(20_000 + n)
                .append(" BODY=8BITMIME").append(mailDsn).append("\r\n")
                .append("RCPT TO:<alice.").append(n).append("@example.org>")
                .append(dsn ? rcptDsn + "alice." + n + "@example.org" : "").append("\r\n")
                .append("RCPT TO:<Bob.Smith").append(n).append("@Mail.Example.ORG>")
                .append(dsn ? rcptDsn + "Bob.Smith" + n + "@Mail.Example.ORG" : "").append("\r\n")
                .append("RCPT TO:<carol").append(n).append("@[192.0.2.").append(n % 250).append("]>")
                .append(dsn ? rcptDsn + "carol" + n + "@[192.0.2." + (n % 250) + "]" : "").append("\r\n")
                .append("DATA\r\n")
                .append("RSET\r\n")
                .append("NOOP\r\n")
                .append("MAIL FROM:<> SIZE=1000\r\n")
                .append("QUIT\r\n");
        }
        byte[] bytes = text.toString().getBytes(StandardCharsets.US_ASCII);
        wire = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
        if (parseAll(null) != SESSIONS * COMMANDS_PER_SESSION) {
            throw new IllegalStateException("the mix must parse into " + SESSIONS * COMMANDS_PER_SESSION + " commands");
        }
    }

    /** One operation is one command line. */
    @Benchmark
    @OperationsPerInvocation(SESSIONS * COMMANDS_PER_SESSION)
    public int parseMix(Blackhole blackhole) {
        return parseAll(blackhole);
    }

    private int parseAll(Blackhole blackhole) {
        wire.position(0);
        int commands = 0;
        while (parser.parse(wire, command)) {
            if (command.error() != null) {
                throw new IllegalStateException("unexpected " + command);
            }
            if (blackhole != null) {
                blackhole.consume(command.path());
                blackhole.consume(command.size());
            }
            commands++;
        }
        return commands;
    }

    public static void main(String[] args) throws RunnerException, CommandLineOptionException, IOException {
        run(CommandParserBenchmark.class, args);
    }
}
