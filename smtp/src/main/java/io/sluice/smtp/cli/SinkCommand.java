package io.sluice.smtp.cli;

import java.util.Map;
import java.util.concurrent.Callable;

import io.sluice.smtp.server.SmtpServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code sluice sink}: accept and discard mail as fast as the machine allows, like Postfix's smtp-sink. */
@Command(name = "sink", mixinStandardHelpOptions = true,
        description = "Accept and discard mail (the measuring partner for load tests); listens on 127.0.0.1:2526 unless --set listen=... says otherwise.")
public final class SinkCommand implements Callable<Integer> {

    /** Beside a default {@code serve} on 2525, so both can run on one machine. */
    static final String DEFAULT_LISTEN = "127.0.0.1:2526";

    @Mixin
    ConfigOptions options;

    @Option(names = "--report", paramLabel = "SECONDS", defaultValue = "1",
            description = "Print messages/s and MB/s this often (0 = never). Default: ${DEFAULT-VALUE}.")
    int reportSeconds;

    @Override
    public Integer call() {
        return ServerRunner.run(options, Map.of("listen", DEFAULT_LISTEN, "log.level", "warn"),
                SmtpServer.Mode.SINK, reportSeconds);
    }
}
