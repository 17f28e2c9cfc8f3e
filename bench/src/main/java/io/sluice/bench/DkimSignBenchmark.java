/*
 * How to run and profile (from the repository root):
 *   mvn -B -q -o -pl bench -am package -DskipTests
 *   mvn -B -q -o -pl bench dependency:build-classpath -Dmdep.outputFile=cp.txt
 *   java -cp bench/target/classes:smtp/target/classes:tls/target/classes:reactor/target/classes:$(cat bench/cp.txt) io.sluice.bench.DkimSignBenchmark -prof gc
 * Short check: append  -f 1 -wi 2 -i 3 -w 1s -r 1s
 * One operation is what a delivery worker does for one message the signer claims: parse the
 * header, hash the relaxed body, sign (a new queue id each time, so the cache never answers), and
 * "reused": a later attempt of the same message (a cache hit). 1 / ops/s is the worker CPU per message.
 * JSON results go to perf-results/jmh/DkimSignBenchmark-<date>.json.
 */
package io.sluice.bench;

import io.sluice.smtp.config.NetworkSet;
import io.sluice.smtp.dkim.DkimKey;
import io.sluice.smtp.dkim.DkimSigner;
import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPairGenerator;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;

/**
 * DKIM signing of one outbound message (the typical text message of {@link OutboundContentBenchmark})
 * with an RSA-2048 or an Ed25519 key: the cost a delivery worker pays per signed message.
 */
@State(Scope.Thread)
public class DkimSignBenchmark extends AbstractBenchmark {

    @Param({"rsa2048", "ed25519"})
    public String key;

    @Param({"1024", "65536"})
    public int sizeOctets;

    private DkimSigner signer;
    private byte[] message;
    private Envelope envelope;
    private long nextId;

    @Setup
    public void setUp() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance(key.equals("rsa2048") ? "RSA" : "Ed25519");
        if (key.equals("rsa2048")) {
            generator.initialize(2048);
        }
        DkimKey dkimKey = DkimKey.fromPkcs8("example.com", "s1", generator.generateKeyPair().getPrivate().getEncoded());
        signer = new DkimSigner(Map.of("example.com", dkimKey), DkimSigner.DEFAULT_HEADERS, "mx.example.org",
                NetworkSet.parse("127.0.0.0/8"), System::currentTimeMillis);
        message = OutboundContentBenchmark.message(sizeOctets);
        envelope = new Envelope("news@example.com", List.of("alice@example.org"), "127.0.0.1", "client.example", "ESMTP",
                0, BodyType.SEVEN_BIT, false);
    }

    /** A new message each time: parse, body hash, one private-key operation. */
    @Benchmark
    public int sign() throws GeneralSecurityException {
        QueuedMessage m = new QueuedMessage(QueueId.of(++nextId), envelope, message.length, 0);
        return signer.signatureFor(m, message, message.length).field().length;
    }

    /** The same message again (another destination's attempt or an early retry): the cache answers. */
    @Benchmark
    public int reused() throws GeneralSecurityException {
        QueuedMessage m = new QueuedMessage(QueueId.of(1), envelope, message.length, 0);
        return signer.signatureFor(m, message, message.length).field().length;
    }

    public static void main(String[] args) throws RunnerException, CommandLineOptionException, IOException {
        run(DkimSignBenchmark.class, args);
    }
}
