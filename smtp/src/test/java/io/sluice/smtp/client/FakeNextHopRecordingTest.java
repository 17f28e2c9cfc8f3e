package io.sluice.smtp.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Test;

/**
 * What {@link FakeNextHop} records as plaintext when two connections send at once: the client
 * tests search it for whole commands, so one connection's bytes must never land inside another's.
 */
class FakeNextHopRecordingTest {

    @Test
    void twoConnectionsSendingAtOnceAreRecordedApart() throws Exception {
        try (FakeNextHop fake = new FakeNextHop();
             Socket first = new Socket(fake.server.getInetAddress(), fake.port());
             Socket second = new Socket(fake.server.getInetAddress(), fake.port())) {
            first.setSoTimeout(10_000);
            second.setSoTimeout(10_000);
            readLine(first.getInputStream()); // the greetings: both connections are served
            readLine(second.getInputStream());
            send(first, "MAIL F");
            assertTrue(await(() -> fake.plaintextReceived().length() == 6), fake.plaintextReceived());
            // like the late ClientHello of a failed STARTTLS connection, read while the retry talks
            send(second, "\u0016\u0003\u0001junk");
            assertTrue(await(() -> fake.plaintextReceived().length() == 13), fake.plaintextReceived());
            send(first, "ROM:<a@example.org>\r\n");
            assertEquals("250 2.1.0 ok", readLine(first.getInputStream())); // the fake read the whole line
            assertTrue(fake.plaintextReceived().contains("MAIL FROM:<a@example.org>\r\n"), fake.plaintextReceived());
            assertEquals(List.of("MAIL FROM:<a@example.org>\r\n", "\u0016\u0003\u0001junk"), fake.plaintextByConnection());
        }
    }

    private static void send(Socket socket, String text) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int b = in.read(); b >= 0 && b != '\n'; b = in.read()) {
            if (b != '\r') {
                line.append((char) b);
            }
        }
        return line.toString();
    }

    /** Polls {@code condition} for at most five seconds. */
    private static boolean await(BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                return false;
            }
            Thread.sleep(5);
        }
        return true;
    }
}
