package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.sluice.smtp.dkim.DkimKey;
import io.sluice.smtp.dkim.DkimTestVerifier;
import io.sluice.smtp.dkim.TestKeys;
import io.sluice.smtp.metrics.HealthCheck;
import io.sluice.smtp.metrics.MetricsServer;
import io.sluice.smtp.metrics.SluiceMetrics;

/**
 * DKIM end to end: a front server signs what it relays (RSA-2048 for example.org, Ed25519 for
 * ed.example.org, and its own bounce from MAILER-DAEMON@mx.example.org) to a back server that
 * stores into a maildir; the stored files are verified by our test verifier and by a real peer,
 * Debian's python3-dkim (dkimpy), with a DNS function that returns our key records. With BDAT and
 * with DATA (dot-stuffing), and with a body line the client must wrap at 998 octets.
 */
class DkimRelayEndToEndTest {
    @TempDir
    Path dir;

    /** argv: the number of files, the files, then NAME=TXT records; exit 0 when every file verifies. */
    private static final String DKIMPY = "import sys, dkim\n"
            + "n = int(sys.argv[1])\n"
            + "files, records = sys.argv[2:2 + n], dict(a.split('=', 1) for a in sys.argv[2 + n:])\n"
            + "def dns(name, timeout=5):\n"
            + "    r = records.get((name.decode() if isinstance(name, bytes) else name).rstrip('.'))\n"
            + "    return r.encode() if r else None\n"
            + "failed = 0\n"
            + "for f in files:\n"
            + "    d = dkim.DKIM(open(f, 'rb').read())\n"
            + "    ok = d.verify(dnsfunc=dns)\n"
            + "    print('dkimpy', dkim.__file__, f, 'verify', ok, d.domain, d.selector)\n"
            + "    failed += 0 if ok else 1\n"
            + "sys.exit(1 if failed else 0)\n";

    /** Probed once per run (a python start costs a second on a busy machine). */
    private static Optional<String> python;

    /** A python3 that can import dkim (the pyenv one on PATH may lack Debian's package), if any. */
    static synchronized Optional<String> pythonWithDkim() {
        if (python == null) {
            python = probePython();
        }
        return python;
    }

    private static Optional<String> probePython() {
        for (String python : List.of("python3", "/usr/bin/python3")) {
            if (PeerProcess.works(List.of(python, "-c", "import dkim"))) {
                return Optional.of(python);
            }
        }
        return Optional.empty();
    }

    private static List<Path> files(Path folder) {
        if (!Files.isDirectory(folder)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(folder)) {
            return s.sorted().collect(Collectors.toList());
        } catch (IOException e) {
            return List.of();
        }
    }

    private static void submit(int port, String from, String to, String content) throws IOException {
        try (TestServer.Client c = new TestServer.Client(port)) {
            c.reply();
            c.send("EHLO client.example\r\n");
            c.reply();
            c.send("MAIL FROM:<" + from + "> BODY=8BITMIME\r\nRCPT TO:<" + to + ">\r\nDATA\r\n");
            assertTrue(c.reply().startsWith("250"));
            String rcpt = c.reply();
            assertTrue(rcpt.startsWith("250"), rcpt);
            assertTrue(c.reply().startsWith("354"));
            c.send(content + ".\r\n");
            String queued = c.reply();
            assertTrue(queued.startsWith("250 2.0.0 Ok: queued as "), queued);
            c.send("QUIT\r\n");
        }
    }

    private static String message(String from, String subject) {
        return "From: Sender <" + from + ">\r\n"
                + "To: b@example.net\r\n"
                + "Subject: " + subject + "\r\n"
                + "Date: Fri, 1 Jan 2027 00:00:00 +0000\r\n"
                + "Message-ID: <" + subject.replace(' ', '.') + "@example.org>\r\n"
                + "MIME-Version: 1.0\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\n"
                + "Content-Transfer-Encoding: 8bit\r\n"
                + "\r\n"
                + "Caf\u00e9 au lait,  two  blanks \r\n"
                + "..a line that starts with a dot\r\n"
                + "x".repeat(1500) + "\r\n"
                + "\r\n";
    }

    private void relayAndVerify(boolean chunking) throws Exception {
        Path rsaFile = TestKeys.write(dir.resolve("rsa.pem"), TestKeys.rsa2048());
        Path edFile = TestKeys.write(dir.resolve("ed.pem"), TestKeys.pkcs8("Ed25519", 0));
        DkimKey rsa = DkimKey.load("example.org", "s2026", rsaFile);
        DkimKey ed = DkimKey.load("ed.example.org", "ed2026", edFile);
        Map<String, String> dns = Map.of(rsa.recordName(), rsa.recordText(), ed.recordName(), ed.recordText());
        String template = dir.resolve("mail").toAbsolutePath() + "/{domain}/{user}";
        Map<String, String> front = new HashMap<>();
        front.put("hostname", "mx.example.org");
        front.put("relay.host", "[127.0.0.1]:0"); // replaced below with the back server's port
        front.put("tls.client.level", "none");
        front.put("delivery.chunking", Boolean.toString(chunking));
        front.put("smtp.max_text_line_length", "4000");
        front.put("transport.fail.example", "error:5.1.1 no such user here");
        front.put("dkim.example.org.selector", "s2026");
        front.put("dkim.example.org.key", rsaFile.toString());
        front.put("dkim.ed.example.org.selector", "ed2026");
        front.put("dkim.ed.example.org.key", edFile.toString());
        try (TestServer back = new TestServer(dir.resolve("back"), SmtpServer.Mode.SERVE,
                Map.of("transport.*", "maildir:" + template, "domains", "example.net, example.org"))) {
            front.put("relay.host", "[127.0.0.1]:" + back.port());
            ByteArrayOutputStream logged = new ByteArrayOutputStream();
            EventLog log = new EventLog(EventLog.Level.DEBUG, new PrintStream(logged, true, StandardCharsets.UTF_8));
            try (log; TestServer sender = new TestServer(dir.resolve("front"), SmtpServer.Mode.SERVE, front, log)) {
                submit(sender.port(), "a@example.org", "b@example.net", message("a@example.org", "rsa signed"));
                submit(sender.port(), "c@ed.example.org", "b@example.net", message("c@ed.example.org", "ed25519 signed"));
                submit(sender.port(), "a@example.org", "nobody@fail.example", message("a@example.org", "bounced"));
                submit(sender.port(), "a@example.org", "b@example.net",
                        "From: x@other.example\r\n" + message("a@example.org", "two authors unsigned"));
                Path inbox = dir.resolve("mail/example.net/b/new");
                Path bounces = dir.resolve("mail/example.org/a/new");
                assertTrue(TestServer.await(Duration.ofSeconds(60), () -> files(inbox).size() == 3 && files(bounces).size() == 1),
                        "relayed: " + files(inbox).size() + " of 3, bounces " + files(bounces).size() + " of 1");
                assertEquals(3, sender.server.client().dkim().stats().signedCount(), "two relayed, one bounce");
                assertEquals(0, sender.server.client().dkim().stats().failedCount());
                assertEquals(1, sender.server.client().dkim().stats().ambiguousFromCount(), "two From: fields");
                PrometheusRegistry registry = new PrometheusRegistry();
                SluiceMetrics.register(registry, sender.server, EventLog.silent(), 20);
                try (MetricsServer metrics = MetricsServer.start(new InetSocketAddress("127.0.0.1", 0), registry,
                        new HealthCheck(sender.server))) {
                    Map<String, Double> m = MetricsScrape.samples(MetricsScrape.get(metrics.address(), "/metrics").body());
                    assertEquals(3.0, MetricsScrape.value(m, "sluice_outbound_dkim_signatures_total", "result=\"signed\""));
                    assertEquals(0.0, MetricsScrape.value(m, "sluice_outbound_dkim_signatures_total", "result=\"failed\""));
                    assertEquals(1.0, MetricsScrape.value(m, "sluice_outbound_dkim_signatures_total", "result=\"ambiguous_from\""));
                }
                List<Path> all = new ArrayList<>();
                for (Path file : files(inbox)) {
                    String text = Files.readString(file, StandardCharsets.ISO_8859_1);
                    if (text.contains("two authors unsigned")) {
                        assertFalse(text.contains("DKIM-Signature:"), "a message with two From: fields was signed");
                    } else {
                        all.add(file);
                    }
                }
                assertEquals(2, all.size());
                all.addAll(files(bounces));
                List<String> identities = new ArrayList<>();
                for (Path file : all) {
                    byte[] stored = Files.readAllBytes(file);
                    DkimTestVerifier.Result r = DkimTestVerifier.verify(stored, dns::get);
                    assertTrue(r.pass(), file + ": " + r.reason());
                    identities.add(r.tags().get("d") + "/" + r.tags().get("s") + "/" + r.tags().get("a"));
                    String text = new String(stored, StandardCharsets.UTF_8);
                    assertTrue(text.contains("\r\n.a line that starts with a dot\r\n") || !text.contains("dot"), text);
                }
                assertTrue(identities.containsAll(List.of("example.org/s2026/rsa-sha256", "ed.example.org/ed2026/ed25519-sha256")),
                        identities.toString());
                assertEquals(2, identities.stream().filter(i -> i.startsWith("example.org/")).count(), "the bounce too: " + identities);
                dkimpy(all, dns);
            }
            String lines = logged.toString(StandardCharsets.UTF_8);
            assertTrue(lines.contains("dkim-key d=example.org s=s2026 a=rsa-sha256 bits=2048"), lines);
            assertEquals(3, lines.lines().filter(l -> l.contains(" dkim-signed ")).count(), lines);
            assertTrue(lines.contains(" dkim=ed.example.org/ed2026"), lines);
            assertEquals(1, lines.lines().filter(l -> l.contains(" dkim-unsigned ") && l.contains(" reason=ambiguous_from")).count(),
                    lines);
        }
    }

    /** The real peer: dkimpy must verify every stored file. */
    private void dkimpy(List<Path> files, Map<String, String> dns) throws Exception {
        Optional<String> peer = pythonWithDkim();
        Assumptions.assumeTrue(peer.isPresent(),
                "python3 cannot import dkim (apt-get install -y python3-dkim): dkimpy verification skipped; our own verifier passed");
        Path script = dir.resolve("verify.py");
        Files.writeString(script, DKIMPY);
        List<String> command = new ArrayList<>(List.of(peer.get(), script.toString(), Integer.toString(files.size())));
        files.forEach(file -> command.add(file.toString()));
        dns.forEach((name, text) -> command.add(name + "=" + text));
        PeerProcess.Result result = PeerProcess.run(command, new byte[0], 60);
        assertEquals(0, result.exitCode(), result.both());
        assertEquals(files.size(), result.stdout().lines().filter(l -> l.contains(" verify True ")).count(), result.both());
    }

    @Test
    void signedOverBdatVerifiesWithDkimpy() throws Exception {
        relayAndVerify(true);
    }

    @Test
    void signedOverDataVerifiesWithDkimpy() throws Exception {
        relayAndVerify(false);
    }
}
