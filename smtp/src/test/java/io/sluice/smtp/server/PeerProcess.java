package io.sluice.smtp.server;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A real peer program (python3, openssl, swaks, Postfix tools) run with bounded waits: stdout and
 * stderr are collected on their own threads, the test may talk to stdin while watching stdout, and
 * {@link #close()} destroys the process whatever happened. One instance per run; test thread only.
 */
final class PeerProcess implements AutoCloseable {

    /** What a finished peer left behind. */
    record Result(int exitCode, String stdout, String stderr) {
        String both() {
            return "exit " + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
        }
    }

    private final List<String> command;
    private final Process process;
    private final Drain out;
    private final Drain err;
    private final OutputStream in;

    private PeerProcess(List<String> command, Map<String, String> environment) throws IOException {
        this.command = command;
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().putAll(environment);
        process = builder.start();
        out = new Drain(process.getInputStream());
        err = new Drain(process.getErrorStream());
        out.start();
        err.start();
        in = process.getOutputStream();
    }

    /** Starts {@code command}; close the result (try-with-resources) so it never outlives the test. */
    static PeerProcess start(List<String> command) throws IOException {
        return new PeerProcess(command, Map.of());
    }

    /** Runs {@code command} with {@code stdin} to completion; fails with the peer's output if it hangs. */
    static Result run(List<String> command, byte[] stdin, long timeoutSeconds) throws IOException, InterruptedException {
        return run(command, Map.of(), stdin, timeoutSeconds);
    }

    /** As {@link #run(List, byte[], long)}, with {@code environment} added to ours. */
    static Result run(List<String> command, Map<String, String> environment, byte[] stdin, long timeoutSeconds)
            throws IOException, InterruptedException {
        try (PeerProcess peer = new PeerProcess(command, environment)) {
            peer.write(stdin);
            return peer.finish(timeoutSeconds);
        }
    }

    /** True when {@code command} exits 0 within a few seconds (a probe such as {@code python3 -c "import smtplib"}). */
    static boolean works(List<String> command) {
        try {
            return run(command, new byte[0], 10).exitCode() == 0;
        } catch (IOException | AssertionError e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The executable named {@code name} on PATH or in the sbin folders (or the absolute path itself). */
    static Optional<Path> find(String name) {
        if (name.contains("/")) {
            Path p = Path.of(name);
            return Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
        }
        String path = System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin");
        for (String entry : (path + ":/usr/sbin:/sbin").split(File.pathSeparator)) {
            Path candidate = Path.of(entry.isEmpty() ? "." : entry, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** Writes to the peer's stdin; a peer that already exited is not an error here (its output says why). */
    void write(byte[] bytes) {
        try {
            in.write(bytes);
            in.flush();
        } catch (IOException e) {
            // Broken pipe: finish() reports the exit code and output.
        }
    }

    void write(String text) {
        write(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Waits until stdout contains {@code needle}; false after {@code timeout} or when the peer exited without it. */
    boolean awaitStdout(String needle, Duration timeout) throws InterruptedException {
        return TestServer.await(timeout, () -> out.text().contains(needle) || !process.isAlive())
                && out.text().contains(needle);
    }

    String stdout() {
        return out.text();
    }

    String stderr() {
        return err.text();
    }

    /** Closes stdin and waits for the exit; fails with the peer's output if it does not exit in time. */
    Result finish(long timeoutSeconds) throws InterruptedException {
        try {
            in.close();
        } catch (IOException e) {
            // Already gone.
        }
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            close();
            throw new AssertionError(command + " did not exit within " + timeoutSeconds + " s\n--- stdout\n"
                    + out.text() + "\n--- stderr\n" + err.text());
        }
        out.join(5_000);
        err.join(5_000);
        return new Result(process.exitValue(), out.text(), err.text());
    }

    /** The running process, e.g. to signal it. */
    Process process() {
        return process;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /**
     * SIGTERM (through the process handle, which leaves our pipe ends open so its last output is
     * still read); the exit status, or -1 if it has not exited within {@code timeout}.
     */
    int terminate(Duration timeout) throws InterruptedException {
        process.toHandle().destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return -1;
        }
        out.join(5_000);
        err.join(5_000);
        return process.exitValue();
    }

    /** SIGKILL now, and wait (bounded) until the process is gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** Kills the peer if it still runs (SIGKILL) and waits briefly for its output threads. */
    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
            out.join(5_000);
            err.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // close() must not throw InterruptedException (javac -Xlint:try)
        }
    }

    /** Copies one stream of the child into memory on its own thread so the child never blocks on a full pipe. */
    private static final class Drain extends Thread {
        private final InputStream in;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        Drain(InputStream in) {
            super("peer-output");
            setDaemon(true);
            this.in = in;
        }

        @Override
        public void run() {
            byte[] chunk = new byte[8192];
            try {
                for (int n; (n = in.read(chunk)) >= 0; ) {
                    bytes.write(chunk, 0, n);
                }
            } catch (IOException e) {
                // The process was destroyed; what was read so far is kept.
            }
        }

        String text() {
            return bytes.toString(StandardCharsets.UTF_8); // synchronized inside ByteArrayOutputStream
        }
    }
}
