package io.sluice.smtp.cli;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.Callable;

import io.sluice.smtp.auth.PasswordHash;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sluice passwd USER}: prints a {@code user:hash} line for the {@code auth.users} file. */
@Command(name = "passwd", mixinStandardHelpOptions = true,
        description = "Hash a password for auth.users: reads it from the terminal (or one line of standard input) and prints user:hash.")
public final class PasswdCommand implements Callable<Integer> {

    @Parameters(paramLabel = "USER")
    String user;

    @Option(names = "--iterations", defaultValue = "" + PasswordHash.DEFAULT_ITERATIONS,
            description = "PBKDF2 iterations (default ${DEFAULT-VALUE}).")
    int iterations;

    @Override
    public Integer call() throws IOException {
        if (user.isEmpty() || user.indexOf(':') >= 0 || user.chars().anyMatch(c -> c < 0x21)) {
            System.err.println("sluice: passwd: user=" + user + ": no colon, space or control characters allowed");
            return 2;
        }
        char[] password = readPassword();
        if (password == null || password.length == 0) {
            System.err.println("sluice: passwd: no password given");
            return 2;
        }
        try {
            System.out.println(user + ":" + PasswordHash.create(password, iterations));
        } finally {
            Arrays.fill(password, '\0');
        }
        return 0;
    }

    private static char[] readPassword() throws IOException {
        Console console = System.console();
        if (console != null) {
            return console.readPassword("password: ");
        }
        String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        return line == null ? null : line.toCharArray();
    }
}
