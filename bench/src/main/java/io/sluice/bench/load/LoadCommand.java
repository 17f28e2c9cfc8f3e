package io.sluice.bench.load;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sluice load}: the command-line face of {@link LoadGenerator}. Parses options into
 * {@link LoadOptions}, runs, prints the summary on stdout and writes the optional JSON and hgrm
 * files. Exit status: 0 on success, 1 when the run had errors (see {@code --max-errors}), 2 for
 * bad options. picocli calls {@link #call()} on the main thread.
 */
@Command(name = "load", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "SMTP load generator: message rates, TLS handshake rates and per-phase latency of any SMTP server.",
            "Closed model by default (each connection sends as fast as replies allow); --rate switches to an",
            "open model whose latencies are measured from each message's intended start time."},
        footer = {"",
            "Exit status: 0 success; 1 when any message or session failed (no --max-errors), or when errors",
            "exceeded --max-errors N (the run stops early then); 2 bad options.",
            "Examples:",
            "  sluice load --target 127.0.0.1:2525 --connections 50 --messages 100000 --size 1KiB",
            "  sluice load --target mx.test:25 --tls starttls --tls-provider conscrypt --messages-per-connection 1 --duration 30s",
            "  sluice load --target 127.0.0.1:465 --tls implicit --handshake-only --resume off --rate 500/s --duration 20s",
            "  sluice load --target 127.0.0.1:2525 --proxy v2 --connections 20 --messages-per-connection 1 --duration 20s",
            "  sluice load --target 127.0.0.1:2526 --bdat on --chunk-size 16KiB --size 64KiB --warmup 5s --duration 30s"})
public final class LoadCommand implements Callable<Integer> {

    @Option(names = "--target", required = true, paramLabel = "HOST:PORT", description = "Server to load ([v6]:port for IPv6).")
    String target;

    @Option(names = "--tls", defaultValue = "none", paramLabel = "MODE", description = "none, starttls or implicit (default: ${DEFAULT-VALUE}). The server certificate is"
            + " not validated (no chain or name check; the TLS library still checks the handshake signature).")
    String tls;

    @Option(names = "--tls-provider", defaultValue = "auto", paramLabel = "NAME", description = "conscrypt, jdk or auto (default: ${DEFAULT-VALUE}).")
    String tlsProvider;

    @Option(names = "--protocol", defaultValue = "TLSv1.3,TLSv1.2", paramLabel = "LIST", description = "TLS protocols, comma-separated (default: ${DEFAULT-VALUE}).")
    String protocol;

    @Option(names = "--resume", defaultValue = "on", paramLabel = "on|off", description = "on: later handshakes resume earlier sessions; off: every handshake is full (default: ${DEFAULT-VALUE})."
            + " The result counts full and resumed handshakes.")
    String resume;

    @Option(names = "--connections", defaultValue = "10", paramLabel = "N", description = "Concurrent sessions (default: ${DEFAULT-VALUE}).")
    int connections;

    @Option(names = "--messages-per-connection", defaultValue = "100", paramLabel = "M", description = "Messages per connection; 1 = a connection (and handshake) per message (default: ${DEFAULT-VALUE}).")
    int messagesPerConnection;

    @Option(names = "--messages", paramLabel = "TOTAL", description = "Messages to send after warm-up (or sessions, with --handshake-only).")
    Long messages;

    @Option(names = "--duration", paramLabel = "TIME", description = "How long to run after warm-up, e.g. 60s (default 10s when --messages is not given).")
    String duration;

    @Option(names = "--size", paramLabel = "SIZE", description = "Message size, headers included (default 1KiB).")
    String size;

    @Option(names = "--size-dist", paramLabel = "DIST", description = "Weighted sizes, e.g. 1KiB:70,16KiB:25,256KiB:5.")
    String sizeDist;

    @Option(names = "--recipients", defaultValue = "1", paramLabel = "R", description = "RCPT TO per message (default: ${DEFAULT-VALUE}).")
    int recipients;

    @Option(names = "--pipelining", defaultValue = "on", paramLabel = "on|off", description = "Send MAIL, RCPTs and DATA (or every BDAT chunk) in one write when offered (default: ${DEFAULT-VALUE}).")
    String pipelining;

    @Option(names = "--bdat", defaultValue = "off", paramLabel = "on|off|auto", description = "Send message text as BDAT chunks (CHUNKING, RFC 3030):"
            + " on (a server without CHUNKING fails the message, error chunking-not-offered), auto (BDAT where offered, else DATA),"
            + " off: DATA (default: ${DEFAULT-VALUE}).")
    String bdat;

    @Option(names = "--chunk-size", paramLabel = "SIZE", description = "With BDAT: message octets per chunk, the last one smaller,"
            + " from 1 byte to 1GiB - 1 (default: the whole message in one BDAT n LAST).")
    String chunkSize;

    @Option(names = "--sender", defaultValue = "load@sender.example", paramLabel = "ADDR", description = "MAIL FROM address (default: ${DEFAULT-VALUE}).")
    String sender;

    @Option(names = "--rcpt-domain", defaultValue = "sink.example", paramLabel = "DOMAIN", description = "Recipients are rcptN@DOMAIN (default: ${DEFAULT-VALUE}).")
    String rcptDomain;

    @Option(names = "--helo", defaultValue = "load.sluice.test", paramLabel = "NAME", description = "EHLO name (default: ${DEFAULT-VALUE}).")
    String helo;

    @Option(names = "--proxy", defaultValue = "none", paramLabel = "none|v1|v2", description = "Send a PROXY protocol header"
            + " (HAProxy's send-proxy: v1 text, send-proxy-v2: v2 binary) first on every connection, naming the connection's"
            + " own addresses (TCP4 or TCP6), as a TCP load balancer would; for servers behind one, such as a +proxy listener"
            + " (default: ${DEFAULT-VALUE}).")
    String proxy;

    @Option(names = "--handshake-only", description = "Connect, EHLO, STARTTLS and handshake (or implicit TLS), QUIT: no mail.")
    boolean handshakeOnly;

    @Option(names = "--rate", paramLabel = "RATE", description = "Open model: start messages (sessions with --handshake-only) at RATE, e.g. 2000/s.")
    String rate;

    @Option(names = "--threads", paramLabel = "N", description = "Event loops (default: the number of cores).")
    Integer threads;

    @Option(names = "--warmup", defaultValue = "0s", paramLabel = "TIME", description = "Send but do not measure during this first period (default: ${DEFAULT-VALUE}).")
    String warmup;

    @Option(names = "--connect-timeout", defaultValue = "10s", paramLabel = "TIME", description = "TCP connect timeout (default: ${DEFAULT-VALUE}).")
    String connectTimeout;

    @Option(names = "--reply-timeout", defaultValue = "30s", paramLabel = "TIME", description = "Timeout of every reply and of the TLS handshake (default: ${DEFAULT-VALUE}).")
    String replyTimeout;

    @Option(names = "--max-errors", defaultValue = "-1", paramLabel = "N", description = "Stop and exit 1 once errors exceed N; default: run to the end, exit 1 on any error.")
    long maxErrors;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the full result (options, machine, totals, percentiles) as JSON.")
    Path json;

    @Option(names = "--hgrm", paramLabel = "FILE", description = "Write the whole-message latency distribution (HdrHistogram .hgrm, ms).")
    Path hgrm;

    @Option(names = "--hlog", paramLabel = "FILE", description = "Write an HdrHistogram interval log: one interval a second, whole-message latency untagged, other phases tagged (µs).")
    Path hlog;

    @Option(names = "--ledger", paramLabel = "FILE", description = {"Write one line per message attempt: Message-ID, outcome"
            + " (ACKNOWLEDGED, REJECTED, CUT, IN_FLIGHT, NOT_SENT) and reply code (0: none). For crash tests:",
            "use --duration (a failed connection uses up a --messages ticket); the run keeps reconnecting while the"
            + " server is down unless --max-errors is set."})
    Path ledger;

    @Option(names = "--server-pid", paramLabel = "PID", description = "Sample this server process's CPU time (and its descendants') from /proc: server CPU-seconds and messages per server CPU-second.")
    Long serverPid;

    @Option(names = "--tag", paramLabel = "KEY=VALUE", description = "Label the JSON result, e.g. --tag scenario=1k-reuse --tag server=postfix (repeatable).")
    Map<String, String> tags;

    @Spec
    CommandSpec spec;

    @Option(names = "--quiet", description = "No progress lines on stderr.")
    boolean quiet;

    /** How long a shutdown hook waits for the run to end: the generator's stop grace is at most 11 s. */
    private static final long STOP_WAIT_SECONDS = 30;

    private final PrintStream out;
    private final PrintStream err;

    /** For picocli: summary on stdout, progress on stderr. */
    public LoadCommand() {
        this(System.out, System.err);
    }

    /** For tests and embedding: where the summary and the progress lines go. */
    public LoadCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** Runs {@code sluice load ARGS} standalone; exits with the command's status. */
    public static void main(String[] args) {
        System.exit(new CommandLine(new LoadCommand()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        LoadOptions options;
        try {
            options = toOptions();
        } catch (IllegalArgumentException e) {
            err.println("sluice load: " + e.getMessage());
            return 2;
        }
        LoadGenerator generator = new LoadGenerator(options, err);
        CountDownLatch finished = new CountDownLatch(1);
        // On SIGTERM/Ctrl-C: stop, and hold the JVM until the run has written its ledger and files
        // (the JVM halts once the hooks return), bounded by the stop grace plus some slack.
        Thread onInterrupt = new Thread(() -> {
            generator.stop();
            awaitQuietly(finished);
        }, "sluice-load-stop");
        Runtime.getRuntime().addShutdownHook(onInterrupt);
        try {
            LoadResult result = generator.run();
            result.printSummary(out);
            if (options.jsonFile() != null) {
                result.writeJson(options.jsonFile(), runInfo());
            }
            if (options.hgrmFile() != null) {
                result.writeHgrm(options.hgrmFile());
            }
            return result.exitStatus();
        } finally {
            finished.countDown();
            removeHook(onInterrupt);
        }
    }

    private static void awaitQuietly(CountDownLatch finished) {
        try {
            finished.await(STOP_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The exact command line and the {@code --tag}s, for the JSON result. */
    private Map<String, Object> runInfo() {
        Map<String, Object> info = new LinkedHashMap<>();
        if (spec != null) {
            List<String> args = spec.commandLine().getParseResult().originalArgs();
            // Run as `sluice load ...`, picocli hands the subcommand the whole line, its name first.
            List<String> own = !args.isEmpty() && args.get(0).equals(spec.name()) ? args.subList(1, args.size()) : args;
            info.put("command", "sluice load " + String.join(" ", own));
        }
        info.put("tags", tags == null ? Map.of() : new TreeMap<String, Object>(tags));
        return info;
    }

    /** {@code --chunk-size}: 1 byte to {@link LoadOptions#MAX_CHUNK_OCTETS}, or an error naming the option. */
    static int chunkOctets(String text) {
        long octets;
        try {
            octets = OptionValues.parseSizeBytes(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--chunk-size=" + text + ": " + e.getMessage(), e);
        }
        if (octets < 1) {
            throw new IllegalArgumentException("--chunk-size=" + text + " < MIN=1 byte");
        }
        if (octets > LoadOptions.MAX_CHUNK_OCTETS) {
            throw new IllegalArgumentException("--chunk-size=" + text + " > MAX=" + LoadOptions.MAX_CHUNK_OCTETS + " bytes");
        }
        return (int) octets;
    }

    /** Converts the parsed command line; throws IllegalArgumentException naming the bad option. */
    LoadOptions toOptions() {
        if (size != null && sizeDist != null) {
            throw new IllegalArgumentException("give either --size or --size-dist, not both");
        }
        LoadOptions.Builder builder = LoadOptions.builder(OptionValues.parseTarget(target))
                .tlsMode(parseEnum(TlsMode.class, "--tls", tls))
                .tlsProvider(tlsProvider)
                .protocols(List.of(protocol.split("\\s*,\\s*")))
                .resume(onOff("--resume", resume))
                .connections(connections)
                .messagesPerConnection(messagesPerConnection)
                .recipients(recipients)
                .pipelining(onOff("--pipelining", pipelining))
                .bdat(parseEnum(BdatMode.class, "--bdat", bdat))
                .sender(sender)
                .rcptDomain(rcptDomain)
                .heloName(helo)
                .handshakeOnly(handshakeOnly)
                .proxy(parseEnum(ProxyMode.class, "--proxy", proxy))
                .warmupNanos(OptionValues.parseDurationNanos(warmup))
                .connectTimeoutNanos(OptionValues.parseDurationNanos(connectTimeout))
                .replyTimeoutNanos(OptionValues.parseDurationNanos(replyTimeout))
                .maxErrors(maxErrors)
                .jsonFile(json)
                .hgrmFile(hgrm)
                .hlogFile(hlog)
                .ledgerFile(ledger)
                .serverPid(serverPid == null ? 0 : serverPid)
                .progress(!quiet);
        if (messages != null) {
            builder.totalMessages(messages);
        }
        if (duration != null) {
            builder.durationNanos(OptionValues.parseDurationNanos(duration));
        }
        if (sizeDist != null) {
            builder.sizes(SizeDistribution.parse(sizeDist));
        } else if (size != null) {
            builder.sizes(SizeDistribution.fixed(OptionValues.parseSizeBytes(size)));
        }
        if (chunkSize != null) {
            builder.chunkOctets(chunkOctets(chunkSize));
        }
        if (rate != null) {
            builder.ratePerSecond(OptionValues.parseRatePerSecond(rate));
        }
        if (threads != null) {
            builder.threads(threads);
        }
        return builder.build();
    }

    private static boolean onOff(String name, String value) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "on", "true", "yes" -> true;
            case "off", "false", "no" -> false;
            default -> throw new IllegalArgumentException(name + "=" + value + " is not on or off");
        };
    }

    private static <E extends Enum<E>> E parseEnum(Class<E> type, String name, String value) {
        try {
            return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + "=" + value + " is not one of "
                    + Arrays.toString(type.getEnumConstants()).toLowerCase(Locale.ROOT), e);
        }
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // The JVM is exiting (Ctrl-C): the hook has run or will.
        }
    }
}
