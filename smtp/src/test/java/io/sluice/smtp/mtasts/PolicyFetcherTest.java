package io.sluice.smtp.mtasts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PolicyFetcherTest {

    @Test
    void aSilentServerTimesOutWithinTheBound() throws Exception {
        try (ServerSocket silent = new ServerSocket()) {
            silent.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            PolicyFetcher fetcher = new PolicyFetcher(PolicyFetcher.trusting(Optional.empty()), silent.getLocalPort(),
                    Duration.ofMillis(300));
            long start = System.nanoTime();
            PolicyFetchException e = assertThrows(PolicyFetchException.class,
                    () -> fetcher.fetch("mta-sts.example.test", List.of(InetAddress.getLoopbackAddress())));
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertEquals(FetchResult.TIMEOUT, e.result(), e.getMessage());
            assertTrue(tookMillis < 3_000, "took " + tookMillis + " ms");
        }
    }

    @Test
    void noAddressIsItsOwnResult() throws Exception {
        PolicyFetcher fetcher = new PolicyFetcher(PolicyFetcher.trusting(Optional.empty()), 443, Duration.ofSeconds(1));
        assertEquals(FetchResult.NO_ADDRESS, assertThrows(PolicyFetchException.class,
                () -> fetcher.fetch("mta-sts.example.test", List.of())).result());
    }

    @Test
    void aRefusedConnectionIsAnIoFailure() throws Exception {
        int port;
        try (ServerSocket closed = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = closed.getLocalPort();
        }
        PolicyFetcher fetcher = new PolicyFetcher(PolicyFetcher.trusting(Optional.empty()), port, Duration.ofSeconds(2));
        assertEquals(FetchResult.IO, assertThrows(PolicyFetchException.class,
                () -> fetcher.fetch("mta-sts.example.test", List.of(InetAddress.getLoopbackAddress()))).result());
    }

    @Test
    void responseBodiesByLengthAndChunks() throws Exception {
        byte[] plain = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA".getBytes(StandardCharsets.US_ASCII);
        Response r = Response.of(plain, plain.length);
        assertTrue(r.complete());
        assertEquals("hello", new String(r.body(false, "h"), StandardCharsets.US_ASCII));
        byte[] chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII);
        Response c = Response.of(chunked, chunked.length).closed(false);
        assertEquals("abcde", new String(c.body(true, "h"), StandardCharsets.US_ASCII));
        byte[] truncated = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nabc".getBytes(StandardCharsets.US_ASCII);
        assertEquals(FetchResult.BAD_RESPONSE, assertThrows(PolicyFetchException.class,
                () -> Response.of(truncated, truncated.length).closed(false).body(true, "h")).result());
        byte[] short1 = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc".getBytes(StandardCharsets.US_ASCII);
        assertEquals(FetchResult.BAD_RESPONSE, assertThrows(PolicyFetchException.class,
                () -> Response.of(short1, short1.length).closed(false).body(false, "h")).result());
        byte[] huge = ("HTTP/1.1 200 OK\r\nContent-Length: " + (StsPolicy.MAX_BODY_OCTETS + 1) + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        assertEquals(FetchResult.TOO_LARGE, assertThrows(PolicyFetchException.class,
                () -> Response.of(huge, huge.length).closed(false).body(false, "h")).result());
    }
}
