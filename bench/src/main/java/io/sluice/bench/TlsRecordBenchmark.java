/*
 * How to run and profile (from the repository root):
 *   mvn -B -q -o -pl bench -am package -DskipTests
 *   mvn -B -q -o -pl bench dependency:build-classpath -Dmdep.outputFile=cp.txt
 *   java -cp bench/target/classes:smtp/target/classes:tls/target/classes:reactor/target/classes:$(cat bench/cp.txt) io.sluice.bench.TlsRecordBenchmark -prof gc
 * Short check: append  -f 1 -wi 1 -i 2 -w 1s -r 1s
 * Read "ops/s" as 16 KiB records per second, each sealed by one engine and opened by the other;
 * MB/s = ops/s x 16384 / 10^6. "gc.alloc.rate.norm" should be ~0 B/op on the record path.
 * JSON results go to perf-results/jmh/TlsRecordBenchmark-<date>.json.
 */
package io.sluice.bench;

import io.sluice.tls.CertificateSource;
import io.sluice.tls.SelfSignedCertificate;
import io.sluice.tls.TlsContext;
import io.sluice.tls.TlsProvider;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ThreadLocalRandom;
import javax.net.ssl.SSLEngine;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;

/**
 * Bulk TLS record throughput per provider and protocol: one full 16 KiB plaintext record wrapped
 * by the client engine and unwrapped by the server engine per operation, direct buffers on both
 * sides (as {@code TlsLayer} uses them), with the suite each provider picks by default (printed at
 * setup; AES-GCM where the CPU has AES instructions).
 */
@State(Scope.Thread)
public class TlsRecordBenchmark extends AbstractBenchmark {

    static final int RECORD_PLAINTEXT_BYTES = 16 * 1024;

    @Param({"conscrypt", "jdk"})
    public String provider;

    @Param({"TLSv1.3", "TLSv1.2"})
    public String protocol;

    private final EnginePair pair = new EnginePair();
    private final ByteBuffer plaintext = ByteBuffer.allocateDirect(RECORD_PLAINTEXT_BYTES);
    private SSLEngine client;
    private SSLEngine server;

    @Setup
    public void setUp() throws Exception {
        TlsProvider tls = TlsProvider.select(provider);
        TlsContext serverContext = TlsContext.forServer().provider(tls)
                .certificate(CertificateSource.of(SelfSignedCertificate.create("bench.example", "EC"))).build();
        TlsContext clientContext = TlsContext.forClient().provider(tls).protocols(protocol).trustAnyCertificate().build();
        client = clientContext.newClientEngine(null, 0);
        server = serverContext.newServerEngine();
        pair.handshake(client, server, null);
        byte[] random = new byte[RECORD_PLAINTEXT_BYTES];
        ThreadLocalRandom.current().nextBytes(random);
        plaintext.put(random).flip();
        System.out.println("# " + provider + " " + server.getSession().getProtocol() + " " + server.getSession().getCipherSuite());
    }

    /** Seals and opens one 16 KiB record; returns the plaintext bytes the server got. */
    @Benchmark
    public int wrapUnwrap16KiB() throws IOException {
        plaintext.rewind();
        return pair.transfer(client, server, plaintext);
    }

    @TearDown
    public void tearDown() {
        EnginePair.close(client, server);
    }

    public static void main(String[] args) throws RunnerException, CommandLineOptionException, IOException {
        run(TlsRecordBenchmark.class, args);
    }
}
