package io.sluice.smtp.crash;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One incarnation of {@code sluice serve} in a child JVM (the test's class path, small fast-start
 * JVM flags), its stdout and stderr going to a log file, killed with SIGKILL by {@link #kill()}.
 * {@link #close()} kills it if it still runs. Harness thread only.
 */
final class ServeChild implements AutoCloseable {
    /** Flags for a quick start: C1 only, class data sharing, a small serial heap. */
    static final List<String> JVM_FLAGS = List.of("-Xmx256m", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
            "-XX:+UseSerialGC");

    private final Process process;
    private final Path log;
    private final int port;

    private ServeChild(Process process, Path log, int port) {
        this.process = process;
        this.log = log;
        this.port = port;
    }

    /**
     * Starts {@code sluice serve --set k=v ...} on a fresh loopback port.
     *
     * @param settings the configuration; {@code listen} is added here
     * @param log      where the child's stdout and stderr go
     */
    static ServeChild start(Map<String, String> settings, Path log) throws IOException {
        return start(settings, log, freePort());
    }

    /**
     * Starts {@code sluice serve} on loopback {@code port}: every incarnation on the same port, for
     * a load generator with one fixed target.
     */
    static ServeChild start(Map<String, String> settings, Path log, int port) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(JVM_FLAGS);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.sluice.smtp.cli.Main", "serve",
                "--set", "listen=127.0.0.1:" + port));
        settings.forEach((k, v) -> command.addAll(List.of("--set", k + "=" + v)));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new ServeChild(p, log, port);
    }

    int port() {
        return port;
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** True when the server answers a connection with its 220 greeting. */
    boolean greets() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            s.setSoTimeout(2_000);
            InputStream in = s.getInputStream();
            byte[] b = new byte[4];
            int n = in.readNBytes(b, 0, 4);
            return n == 4 && new String(b, StandardCharsets.US_ASCII).equals("220 ");
        } catch (IOException notYet) {
            return false;
        }
    }

    /** SIGKILL, and wait (bounded) until the process is gone; false if it outlived the wait. */
    boolean kill() throws InterruptedException {
        process.destroyForcibly();
        return process.waitFor(10, TimeUnit.SECONDS);
    }

    /**
     * SIGTERM (the JVM's shutdown hook closes the server), bounded wait; the exit status, or -1
     * when it did not exit in time (it is then killed).
     */
    int terminate(long timeoutSeconds) throws InterruptedException {
        process.destroy();
        if (process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            return process.exitValue();
        }
        kill();
        return -1;
    }

    /** The child's threads ({@code jcmd PID Thread.print}), for a report on a child that hangs. */
    String threadDump() {
        try {
            Process jcmd = new ProcessBuilder("jcmd", Long.toString(process.pid()), "Thread.print")
                    .redirectErrorStream(true).start();
            byte[] out = jcmd.getInputStream().readAllBytes();
            jcmd.waitFor(20, TimeUnit.SECONDS);
            return new String(out, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return "(no thread dump: " + e + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "(interrupted)";
        }
    }

    /** The child's output so far. */
    String output() {
        try {
            return Files.readString(log, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            try {
                kill();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // close() must not throw it (javac -Xlint:try)
            }
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }
}
