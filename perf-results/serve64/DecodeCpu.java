import io.sluice.smtp.protocol.BareNewline;
import io.sluice.smtp.protocol.DataDecoder;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

public class DecodeCpu {
    public static void main(String[] a) {
        boolean dots = a[0].equals("dots");
        StringBuilder text = new StringBuilder("Subject: x\r\n\r\n");
        String words = "The quick brown fox jumps over the lazy dog while the mail queue drains. ";
        for (int line = 0; text.length() < 65536 - 100; line++) {
            String body = dots ? (words + words).substring(line % 37, line % 37 + 76) : "X".repeat(78);
            text.append(dots && line % 10 == 0 ? ".." : "").append(body).append("\r\n");
        }
        byte[] bytes = text.append(".\r\n").toString().getBytes(StandardCharsets.US_ASCII);
        ByteBuffer wire = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
        ByteBuffer out = ByteBuffer.allocateDirect(65536);
        DataDecoder d = new DataDecoder(BareNewline.NORMALIZE, 1000, 0);
        var mx = ManagementFactory.getThreadMXBean();
        long sink = 0;
        for (int round = 0; round < 8; round++) {
            long c0 = mx.getCurrentThreadCpuTime();
            int n = 20000;
            for (int i = 0; i < n; i++) {
                wire.position(0); d.reset(); out.clear();
                while (!d.decode(wire, out)) { out.clear(); }
                sink += d.messageOctets();
            }
            long c1 = mx.getCurrentThreadCpuTime();
            if (round >= 3) System.out.printf("%s %s: %.1f us CPU per 64 KiB message (%.2f GB/s)%n", a[1], a[0], (c1 - c0) / 1e3 / n, bytes.length * (double) n / (c1 - c0));
        }
        if (sink == 42) System.out.println();
    }
}
