package io.sluice.bench;

import io.sluice.tls.CertificateSource;
import io.sluice.tls.CertifiedKey;
import io.sluice.tls.SelfSignedCertificate;
import io.sluice.tls.TlsContext;
import io.sluice.tls.TlsProvider;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Full TLS handshakes per second, engine to engine in memory (no sockets, no resumption), for
 * each provider, protocol and server key type. Both sides' CPU is on the one benchmark thread, so
 * a server alone does a little more than twice this.
 *
 * <p>Run: {@code mvn -o -pl bench -am package -DskipTests && java -cp "bench/target/classes:$(cat cp.txt)"
 * org.openjdk.jmh.Main TlsHandshakeBenchmark -prof gc}
 * (cp.txt from {@code mvn -pl bench dependency:build-classpath -Dmdep.outputFile=cp.txt}).
 * Standalone: it does not extend the shared benchmark base class yet.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class TlsHandshakeBenchmark {

    @Param({"conscrypt", "jdk"})
    public String provider;

    @Param({"TLSv1.3", "TLSv1.2"})
    public String protocol;

    @Param({"EC", "RSA"})
    public String keyType;

    private TlsContext server;
    private TlsContext client;
    private final ByteBuffer clientToServer = ByteBuffer.allocateDirect(64 * 1024);
    private final ByteBuffer serverToClient = ByteBuffer.allocateDirect(64 * 1024);
    private final ByteBuffer serverApp = ByteBuffer.allocateDirect(64 * 1024);
    private final ByteBuffer clientApp = ByteBuffer.allocateDirect(64 * 1024);
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    @Setup
    public void setUp() throws Exception {
        TlsProvider tls = TlsProvider.select(provider);
        CertifiedKey key = SelfSignedCertificate.create("bench.example", keyType);
        server = TlsContext.forServer().provider(tls).certificate(CertificateSource.of(key))
                .sessionCacheSize(1).build();
        client = TlsContext.forClient().provider(tls).protocols(protocol).trustAnyCertificate()
                .sessionCacheSize(1).build();
    }

    /** One full handshake; returns the negotiated suite so the work cannot be eliminated. */
    @Benchmark
    public String handshake() throws SSLException {
        SSLEngine serverEngine = server.newServerEngine();
        // A distinct peer port each time: no client-side session reuse.
        SSLEngine clientEngine = client.newClientEngine(null, 0);
        clientToServer.clear();
        serverToClient.clear();
        clientEngine.beginHandshake();
        serverEngine.beginHandshake();
        for (int step = 0; step < 20 && !(done(clientEngine) && done(serverEngine)); step++) {
            shuttle(clientEngine, clientToServer, serverEngine, clientApp, serverApp);
            shuttle(serverEngine, serverToClient, clientEngine, serverApp, clientApp);
        }
        String suite = serverEngine.getSession().getCipherSuite();
        serverEngine.closeOutbound();
        clientEngine.closeOutbound();
        return suite;
    }

    private static boolean done(SSLEngine engine) {
        HandshakeStatus status = engine.getHandshakeStatus();
        return status == HandshakeStatus.NOT_HANDSHAKING || status == HandshakeStatus.FINISHED;
    }

    /** Wraps everything {@code from} has to say and unwraps it into {@code to}. */
    private static void shuttle(SSLEngine from, ByteBuffer wire, SSLEngine to, ByteBuffer fromApp, ByteBuffer toApp)
            throws SSLException {
        wire.clear();
        while (from.getHandshakeStatus() == HandshakeStatus.NEED_WRAP || from.getHandshakeStatus() == HandshakeStatus.NEED_TASK) {
            runTasks(from);
            if (from.getHandshakeStatus() == HandshakeStatus.NEED_WRAP && from.wrap(EMPTY, wire).bytesProduced() == 0) {
                break;
            }
        }
        wire.flip();
        while (wire.hasRemaining()) {
            toApp.clear();
            if (to.unwrap(wire, toApp).bytesConsumed() == 0) {
                break;
            }
            runTasks(to);
        }
        fromApp.clear();
    }

    private static void runTasks(SSLEngine engine) {
        for (Runnable task = engine.getDelegatedTask(); task != null; task = engine.getDelegatedTask()) {
            task.run();
        }
    }
}
