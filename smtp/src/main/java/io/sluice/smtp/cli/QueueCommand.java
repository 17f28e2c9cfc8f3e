package io.sluice.smtp.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;
import io.sluice.smtp.spool.Spool;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code sluice queue list|cat|delete}: look at the spool, also while a server runs on it (the
 * spool is opened read-only; a delete is journalled and honoured by the server's next recovery).
 */
@Command(name = "queue", mixinStandardHelpOptions = true, description = "Inspect the spool.",
        subcommands = {QueueCommand.ListMessages.class, QueueCommand.CatMessage.class, QueueCommand.DeleteMessages.class})
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

    /** One line per queued message, or JSON lines. */
    @Command(name = "list", mixinStandardHelpOptions = true, description = "List queued messages.")
    static final class ListMessages implements Callable<Integer> {

        @Mixin
        SpoolLocation location;

        @Option(names = "--json", description = "One JSON object per line.")
        boolean json;

        @Override
        public Integer call() throws IOException {
            try (Spool spool = location.open()) {
                PrintStream out = System.out;
                for (QueuedMessage m : spool.list()) {
                    out.println(json ? jsonLine(m) : textLine(m));
                }
                return 0;
            } catch (ConfigException e) {
                System.err.println(e.getMessage());
                return 2;
            }
        }

        static String textLine(QueuedMessage m) {
            Envelope e = m.envelope();
            return m.id() + "  " + Instant.ofEpochMilli(m.arrivalMillis()) + "  " + m.sizeOctets() + "  <"
                    + e.sender() + ">  " + String.join(" ", e.recipients());
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
                    .append('}');
            return json.toString();
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
                    if (queueId == null || !spool.delete(queueId)) {
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

    private static QueueId parse(String text) {
        try {
            return QueueId.parse(text);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
