package io.sluice.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;

class MaildirTransportTest {
    private static final byte[] CONTENT = ("Received: from client by mx.test\r\nSubject: hi\r\n\r\nbody line\r\n"
            + ".dot stays as stored\r\n\u00e9t\u00e9 8-bit\r\n").getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    private DeliveryJob job(String sender, String... recipients) {
        Envelope e = new Envelope(sender, List.of(recipients), "192.0.2.7", "client.test", "ESMTP",
                1_700_000_000_000L, BodyType.EIGHT_BIT_MIME, false);
        QueuedMessage m = new QueuedMessage(QueueId.of(12345L << 22), e, CONTENT.length, e.arrivalMillis());
        InMemorySource source = new InMemorySource();
        source.put(m, CONTENT);
        return new DeliveryJob(1, m, List.of(recipients), Route.parse("maildir:" + template()), source);
    }

    private String template() {
        return dir.resolve("mail").toAbsolutePath() + "/{domain}/{user}";
    }

    private static List<Path> files(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.collect(Collectors.toList());
        }
    }

    private static byte[] concat(String head, byte[] tail) {
        byte[] h = head.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[h.length + tail.length];
        System.arraycopy(h, 0, out, 0, h.length);
        System.arraycopy(tail, 0, out, h.length, tail.length);
        return out;
    }

    @Test
    void onefsyncedFilePerRecipientInNewWithHeadersAndExactContent() throws Exception {
        MaildirTransport t = new MaildirTransport(template(), "mx.test", true);
        RecordingCallback cb = new RecordingCallback();
        t.deliver(job("sender@example.org", "Alice@Example.NET", "bob@example.net"), cb);

        assertEquals(2, cb.results.size());
        for (RecipientResult r : cb.results) {
            assertEquals(RecipientResult.Outcome.DELIVERED, r.outcome(), r.toString());
        }
        Path alice = dir.resolve("mail/example.net/alice");
        for (String sub : new String[] {"tmp", "new", "cur"}) {
            assertTrue(Files.isDirectory(alice.resolve(sub)), sub + " created");
        }
        List<Path> aliceNew = files(alice.resolve("new"));
        assertEquals(1, aliceNew.size());
        assertEquals(List.of(), files(alice.resolve("tmp")), "nothing left in tmp/");
        assertTrue(aliceNew.get(0).getFileName().toString().matches("\\d+\\.M\\d+P\\d+Q\\d+\\.mx\\.test"),
                aliceNew.get(0).getFileName().toString());
        assertArrayEquals(concat("Return-Path: <sender@example.org>\r\nDelivered-To: Alice@Example.NET\r\n", CONTENT),
                Files.readAllBytes(aliceNew.get(0)));
        List<Path> bobNew = files(dir.resolve("mail/example.net/bob/new"));
        assertEquals(1, bobNew.size());
        assertArrayEquals(concat("Return-Path: <sender@example.org>\r\nDelivered-To: bob@example.net\r\n", CONTENT),
                Files.readAllBytes(bobNew.get(0)));
        assertEquals(2, t.fileSyncs(), "each file fsynced");
        assertTrue(t.directorySyncs() >= 2, "new/ fsynced after each rename: " + t.directorySyncs());
        assertEquals(0, t.links());
    }

    @Test
    void withoutDeliveredToRecipientsShareOneFileThroughHardLinks() throws Exception {
        MaildirTransport t = new MaildirTransport(template(), "mx.test", false);
        RecordingCallback cb = new RecordingCallback();
        t.deliver(job("", "a@example.net", "b@example.net", "c@example.org"), cb);

        assertEquals(3, cb.results.stream().filter(r -> r.outcome() == RecipientResult.Outcome.DELIVERED).count());
        Path a = files(dir.resolve("mail/example.net/a/new")).get(0);
        Path b = files(dir.resolve("mail/example.net/b/new")).get(0);
        Path c = files(dir.resolve("mail/example.org/c/new")).get(0);
        assertTrue(Files.isSameFile(a, b) && Files.isSameFile(a, c), "hard links to one file");
        assertArrayEquals(concat("Return-Path: <>\r\n", CONTENT), Files.readAllBytes(c));
        assertEquals(2, t.links());
        assertEquals(1, t.fileSyncs(), "one file written and fsynced");
    }

    @ParameterizedTest
    @ValueSource(strings = {"../escape@example.net", "..@example.net", ".@example.net", ".hidden@example.net",
        "a/b@example.net", "a\\b@example.net", "nul\u0000@example.net", "tab\t@example.net", "u@..", "u@../../etc",
        "u@a/b", "@example.net", "u@", "\"../../x\"@example.net"})
    void pathTraversalIsRefused(String recipient) throws Exception {
        MaildirTransport t = new MaildirTransport(template(), "mx.test", true);
        RecordingCallback cb = new RecordingCallback();
        t.deliver(job("s@example.org", recipient), cb);

        RecipientResult r = cb.results.get(0);
        assertEquals(RecipientResult.Outcome.FAILED, r.outcome());
        assertEquals("5.1.3", r.enhancedCode());
        try (Stream<Path> all = Files.walk(dir)) {
            assertEquals(List.of(dir), all.collect(Collectors.toList()), "nothing was created anywhere");
        }
    }

    @Test
    void anUnwritableMaildirDefers() throws Exception {
        Files.createDirectories(dir.resolve("mail/example.net"));
        Files.writeString(dir.resolve("mail/example.net/u"), "a file where the maildir should be");
        MaildirTransport t = new MaildirTransport(template(), "mx.test", true);
        RecordingCallback cb = new RecordingCallback();
        t.deliver(job("s@example.org", "u@example.net", "v@example.net"), cb);

        assertEquals(RecipientResult.Outcome.DEFERRED, cb.byRecipient.get("u@example.net").outcome());
        assertEquals("4.3.0", cb.byRecipient.get("u@example.net").enhancedCode());
        assertEquals(RecipientResult.Outcome.DELIVERED, cb.byRecipient.get("v@example.net").outcome(),
                "one bad mailbox does not hold up the others");
        assertFalse(Files.isDirectory(dir.resolve("mail/example.net/u")));
    }

    @Test
    void aRecipientWithoutDomainUsesOurHostName() throws Exception {
        MaildirTransport t = new MaildirTransport(template(), "mx.test", true);
        RecordingCallback cb = new RecordingCallback();
        t.deliver(job("s@example.org", "postmaster"), cb);
        assertEquals(RecipientResult.Outcome.DELIVERED, cb.results.get(0).outcome());
        assertEquals(1, files(dir.resolve("mail/mx.test/postmaster/new")).size());
    }

    @Test
    void templateWithoutPlaceholdersIsOneMaildir() throws Exception {
        String fixed = dir.resolve("all").toAbsolutePath().toString();
        MaildirTransport t = new MaildirTransport(fixed, "mx.test", true);
        RecordingCallback cb = new RecordingCallback();
        t.deliver(job("s@example.org", "a@example.net", "b@example.net"), cb);
        assertEquals(2, files(dir.resolve("all/new")).size());
    }
}
