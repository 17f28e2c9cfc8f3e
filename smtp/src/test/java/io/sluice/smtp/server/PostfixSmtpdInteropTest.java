package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.sluice.tls.SelfSignedCertificate;

/**
 * Sluice's outbound client against a real Postfix {@code smtpd} (Debian's postfix package): a
 * private Postfix instance ({@code postfix -c DIR}, its own config, queue and log under a temp
 * folder, smtpd on 127.0.0.1 only, STARTTLS offered with a self-signed certificate, every
 * transport {@code discard} except {@code virtual(8)} delivery of {@code b@example.net} to a
 * maildir in the temp folder, and of {@code a@example.org}, the sender, to another). Messages
 * submitted to {@code serve} are relayed there, in plaintext and with {@code tls.client.level =
 * encrypt}, and the test reads them back from the maildir. Postfix offers CHUNKING, so this is
 * also BDAT against a second implementation; it offers DSN (RFC 3461), so a NOTIFY=SUCCESS
 * message's parameters reach it and Postfix itself reports the delivery to the sender's maildir.
 *
 * <p>Skipped when Postfix is not installed or we are not root (Postfix's master must start as
 * root). The instance is stopped with {@code postfix stop}; its master is killed by PID if that
 * does not end it.
 */
class PostfixSmtpdInteropTest {
    private static final int MESSAGES = 3;

    @TempDir
    static Path dir;

    private static Path base;
    private static Path etc;
    private static int port;
    private static long masterPid = -1;

    @BeforeAll
    static void startPostfix() throws Exception {
        Optional<Path> postfix = PeerProcess.find("postfix");
        Optional<Path> postconf = PeerProcess.find("postconf");
        Assumptions.assumeTrue(postfix.isPresent() && postconf.isPresent(),
                "Postfix (postfix, postconf) not installed: Postfix smtpd interop skipped");
        PeerProcess.Result id = PeerProcess.run(List.of("id", "-u"), new byte[0], 10);
        Assumptions.assumeTrue(id.stdout().trim().equals("0"),
                "not root (uid " + id.stdout().trim() + "): a private Postfix master must start as root; interop skipped");
        Optional<Path> masterCf = Stream.of("/usr/share/postfix/master.cf.dist", "/etc/postfix/master.cf")
                .map(Path::of).filter(Files::isReadable).findFirst();
        Assumptions.assumeTrue(masterCf.isPresent(), "no master.cf template in /usr/share/postfix or /etc/postfix");
        // Postfix's daemons run as 'postfix' and 'nobody': they must reach into the temp folder.
        base = dir.resolve("postfix");
        etc = base.resolve("etc");
        Files.createDirectories(etc);
        Files.createDirectories(base.resolve("spool"));
        Files.createDirectories(base.resolve("data"));
        Files.createDirectories(base.resolve("mail"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(base.resolve("mail"), PosixFilePermissions.fromString("rwxrwxrwx"));
        run(List.of("chown", "postfix:postfix", base.resolve("data").toString()));
        SelfSignedCertificate.loadOrCreate(etc, "postfix.example.test");
        Files.copy(masterCf.get(), etc.resolve("master.cf"));
        port = freePort();
        Files.writeString(etc.resolve("main.cf"), mainCf());
        String postconfBin = postconf.get().toString();
        run(List.of(postconfBin, "-c", etc.toString(), "-MX", "smtp/inet"));
        run(List.of(postconfBin, "-c", etc.toString(), "-Me",
                "127.0.0.1:" + port + "/inet = 127.0.0.1:" + port + " inet n - n - - smtpd"));
        run(List.of(postconfBin, "-c", etc.toString(), "-F", "*/*/chroot = n"));
        PeerProcess.Result started = PeerProcess.run(List.of(postfix.get().toString(), "-c", etc.toString(), "start"),
                new byte[0], 60);
        Path pidFile = base.resolve("spool/pid/master.pid");
        if (Files.exists(pidFile)) {
            masterPid = Long.parseLong(Files.readString(pidFile).trim());
        }
        assertEquals(0, started.exitCode(), "postfix start: " + started.both() + "\n--- maillog\n" + maillog());
        assertTrue(TestServer.await(Duration.ofSeconds(20), () -> listening(port)), "Postfix smtpd listening\n" + maillog());
    }

    private static String mainCf() {
        return String.join("\n",
                "# A private Postfix instance for PostfixSmtpdInteropTest: loopback only, nothing leaves it.",
                "compatibility_level = 3.6",
                "queue_directory = " + base.resolve("spool"),
                "data_directory = " + base.resolve("data"),
                "maillog_file = " + base.resolve("maillog"),
                "maillog_file_prefixes = " + base,
                "mail_owner = postfix",
                "setgid_group = postdrop",
                "myhostname = postfix.example.test",
                "mydestination =",
                "local_recipient_maps =",
                "relay_domains =",
                "alias_maps =",
                "alias_database =",
                "inet_interfaces = 127.0.0.1",
                "inet_protocols = ipv4",
                "mynetworks = 127.0.0.0/8",
                "smtpd_relay_restrictions = permit_mynetworks, reject",
                "default_transport = discard:nothing leaves this instance",
                "relay_transport = discard:nothing leaves this instance",
                "local_transport = discard:nothing leaves this instance",
                "virtual_mailbox_domains = example.net, example.org",
                "virtual_mailbox_base = " + base.resolve("mail"),
                "virtual_mailbox_maps = inline:{ b@example.net=b/, a@example.org=a/ }",
                "virtual_uid_maps = static:65534",
                "virtual_gid_maps = static:65534",
                "virtual_minimum_uid = 100",
                "smtpd_peername_lookup = no",
                "smtp_dns_support_level = disabled",
                "smtp_host_lookup = native",
                "notify_classes =",
                "biff = no",
                "smtpd_tls_cert_file = " + etc.resolve(SelfSignedCertificate.CERT_FILE),
                "smtpd_tls_key_file = " + etc.resolve(SelfSignedCertificate.KEY_FILE),
                "smtpd_tls_security_level = may",
                "smtpd_tls_loglevel = 1",
                "smtpd_tls_received_header = yes",
                "smtpd_tls_session_cache_database =",
                "");
    }

    @AfterAll
    static void stopPostfix() throws Exception {
        if (etc == null) {
            return; // skipped before anything was started
        }
        Optional<Path> postfix = PeerProcess.find("postfix");
        if (postfix.isPresent()) {
            PeerProcess.run(List.of(postfix.get().toString(), "-c", etc.toString(), "stop"), new byte[0], 60);
        }
        Path pidFile = base.resolve("spool/pid/master.pid");
        if (masterPid < 0 && Files.exists(pidFile)) {
            masterPid = Long.parseLong(Files.readString(pidFile).trim()); // written after our first look
        }
        if (masterPid < 0) {
            return;
        }
        Optional<ProcessHandle> master = ProcessHandle.of(masterPid);
        if (master.isPresent() && !TestServer.await(Duration.ofSeconds(20), () -> !master.get().isAlive())) {
            master.get().descendants().forEach(ProcessHandle::destroyForcibly);
            master.get().destroyForcibly(); // only the master we started, by its PID
        }
        assertTrue(TestServer.await(Duration.ofSeconds(10), () -> ProcessHandle.of(masterPid).isEmpty()
                || !ProcessHandle.of(masterPid).get().isAlive()), "Postfix master " + masterPid + " stopped");
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        PeerProcess.Result r = PeerProcess.run(command, new byte[0], 30);
        assertEquals(0, r.exitCode(), command + ": " + r.both());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static String maillog() {
        try {
            return Files.readString(base.resolve("maillog"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no maillog: " + e.getMessage() + ")";
        }
    }

    private static List<Path> delivered() {
        return maildir("b");
    }

    private static List<Path> maildir(String user) {
        Path inbox = base.resolve("mail/" + user + "/new");
        if (!Files.isDirectory(inbox)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(inbox)) {
            return s.collect(Collectors.toList());
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Relays MESSAGES messages through a Sluice front to Postfix; returns their maildir texts (new ones only). */
    private List<String> relay(String level, String tag) throws Exception {
        int before = delivered().size();
        Map<String, String> settings = Map.of("transport.*", "smtp:[127.0.0.1]:" + port, "tls.client.level", level);
        try (TestServer front = new TestServer(dir.resolve("front-" + tag), SmtpServer.Mode.SERVE, settings)) {
            RelayEndToEndTest.submit(front.port(), MESSAGES);
            assertTrue(TestServer.await(Duration.ofSeconds(60), () -> front.server.queue().delivered() == MESSAGES),
                    "accepted by Postfix: " + front.server.queue().delivered() + "\n" + maillog());
            assertEquals(0, front.server.queue().failed());
            assertEquals(MESSAGES, front.server.client().stats().chunkedMessages(), "BDAT to Postfix (it offers CHUNKING)");
        }
        assertTrue(TestServer.await(Duration.ofSeconds(30), () -> delivered().size() == before + MESSAGES),
                "delivered into the maildir by Postfix: " + delivered().size() + "\n" + maillog());
        List<String> texts = new ArrayList<>();
        for (Path p : delivered()) {
            texts.add(Files.readString(p, StandardCharsets.ISO_8859_1));
        }
        return texts;
    }

    private static void assertArrived(List<String> texts, String marker) {
        for (int i = 0; i < MESSAGES; i++) {
            String subject = "Subject: relay " + i + "\r\n";
            String body = "\n.dot line " + i + "\n"; // maildir lines end in LF; the dot is unstuffed exactly once
            assertTrue(texts.stream().anyMatch(t -> t.replace("\r\n", "\n").contains(subject.replace("\r\n", "\n"))
                    && t.contains(body) && t.contains("Delivered-To: b@example.net") && t.contains(marker)),
                    "message " + i + " with " + marker + " in " + texts);
        }
    }

    @Test
    void relaysToPostfixSmtpdInPlaintext() throws Exception {
        List<String> texts = relay("none", "plain");
        assertArrived(texts, "(Postfix) with ESMTP id");
        // smtpd logs bdat= in its disconnect line, which postlogd writes after the session ends
        assertTrue(TestServer.await(Duration.ofSeconds(20), () -> maillog().contains(" bdat=")),
                "smtpd counted BDAT commands:\n" + maillog());
    }

    @Test
    void relaysToPostfixSmtpdWithStarttlsRequired() throws Exception {
        List<String> texts = relay("encrypt", "tls");
        assertArrived(texts, "(Postfix) with ESMTPS id");
        assertTrue(texts.stream().anyMatch(t -> t.contains("(using TLS")), texts.toString());
        assertTrue(TestServer.await(Duration.ofSeconds(20), () -> maillog().contains("TLS connection established from")),
                maillog());
    }

    @Test
    void passesDsnParametersToPostfixWhichReportsTheDeliveryItself() throws Exception {
        int before = delivered().size();
        int reportsBefore = maildir("a").size();
        Map<String, String> settings = Map.of("transport.*", "smtp:[127.0.0.1]:" + port, "tls.client.level", "none");
        try (TestServer front = new TestServer(dir.resolve("front-dsn"), SmtpServer.Mode.SERVE, settings);
             TestServer.Client c = new TestServer.Client(front.port())) {
            c.reply();
            c.send("EHLO client.example\r\n");
            c.reply();
            c.send("MAIL FROM:<a@example.org> RET=HDRS ENVID=env+2B1\r\n"
                    + "RCPT TO:<b@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+2Bb@example.net\r\nDATA\r\n");
            assertTrue(c.reply().startsWith("250"));
            assertTrue(c.reply().startsWith("250"));
            assertTrue(c.reply().startsWith("354"));
            c.send("Subject: dsn to postfix\r\n\r\nbody\r\n.\r\n");
            assertTrue(c.reply().startsWith("250 2.0.0 Ok: queued as "));
            assertTrue(TestServer.await(Duration.ofSeconds(60), () -> front.server.queue().delivered() == 1),
                    "accepted by Postfix\n" + maillog());
            assertTrue(TestServer.await(Duration.ofSeconds(20), () -> front.queued().isEmpty()), "front emptied");
            assertEquals(0, front.server.queue().successNotices(), "Postfix offers DSN: it reports, not we");
        }
        assertTrue(TestServer.await(Duration.ofSeconds(30), () -> delivered().size() == before + 1),
                "delivered by Postfix\n" + maillog());
        assertTrue(TestServer.await(Duration.ofSeconds(30), () -> maildir("a").size() == reportsBefore + 1),
                "Postfix's own success DSN in the sender's maildir\n" + maillog());
        String report = "";
        for (Path p : maildir("a")) {
            report += Files.readString(p, StandardCharsets.ISO_8859_1);
        }
        // Postfix took ENVID, ORCPT and NOTIFY=SUCCESS from our MAIL and RCPT commands (xtext decoded).
        assertTrue(report.contains("Action: delivered"), report);
        assertTrue(report.contains("Original-Envelope-Id: env+1"), report);
        assertTrue(report.contains("Original-Recipient: rfc822;orig+b@example.net"), report);
        assertTrue(maillog().contains("sender delivery status notification"), maillog());
    }
}
