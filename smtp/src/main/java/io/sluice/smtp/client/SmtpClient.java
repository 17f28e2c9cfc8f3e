package io.sluice.smtp.client;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.UnaryOperator;

import io.sluice.reactor.ConnectionHandler;
import io.sluice.reactor.EventLoop;
import io.sluice.reactor.EventLoopGroup;
import io.sluice.reactor.NanoClock;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.delivery.DeliveryCallback;
import io.sluice.smtp.delivery.DeliveryJob;
import io.sluice.smtp.delivery.Route;
import io.sluice.smtp.delivery.Transport;
import io.sluice.smtp.dkim.DkimConfig;
import io.sluice.smtp.dkim.DkimKey;
import io.sluice.smtp.dkim.DkimSignature;
import io.sluice.smtp.dkim.DkimSigner;
import io.sluice.smtp.dns.DnsLookup;
import io.sluice.smtp.dns.NextHop;
import io.sluice.smtp.dns.NextHopLookupException;
import io.sluice.smtp.dns.NextHopResolver;
import io.sluice.smtp.mtasts.MtaStsPolicies;
import io.sluice.smtp.mtasts.MtaStsStats;
import io.sluice.smtp.mtasts.MxCertificateCheck;
import io.sluice.smtp.mtasts.PolicyFetcher;
import io.sluice.smtp.mtasts.PolicyStore;
import io.sluice.smtp.mtasts.StsMode;
import io.sluice.smtp.mtasts.StsPolicy;
import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.spool.BodyType;
import io.sluice.tls.TlsContext;
import io.sluice.tls.TlsProvider;

/**
 * The outbound SMTP/LMTP client: makes the {@link Transport} of every {@code lmtp:} and
 * {@code smtp:} route (it is the remote-route factory {@code StandardTransports} takes), and owns
 * what their attempts share: the event loops (the server's), the connection pool, the client TLS
 * contexts, the TLS memory and the worker threads that encode content, DKIM-sign it and resolve
 * fixed hosts (two; one per core, at least two, when DKIM keys are configured: signing is CPU work
 * of about 1.4 ms per message with RSA-2048, which two threads would cap at about 1,400 messages/s).
 *
 * <p>An attempt: {@link Transport#deliver} returns at once; a worker reads the content off the
 * spool (blocking, positional reads) into an {@link OutboundContent}, the next hops come from the
 * {@link NextHopResolver} (MX routes) or the route's host, and a {@link ClientSession} on an
 * event loop carries the message, reusing an idle connection to the same hop when there is one.
 * Results reach the queue manager's callback from the loops.
 *
 * <p>Threading: build and {@link #close()} from the owner's thread; everything else is
 * thread-safe.
 */
public final class SmtpClient implements Function<Route, Transport>, AutoCloseable {
    /** The file of {@code tls.client.remember}, in the spool directory. */
    public static final String TLS_MEMORY_FILE = "tls-memory";

    private final ClientSettings settings;
    private final EventLoopGroup loops;
    private final NextHopResolver resolver;
    private final EventLog log;
    private final ConnectionPool pool = new ConnectionPool();
    private final ClientStats stats = new ClientStats();
    private final ExecutorService workers;
    /** Built on first need, on a worker (loading a provider and the default trust store is slow). */
    private volatile TlsContext opportunisticTls;
    private volatile TlsContext verifyingTls;
    private final TlsMemory memory;
    private final DkimSigner dkim;
    /** Logs at debug why a message of a signing domain leaves unsigned (one listener, not one per call). */
    private final DkimSigner.UnsignedListener dkimUnsigned;
    /** MTA-STS policies of MX destinations (owned: closed with the client), or null when off. */
    private final MtaStsPolicies mtaSts;
    /** What {@code verify} would say of a certificate; built on first need (testing policies only), guarded by this. */
    private MxCertificateCheck mtaStsCertificateCheck;
    private volatile boolean closing;
    /** The handler each new connection gets: the session itself, or a test's wrapper around it. */
    private volatile UnaryOperator<ConnectionHandler> sessionHandlers = UnaryOperator.identity();

    /**
     * @param settings  timeouts, TLS policy, reuse
     * @param loops     the event loops sessions run on (the server's group)
     * @param resolver  MX lookup for {@code smtp:DOMAIN} routes
     * @param memoryDir where {@link #TLS_MEMORY_FILE} lives when {@code settings.rememberTls()}; null = in memory
     * @param log       connection-level warnings (possible downgrades)
     * @throws IOException when the TLS memory file cannot be read
     */
    public SmtpClient(ClientSettings settings, EventLoopGroup loops, NextHopResolver resolver, Path memoryDir,
            EventLog log) throws IOException {
        this(settings, loops, resolver, memoryDir, log, DkimSigner.none());
    }

    /**
     * As above, with DKIM signing: a worker signs each message the signer claims before the
     * first hop (the signature is sent in front of the content; the spool is unchanged).
     */
    public SmtpClient(ClientSettings settings, EventLoopGroup loops, NextHopResolver resolver, Path memoryDir,
            EventLog log, DkimSigner dkim) throws IOException {
        this(settings, loops, resolver, memoryDir, log, dkim, null);
    }

    /**
     * As above, with MTA-STS (RFC 8461) for {@code smtp:} routes that look up MX: {@code mtaSts}
     * (null = off) is closed with this client.
     */
    public SmtpClient(ClientSettings settings, EventLoopGroup loops, NextHopResolver resolver, Path memoryDir,
            EventLog log, DkimSigner dkim, MtaStsPolicies mtaSts) throws IOException {
        this.mtaSts = mtaSts;
        this.settings = settings;
        this.dkim = dkim;
        this.dkimUnsigned = (message, reason) -> {
            if (log.enabled(EventLog.Level.DEBUG)) {
                log.log(EventLog.Level.DEBUG, "dkim-unsigned", "id", message.id(), "reason", reason);
            }
        };
        this.loops = loops;
        this.resolver = resolver;
        this.log = log;
        this.workers = workerPool(dkim.enabled() ? Math.max(2, Runtime.getRuntime().availableProcessors()) : 2);
        this.memory = settings.rememberTls() ? new TlsMemory(memoryDir == null ? null : memoryDir.resolve(TLS_MEMORY_FILE),
                TimeUnit.NANOSECONDS.toMillis(settings.rememberNanos()), System::currentTimeMillis, workers) : null;
    }

    /**
     * The server's client: settings from the configuration, TLS memory in the spool directory,
     * DKIM keys read (a bad one throws a {@link io.sluice.smtp.config.ConfigException}).
     */
    public static SmtpClient fromConfig(SluiceConfig config, EventLoopGroup loops, NextHopResolver resolver,
            Path spoolDir, EventLog log) throws IOException {
        DkimSigner dkim = DkimConfig.signer(config);
        for (DkimKey key : dkim.keys()) {
            log.log(EventLog.Level.INFO, "dkim-key", "d", key.domain(), "s", key.selector(), "a", key.algorithm().tag(),
                    "bits", key.bits());
        }
        ClientSettings settings = ClientSettings.fromConfig(config);
        return new SmtpClient(settings, loops, resolver, spoolDir, log, dkim,
                mtaStsFromConfig(config, settings, resolver, spoolDir, log));
    }

    /**
     * The MTA-STS policies when {@code tls.client.mta_sts} is on and the resolver can also answer
     * TXT and address questions (the server's {@link io.sluice.smtp.dns.MxResolver} does), else null.
     * The policy cache lives in the spool directory ({@link PolicyStore#FILE_NAME}, next to
     * {@link #TLS_MEMORY_FILE}): the one directory the server owns, writable and durable, and per
     * instance (the parent may be shared or read-only); the CLI reads only the spool's segments there.
     */
    private static MtaStsPolicies mtaStsFromConfig(SluiceConfig config, ClientSettings settings, NextHopResolver resolver,
            Path spoolDir, EventLog log) throws IOException {
        if (!config.get(ConfigKeys.TLS_CLIENT_MTA_STS) || !(resolver instanceof DnsLookup lookup)) {
            return null;
        }
        PolicyFetcher fetcher = new PolicyFetcher(PolicyFetcher.trusting(settings.caFile()), PolicyFetcher.HTTPS_PORT,
                config.get(ConfigKeys.TLS_CLIENT_MTA_STS_FETCH_TIMEOUT));
        PolicyStore store = new PolicyStore(spoolDir == null ? null : spoolDir.resolve(PolicyStore.FILE_NAME));
        return new MtaStsPolicies(lookup, fetcher, config.get(ConfigKeys.DNS_TIMEOUT), NanoClock.SYSTEM,
                System::currentTimeMillis, store, MtaStsPolicies.REFRESH_SWEEP, log);
    }

    private static ExecutorService workerPool(int threads) {
        AtomicInteger n = new AtomicInteger();
        ThreadFactory named = r -> {
            Thread t = new Thread(r, "sluice-client-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        // Bounded by the attempts in flight (the queue manager's per-destination concurrency).
        ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                named);
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    /** The transport of an {@code lmtp:} or {@code smtp:} route. */
    @Override
    public Transport apply(Route route) {
        switch (route.kind()) {
            case LMTP, SMTP_HOST, SMTP_MX:
                return new RouteTransport(route);
            default:
                throw new IllegalArgumentException("not a client route: " + route);
        }
    }

    /** Counters since start. */
    public ClientStats stats() {
        return stats;
    }

    /** The DKIM signer (its keys and counters). */
    public DkimSigner dkim() {
        return dkim;
    }

    /** MTA-STS counters, or null when MTA-STS is off. */
    public MtaStsStats mtaStsStats() {
        return mtaSts == null ? null : mtaSts.stats();
    }

    /** Stops pooling; idle connections QUIT when the loops close. Saves the TLS memory. */
    @Override
    public void close() {
        closing = true;
        if (mtaSts != null) {
            mtaSts.close();
        }
        workers.shutdown();
        try {
            workers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (memory != null) {
            memory.save();
        }
    }

    // ---------------------------------------------------------------- for sessions and deliveries

    ClientSettings settings() {
        return settings;
    }

    ConnectionPool pool() {
        return pool;
    }

    TlsMemory memory() {
        return memory;
    }

    /** The context for {@code may} and {@code encrypt}: any certificate (RFC 7435). Built once, on first use. */
    TlsContext opportunisticTls() throws IOException {
        TlsContext context = opportunisticTls;
        if (context == null) {
            context = buildTls(false);
        }
        return context;
    }

    /** The context for {@code verify}: the chain must verify and name the host. Built once, on first use. */
    TlsContext verifyingTls() throws IOException {
        TlsContext context = verifyingTls;
        if (context == null) {
            context = buildTls(true);
        }
        return context;
    }

    private synchronized TlsContext buildTls(boolean verify) throws IOException {
        TlsContext built = verify ? verifyingTls : opportunisticTls;
        if (built != null) {
            return built;
        }
        try {
            TlsContext.Builder builder = TlsContext.forClient().provider(TlsProvider.select(settings.tlsProvider()));
            if (!verify) {
                builder.trustAnyCertificate();
            } else {
                builder.verifyHostname(true);
                if (settings.caFile().isPresent()) {
                    builder.trustCertificates(settings.caFile().get());
                }
            }
            built = builder.build();
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new IOException("tls.client: " + e.getMessage(), e);
        }
        if (verify) {
            verifyingTls = built;
        } else {
            opportunisticTls = built;
        }
        return built;
    }

    boolean closing() {
        return closing;
    }

    /** An enforced MTA-STS attempt ran out of hops on TLS failures. */
    void mtaStsRefusedTls() {
        if (mtaSts != null) {
            mtaSts.stats().count(MtaStsStats.Outcome.REFUSED_TLS);
        }
    }

    /**
     * A loop, after a handshake under an MTA-STS testing policy: a worker checks the peer's chain as
     * {@code verify} would; when that would fail, one WARN line (domain, mx, reason), counted; the
     * delivery goes on either way.
     */
    void checkMtaStsTestingCertificate(String queueId, String domain, HopKey key, List<Certificate> chain) {
        try {
            workers.execute(() -> {
                String problem;
                try {
                    problem = mtaStsCertificateCheck().problem(chain, key.tlsName());
                } catch (IOException e) {
                    log.log(EventLog.Level.WARN, "mta-sts-testing-unchecked", "id", queueId, "domain", domain,
                            "mx", key.tlsName(), "error", e.getMessage());
                    return;
                }
                if (problem != null) {
                    mtaSts.stats().count(MtaStsStats.Outcome.TESTING_BAD_CERTIFICATE);
                    log.log(EventLog.Level.WARN, "mta-sts-testing", "id", queueId, "domain", domain, "mx", key.describe(),
                            "reason", problem, "mta-sts", "certificate would fail verify (mode testing: delivered anyway)");
                }
                mtaSts.stats().certificateChecked(); // after the line: a test that sees the count sees the line
            });
        } catch (RejectedExecutionException e) {
            // closing: the check is only a report
        }
    }

    /** The trust anchors of {@code verify}, for testing-mode checks. Built once, on first use, on a worker. */
    private synchronized MxCertificateCheck mtaStsCertificateCheck() throws IOException {
        if (mtaStsCertificateCheck == null) {
            mtaStsCertificateCheck = MxCertificateCheck.trusting(settings.caFile());
        }
        return mtaStsCertificateCheck;
    }

    /** A loop: a hop under an MTA-STS testing policy went on without TLS; one line, counted. */
    void logMtaStsTesting(Delivery delivery, HopKey key, String what) {
        if (mtaSts != null) {
            mtaSts.stats().count(MtaStsStats.Outcome.TESTING_NO_TLS);
        }
        log.log(EventLog.Level.WARN, "mta-sts-testing", "id", delivery.queueId(), "domain", delivery.mtaStsTestingDomain(),
                "mta-sts", "MX host " + key.describe() + " " + what + " (mode testing: delivered anyway)");
    }

    void logDowngrade(HopKey key, String what) {
        stats.downgrade();
        log.log(EventLog.Level.WARN, "tls-possible-downgrade", "host", key.describe(), "detail", what);
    }

    /** Any thread: an idle pooled session for the hop, or a new connection. */
    void open(HopKey key, Delivery delivery, boolean plaintextOnly) {
        ClientSession idle = plaintextOnly ? null : pool.acquire(key);
        if (idle == null) {
            connect(key, delivery, plaintextOnly);
            return;
        }
        try {
            idle.loop().execute(() -> idle.begin(delivery));
        } catch (RejectedExecutionException e) {
            delivery.hopFailed(451, "4.3.2", "event loop unavailable: " + e.getMessage(), false);
        }
    }

    /**
     * Tests only, before the first delivery: {@code wrap} gets each new session (a
     * {@link ConnectionHandler}) and returns the handler its connection is opened with, e.g. one
     * that hands the session an observed {@link io.sluice.reactor.Connection} in {@code onOpen}.
     */
    void wrapSessionHandlers(UnaryOperator<ConnectionHandler> wrap) {
        sessionHandlers = wrap;
    }

    /** Any thread: a new connection for the hop. */
    void connect(HopKey key, Delivery delivery, boolean plaintextOnly) {
        EventLoop loop = loops.next();
        ClientSession session = new ClientSession(this, key, loop, delivery, plaintextOnly);
        try {
            loop.connect(key.address(), sessionHandlers.apply(session), settings.connectTimeoutNanos());
        } catch (RejectedExecutionException e) {
            delivery.reportUnreported(451, "4.3.2", "event loop unavailable: " + e.getMessage());
        }
    }

    /**
     * The TLS level of a route. Credentials are never sent in plaintext, nor by default to a peer
     * whose certificate is unchecked (a man in the middle would collect them): a destination with
     * credentials gets {@code verify}, unless a {@code tls.client.policy.<destination>} entry names
     * it, which is raised to at least {@code encrypt} (an operator's opt-out for a smarthost with a
     * private certificate).
     */
    static ClientTlsLevel levelFor(TlsPolicyTable policy, String destination, SmtpCredentials credentials) {
        if (credentials == null) {
            return policy.levelFor(destination);
        }
        ClientTlsLevel explicit = policy.explicitLevelFor(destination);
        if (explicit == null) {
            return ClientTlsLevel.VERIFY;
        }
        return explicit.compareTo(ClientTlsLevel.ENCRYPT) < 0 ? ClientTlsLevel.ENCRYPT : explicit;
    }

    // ---------------------------------------------------------------- one route

    /** The transport of one route: non-blocking, reports from the loops. */
    private final class RouteTransport implements Transport {
        private final Route route;
        private final ClientTlsLevel level;
        private final SmtpCredentials credentials;
        /** MX routes only, and never when a {@code tls.client.policy.<domain>} entry names the domain. */
        private final boolean mtaStsApplies;

        RouteTransport(Route route) {
            this.route = route;
            this.credentials = settings.auth().credentialsFor(route.target());
            this.level = levelFor(settings.tlsPolicy(), route.target(), credentials);
            this.mtaStsApplies = mtaSts != null && route.kind() == Route.Kind.SMTP_MX
                    && settings.tlsPolicy().explicitLevelFor(route.target()) == null;
        }

        @Override
        public void deliver(DeliveryJob job, DeliveryCallback callback) {
            Delivery delivery = new Delivery(SmtpClient.this, job, callback, level, route.kind() == Route.Kind.LMTP,
                    credentials);
            workers.execute(() -> prepare(job, delivery));
        }

        /** Worker thread: content first (blocking read), then the hops. */
        private void prepare(DeliveryJob job, Delivery delivery) {
            OutboundContent content;
            try {
                content = OutboundContent.read(job::readContent, job.message().sizeOctets(),
                        job.message().envelope().bodyType() == BodyType.BINARY_MIME);
            } catch (IOException e) {
                delivery.reportUnreported(451, "4.3.0", "cannot read the queued message: " + e.getMessage());
                return;
            }
            if (!sign(job, content, delivery)) {
                return;
            }
            try {
                if (level != ClientTlsLevel.NONE) {
                    opportunisticTls(); // built here, off the loops, before any session needs it
                }
                if (level == ClientTlsLevel.VERIFY) {
                    verifyingTls();
                }
            } catch (IOException e) {
                delivery.reportUnreported(451, "4.7.5", "cannot set up client TLS: " + e.getMessage());
                return;
            }
            if (route.kind() == Route.Kind.SMTP_MX) {
                // Both questions at once: a domain without a policy costs no time, only its (cached) TXT miss.
                // Bounded wait: a slow DNS or policy host (or a full fetch queue) must not hold this
                // delivery; past the limit it goes on as after a failed fetch (cached policy, else none).
                CompletableFuture<StsPolicy> policy = mtaStsApplies
                        ? mtaSts.policyFor(route.target()).completeOnTimeout(mtaSts.cachedPolicy(route.target()),
                                mtaSts.waitLimit().toNanos(), TimeUnit.NANOSECONDS)
                        : CompletableFuture.completedFuture(null);
                resolver.resolve(route.target(), route.port()).whenComplete((hops, error) -> {
                    if (error != null) {
                        lookupFailed(delivery, error);
                    } else {
                        policy.whenComplete((p, never) -> startOnWorker(p, delivery, content, hops));
                    }
                });
                return;
            }
            try {
                delivery.start(content, fixedHops());
            } catch (UnknownHostException e) {
                delivery.reportUnreported(451, "4.4.3", "cannot resolve " + route.target() + ": " + e.getMessage());
            }
        }

        /**
         * Worker thread: puts the DKIM signature in front of the content when the signer claims the
         * message. False (the recipients deferred) when signing failed: sending it unsigned could
         * fail the author domain's DMARC policy, and a deferral retries.
         */
        private boolean sign(DeliveryJob job, OutboundContent content, Delivery delivery) {
            if (!dkim.enabled()) {
                return true;
            }
            // Checked where tests run (assertions on): a private-key operation would stall a loop ~1 ms.
            assert loops.loops().stream().noneMatch(EventLoop::inEventLoop) : "DKIM signing on an event loop";
            DkimSignature signature;
            try {
                signature = dkim.signatureFor(job.message(), content.bytes(), content.length(), dkimUnsigned);
            } catch (GeneralSecurityException | RuntimeException e) {
                log.log(EventLog.Level.WARN, "dkim-failed", "id", job.message().id(), "error", e.toString());
                delivery.reportUnreported(451, "4.3.0", "cannot DKIM-sign the message: " + e.getClass().getSimpleName());
                return false;
            }
            if (signature != null) {
                content.prepend(signature.field());
                if (log.enabled(EventLog.Level.DEBUG)) {
                    log.log(EventLog.Level.DEBUG, "dkim-signed", "id", job.message().id(), "dkim", signature.identity());
                }
            }
            return true;
        }

        /**
         * A resolver or MTA-STS thread: under an enforced policy, on to a worker (the first
         * {@code verify} context is built there: loading the trust store would hold up the resolver).
         */
        private void startOnWorker(StsPolicy policy, Delivery delivery, OutboundContent content, List<NextHop> hops) {
            if (policy == null || policy.mode() != StsMode.ENFORCE) {
                startUnder(policy, delivery, content, hops);
                return;
            }
            try {
                workers.execute(() -> startUnder(policy, delivery, content, hops));
            } catch (RejectedExecutionException e) {
                delivery.reportUnreported(451, "4.3.2", "client closing: " + e.getMessage());
            }
        }

        /**
         * A resolver, MTA-STS, worker or (past the policy wait limit) the JDK's CompletableFuture
         * delay thread: the hops as the domain's MTA-STS policy allows (RFC 8461
         * §5). enforce: only MX hosts matching the policy, each under {@code verify}, or a 4.7.5
         * deferral with nothing sent; testing: every hop as without a policy, each MX host outside
         * the policy logged; none or no policy: as without one.
         */
        private void startUnder(StsPolicy policy, Delivery delivery, OutboundContent content, List<NextHop> hops) {
            try {
                if (policy == null || policy.mode() == StsMode.NONE) {
                    if (policy != null) {
                        mtaSts.stats().count(MtaStsStats.Outcome.NOT_ENFORCED);
                    }
                    delivery.start(content, hops);
                } else if (policy.mode() == StsMode.TESTING) {
                    logTestingMismatches(policy, delivery, hops);
                    delivery.mtaStsTesting(route.target().toLowerCase(Locale.ROOT));
                    delivery.start(content, hops);
                } else {
                    startEnforced(policy, delivery, content, hops);
                }
            } catch (RuntimeException e) { // a bug; the recipients must still hear back
                delivery.reportUnreported(451, "4.3.0", "MTA-STS: " + e);
            }
        }

        private void logTestingMismatches(StsPolicy policy, Delivery delivery, List<NextHop> hops) {
            mtaSts.stats().count(MtaStsStats.Outcome.NOT_ENFORCED);
            for (String host : hostNames(hops)) {
                if (!policy.allows(host)) {
                    mtaSts.stats().count(MtaStsStats.Outcome.TESTING_MISMATCH);
                    log.log(EventLog.Level.WARN, "mta-sts-testing", "id", delivery.queueId(), "domain", route.target(),
                            "mta-sts", "MX host " + host + " does not match mx " + String.join(",", policy.mxPatterns())
                                    + " (mode testing: tried anyway)");
                }
            }
        }

        private void startEnforced(StsPolicy policy, Delivery delivery, OutboundContent content, List<NextHop> hops) {
            String name = "MTA-STS policy of " + route.target().toLowerCase(Locale.ROOT) + " (enforce)";
            List<NextHop> allowed = new ArrayList<>();
            for (NextHop hop : hops) {
                if (policy.allows(hop.hostName())) {
                    allowed.add(hop);
                }
            }
            if (allowed.isEmpty()) {
                mtaSts.stats().count(MtaStsStats.Outcome.REFUSED_MX);
                String why = name + ": no MX host (" + String.join(",", hostNames(hops)) + ") matches mx "
                        + String.join(",", policy.mxPatterns()) + "; nothing sent";
                log.log(EventLog.Level.WARN, "mta-sts-refused", "id", delivery.queueId(), "domain", route.target(), "mta-sts", why);
                delivery.reportUnreported(451, "4.7.5", why);
                return;
            }
            try {
                verifyingTls(); // built here, off the loops
            } catch (IOException e) {
                delivery.reportUnreported(451, "4.7.5", "cannot set up client TLS: " + e.getMessage());
                return;
            }
            mtaSts.stats().count(MtaStsStats.Outcome.ENFORCED);
            delivery.enforceMtaSts(name);
            delivery.start(content, allowed);
        }

        private static Set<String> hostNames(List<NextHop> hops) {
            Set<String> names = new LinkedHashSet<>();
            hops.forEach(hop -> names.add(hop.hostName()));
            return names;
        }

        /** {@code smtp:[host]:port} and {@code lmtp:host:port}: every address of the host, in order. */
        private List<NextHop> fixedHops() throws UnknownHostException {
            List<NextHop> hops = new ArrayList<>();
            for (InetAddress address : InetAddress.getAllByName(route.target())) {
                hops.add(new NextHop(route.target(), address, route.port(), 0));
            }
            return hops;
        }

        private void lookupFailed(Delivery delivery, Throwable error) {
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            if (cause instanceof NextHopLookupException lookup) {
                delivery.reportUnreported(lookup.permanent() ? 550 : 451, lookup.enhancedCode(),
                        "lookup of " + route.target() + ": " + lookup.getMessage());
            } else {
                delivery.reportUnreported(451, "4.4.3", "lookup of " + route.target() + " failed: " + cause);
            }
        }
    }
}
