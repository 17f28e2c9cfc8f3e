package io.sluice.smtp.server;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs a real peer program (python3, openssl, swaks, Postfix tools) with a bounded wait: stdin is
 * written in full and closed, stdout and stderr are collected on their own threads, and the
 * process is destroyed forcibly if it outlives the timeout. One instance per run; test thread only.
 */
final class PeerProcess {

    /** What a finished peer left behind. */
    record Result(int exitCode, String stdout, String stderr) {
        String both() {
            return "exit " + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
        }
    }

    private PeerProcess() {
    }

    /** The executable named {@code name} on PATH (or the absolute path itself), if there is one. */
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

    /** Runs {@code command} with {@code stdin}; fails with the peer's output if it does not exit in time. */
    static Result run(List<String> command, byte[] stdin, long timeoutSeconds) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).start();
        try {
            Drain out = new Drain(process.getInputStream());
            Drain err = new Drain(process.getErrorStream());
            out.start();
            err.start();
            try (OutputStream in = process.getOutputStream()) {
                in.write(stdin);
            } catch (IOException e) {
                // The peer may exit before reading all of its input; its output says why.
            }
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                out.join(5_000);
                err.join(5_000);
                throw new AssertionError(command + " did not exit within " + timeoutSeconds + " s\n--- stdout\n"
                        + out.text() + "\n--- stderr\n" + err.text());
            }
            out.join(5_000);
            err.join(5_000);
            return new Result(process.exitValue(), out.text(), err.text());
        } finally {
            process.destroyForcibly();
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
            try {
                in.transferTo(bytes);
            } catch (IOException e) {
                // The process was destroyed; what was read so far is kept.
            }
        }

        String text() {
            return bytes.toString(StandardCharsets.UTF_8); // synchronized inside ByteArrayOutputStream
        }
    }
}
