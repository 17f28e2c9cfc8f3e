import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.*;
import java.util.Arrays;

/** One-off: cost of writing a 32-byte header over an existing file and force(false), as openRecycled now does per reused roll. */
public class ForceOnReuse {
    public static void main(String[] a) throws Exception {
        Path f = Path.of(a[0]);
        int sizeMiB = Integer.parseInt(a[1]);
        int n = Integer.parseInt(a[2]);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer mb = ByteBuffer.allocateDirect(1 << 20);
            for (int i = 0; i < sizeMiB; i++) { mb.clear(); while (mb.hasRemaining()) ch.write(mb, (long) i << 20); }
            ch.force(true);
        }
        long[] ns = new long[n];
        ByteBuffer h = ByteBuffer.allocateDirect(32);
        for (int i = 0; i < n; i++) {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                h.clear(); h.putLong(0, i);
                long t0 = System.nanoTime();
                while (h.hasRemaining()) ch.write(h);
                ch.force(false);
                ns[i] = System.nanoTime() - t0;
            }
        }
        Arrays.sort(ns);
        System.out.printf("n=%d median=%.3f ms p90=%.3f ms max=%.3f ms%n", n, ns[n / 2] / 1e6, ns[n * 9 / 10] / 1e6, ns[n - 1] / 1e6);
    }
}
