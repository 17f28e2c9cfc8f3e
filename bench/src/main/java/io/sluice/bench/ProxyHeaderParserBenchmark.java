/*
 * How to run and profile (from the repository root):
 *   mvn -B -q -o -pl bench -am package -DskipTests
 *   mvn -B -q -o -pl bench dependency:build-classpath -Dmdep.outputFile=cp.txt
 *   java -cp bench/target/classes:smtp/target/classes:tls/target/classes:reactor/target/classes:$(cat bench/cp.txt) io.sluice.bench.ProxyHeaderParserBenchmark -prof gc
 * Short check: append  -f 1 -wi 1 -i 2 -w 1s -r 1s
 * Read "ops/s" as headers per second and "gc.alloc.rate.norm" as bytes allocated per header.
 * JSON results go to perf-results/jmh/ProxyHeaderParserBenchmark-<date>.json.
 */
package io.sluice.bench;

import io.sluice.smtp.proxy.ProxyHeaderParser;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;

/**
 * Reads one PROXY header with an EHLO behind it from a direct buffer, as a {@code +proxy} session
 * does once per connection: {@code v1} (TCP6 text, the longest grammar) or {@code v2} (TCP/IPv4
 * with a 64-octet TLV). {@code parse} is the parser alone (0 B/op is the goal); {@code
 * parseAndAddress} adds the client's {@code InetAddress}, the one allocation a proxied connection
 * pays for its header.
 */
@State(Scope.Thread)
public class ProxyHeaderParserBenchmark extends AbstractBenchmark {

    @Param({"v1", "v2"})
    public String version;

    private final ProxyHeaderParser parser = new ProxyHeaderParser();
    private ByteBuffer wire;

    @Setup
    public void setUp() throws IOException {
        byte[] ehlo = "EHLO client.example\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] header = version.equals("v1")
                ? "PROXY TCP6 2001:db8:85a3::8a2e:370:7334 2001:db8::25 56324 25\r\n".getBytes(StandardCharsets.US_ASCII)
                : v2();
        wire = ByteBuffer.allocateDirect(header.length + ehlo.length).put(header).put(ehlo).flip();
        if (parser.parse(wire) != ProxyHeaderParser.Result.PROXIED || wire.remaining() != ehlo.length) {
            throw new IllegalStateException("the header must be read, the EHLO left");
        }
    }

    private static byte[] v2() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16 + 12 + 3 + 64);
        b.put(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11})
                .putShort((short) (12 + 3 + 64))
                .put(InetAddress.getByName("192.0.2.10").getAddress()).put(InetAddress.getByName("198.51.100.1").getAddress())
                .putShort((short) 56324).putShort((short) 25)
                .put((byte) 0xEA).putShort((short) 64).put(new byte[64]);
        return b.array();
    }

    @Benchmark
    public ProxyHeaderParser.Result parse() {
        wire.position(0);
        return parser.parse(wire);
    }

    @Benchmark
    public InetAddress parseAndAddress() {
        wire.position(0);
        parser.parse(wire);
        return parser.sourceAddress();
    }

    public static void main(String[] args) throws RunnerException, CommandLineOptionException, IOException {
        run(ProxyHeaderParserBenchmark.class, args);
    }
}
