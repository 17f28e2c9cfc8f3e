/*
 * How to run and profile (from the repository root):
 *   mvn -B -q -o -pl bench -am package -DskipTests
 *   mvn -B -q -o -pl bench dependency:build-classpath -Dmdep.outputFile=cp.txt
 *   java -cp bench/target/classes:smtp/target/classes:tls/target/classes:reactor/target/classes:$(cat bench/cp.txt) io.sluice.bench.TlsHandshakeBenchmark -prof gc
 * Short check: append  -f 1 -wi 1 -i 2 -w 1s -r 1s  (and e.g. -p provider=jdk -p keyType=EC)
 * Read "ops/s" as handshakes per second of one client+server pair on one thread.
 * JSON results go to perf-results/jmh/TlsHandshakeBenchmark-<date>.json.
 */
package io.sluice.bench;

import io.sluice.tls.CertificateSource;
import io.sluice.tls.CertifiedKey;
import io.sluice.tls.SelfSignedCertificate;
import io.sluice.tls.TlsContext;
import io.sluice.tls.TlsProvider;
import java.io.IOException;
import java.util.Arrays;
import javax.net.ssl.SSLEngine;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;

/**
 * TLS handshakes per second, engine to engine in memory (no sockets), per provider, protocol and
 * server key type: {@link #full} (the client never offers a session) and {@link #resumed} (the
 * client offers the ticket or session of its previous handshake, as a peer that delivers to us
 * again does). Both sides run on the benchmark thread, so the server alone would do a little more
 * than twice the full rate (the client verifies, the server signs). Setup checks that full
 * handshakes send the certificate and resumed ones do not, so neither number lies.
 */
@State(Scope.Thread)
public class TlsHandshakeBenchmark extends AbstractBenchmark {

    private static final String PEER_HOST = "mx.bench.example";
    private static final int PEER_PORT = 25;

    @Param({"conscrypt", "jdk"})
    public String provider;

    @Param({"TLSv1.3", "TLSv1.2"})
    public String protocol;

    @Param({"EC", "RSA"})
    public String keyType;

    private TlsContext server;
    private TlsContext client;
    private final EnginePair pair = new EnginePair();
    private final int[] firstFlight = new int[1];
    private byte[] lastClientSessionId;

    @Setup
    public void setUp() throws Exception {
        TlsProvider tls = TlsProvider.select(provider);
        CertifiedKey key = SelfSignedCertificate.create("bench.example", keyType);
        server = TlsContext.forServer().provider(tls).certificate(CertificateSource.of(key)).build();
        client = TlsContext.forClient().provider(tls).protocols(protocol).trustAnyCertificate().build();
        int certificateBytes = key.leaf().getEncoded().length;
        full();
        if (firstFlight[0] < certificateBytes) {
            throw new IllegalStateException("full handshake sent no certificate: flight=" + firstFlight[0]);
        }
        resumed();
        byte[] firstId = lastClientSessionId;
        resumed();
        // TLS 1.3 flights are encrypted: a resumed one is smaller than the certificate. A TLS 1.2
        // server may send a large new ticket (the JDK's hold the whole session), so check the ID.
        boolean resumedNow = protocol.equals("TLSv1.3") ? firstFlight[0] < certificateBytes
                : firstId.length > 0 && Arrays.equals(firstId, lastClientSessionId);
        if (!resumedNow) {
            throw new IllegalStateException(provider + " " + protocol + " did not resume: flight=" + firstFlight[0]
                    + ", certificate=" + certificateBytes);
        }
    }

    /** One full handshake; the client engine has no peer, so it has no session to offer. */
    @Benchmark
    public int full() throws IOException {
        return handshake(client.newClientEngine(null, 0));
    }

    /** One abbreviated handshake: the client offers the session (TLS 1.2) or ticket (TLS 1.3) it got last time. */
    @Benchmark
    public int resumed() throws IOException {
        return handshake(client.newClientEngine(PEER_HOST, PEER_PORT));
    }

    private int handshake(SSLEngine clientEngine) throws IOException {
        SSLEngine serverEngine = server.newServerEngine();
        int serverBytes = pair.handshake(clientEngine, serverEngine, firstFlight);
        lastClientSessionId = clientEngine.getSession().getId();
        EnginePair.close(clientEngine, serverEngine);
        return serverBytes;
    }

    public static void main(String[] args) throws RunnerException, CommandLineOptionException, IOException {
        run(TlsHandshakeBenchmark.class, args);
    }
}
