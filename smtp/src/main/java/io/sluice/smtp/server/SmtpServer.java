package io.sluice.smtp.server;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;

import io.sluice.reactor.Acceptor;
import io.sluice.reactor.EventLoop;
import io.sluice.reactor.EventLoopGroup;
import io.sluice.reactor.LoopConfig;
import io.sluice.reactor.NanoClock;
import io.sluice.smtp.auth.Authenticator;
import io.sluice.smtp.auth.UserDatabase;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.ListenAddress;
import io.sluice.smtp.config.ListenerMode;
import io.sluice.smtp.config.LoopAssignment;
import io.sluice.smtp.config.NetworkSet;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.config.SniCertificate;
import io.sluice.smtp.config.TlsLevel;
import io.sluice.smtp.config.TlsProviderName;
import io.sluice.smtp.client.SmtpClient;
import io.sluice.smtp.delivery.QueueManager;
import io.sluice.smtp.dkim.DkimKeyFiles;
import io.sluice.smtp.dns.MxResolver;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.Spool;
import io.sluice.smtp.spool.SpoolOptions;
import io.sluice.tls.CertificateSource;
import io.sluice.tls.FileChangeWatcher;
import io.sluice.tls.ReloadingTlsContext;
import io.sluice.tls.SelfSignedCertificate;
import io.sluice.tls.TlsContext;
import io.sluice.tls.TlsProvider;

/**
 * A running SMTP server: event loops, the acceptor with its listeners, and the store behind the
 * sessions (the durable spool for {@code serve}, nothing for {@code sink}). Built from a
 * {@link SluiceConfig}; {@link #close()} stops it. Start and close from one thread.
 */
public final class SmtpServer implements AutoCloseable {

    /** What happens to accepted messages. */
    public enum Mode {
        /** Spooled durably before the 250. */
        SERVE,
        /** Counted and dropped: the measuring partner for load tests. */
        SINK
    }

    private final EventLoopGroup group;
    private final Acceptor acceptor;
    private final Spool spool;
    private final QueueManager queue;
    private final SmtpClient client;
    private final MxResolver resolver;
    private final ReloadingTlsContext tls;
    private final Authenticator auth;
    private final ConfigReloader reloader;
    private final SessionStats stats = new SessionStats();
    private ConnectionLimiter limiter;
    private final EndToEndLatency endToEnd;
    private final List<InetSocketAddress> bound = new ArrayList<>();
    private final Map<ListenerMode, InetSocketAddress> boundByMode = new LinkedHashMap<>();
    /** Per loop, by loop index; each touched only on its loop (the shutdown sends tasks there). */
    private final SessionServices[] services;
    private final EventLog log;
    private volatile boolean shuttingDown;
    private boolean closed;

    private SmtpServer(SluiceConfig config, Mode mode, EventLog log) throws IOException {
        this.log = log;
        String hostname = config.get(ConfigKeys.HOSTNAME);
        int threads = config.get(ConfigKeys.REACTOR_THREADS);
        group = new EventLoopGroup(threads > 0 ? threads : Runtime.getRuntime().availableProcessors(),
                config.get(ConfigKeys.REACTOR_PIN), assignment(config), LoopConfig.defaults(), NanoClock.SYSTEM);
        Spool openedSpool = null;
        QueueManager openedQueue = null;
        SmtpClient openedClient = null;
        MxResolver openedResolver = null;
        Acceptor openedAcceptor = null;
        ReloadingTlsContext openedTls = null;
        SinceLoad sinceLoad = null;
        try {
            // The reloadable files' state before their first read (TLS: ReloadingTlsContext takes its
            // own): an edit made while the server starts is then reloaded by the first polls, not missed.
            sinceLoad = SinceLoad.now(config, mode);
            openedSpool = mode == Mode.SERVE ? Spool.open(config.get(ConfigKeys.SPOOL_DIR), spoolOptions(config)) : null;
            if (openedSpool != null) {
                openedResolver = MxResolver.fromConfig(config);
                openedClient = SmtpClient.fromConfig(config, group, openedResolver, openedSpool.directory(), log);
                openedQueue = startQueue(config, openedSpool, log, group.loops().size(), openedClient);
            }
            openedTls = tlsContext(config, hostname);
            tls = openedTls;
            auth = authenticator(config);
            List<EventLoop> loops = group.loops();
            endToEnd = new EndToEndLatency(loops.size());
            services = new SessionServices[loops.size()];
            for (EventLoop loop : loops) {
                MessageStore store = openedSpool != null ? new SpoolStore(openedSpool.appender(loop.index()), log)
                        : new DiscardStore(loop.index(), endToEnd);
                services[loop.index()] = new SessionServices(loop::nanoTime, loop, loop::schedule, store);
            }
            group.start();
            openedAcceptor = new Acceptor(group);
            bindListeners(config, openedAcceptor, services, log, hostname);
        } catch (IOException | RuntimeException e) {
            if (openedAcceptor != null) {
                openedAcceptor.close();
            }
            if (openedTls != null) {
                openedTls.close();
            }
            group.close();
            if (openedQueue != null) {
                openedQueue.close();
            }
            if (openedClient != null) {
                openedClient.close();
            }
            if (openedResolver != null) {
                openedResolver.close();
            }
            closeQuietly(null, openedSpool);
            throw e;
        }
        spool = openedSpool;
        queue = openedQueue;
        client = openedClient;
        resolver = openedResolver;
        acceptor = openedAcceptor;
        reloader = startReloader(config, log, client, sinceLoad);
        log.log(EventLog.Level.INFO, "started", "mode", mode.name().toLowerCase(), "hostname", hostname,
                "loops", group.loops().size(), "listen", bound, "tls", tls == null ? "off" : tls.current().provider().name(),
                "spool", spool == null ? "none" : spool.directory());
    }

    /** The delivery stage; its bounces use the spool appender no event loop has. */
    private static QueueManager startQueue(SluiceConfig config, Spool spool, EventLog log, int loops,
            SmtpClient client) throws IOException {
        if (loops > QueueManager.INTERNAL_LOOP_INDEX) {
            throw new IOException("reactor.threads=" + loops + " > " + QueueManager.INTERNAL_LOOP_INDEX
                    + ": spool appender " + QueueManager.INTERNAL_LOOP_INDEX + " of " + QueueId.MAX_LOOPS
                    + " is the queue manager's");
        }
        QueueManager queue = QueueManager.forServer(config, spool, log, client);
        queue.start();
        return queue;
    }

    /** Starts a server; throws with a one-line reason when a listener, the spool or TLS cannot be set up. */
    public static SmtpServer start(SluiceConfig config, Mode mode, EventLog log) throws IOException {
        return new SmtpServer(config, mode, log);
    }

    private void bindListeners(SluiceConfig config, Acceptor acceptor, SessionServices[] services, EventLog log,
            String hostname) throws IOException {
        limiter = new ConnectionLimiter(unlimitedIfZero(config.get(ConfigKeys.LIMITS_CONNECTIONS)),
                unlimitedIfZero(config.get(ConfigKeys.LIMITS_CONNECTIONS_PER_IP)));
        // One of each for all listeners: a client's rate is its rate, whichever port it uses.
        ClientRateLimiter connectionRate = new ClientRateLimiter(config.get(ConfigKeys.LIMITS_CONNECTIONS_PER_MINUTE),
                NanoClock.SYSTEM);
        ClientRateLimiter messageRate = new ClientRateLimiter(config.get(ConfigKeys.LIMITS_MESSAGES_PER_MINUTE),
                NanoClock.SYSTEM);
        ClientKey clientKey = new ClientKey(config.get(ConfigKeys.LIMITS_IPV6_PREFIX_LENGTH));
        TlsUpgrade upgrade = tls == null ? null : new TlsServerUpgrade(tls);
        SessionSettings base = settings(config, hostname);
        for (ListenAddress listen : config.get(ConfigKeys.LISTEN)) {
            boolean implicit = listen.mode() == ListenerMode.SMTPS;
            if (implicit && upgrade == null) {
                throw new IOException("listen=" + listen + ": smtps needs TLS, but tls.level=none");
            }
            boolean required = listen.mode() == ListenerMode.SUBMISSION || config.get(ConfigKeys.TLS_LEVEL) == TlsLevel.ENCRYPT;
            SessionSettings settings = base.withTlsRequired(required && upgrade != null);
            ListenerContext context = new ListenerContext(settings, upgrade, implicit, limiter, connectionRate,
                    messageRate, clientKey, log, stats, upgrade == null ? null : auth,
                    listen.proxy() ? proxyPolicy(config, listen) : null);
            InetSocketAddress address = acceptor.bind(listen.address(),
                    (remote, local, tag) -> new SmtpSession((ListenerContext) tag, c -> services[c.loop().index()]),
                    context);
            bound.add(address);
            boundByMode.putIfAbsent(listen.mode(), address);
        }
    }

    /** The rules of a {@code +proxy} listener; refuses to start one that no balancer could reach. */
    private static ProxyPolicy proxyPolicy(SluiceConfig config, ListenAddress listen) throws IOException {
        NetworkSet balancers = config.get(ConfigKeys.PROXY_NETWORKS);
        if (balancers.isEmpty()) {
            throw new IOException("listen=" + listen + ": +proxy needs the load balancers in proxy.networks,"
                    + " but it is empty");
        }
        return new ProxyPolicy(balancers::contains, config.get(ConfigKeys.PROXY_HEADER_TIMEOUT).toNanos());
    }

    static SessionSettings settings(SluiceConfig config, String hostname) {
        NetworkSet relay = config.get(ConfigKeys.RELAY_NETWORKS);
        return new SessionSettings(hostname,
                config.get(ConfigKeys.SMTP_GREETING_BANNER),
                config.get(ConfigKeys.SMTP_MAX_MESSAGE_SIZE),
                config.get(ConfigKeys.SMTP_MAX_RECIPIENTS),
                config.get(ConfigKeys.SMTP_MAX_ERRORS),
                config.get(ConfigKeys.SMTP_MAX_HOPS),
                config.get(ConfigKeys.SMTP_MAX_LINE_LENGTH),
                config.get(ConfigKeys.SMTP_MAX_TEXT_LINE_LENGTH),
                config.get(ConfigKeys.SMTP_COMMAND_TIMEOUT).toNanos(),
                config.get(ConfigKeys.SMTP_DATA_TIMEOUT).toNanos(),
                config.get(ConfigKeys.TLS_HANDSHAKE_TIMEOUT).toNanos(),
                config.get(ConfigKeys.SMTP_GREET_PAUSE).toNanos(),
                config.get(ConfigKeys.SMTP_BARE_NEWLINE),
                new HashSet<>(config.get(ConfigKeys.DOMAINS)),
                relay::contains,
                false,
                config.get(ConfigKeys.SMTP_BINARYMIME),
                config.get(ConfigKeys.SMTP_DSN));
    }

    private static Authenticator authenticator(SluiceConfig config) throws IOException {
        Optional<Path> users = config.get(ConfigKeys.AUTH_USERS);
        if (users.isEmpty()) {
            return null;
        }
        // Two checkers: PBKDF2 is CPU-bound, and the loops need the other cores.
        return new Authenticator(UserDatabase.load(users.get()), 2, 1024);
    }

    private static SpoolOptions spoolOptions(SluiceConfig config) {
        SpoolOptions d = SpoolOptions.defaults();
        return new SpoolOptions(d.segmentMaxBytes(), config.get(ConfigKeys.SPOOL_COMMIT_WINDOW).toNanos(),
                config.get(ConfigKeys.SPOOL_COMMIT_MAX_BATCH), d.writerQueueCapacity(), d.maxRecordPayloadBytes(),
                config.get(ConfigKeys.SPOOL_RECYCLE_SEGMENTS), config.get(ConfigKeys.SPOOL_SYNC_STALL_TIMEOUT).toNanos(),
                config.get(ConfigKeys.SPOOL_CLOSE_TIMEOUT).toNanos());
    }

    private static EventLoopGroup.Assignment assignment(SluiceConfig config) {
        return config.get(ConfigKeys.REACTOR_ASSIGN) == LoopAssignment.LEAST_LOADED
                ? EventLoopGroup.Assignment.LEAST_LOADED : EventLoopGroup.Assignment.ROUND_ROBIN;
    }

    private static int unlimitedIfZero(int limit) {
        return limit == 0 ? Integer.MAX_VALUE : limit;
    }

    /**
     * The server's TLS context, reloadable, or {@code null} with {@code tls.level = none}. Without a
     * configured certificate, a self-signed one for our hostname is made once and kept beside the
     * spool (and watched like configured files: replacing it there takes effect too).
     */
    static ReloadingTlsContext tlsContext(SluiceConfig config, String hostname) throws IOException {
        if (config.get(ConfigKeys.TLS_LEVEL) == TlsLevel.NONE) {
            return null;
        }
        try {
            TlsContext.Builder builder = TlsContext.forServer()
                    .provider(TlsProvider.select(config.get(ConfigKeys.TLS_PROVIDER) == TlsProviderName.JDK ? "jdk" : "auto"))
                    .protocols(config.get(ConfigKeys.TLS_PROTOCOLS).toArray(new String[0]))
                    .certificate(certificate(config, hostname));
            for (SniCertificate sni : config.sniCertificates().values()) {
                builder.sniCertificate(sni.serverName(), CertificateSource.pem(sni.cert(), sni.key()));
            }
            return ReloadingTlsContext.build(builder);
        } catch (GeneralSecurityException e) {
            throw new IOException("tls: " + e.getMessage(), e);
        }
    }

    /** The DKIM key files and the users file as they were before the server first read them (null: not configured). */
    private record SinceLoad(DkimKeyFiles dkimFiles, FileChangeWatcher dkim, FileChangeWatcher users) {

        static SinceLoad now(SluiceConfig config, Mode mode) {
            // DKIM keys are read only where mail is relayed (the SmtpClient of SERVE mode).
            DkimKeyFiles dkimFiles = mode == Mode.SERVE ? DkimKeyFiles.fromConfig(config) : DkimKeyFiles.none();
            FileChangeWatcher dkim = dkimFiles.isEmpty() ? null : new FileChangeWatcher(dkimFiles.files());
            FileChangeWatcher users = config.get(ConfigKeys.AUTH_USERS).map(f -> new FileChangeWatcher(List.of(f))).orElse(null);
            return new SinceLoad(dkimFiles, dkim, users);
        }
    }

    /**
     * What reloads without a restart (TLS certificates, auth.users, DKIM keys), on SIGHUP and when
     * their files change (polled every {@code reload.poll_interval}). SIGHUP is taken even when
     * nothing reloads, so that {@code systemctl reload} never stops the server.
     */
    private ConfigReloader startReloader(SluiceConfig config, EventLog log, SmtpClient client, SinceLoad sinceLoad) {
        ConfigReloader reloading = new ConfigReloader(log);
        if (tls != null) {
            reloading.add(ReloadParts.tls(tls), tls.watcherSinceBuild());
        }
        if (auth != null) {
            reloading.add(ReloadParts.users(auth, config.get(ConfigKeys.AUTH_USERS).orElseThrow()), sinceLoad.users());
        }
        if (client != null && !sinceLoad.dkimFiles().isEmpty()) {
            reloading.add(ReloadParts.dkim(client.dkim(), sinceLoad.dkimFiles()), sinceLoad.dkim());
        }
        reloading.watchFiles(config.get(ConfigKeys.RELOAD_POLL_INTERVAL));
        reloading.reloadOnHangup();
        return reloading;
    }

    private static CertificateSource certificate(SluiceConfig config, String hostname)
            throws IOException, GeneralSecurityException {
        Optional<Path> keystore = config.get(ConfigKeys.TLS_KEYSTORE);
        if (keystore.isPresent()) {
            return CertificateSource.pkcs12(keystore.get(), config.get(ConfigKeys.TLS_KEYSTORE_PASSWORD).toCharArray());
        }
        Optional<Path> cert = config.get(ConfigKeys.TLS_CERT);
        if (cert.isPresent()) {
            return CertificateSource.pem(cert.get(), config.get(ConfigKeys.TLS_KEY).orElseThrow());
        }
        Path spoolDir = config.get(ConfigKeys.SPOOL_DIR).toAbsolutePath().normalize();
        Path parent = spoolDir.getParent() != null ? spoolDir.getParent() : spoolDir;
        return SelfSignedCertificate.loadOrCreate(parent.resolve("tls"), hostname);
    }

    /** Every bound listener address, in configuration order (real ports when 0 was asked for). */
    public List<InetSocketAddress> boundAddresses() {
        return List.copyOf(bound);
    }

    /** The first bound address of a listener mode, or {@code null}. */
    public InetSocketAddress boundAddress(ListenerMode mode) {
        return boundByMode.get(mode);
    }

    public SessionStats stats() {
        return stats;
    }

    /** Open inbound connections ({@code limits.connections} counts these); any thread. */
    public int openConnections() {
        return limiter == null ? 0 : limiter.open();
    }

    /** The acceptor, for its counters and {@link Acceptor#listening()}; do not bind or close through it. */
    public Acceptor acceptor() {
        return acceptor;
    }

    /** End-to-end latency of stamped messages; recorded by {@link Mode#SINK} only (empty otherwise). */
    public EndToEndLatency endToEndLatency() {
        return endToEnd;
    }

    /** The spool in {@code serve} mode, {@code null} for the sink. */
    public Spool spool() {
        return spool;
    }

    /** The delivery stage in {@code serve} mode, {@code null} for the sink. */
    public QueueManager queue() {
        return queue;
    }

    /** The TLS context new connections get now, or {@code null} when TLS is off. */
    public TlsContext tls() {
        return tls == null ? null : tls.current();
    }

    /**
     * What reloads without a restart ({@code reloadAll()}, {@code hangup()}, counters). Reload
     * through it rather than through {@link #reloadingTls()}, so that every reload is logged and counted.
     */
    public ConfigReloader reloader() {
        return reloader;
    }

    /** SMTP AUTH's checker (its users now: {@code users()}), or {@code null} without {@code auth.users}. */
    public Authenticator authenticator() {
        return auth;
    }

    /** The reloadable TLS context ({@code reload()}, counters), or {@code null} when TLS is off. */
    public ReloadingTlsContext reloadingTls() {
        return tls;
    }

    /** The outbound SMTP/LMTP client in {@code serve} mode, {@code null} for the sink. */
    public SmtpClient client() {
        return client;
    }

    public EventLoopGroup loops() {
        return group;
    }

    /**
     * Stops gracefully, then {@link #close()}s: listeners close at once; sessions answer their next
     * command outside a transaction with {@code 421 4.3.2} and close; messages in DATA/BDAT or
     * being spooled may finish until {@code grace} has passed (or until none is left, if sooner),
     * then every session still open is sent {@code 421 4.3.2} and closed. Delivery starts no new
     * attempt from the beginning and waits for those in flight until the same deadline. Every
     * acknowledged message is in the spool, which is closed last. Call once, from the thread that
     * started the server, instead of {@link #close()}.
     *
     * @return true when every transaction finished within the grace period
     */
    public boolean shutdown(Duration grace) throws InterruptedException {
        long deadline = System.nanoTime() + grace.toNanos();
        acceptor.close();
        if (queue != null) {
            queue.beginDrain();
        }
        onEveryLoop(s -> {
            s.beginShutdown();
            return true;
        });
        shuttingDown = true;
        log.log(EventLog.Level.INFO, "draining", "grace", grace);
        boolean finished = awaitEveryLoop(deadline, s -> s.sessionsInTransaction() == 0);
        onEveryLoop(s -> {
            s.closeAllSessions();
            return true;
        });
        // Their 421s leave within the loops' close timeout; a client that does not read is cut off then.
        awaitEveryLoop(System.nanoTime() + group.loops().get(0).config().closeTimeoutNanos() + 100_000_000L,
                s -> s.openSessions() == 0);
        if (queue != null) {
            queue.awaitDrained(Math.max(0, deadline - System.nanoTime()));
        }
        log.log(EventLog.Level.INFO, "drained", "transactions_finished", finished);
        close();
        return finished;
    }

    /** True once {@link #shutdown} has told every loop: new commands outside a transaction get 421. */
    public boolean isShuttingDown() {
        return shuttingDown;
    }

    /** Polls {@code test} on every loop until it holds on all of them or {@code deadlineNanos} passes. */
    private boolean awaitEveryLoop(long deadlineNanos, Predicate<SessionServices> test) throws InterruptedException {
        while (!onEveryLoop(test)) {
            if (System.nanoTime() - deadlineNanos >= 0) {
                return false;
            }
            LockSupport.parkNanos(10_000_000L); // shutdown only: a short poll keeps the loops free of hooks
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
        return true;
    }

    /** Runs {@code test} on each loop's thread and waits for all: true when it held everywhere. */
    private boolean onEveryLoop(Predicate<SessionServices> test) throws InterruptedException {
        List<EventLoop> loops = group.loops();
        CountDownLatch done = new CountDownLatch(loops.size());
        AtomicBoolean all = new AtomicBoolean(true);
        for (EventLoop loop : loops) {
            SessionServices s = services[loop.index()];
            try {
                loop.execute(() -> {
                    try {
                        if (!test.test(s)) {
                            all.set(false);
                        }
                    } finally {
                        done.countDown();
                    }
                });
            } catch (RejectedExecutionException e) {
                all.set(false);
                done.countDown();
            }
        }
        return done.await(5, TimeUnit.SECONDS) && all.get();
    }

    /**
     * Stops accepting, closes every connection and loop, stops delivery, then closes the spool
     * (pending commits answered). Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        reloader.close();
        acceptor.close();
        group.close();
        if (tls != null) {
            tls.close();
        }
        if (auth != null) {
            auth.close();
        }
        if (queue != null) {
            queue.close();
        }
        if (client != null) {
            client.close();
        }
        if (resolver != null) {
            resolver.close();
        }
        closeQuietly(null, spool);
    }

    private static void closeQuietly(Acceptor acceptor, Spool spool) {
        if (acceptor != null) {
            acceptor.close();
        }
        if (spool != null) {
            try {
                spool.close();
            } catch (IOException e) {
                System.err.println("sluice: closing the spool: " + e);
            }
        }
    }
}
