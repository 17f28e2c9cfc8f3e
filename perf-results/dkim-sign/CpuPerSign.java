import io.sluice.smtp.config.NetworkSet;
import io.sluice.smtp.dkim.*;
import io.sluice.smtp.spool.*;
import java.lang.management.*;
import java.security.*;
import java.util.*;
public class CpuPerSign {
  public static void main(String[] a) throws Exception {
    ThreadMXBean t = ManagementFactory.getThreadMXBean();
    for (String alg : new String[]{"RSA","Ed25519"}) for (int size : new int[]{1024, 65536}) {
      KeyPairGenerator g = KeyPairGenerator.getInstance(alg); if (alg.equals("RSA")) g.initialize(2048);
      DkimKey k = DkimKey.fromPkcs8("example.com","s1", g.generateKeyPair().getPrivate().getEncoded());
      DkimSigner s = new DkimSigner(Map.of("example.com",k), DkimSigner.DEFAULT_HEADERS, "mx", NetworkSet.parse("127.0.0.0/8"), System::currentTimeMillis);
      StringBuilder m = new StringBuilder("From: <news@example.com>\r\nTo: a@example.org\r\nSubject: x\r\nDate: d\r\nMessage-ID: <1@x>\r\n\r\n");
      while (m.length() < size) m.append("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\r\n");
      byte[] msg = m.toString().getBytes();
      Envelope e = new Envelope("news@example.com", List.of("a@example.org"), "127.0.0.1", "h", "ESMTP", 0, BodyType.SEVEN_BIT, false);
      long id = 0;
      for (int i = 0; i < 300; i++) s.signatureFor(new QueuedMessage(QueueId.of(++id), e, msg.length, 0), msg, msg.length);
      long[] per = new long[7];
      for (int r = 0; r < per.length; r++) {
        int n = 200; long c0 = t.getCurrentThreadCpuTime();
        for (int i = 0; i < n; i++) s.signatureFor(new QueuedMessage(QueueId.of(++id), e, msg.length, 0), msg, msg.length);
        per[r] = (t.getCurrentThreadCpuTime() - c0) / n;
      }
      Arrays.sort(per);
      System.out.printf("%-8s %6d B: median %.3f ms CPU per signature (min %.3f, max %.3f, 7 rounds of 200)%n", alg, size, per[3]/1e6, per[0]/1e6, per[6]/1e6);
    }
  }
}
