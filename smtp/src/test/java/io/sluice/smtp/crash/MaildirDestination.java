package io.sluice.smtp.crash;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The maildir tree {@code ROOT/{domain}/{user}} the server delivers into with the maildir
 * transport, read back from disk: every file in a {@code new/} folder is one delivered copy for
 * {@code user@domain}. The writer's pid is in the file name ({@code ...P<pid>Q<n>...}, see
 * MaildirTransport), which tells which incarnation delivered it. Each file is read once and
 * remembered. Harness thread only.
 */
final class MaildirDestination implements CrashDestination {
    private static final Pattern WRITER_PID = Pattern.compile("\\.M\\d+P(\\d+)Q\\d+\\.");

    private final Path root;
    private final Map<Long, Integer> epochOfPid = new HashMap<>();
    private final Map<Path, Delivery> seen = new HashMap<>();

    MaildirDestination(Path root) {
        this.root = root.toAbsolutePath();
    }

    @Override
    public String transport() {
        return "maildir:" + root + "/{domain}/{user}";
    }

    @Override
    public void serverStarted(int epoch, long pid) {
        epochOfPid.put(pid, epoch);
    }

    @Override
    public List<Delivery> deliveries() throws IOException {
        if (Files.isDirectory(root)) {
            for (Path domain : list(root)) {
                for (Path user : list(domain)) {
                    String recipient = user.getFileName() + "@" + domain.getFileName();
                    for (Path file : list(user.resolve("new"))) {
                        if (!seen.containsKey(file)) {
                            seen.put(file, read(file, recipient));
                        }
                    }
                }
            }
        }
        return new ArrayList<>(seen.values());
    }

    private Delivery read(Path file, String recipient) throws IOException {
        LoadMessage.Parsed parsed = LoadMessage.parse(Files.readAllBytes(file));
        Matcher pid = WRITER_PID.matcher(file.getFileName().toString());
        int epoch = pid.find() ? epochOfPid.getOrDefault(Long.parseLong(pid.group(1)), 0) : 0;
        return new Delivery(parsed.messageId(), recipient, epoch, Files.getLastModifiedTime(file).toMillis(),
                parsed.intact());
    }

    /** The entries of a folder; none when it does not exist (yet). */
    private static List<Path> list(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            entries.forEach(out::add);
        } catch (NoSuchFileException | java.nio.file.NotDirectoryException e) {
            // Not created yet: the server creates maildirs on first delivery.
        }
        return out;
    }

    @Override
    public void close() {
        // Nothing to stop: the files stay for the test's temporary directory to remove.
    }

    @Override
    public String toString() {
        return transport();
    }
}
