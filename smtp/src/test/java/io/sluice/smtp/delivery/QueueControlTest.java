package io.sluice.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The control channel serves the next client even when one connects and then never writes or never reads. */
class QueueControlTest {
    private static final long CLIENT_TIMEOUT_NANOS = TimeUnit.MILLISECONDS.toNanos(300);

    @TempDir
    Path dir;

    @Test
    void answersOneRequestPerConnection() throws Exception {
        QueueControl control = QueueControl.serve(dir,
                request -> CompletableFuture.completedFuture(List.of("echo " + request)), CLIENT_TIMEOUT_NANOS);
        try (control) {
            assertEquals(Optional.of(List.of("echo STATUS")), QueueControl.ask(dir, "STATUS"));
            assertEquals(Optional.of(List.of("echo RETRY *")), QueueControl.ask(dir, "RETRY *"));
        }
    }

    @Test
    void aSilentClientDoesNotShutOutTheNext() throws Exception {
        QueueControl control = QueueControl.serve(dir,
                request -> CompletableFuture.completedFuture(List.of("echo " + request)), CLIENT_TIMEOUT_NANOS);
        try (control; SocketChannel silent = SocketChannel.open(UnixDomainSocketAddress.of(dir.resolve(QueueControl.SOCKET_NAME)))) {
            assertEquals(true, silent.isConnected());
            Optional<List<String>> answer = assertTimeoutPreemptively(Duration.ofSeconds(10),
                    () -> QueueControl.ask(dir, "STATUS"));
            assertEquals(Optional.of(List.of("echo STATUS")), answer);
        }
    }

    @Test
    void aClientThatNeverReadsItsLongAnswerDoesNotShutOutTheNext() throws Exception {
        List<String> longAnswer = new ArrayList<>();
        String line = "x".repeat(1000);
        for (int i = 0; i < 10_000; i++) { // ~10 MB: far more than the socket buffers hold
            longAnswer.add(line);
        }
        QueueControl control = QueueControl.serve(dir, request -> CompletableFuture.completedFuture(
                request.equals("BIG") ? longAnswer : List.of("small")), CLIENT_TIMEOUT_NANOS);
        try (control; SocketChannel greedy = SocketChannel.open(UnixDomainSocketAddress.of(dir.resolve(QueueControl.SOCKET_NAME)))) {
            greedy.write(ByteBuffer.wrap("BIG\n".getBytes(StandardCharsets.US_ASCII)));
            Optional<List<String>> answer = assertTimeoutPreemptively(Duration.ofSeconds(10),
                    () -> QueueControl.ask(dir, "STATUS"));
            assertEquals(Optional.of(List.of("small")), answer);
        }
    }
}
