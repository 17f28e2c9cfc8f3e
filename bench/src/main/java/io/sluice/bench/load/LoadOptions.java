package io.sluice.bench.load;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Everything one load run needs, validated on construction. Immutable; any thread. Build one with
 * {@link #builder(InetSocketAddress)} (tests, code) or from the command line ({@link LoadCommand}).
 *
 * @param target                the server, possibly unresolved ({@code host:port})
 * @param tlsMode               none, STARTTLS or implicit TLS
 * @param tlsProvider           {@code conscrypt}, {@code jdk} or {@code auto}
 * @param protocols             TLS protocols to enable, e.g. {@code [TLSv1.3]}
 * @param resume                true: later handshakes resume the sessions of earlier ones;
 *                              false: every handshake is full (one context all the same, see {@link ClientTls})
 * @param connections           concurrent sessions
 * @param messagesPerConnection messages sent on one connection before QUIT (1: a connection and
 *                              handshake per message)
 * @param totalMessages         messages to send after warm-up, or 0 to run for {@code durationNanos}
 * @param durationNanos         how long to run after warm-up, or 0 when {@code totalMessages} is set
 * @param sizes                 message sizes and their weights
 * @param recipients            RCPT TO commands per message
 * @param pipelining            send MAIL, every RCPT and DATA in one write when the server offers PIPELINING
 *                              (with BDAT: MAIL, every RCPT and every chunk)
 * @param bdat                  DATA, BDAT chunks (RFC 3030), or BDAT where the server offers CHUNKING
 * @param chunkOctets           message octets per BDAT chunk, the last one smaller; 0: the whole
 *                              message in one {@code BDAT n LAST}; at most {@link #MAX_CHUNK_OCTETS}
 * @param sender                the MAIL FROM address
 * @param rcptDomain            recipients are {@code rcptN@rcptDomain}
 * @param heloName              the EHLO argument
 * @param handshakeOnly         connect, greet, (STARTTLS and handshake), QUIT: no mail
 * @param proxy                 send a PROXY protocol v1 or v2 header first on every connection
 *                              (naming the connection's own ends), or none
 * @param ratePerSecond         open model: messages (or sessions) started per second on a fixed
 *                              schedule; 0 for the closed model (each session as fast as replies allow)
 * @param threads               event loops
 * @param warmupNanos           a first period whose messages are sent but not measured
 * @param connectTimeoutNanos   how long a TCP connect may take
 * @param replyTimeoutNanos     how long any reply (or the TLS handshake) may take
 * @param maxErrors             stop the run and fail once errors exceed this; -1: run to the end and
 *                              fail if there was any error
 * @param jsonFile              where to write the full result as JSON, or null
 * @param hgrmFile              where to write the whole-message latency distribution, or null
 * @param hlogFile              where to write an HdrHistogram interval log (one interval per
 *                              second per phase), or null
 * @param ledgerFile            where to write one line per message attempt (Message-ID, outcome,
 *                              reply code; see {@link LedgerLine}), or null
 * @param serverPid             the server process whose CPU time (with its descendants') is sampled
 *                              from {@code /proc}, or 0 for none
 * @param progress              print a progress line on stderr every second
 */
public record LoadOptions(
        InetSocketAddress target,
        TlsMode tlsMode,
        String tlsProvider,
        List<String> protocols,
        boolean resume,
        int connections,
        int messagesPerConnection,
        long totalMessages,
        long durationNanos,
        SizeDistribution sizes,
        int recipients,
        boolean pipelining,
        BdatMode bdat,
        int chunkOctets,
        String sender,
        String rcptDomain,
        String heloName,
        boolean handshakeOnly,
        ProxyMode proxy,
        double ratePerSecond,
        int threads,
        long warmupNanos,
        long connectTimeoutNanos,
        long replyTimeoutNanos,
        long maxErrors,
        Path jsonFile,
        Path hgrmFile,
        Path hlogFile,
        Path ledgerFile,
        long serverPid,
        boolean progress) {

    /**
     * Upper bound of {@link #chunkOctets}: 1 GiB - 1, the most any size option says. Larger than any
     * message the tool sends (one chunk anyway), and far enough below {@code Integer.MAX_VALUE}
     * that a chunk size added to a message's octets cannot overflow.
     */
    public static final int MAX_CHUNK_OCTETS = Integer.MAX_VALUE / 2;

    /** Default run length when neither a message count nor a duration is given. */
    public static final long DEFAULT_DURATION_NANOS = 10_000_000_000L;

    public LoadOptions {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(tlsMode, "tlsMode");
        Objects.requireNonNull(tlsProvider, "tlsProvider");
        protocols = List.copyOf(protocols);
        Objects.requireNonNull(sizes, "sizes");
        Objects.requireNonNull(bdat, "bdat");
        Objects.requireNonNull(proxy, "proxy");
        requireAtLeast("chunkOctets", chunkOctets, 0);
        requireAtMost("chunkOctets", chunkOctets, MAX_CHUNK_OCTETS);
        requireAddress("sender", sender);
        requireAddress("rcptDomain", rcptDomain);
        requireAddress("heloName", heloName);
        requireAtLeast("connections", connections, 1);
        requireAtLeast("messagesPerConnection", messagesPerConnection, 1);
        requireAtLeast("recipients", recipients, 1);
        requireAtLeast("threads", threads, 1);
        requireAtLeast("totalMessages", totalMessages, 0);
        requireAtLeast("durationNanos", durationNanos, 0);
        requireAtLeast("warmupNanos", warmupNanos, 0);
        requireAtLeast("connectTimeoutNanos", connectTimeoutNanos, 1);
        requireAtLeast("replyTimeoutNanos", replyTimeoutNanos, 1);
        requireAtLeast("maxErrors", maxErrors, -1);
        requireAtLeast("serverPid", serverPid, 0);
        if (totalMessages > 0 && durationNanos > 0) {
            throw new IllegalArgumentException("give either messages=" + totalMessages
                    + " or duration, not both");
        }
        if (totalMessages == 0 && durationNanos == 0) {
            durationNanos = DEFAULT_DURATION_NANOS;
        }
        if (ratePerSecond < 0 || Double.isNaN(ratePerSecond) || Double.isInfinite(ratePerSecond)) {
            throw new IllegalArgumentException("ratePerSecond=" + ratePerSecond + " must be finite and >= 0");
        }
        if (tlsMode != TlsMode.NONE && protocols.isEmpty()) {
            throw new IllegalArgumentException("protocols is empty with tlsMode=" + tlsMode);
        }
    }

    /** A builder with the command's defaults for {@code target}. */
    public static Builder builder(InetSocketAddress target) {
        return new Builder(target);
    }

    /** True in the open model (a fixed schedule of start times). */
    public boolean openModel() {
        return ratePerSecond > 0;
    }

    private static void requireAtLeast(String name, long value, long min) {
        if (value < min) {
            throw new IllegalArgumentException(name + "=" + value + " < MIN=" + min);
        }
    }

    private static void requireAtMost(String name, long value, long max) {
        if (value > max) {
            throw new IllegalArgumentException(name + "=" + value + " > MAX=" + max);
        }
    }

    /** Envelope strings go on the wire verbatim: refuse anything that could inject a command. */
    private static void requireAddress(String name, String value) {
        Objects.requireNonNull(value, name);
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c <= ' ' || c >= 127 || c == '<' || c == '>') {
                throw new IllegalArgumentException(name + "=" + value + " has a character that is not printable ASCII");
            }
        }
    }

    /** Collects options; single-threaded setup code. Defaults match {@link LoadCommand}'s. */
    public static final class Builder {
        private final InetSocketAddress target;
        private TlsMode tlsMode = TlsMode.NONE;
        private String tlsProvider = "auto";
        private List<String> protocols = List.of("TLSv1.3", "TLSv1.2");
        private boolean resume = true;
        private int connections = 10;
        private int messagesPerConnection = 100;
        private long totalMessages;
        private long durationNanos;
        private SizeDistribution sizes = SizeDistribution.fixed(1024);
        private int recipients = 1;
        private boolean pipelining = true;
        private BdatMode bdat = BdatMode.OFF;
        private int chunkOctets;
        private String sender = "load@sender.example";
        private String rcptDomain = "sink.example";
        private String heloName = "load.sluice.test";
        private boolean handshakeOnly;
        private ProxyMode proxy = ProxyMode.NONE;
        private double ratePerSecond;
        private int threads = Runtime.getRuntime().availableProcessors();
        private long warmupNanos;
        private long connectTimeoutNanos = 10_000_000_000L;
        private long replyTimeoutNanos = 30_000_000_000L;
        private long maxErrors = -1;
        private Path jsonFile;
        private Path hgrmFile;
        private Path hlogFile;
        private Path ledgerFile;
        private long serverPid;
        private boolean progress = true;

        private Builder(InetSocketAddress target) {
            this.target = target;
        }

        public Builder tlsMode(TlsMode value) {
            tlsMode = value;
            return this;
        }

        public Builder tlsProvider(String value) {
            tlsProvider = value;
            return this;
        }

        public Builder protocols(List<String> value) {
            protocols = value;
            return this;
        }

        public Builder resume(boolean value) {
            resume = value;
            return this;
        }

        public Builder connections(int value) {
            connections = value;
            return this;
        }

        public Builder messagesPerConnection(int value) {
            messagesPerConnection = value;
            return this;
        }

        public Builder totalMessages(long value) {
            totalMessages = value;
            return this;
        }

        public Builder durationNanos(long value) {
            durationNanos = value;
            return this;
        }

        public Builder sizes(SizeDistribution value) {
            sizes = value;
            return this;
        }

        public Builder recipients(int value) {
            recipients = value;
            return this;
        }

        public Builder pipelining(boolean value) {
            pipelining = value;
            return this;
        }

        public Builder bdat(BdatMode value) {
            bdat = value;
            return this;
        }

        /** BDAT chunk size, 0 (one chunk) to {@link #MAX_CHUNK_OCTETS}; {@link #build} refuses others. */
        public Builder chunkOctets(int value) {
            chunkOctets = value;
            return this;
        }

        public Builder sender(String value) {
            sender = value;
            return this;
        }

        public Builder rcptDomain(String value) {
            rcptDomain = value;
            return this;
        }

        public Builder heloName(String value) {
            heloName = value;
            return this;
        }

        public Builder handshakeOnly(boolean value) {
            handshakeOnly = value;
            return this;
        }

        public Builder proxy(ProxyMode value) {
            proxy = value;
            return this;
        }

        public Builder ratePerSecond(double value) {
            ratePerSecond = value;
            return this;
        }

        public Builder threads(int value) {
            threads = value;
            return this;
        }

        public Builder warmupNanos(long value) {
            warmupNanos = value;
            return this;
        }

        public Builder connectTimeoutNanos(long value) {
            connectTimeoutNanos = value;
            return this;
        }

        public Builder replyTimeoutNanos(long value) {
            replyTimeoutNanos = value;
            return this;
        }

        public Builder maxErrors(long value) {
            maxErrors = value;
            return this;
        }

        public Builder jsonFile(Path value) {
            jsonFile = value;
            return this;
        }

        public Builder hgrmFile(Path value) {
            hgrmFile = value;
            return this;
        }

        public Builder hlogFile(Path value) {
            hlogFile = value;
            return this;
        }

        public Builder ledgerFile(Path value) {
            ledgerFile = value;
            return this;
        }

        public Builder serverPid(long value) {
            serverPid = value;
            return this;
        }

        public Builder progress(boolean value) {
            progress = value;
            return this;
        }

        /** @throws IllegalArgumentException naming the first invalid option */
        public LoadOptions build() {
            return new LoadOptions(target, tlsMode, tlsProvider, protocols, resume, connections,
                    messagesPerConnection, totalMessages, durationNanos, sizes, recipients, pipelining,
                    bdat, chunkOctets, sender, rcptDomain, heloName, handshakeOnly, proxy, ratePerSecond, threads, warmupNanos,
                    connectTimeoutNanos, replyTimeoutNanos, maxErrors, jsonFile, hgrmFile, hlogFile, ledgerFile, serverPid,
                    progress);
        }
    }
}
