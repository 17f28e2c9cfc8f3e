package io.sluice.smtp.dkim;
import java.lang.management.*;
import java.security.MessageDigest;
import java.util.Arrays;
public class BodyCpu {
  public static void main(String[] a) throws Exception {
    ThreadMXBean t = ManagementFactory.getThreadMXBean();
    StringBuilder m = new StringBuilder();
    while (m.length() < 65536) m.append("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\r\n");
    byte[] b = m.toString().getBytes();
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    for (int i = 0; i < 3000; i++) { RelaxedCanonicalization.bodyHash(b, 0, b.length); md.update(b); md.digest(); }
    long[] canon = new long[7], raw = new long[7];
    for (int r = 0; r < 7; r++) {
      long c0 = t.getCurrentThreadCpuTime();
      for (int i = 0; i < 500; i++) RelaxedCanonicalization.bodyHash(b, 0, b.length);
      long c1 = t.getCurrentThreadCpuTime();
      for (int i = 0; i < 500; i++) { md.update(b); md.digest(); }
      long c2 = t.getCurrentThreadCpuTime();
      canon[r] = (c1 - c0) / 500; raw[r] = (c2 - c1) / 500;
    }
    Arrays.sort(canon); Arrays.sort(raw);
    System.out.printf("64 KiB body: relaxed+sha256 median %.1f us CPU, plain sha256 %.1f us CPU%n", canon[3]/1e3, raw[3]/1e3);
  }
}
