package io.sluice.smtp.cli;

import java.util.Map;
import java.util.concurrent.Callable;

import io.sluice.smtp.server.SmtpServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code sluice serve}: the MTA, keeping every message it acknowledged in the spool. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Accept mail over SMTP and keep it in the durable spool (defaults: 127.0.0.1:2525, ./var/spool).")
public final class ServeCommand implements Callable<Integer> {

    @Mixin
    ConfigOptions options;

    @Override
    public Integer call() {
        return ServerRunner.run(options, Map.of(), SmtpServer.Mode.SERVE, 0);
    }
}
