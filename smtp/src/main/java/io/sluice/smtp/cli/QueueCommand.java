package io.sluice.smtp.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.delivery.QueueControl;
import io.sluice.smtp.delivery.QueueControl.RecipientStatus;
import io.sluice.smtp.delivery.RecipientJournal;
import io.sluice.smtp.spool.DsnReturn;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.EnvelopeDsn;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;
import io.sluice.smtp.spool.RecipientDsn;
import io.sluice.smtp.spool.Spool;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code sluice queue list|cat|retry|delete}: look at the spool and its recipients' state, make
 * deferred recipients due now, delete messages; with a server running on the spool (asked through
 * its {@code control.sock}, see {@link QueueControl}) or without (the spool is opened read-only,
 * recipient state is read from {@code recipients.log}; a retry is journalled under the spool
 * lock and honoured at the next start; a delete is journalled in {@code deleted.log}).
 */
@Command(name = "queue", mixinStandardHelpOptions = true, description = "Inspect and manage the queue.",
        subcommands = {QueueCommand.ListMessages.class, QueueCommand.CatMessage.class, QueueCommand.RetryMessages.class,
                QueueCommand.DeleteMessages.class})
public final class QueueCommand {

    /** Options every queue command takes to find the spool. */
    static final class SpoolLocation {

        @Mixin
        ConfigOptions config;

        @Option(names = "--spool", paramLabel = "DIR", description = "Spool directory (default: spool.dir).")
        Path spool;

        Spool open() throws IOException {
            Path dir = spool != null ? spool : config.load(Map.of()).get(ConfigKeys.SPOOL_DIR);
            return Spool.openReadOnly(dir);
        }
    }

    /**
     * One line per queued message and one indented line per recipient with its state, or one
     * JSON object per message with a {@code "state"} array. The DSN parameters (RFC 3461) show as
     * received: {@code RET=} and {@code ENVID=} on the message's line, {@code NOTIFY=} and
     * {@code ORCPT=} on a recipient's (ENVID and ORCPT still xtext-encoded, as passed on); in JSON
     * as {@code "ret"}, {@code "envid"}, {@code "notify"} and {@code "orcpt"}, null when absent.
     */
    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List queued messages and each recipient's state (pending, deferred, delivered, failed).")
    static final class ListMessages implements Callable<Integer> {

        @Mixin
        SpoolLocation location;

        @Option(names = "--json", description = "One JSON object per line.")
        boolean json;

        @Override
        public Integer call() throws IOException {
            try (Spool spool = location.open()) {
                Map<QueueId, List<RecipientStatus>> states = recipientStates(spool);
                PrintStream out = System.out;
                for (QueuedMessage m : spool.list()) {
                    List<RecipientStatus> state = states.getOrDefault(m.id(), List.of());
                    if (json) {
                        out.println(jsonLine(m, state));
                    } else {
                        out.println(textLine(m));
                        for (RecipientStatus r : state) {
                            out.println(textLine(m, r));
                        }
                    }
                }
                return 0;
            } catch (ConfigException e) {
                System.err.println(e.getMessage());
                return 2;
            }
        }

        /** From the running server, else from the journal. */
        private static Map<QueueId, List<RecipientStatus>> recipientStates(Spool spool) throws IOException {
            Map<QueueId, List<RecipientStatus>> out = new HashMap<>();
            Optional<List<String>> answer = QueueControl.ask(spool.directory(), QueueControl.STATUS);
            if (answer.isPresent()) {
                for (String line : answer.get()) {
                    RecipientStatus r = RecipientStatus.parse(line);
                    out.computeIfAbsent(r.id(), k -> new ArrayList<>()).add(r);
                }
                return out;
            }
            Map<Long, RecipientJournal.MessageRecord> records = RecipientJournal.read(spool.directory());
            for (QueuedMessage m : spool.list()) {
                List<RecipientStatus> state = new ArrayList<>();
                for (int i = 0; i < m.envelope().recipients().size(); i++) {
                    state.add(RecipientStatus.offline(m.id(), i, records.get(m.id().value())));
                }
                out.put(m.id(), state);
            }
            return out;
        }

        static String textLine(QueuedMessage m) {
            Envelope e = m.envelope();
            // Sender-controlled fields are escaped: the text form goes to a terminal (JSON is the exact form).
            String line = m.id() + "  " + Instant.ofEpochMilli(m.arrivalMillis()) + "  " + m.sizeOctets() + "  <"
                    + TerminalText.escape(e.sender()) + ">  " + TerminalText.escape(String.join(" ", e.recipients()));
            String ret = ret(e.dsn());
            String envid = TerminalText.escape(e.dsn().envelopeId());
            return line + (ret == null ? "" : "  RET=" + ret) + (envid.isEmpty() ? "" : "  ENVID=" + envid);
        }

        /** RET= as sent ({@code FULL} or {@code HDRS}), null when absent. */
        private static String ret(EnvelopeDsn dsn) {
            return dsn.ret() == DsnReturn.FULL ? "FULL" : dsn.ret() == DsnReturn.HEADERS ? "HDRS" : null;
        }

        /** The recipient's NOTIFY and ORCPT, {@link RecipientDsn#NONE} for an index the envelope lacks. */
        private static RecipientDsn dsn(QueuedMessage m, RecipientStatus r) {
            return r.index() < m.envelope().recipients().size() ? m.envelope().dsn().recipient(r.index())
                    : RecipientDsn.NONE;
        }

        static String textLine(QueuedMessage m, RecipientStatus r) {
            StringBuilder line = new StringBuilder(96).append("    ").append(TerminalText.escape(recipient(m, r))).append("  ")
                    .append(r.state()).append("  attempts=").append(r.attempts());
            if (r.nextAttemptMillis() > 0) {
                line.append("  next=").append(Instant.ofEpochMilli(r.nextAttemptMillis()));
            }
            RecipientDsn dsn = dsn(m, r);
            if (dsn.notifyBits() != 0) {
                line.append("  NOTIFY=").append(dsn.notifyText());
            }
            if (!dsn.originalRecipient().isEmpty()) {
                line.append("  ORCPT=").append(TerminalText.escape(dsn.originalRecipient()));
            }
            if (!r.lastReply().isEmpty()) {
                line.append("  last=").append(TerminalText.escape(r.lastReply()));
            }
            return line.toString();
        }

        private static String recipient(QueuedMessage m, RecipientStatus r) {
            List<String> rcpts = m.envelope().recipients();
            return r.index() < rcpts.size() ? rcpts.get(r.index()) : "#" + r.index();
        }

        static String jsonLine(QueuedMessage m, List<RecipientStatus> state) {
            String base = jsonLine(m);
            StringBuilder json = new StringBuilder(base.length() + 96 * state.size());
            json.append(base, 0, base.length() - 1).append(",\"state\":[");
            for (int i = 0; i < state.size(); i++) {
                RecipientStatus r = state.get(i);
                RecipientDsn dsn = dsn(m, r);
                json.append(i == 0 ? "" : ",").append("{\"recipient\":").append(Json.string(recipient(m, r)))
                        .append(",\"state\":").append(Json.string(r.state()))
                        .append(",\"attempts\":").append(r.attempts())
                        .append(",\"next_attempt\":").append(r.nextAttemptMillis() > 0
                                ? Json.string(Instant.ofEpochMilli(r.nextAttemptMillis()).toString()) : "null")
                        .append(",\"last_error\":").append(r.lastReply().isEmpty() ? "null" : Json.string(r.lastReply()))
                        .append(",\"notify\":").append(stringOrNull(dsn.notifyText()))
                        .append(",\"orcpt\":").append(stringOrNull(dsn.originalRecipient()))
                        .append('}');
            }
            return json.append("]}").toString();
        }

        static String jsonLine(QueuedMessage m) {
            Envelope e = m.envelope();
            StringBuilder json = new StringBuilder(128);
            json.append("{\"id\":").append(Json.string(m.id().toString()))
                    .append(",\"sender\":").append(Json.string(e.sender()))
                    .append(",\"recipients\":").append(Json.strings(e.recipients()))
                    .append(",\"size\":").append(m.sizeOctets())
                    .append(",\"arrival\":").append(Json.string(Instant.ofEpochMilli(m.arrivalMillis()).toString()))
                    .append(",\"client\":").append(Json.string(e.clientAddress()))
                    .append(",\"helo\":").append(Json.string(e.heloName()))
                    .append(",\"protocol\":").append(Json.string(e.protocol()))
                    .append(",\"ret\":").append(stringOrNull(ret(e.dsn())))
                    .append(",\"envid\":").append(stringOrNull(e.dsn().envelopeId()))
                    .append('}');
            return json.toString();
        }

        /** A JSON string, or null for null or {@code ""} (a parameter that was not given). */
        private static String stringOrNull(String value) {
            return value == null || value.isEmpty() ? "null" : Json.string(value);
        }
    }

    /** The stored message, byte for byte, Received: line included. */
    @Command(name = "cat", mixinStandardHelpOptions = true, description = "Print a queued message as stored.")
    static final class CatMessage implements Callable<Integer> {

        @Mixin
        SpoolLocation location;

        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() throws IOException {
            try (Spool spool = location.open()) {
                QueueId queueId = parse(id);
                if (queueId == null || spool.find(queueId).isEmpty()) {
                    System.err.println("sluice: queue cat: no message " + id);
                    return 1;
                }
                WritableByteChannel out = Channels.newChannel(System.out);
                spool.copyContent(queueId, out);
                System.out.flush();
                return 0;
            }
        }
    }

    /** Makes deferred recipients due now. */
    @Command(name = "retry", mixinStandardHelpOptions = true,
            description = "Make the deferred recipients of messages (or of all, --all) due now.")
    static final class RetryMessages implements Callable<Integer> {

        @Mixin
        SpoolLocation location;

        @Option(names = "--all", description = "Every queued message.")
        boolean all;

        @Parameters(paramLabel = "ID", arity = "0..*")
        List<String> ids = List.of();

        @Override
        public Integer call() throws IOException {
            if (all == !ids.isEmpty()) {
                System.err.println("sluice: queue retry: give message IDs or --all");
                return 2;
            }
            try (Spool spool = location.open()) {
                List<String> targets = all ? List.of(QueueControl.ALL) : ids;
                Path dir = spool.directory();
                if (QueueControl.ask(dir, QueueControl.STATUS).isPresent()) {
                    return retryOnline(dir, targets);
                }
                return retryOffline(spool, targets);
            }
        }

        private static int retryOnline(Path dir, List<String> targets) throws IOException {
            int status = 0;
            for (String target : targets) {
                List<String> answer = QueueControl.ask(dir, QueueControl.RETRY + " " + target).orElse(List.of());
                String first = answer.isEmpty() ? QueueControl.ERROR + " no answer" : answer.get(0);
                if (!first.startsWith(QueueControl.OK + " ")) {
                    System.err.println("sluice: queue retry: " + target + ": " + first);
                    status = 1;
                } else if (QueueControl.ALL.equals(target)) {
                    System.out.println("retrying " + first.substring(3) + " messages now");
                } else if (first.equals(QueueControl.OK + " 0")) {
                    System.err.println("sluice: queue retry: no deferred recipient in " + target);
                    status = 1;
                } else {
                    System.out.println("retrying " + target + " now");
                }
            }
            return status;
        }

        /** No server: journal the retry under the spool lock; the next start applies it. */
        private static int retryOffline(Spool spool, List<String> targets) throws IOException {
            Path dir = spool.directory();
            try (FileChannel lockChannel = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE)) {
                FileLock lock;
                try {
                    lock = lockChannel.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null;
                }
                if (lock == null) {
                    System.err.println("sluice: queue retry: a server holds " + dir.resolve("lock")
                            + " but does not answer on " + QueueControl.SOCKET_NAME + "; try again");
                    return 1;
                }
                int status = 0;
                for (String target : targets) {
                    QueueId id = QueueControl.ALL.equals(target) ? null : parse(target);
                    if (id == null && !QueueControl.ALL.equals(target) || id != null && spool.find(id).isEmpty()) {
                        System.err.println("sluice: queue retry: no message " + target);
                        status = 1;
                        continue;
                    }
                    RecipientJournal.appendRetryNow(dir, id == null ? 0 : id.value());
                    System.out.println("retrying " + (id == null ? "all messages" : id) + " at the next start");
                }
                return status;
            }
        }
    }

    /** Removes a message from the queue for good. */
    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete queued messages.")
    static final class DeleteMessages implements Callable<Integer> {

        @Mixin
        SpoolLocation location;

        @Parameters(paramLabel = "ID", arity = "1..*")
        List<String> ids = List.of();

        @Override
        public Integer call() throws IOException {
            int status = 0;
            try (Spool spool = location.open()) {
                for (String text : ids) {
                    QueueId queueId = parse(text);
                    if (queueId != null && deletedByServer(spool.directory(), queueId)) {
                        System.out.println("deleted " + queueId);
                    } else if (queueId == null || !spool.delete(queueId)) {
                        System.err.println("sluice: queue delete: no message " + text);
                        status = 1;
                    } else {
                        System.out.println("deleted " + queueId);
                    }
                }
            }
            return status;
        }
    }

    /** A running server forgets it at once (and journals it); false if none runs or it did not know it. */
    private static boolean deletedByServer(Path dir, QueueId id) throws IOException {
        Optional<List<String>> answer = QueueControl.ask(dir, QueueControl.DELETE + " " + id);
        return answer.isPresent() && answer.get().equals(List.of(QueueControl.OK + " 1"));
    }

    private static QueueId parse(String text) {
        try {
            return QueueId.parse(text);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
