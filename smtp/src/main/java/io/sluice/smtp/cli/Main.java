package io.sluice.smtp.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code sluice} command: {@code serve}, {@code sink}, {@code queue}, {@code passwd},
 * {@code dkim-record}, and {@code load} when the bench module is on the class path (it depends on
 * this module, so it is found by name).
 */
@Command(name = "sluice", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "A mail transfer agent for the JVM built for throughput.",
        subcommands = {ServeCommand.class, SinkCommand.class, QueueCommand.class, PasswdCommand.class,
                DkimRecordCommand.class})
public final class Main {

    private static final String[] OPTIONAL_COMMANDS = {"io.sluice.bench.load.LoadCommand"};

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs one command line and returns its exit status (for tests). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        for (String name : OPTIONAL_COMMANDS) {
            addIfPresent(cli, name);
        }
        cli.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("sluice: " + e.getMessage());
            return 1;
        });
        return cli.execute(args);
    }

    private static void addIfPresent(CommandLine cli, String className) {
        try {
            Object command = Class.forName(className).getDeclaredConstructor().newInstance();
            cli.addSubcommand(command);
        } catch (ReflectiveOperationException | LinkageError e) {
            // Not built or not on the class path: that command is simply absent.
        }
    }
}
