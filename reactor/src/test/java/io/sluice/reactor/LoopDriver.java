package io.sluice.reactor;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.function.BooleanSupplier;

/**
 * Drives an unstarted {@link EventLoop} from the test thread with {@code doWork()}, and makes
 * loopback socket pairs whose server side is registered with it.
 */
final class LoopDriver implements AutoCloseable {

    final EventLoop loop;
    private final ServerSocketChannel server;

    LoopDriver(LoopConfig config, NanoClock clock) throws IOException {
        loop = new EventLoop(0, config, clock);
        server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    /** A connected client socket whose server side is registered with the loop and opened. */
    Socket connect(LineHandler handler) throws IOException {
        Socket client = new Socket();
        client.setSoTimeout(5_000);
        client.connect(server.getLocalAddress());
        SocketChannel accepted = server.accept();
        loop.register(accepted, handler);
        until(() -> handler.connection != null || handler.closed.getCount() == 0);
        return client;
    }

    /** Runs loop cycles until {@code condition} holds; fails after 5 s. */
    void until(BooleanSupplier condition) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("condition not reached within 5 s");
            }
            loop.doWork();
            Thread.onSpinWait();
        }
    }

    /** Reads exactly {@code n} bytes from the client (the loop must already have written them). */
    static byte[] readFully(Socket client, int n) throws IOException {
        byte[] bytes = new byte[n];
        InputStream in = client.getInputStream();
        int at = 0;
        while (at < n) {
            int r = in.read(bytes, at, n - at);
            if (r < 0) {
                throw new IOException("EOF after " + at + " of " + n + " bytes");
            }
            at += r;
        }
        return bytes;
    }

    @Override
    public void close() throws IOException {
        loop.close();
        server.close();
    }
}
