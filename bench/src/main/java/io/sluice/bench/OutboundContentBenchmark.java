/*
 * How to run and profile (from the repository root):
 *   mvn -B -q -o -pl bench -am package -DskipTests
 *   mvn -B -q -o -pl bench dependency:build-classpath -Dmdep.outputFile=cp.txt
 *   java -cp bench/target/classes:smtp/target/classes:tls/target/classes:reactor/target/classes:$(cat bench/cp.txt) io.sluice.bench.OutboundContentBenchmark -prof gc
 * Short check: append  -f 1 -wi 2 -i 3 -w 1s -r 1s
 * One operation encodes one whole message; MB/s = ops/s x sizeOctets / 1e6. encode: fed as a channel
 * in 8 KiB direct pieces (the transferTo path); read: what the client does since 2026-11-29, the
 * stored octets copied into the array (a heap copy standing in for the pread) and encoded in place.
 * "gc.alloc.rate.norm" is about the encoded array (one per message, sized from the stored size).
 * JSON results go to perf-results/jmh/OutboundContentBenchmark-<date>.json.
 */
package io.sluice.bench;

import io.sluice.smtp.client.OutboundContent;
import java.io.IOException;
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
 * Encodes a typical text message for the outbound client (CRLF lines of 60-78 octets, a header of
 * a dozen lines, a body with an occasional line starting with a dot) as the spool hands it over:
 * in 8 KiB direct buffers, the way {@code FileChannel.transferTo} to a non-file channel writes.
 */
@State(Scope.Thread)
public class OutboundContentBenchmark extends AbstractBenchmark {
    private static final int PIECE_OCTETS = 8192;

    @Param({"1024", "65536"})
    public int sizeOctets;

    private ByteBuffer[] pieces;
    private byte[] stored;
    private OutboundContent.StoredContent source;

    @Setup
    public void setUp() {
        byte[] message = message(sizeOctets);
        stored = message;
        source = (position, dst) -> {
            int n = (int) Math.min(dst.remaining(), stored.length - position);
            if (n <= 0) {
                return -1;
            }
            dst.put(stored, (int) position, n); // stands in for the pread out of the page cache
            return n;
        };
        int n = (message.length + PIECE_OCTETS - 1) / PIECE_OCTETS;
        pieces = new ByteBuffer[n];
        for (int i = 0; i < n; i++) {
            int from = i * PIECE_OCTETS;
            int length = Math.min(PIECE_OCTETS, message.length - from);
            pieces[i] = ByteBuffer.allocateDirect(length).put(message, from, length).flip();
        }
    }

    /** A message of exactly {@code size} octets: header lines, an empty line, body lines ending in CRLF. */
    static byte[] message(int size) {
        StringBuilder m = new StringBuilder(size + 100)
                .append("Received: from client.example.net (client.example.net [192.0.2.10])\r\n")
                .append("\tby mx.example.org (Sluice) with ESMTPS id 0123456789AB\r\n")
                .append("From: \"Newsletter\" <news@example.com>\r\n")
                .append("To: <alice@example.org>\r\n")
                .append("Subject: Your weekly digest of things that happened this week\r\n")
                .append("Date: Sat, 28 Nov 2026 12:00:00 +0000\r\n")
                .append("Message-ID: <20261128120000.ABCDEF@example.com>\r\n")
                .append("MIME-Version: 1.0\r\n")
                .append("Content-Type: text/plain; charset=us-ascii\r\n")
                .append("Content-Transfer-Encoding: 7bit\r\n")
                .append("\r\n");
        String[] words = {"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do"};
        int line = 0;
        while (m.length() < size) {
            StringBuilder l = new StringBuilder(80);
            if (line % 40 == 39) {
                l.append('.'); // a line that DATA must stuff
            }
            for (int w = line; l.length() < 60 + line % 18; w++) {
                l.append(words[w % words.length]).append(' ');
            }
            m.append(l).append("\r\n");
            line++;
        }
        m.setLength(size - 2);
        return m.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII);
    }

    @Benchmark
    public int encode() {
        OutboundContent content = new OutboundContent(sizeOctets);
        for (ByteBuffer piece : pieces) {
            content.write(piece.duplicate());
        }
        content.finish();
        return content.length();
    }

    /** What the client does: the stored octets read straight into the array, then encoded in place. */
    @Benchmark
    public int read() throws IOException {
        return OutboundContent.read(source, sizeOctets, false).length();
    }

    public static void main(String[] args) throws RunnerException, CommandLineOptionException, IOException {
        run(OutboundContentBenchmark.class, args);
    }
}
