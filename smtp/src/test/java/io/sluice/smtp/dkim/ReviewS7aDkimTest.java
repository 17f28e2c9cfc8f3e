package io.sluice.smtp.dkim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.Test;

import io.sluice.smtp.config.NetworkSet;

/** Review s7a: DKIM signing findings. */
class ReviewS7aDkimTest {
    private DkimSigner signer(DkimKey key) {
        return new DkimSigner(Map.of("example.org", key), DkimSigner.DEFAULT_HEADERS, "mx.example.org",
                NetworkSet.parse("127.0.0.0/8, ::1/128"), () -> 1_800_000_000_000L);
    }

    /**
     * RFC 5322 3.6: exactly one From:. A message with two (the first ours, the second another
     * domain's) should not get our d= on it: verifiers and MUAs differ on which From: they show
     * and which one DMARC aligns with (RFC 7489 6.6.1 lets them reject such mail outright).
     */
    @Test
    void aMessageWithTwoFromFieldsIsNotSigned() throws Exception {
        DkimKey key = DkimSignerTest.ed("example.org", "s");
        byte[] m = ("From: ceo@example.org\r\nFrom: someone@other.example\r\nTo: b@example.net\r\n"
                + "Subject: two authors\r\n\r\nbody\r\n").getBytes(StandardCharsets.US_ASCII);
        assertNull(signer(key).signatureFor(DkimSignerTest.msg(1), m, m.length),
                "signed a message with two From: fields");
    }

    /**
     * The class comment: "the attempts that a message with recipients at several destinations
     * starts at once ... cost one private-key operation". Two workers that sign the same message
     * at the same time both miss the cache and both sign. The clock (read after the cache check,
     * before signing) waits up to 2 s for the other worker: both reaching it proves both missed.
     */
    @Test
    void concurrentAttemptsOfOneMessageSignOnce() throws Exception {
        DkimKey key = DkimSignerTest.ed("example.org", "s");
        CyclicBarrier bothSigning = new CyclicBarrier(2);
        DkimSigner signer = new DkimSigner(Map.of("example.org", key), DkimSigner.DEFAULT_HEADERS, "mx.example.org",
                NetworkSet.parse("127.0.0.0/8"), () -> {
                    try {
                        bothSigning.await(2, TimeUnit.SECONDS);
                    } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
                        // the other attempt did not sign (it waited or reused): fine
                    }
                    return 1_800_000_000_000L;
                });
        byte[] m = "From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII);
        ExecutorService two = Executors.newFixedThreadPool(2);
        try {
            CompletableFuture<DkimSignature> a = CompletableFuture.supplyAsync(() -> sign(signer, m), two);
            CompletableFuture<DkimSignature> b = CompletableFuture.supplyAsync(() -> sign(signer, m), two);
            assertNotNull(a.get(10, TimeUnit.SECONDS));
            assertNotNull(b.get(10, TimeUnit.SECONDS));
        } finally {
            two.shutdownNow();
        }
        assertEquals(1, signer.stats().signedCount(), "private-key operations for one message's simultaneous attempts");
    }

    private static DkimSignature sign(DkimSigner signer, byte[] m) {
        try {
            return signer.signatureFor(DkimSignerTest.msg(7), m, m.length);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
