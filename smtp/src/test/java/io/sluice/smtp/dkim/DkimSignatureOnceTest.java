package io.sluice.smtp.dkim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Map;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

import org.junit.jupiter.api.Test;

import io.sluice.smtp.config.NetworkSet;

/**
 * One private-key operation per message, also when its attempts (recipients at several
 * destinations) ask for the signature at the same time: the first claims the queue id with an
 * in-flight future, the others wait for it. A failed signature is not remembered.
 */
class DkimSignatureOnceTest {
    private static final byte[] MESSAGE = "From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII);

    private static DkimSigner signer(LongSupplier clockMillis) throws Exception {
        return new DkimSigner(Map.of("example.org", DkimSignerTest.ed("example.org", "s")), DkimSigner.DEFAULT_HEADERS,
                "mx.example.org", NetworkSet.parse("127.0.0.0/8"), clockMillis);
    }

    /**
     * The clock (read after the cache check, before signing) waits up to 2 s for the other
     * attempt: both reaching it means both missed and both signed; with the in-flight future the
     * second waits for the first instead, and the first's clock times out.
     */
    @Test
    void concurrentAttemptsOfOneMessageSignOnce() throws Exception {
        CyclicBarrier bothSigning = new CyclicBarrier(2);
        DkimSigner signer = signer(() -> {
            try {
                bothSigning.await(2, TimeUnit.SECONDS);
            } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
                // the other attempt did not sign (it waited or reused): fine
            }
            return 1_800_000_000_000L;
        });
        ExecutorService two = Executors.newFixedThreadPool(2);
        try {
            CompletableFuture<DkimSignature> a = CompletableFuture.supplyAsync(() -> sign(signer), two);
            CompletableFuture<DkimSignature> b = CompletableFuture.supplyAsync(() -> sign(signer), two);
            DkimSignature first = a.get(10, TimeUnit.SECONDS);
            DkimSignature second = b.get(10, TimeUnit.SECONDS);
            assertNotNull(first);
            assertArrayEquals(first.field(), second.field(), "both attempts send the same field");
        } finally {
            two.shutdownNow();
        }
        assertEquals(1, signer.stats().signedCount(), "private-key operations for one message's simultaneous attempts");
        assertEquals(1, signer.stats().reusedCount());
    }

    @Test
    void aFailedSignatureIsNotReusedByTheNextAttempt() throws Exception {
        AtomicInteger clockReads = new AtomicInteger();
        DkimSigner signer = signer(() -> {
            if (clockReads.incrementAndGet() == 1) {
                throw new IllegalStateException("the first signature fails");
            }
            return 1_800_000_000_000L;
        });
        assertThrows(IllegalStateException.class, () -> signer.signatureFor(DkimSignerTest.msg(7), MESSAGE, MESSAGE.length));
        assertNotNull(signer.signatureFor(DkimSignerTest.msg(7), MESSAGE, MESSAGE.length), "the retry signs afresh");
        assertEquals(1, signer.stats().failedCount());
        assertEquals(1, signer.stats().signedCount());
        assertEquals(0, signer.stats().reusedCount());
    }

    private static DkimSignature sign(DkimSigner signer) {
        try {
            return signer.signatureFor(DkimSignerTest.msg(7), MESSAGE, MESSAGE.length);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
