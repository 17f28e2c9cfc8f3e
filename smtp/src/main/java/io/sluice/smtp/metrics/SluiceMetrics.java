package io.sluice.smtp.metrics;

import java.util.Map;
import java.util.function.DoubleSupplier;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.sluice.reactor.Acceptor;
import io.sluice.reactor.EventLoop;
import io.sluice.reactor.LoopStats;
import io.sluice.smtp.client.ClientStats;
import io.sluice.smtp.mtasts.FetchResult;
import io.sluice.smtp.mtasts.MtaStsStats;
import io.sluice.smtp.dkim.DkimStats;
import io.sluice.smtp.delivery.QueueCensus;
import io.sluice.smtp.delivery.QueueManager;
import io.sluice.smtp.server.ConfigReloader;
import io.sluice.smtp.server.ConnectionRejection;
import io.sluice.smtp.server.ProxyRefusal;
import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.server.SessionStats;
import io.sluice.smtp.server.SmtpServer;
import io.sluice.smtp.spool.Spool;
import io.sluice.tls.TlsContext;
import io.sluice.tls.TlsStats;

/**
 * Registers every Sluice metric family for one server in a Prometheus registry. All but the spool
 * histograms are callback metrics, read at scrape time from the counters the stages keep anyway.
 * Call {@link #register} once per registry, from the thread that started the server; scrapes run
 * on the HTTP server's threads.
 */
public final class SluiceMetrics {

    private static final double NANOS_PER_SECOND = 1e9;
    /** Batch sizes: powers of two up to the largest spool.commit_max_batch worth telling apart. */
    private static final double[] BATCH_BOUNDS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
    /** fsync latency: 100 µs (battery-backed cache) to 1 s (a struggling disk). */
    private static final double[] FSYNC_BOUNDS = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
        0.1, 0.25, 0.5, 1};

    private SluiceMetrics() {
    }

    /**
     * Adds the server's families, the JVM's (memory, GC, threads...) and the spool batch
     * histograms (their observer replaces any other on the spool).
     *
     * @param queueDestinations destinations named in {@code sluice_queue_recipients}
     */
    public static void register(PrometheusRegistry registry, SmtpServer server, EventLog log, int queueDestinations) {
        connections(registry, server);
        sessions(registry, server.stats(), server);
        messages(registry, server.stats());
        loops(registry, server);
        if (server.spool() != null) {
            spool(registry, server.spool());
        }
        if (server.queue() != null) {
            queue(registry, server.queue(), queueDestinations);
        }
        if (server.client() != null) {
            outbound(registry, server.client().stats());
            dkim(registry, server.client().dkim().stats());
            if (server.client().mtaStsStats() != null) {
                mtaSts(registry, server.client().mtaStsStats());
            }
        }
        counter(registry, "sluice_log_lines_dropped_total", "Log lines dropped because the log writer fell behind.",
                log::dropped);
        reloads(registry, server);
        JvmMetrics.builder().register(registry);
    }

    private static void connections(PrometheusRegistry registry, SmtpServer server) {
        Acceptor acceptor = server.acceptor();
        SessionStats stats = server.stats();
        gauge(registry, "sluice_connections_open", "Inbound SMTP connections open now.", server::openConnections);
        counter(registry, "sluice_connections_accepted_total", "Connections accepted and handed to an event loop.",
                acceptor::accepted);
        CounterWithCallback.builder().name("sluice_connections_rejected_total")
                .help("Connections turned away: limit, pregreet, http, too_many_errors (after a session began), "
                        + "proxy (a +proxy listener, before or at the PROXY header), "
                        + "overload (event loop queue full, closed at accept).")
                .labelNames("reason")
                .callback(cb -> {
                    for (Map.Entry<ConnectionRejection, Long> e : stats.rejectionsByReason().entrySet()) {
                        cb.call(e.getValue(), e.getKey().label());
                    }
                    cb.call(acceptor.rejected(), "overload");
                })
                .register(registry);
        CounterWithCallback.builder().name("sluice_proxy_headers_total")
                .help("PROXY protocol headers read on +proxy listeners, by version (1, 2) and whether they named "
                        + "the client (proxied) or kept the balancer's address (local: v2 LOCAL, v1 UNKNOWN).")
                .labelNames("version", "result")
                .callback(cb -> {
                    for (int version = 1; version <= 2; version++) {
                        cb.call(stats.proxyHeaders(version, true), Integer.toString(version), "proxied");
                        cb.call(stats.proxyHeaders(version, false), Integer.toString(version), "local");
                    }
                })
                .register(registry);
        CounterWithCallback.builder().name("sluice_proxy_health_checks_total")
                .help("Load balancers' health checks on +proxy listeners, not logged at INFO nor counted as refused: "
                        + "connect (closed or reset before any byte), local (a LOCAL/UNKNOWN header, then a session the balancer ended without MAIL, AUTH or error: HELO/EHLO then QUIT is one).")
                .labelNames("kind")
                .callback(cb -> {
                    cb.call(stats.proxyHealthChecks(false), "connect");
                    cb.call(stats.proxyHealthChecks(true), "local");
                })
                .register(registry);
        CounterWithCallback.builder().name("sluice_proxy_refused_total")
                .help("Connections a +proxy listener closed unanswered: untrusted (peer not in proxy.networks), "
                        + "malformed, too_long, timeout, limit (limits.connections reached while waiting for the header), "
                        + "no_header (closed after part of a header).")
                .labelNames("reason")
                .callback(cb -> {
                    for (Map.Entry<ProxyRefusal, Long> e : stats.proxyRefusals().entrySet()) {
                        cb.call(e.getValue(), e.getKey().label());
                    }
                })
                .register(registry);
        counter(registry, "sluice_accept_errors_total", "accept() failures other than running out of descriptors.",
                acceptor::acceptErrors);
        counter(registry, "sluice_accept_descriptor_backoffs_total",
                "Times accepting paused because the process ran out of file descriptors (raise LimitNOFILE).",
                acceptor::descriptorBackoffs);
        gauge(registry, "sluice_listeners_accepting", "Listening sockets accepting connections.",
                acceptor::listening);
    }

    private static void sessions(PrometheusRegistry registry, SessionStats stats, SmtpServer server) {
        counter(registry, "sluice_smtp_sessions_total", "SMTP sessions started (connections that reached a session).",
                stats::connections);
        counter(registry, "sluice_smtp_timeouts_total", "Sessions closed for a command, DATA or handshake timeout.",
                stats::timeouts);
        CounterWithCallback.builder().name("sluice_tls_sessions_total")
                .help("Inbound TLS handshakes completed, by protocol and cipher suite (at most 64 pairs, then other).")
                .labelNames("protocol", "cipher")
                .callback(cb -> stats.tlsSessions().forEach((protocol, cipher, n) -> cb.call(n, protocol, cipher)))
                .register(registry);
        CounterWithCallback.builder().name("sluice_tls_handshake_failures_total")
                .help("Inbound TLS handshakes that did not complete, by reason.")
                .labelNames("reason")
                .callback(cb -> {
                    TlsContext tls = server.tls();
                    if (tls != null) {
                        for (Map.Entry<TlsStats.Failure, Long> e : tls.stats().failures().entrySet()) {
                            cb.call(e.getValue(), e.getKey().name().toLowerCase(java.util.Locale.ROOT));
                        }
                    }
                })
                .register(registry);
    }

    private static void messages(PrometheusRegistry registry, SessionStats stats) {
        counter(registry, "sluice_messages_accepted_total", "Messages answered 250 (durable in the spool, or sunk).",
                stats::messages);
        counter(registry, "sluice_message_bytes_total", "Octets of accepted messages as received.",
                stats::messageOctets);
        CounterWithCallback.builder().name("sluice_messages_rejected_total")
                .help("Messages refused after DATA/BDAT or whose commit failed, by reply code.")
                .labelNames("code")
                .callback(cb -> stats.rejectedMessagesByCode().forEachNonZero((code, n) -> cb.call(n, code.toString())))
                .register(registry);
    }

    private static void loops(PrometheusRegistry registry, SmtpServer server) {
        loopCounter(registry, server, "sluice_loop_cycles_total", "Event loop cycles.", (loop, s) -> s.cycles());
        loopCounter(registry, server, "sluice_loop_busy_seconds_total",
                "Time spent in cycles (not blocked in select); busy/cycles = mean cycle time.",
                (loop, s) -> loop.busyNanos() / NANOS_PER_SECOND);
        loopCounter(registry, server, "sluice_loop_stalls_total",
                "Cycles longer than the stall threshold (a blocked or overloaded loop).", (loop, s) -> s.stalls());
        loopCounter(registry, server, "sluice_loop_errors_total", "Task and connection handler exceptions.",
                (loop, s) -> s.taskErrors() + s.handlerErrors());
        loopGauge(registry, server, "sluice_loop_cycle_last_seconds", "Duration of the loop's last cycle.",
                (loop, s) -> s.lastCycleNanos() / NANOS_PER_SECOND);
        loopGauge(registry, server, "sluice_loop_cycle_max_seconds", "Longest cycle since start.",
                (loop, s) -> s.maxCycleNanos() / NANOS_PER_SECOND);
        loopGauge(registry, server, "sluice_loop_connections_open", "Connections (inbound and outbound) on the loop.",
                (loop, s) -> s.connectionsOpen());
    }

    private static void spool(PrometheusRegistry registry, Spool spool) {
        Histogram batch = Histogram.builder().name("sluice_spool_commit_batch_size")
                .help("Commit requests covered by one group-commit fsync.")
                .classicOnly().classicUpperBounds(BATCH_BOUNDS)
                .register(registry);
        Histogram fsync = Histogram.builder().name("sluice_spool_fsync_duration_seconds")
                .help("Time one group commit spent in fsync (segments and directory).")
                .classicOnly().classicUpperBounds(FSYNC_BOUNDS)
                .register(registry);
        // Recorded on the spool writer thread, never a session loop.
        spool.observeBatches((requests, fsyncNanos) -> {
            batch.observe(requests);
            fsync.observe(fsyncNanos / NANOS_PER_SECOND);
        });
        CounterWithCallback.builder().name("sluice_spool_commits_total")
                .help("Message commits answered by the spool writer, by result.")
                .labelNames("result")
                .callback(cb -> {
                    cb.call(spool.stats().messages(), "committed");
                    cb.call(spool.stats().failedMessages(), "failed");
                })
                .register(registry);
        counter(registry, "sluice_spool_damaged_ranges_total",
                "Ranges of fsynced records the start found damaged inside a segment and skipped, keeping the mail"
                        + " behind them (bit rot, a bad sector; each logged as an ERROR with what was lost).",
                () -> spool.stats().damagedRanges());
        counter(registry, "sluice_spool_journal_compaction_errors_total",
                "Runtime rewrites of deleted.log that failed (the server goes on; see the log).",
                spool::journalCompactionErrors);
        gauge(registry, "sluice_spool_writable", "1 when the spool writer runs, its last commit succeeded, no fsync"
                + " has stalled past spool.sync_stall_timeout and the disk has room, else 0.",
                () -> spool.unhealthyReason() == null ? 1 : 0);
        // The fsync histogram sees a round only once it ends: these show one that does not.
        gauge(registry, "sluice_spool_fsync_round_age_seconds",
                "How long the running group commit has been in fsync (0 between commits); a hanging disk makes it grow.",
                () -> spool.fsyncRoundAgeNanos() / NANOS_PER_SECOND);
        gauge(registry, "sluice_spool_fsync_round_max_seconds",
                "The longest group commit's fsyncs (segments and directory) since the server started.",
                () -> spool.longestFsyncRoundNanos() / NANOS_PER_SECOND);
    }

    private static void queue(PrometheusRegistry registry, QueueManager queue, int topDestinations) {
        QueueCensusCache census = new QueueCensusCache(queue, topDestinations);
        gauge(registry, "sluice_queue_messages", "Messages in the delivery queue.", () -> census.current().messages());
        GaugeWithCallback.builder().name("sluice_queue_recipients")
                .help("Unfinished recipients by state (new, deferred, ready, active) and destination route; "
                        + "only the largest destinations are named, the rest are \"other\".")
                .labelNames("state", "destination")
                .callback(cb -> census.current().byDestination().forEach((destination, counts) -> {
                    for (QueueCensus.State state : QueueCensus.State.values()) {
                        cb.call(counts[state.ordinal()], state.label(), destination);
                    }
                }))
                .register(registry);
        CounterWithCallback.builder().name("sluice_delivery_attempts_total")
                .help("Recipient delivery attempts by result: sent, deferred (retried later), bounced (failed or expired).")
                .labelNames("result")
                .callback(cb -> {
                    cb.call(queue.delivered(), "sent");
                    cb.call(queue.deferred(), "deferred");
                    cb.call(queue.failed(), "bounced");
                })
                .register(registry);
        counter(registry, "sluice_delivery_bounces_total", "Bounce messages (DSNs) put into the spool.", queue::bounces);
        CounterWithCallback.builder().name("sluice_delivery_notices_total")
                .help("Other RFC 3464 reports put into the spool: delay notices, and success reports (NOTIFY=SUCCESS).")
                .labelNames("kind")
                .callback(cb -> {
                    cb.call(queue.delayNotices(), "delay");
                    cb.call(queue.successNotices(), "success");
                })
                .register(registry);
        counter(registry, "sluice_queue_errors_total", "Queue manager internal errors (see the log).", queue::errors);
    }

    private static void outbound(PrometheusRegistry registry, ClientStats client) {
        counter(registry, "sluice_outbound_connections_total",
                "Outbound SMTP/LMTP connections that connected.", client::connectionsOpened);
        counter(registry, "sluice_outbound_connection_reuses_total",
                "Outbound messages started on a connection that had carried one before.", client::connectionsReused);
        counter(registry, "sluice_outbound_messages_total",
                "Outbound transactions finished, whatever their recipients' outcome.", client::messages);
        counter(registry, "sluice_outbound_tls_handshakes_total",
                "Outbound STARTTLS handshakes completed.", client::tlsHandshakes);
        counter(registry, "sluice_outbound_tls_downgrades_total",
                "Next hops remembered as TLS-capable that answered without STARTTLS (possible downgrade attack).",
                client::downgrades);
        // Only the outcome: no destination or user name label (credentials stay out of metrics).
        CounterWithCallback.builder().name("sluice_outbound_auth_total")
                .help("Outbound SMTP AUTH (delivery.auth.*) per connection: ok (235) or refused (a refusal, or no mechanism of ours offered).")
                .labelNames("result")
                .callback(cb -> {
                    cb.call(client.authSucceeded(), "ok");
                    cb.call(client.authFailed(), "refused");
                })
                .register(registry);
    }

    private static void mtaSts(PrometheusRegistry registry, MtaStsStats sts) {
        // Results and outcomes only: the recipient domains are unbounded, so never a label.
        CounterWithCallback.builder().name("sluice_outbound_mta_sts_fetches_total")
                .help("MTA-STS policy fetches (RFC 8461, tls.client.mta_sts) by result: ok, redirect (never followed), http_status, bad_response (not text/plain, unreadable), too_large (> 64 KiB), bad_policy, no_address, tls (handshake or certificate), timeout, io, queue_full (64 fetches already waiting).")
                .labelNames("result")
                .callback(cb -> {
                    for (FetchResult r : FetchResult.values()) {
                        cb.call(sts.fetches(r), r.label());
                    }
                })
                .register(registry);
        CounterWithCallback.builder().name("sluice_outbound_mta_sts_total")
                .help("Delivery attempts to domains with an MTA-STS policy by outcome: enforced (matching MX hosts only, verify TLS), refused_mx (enforce, no MX matched: deferred 4.7.5), refused_tls (enforce, every permitted MX failed TLS: deferred 4.7.5), testing_mismatch (testing, an MX host outside the policy logged), testing_no_tls (testing, a hop without TLS logged), testing_bad_certificate (testing, a certificate that verify would refuse, chain or name, logged), not_enforced (testing or none).")
                .labelNames("outcome")
                .callback(cb -> {
                    for (MtaStsStats.Outcome o : MtaStsStats.Outcome.values()) {
                        cb.call(sts.outcomes(o), o.name().toLowerCase(java.util.Locale.ROOT));
                    }
                })
                .register(registry);
        counter(registry, "sluice_outbound_mta_sts_refreshes_total",
                "Background refreshes of cached MTA-STS policies that a delivery used within max_age and that were close to expiry (each one's fetch is also in sluice_outbound_mta_sts_fetches_total).",
                sts::refreshes);
    }

    private static void dkim(PrometheusRegistry registry, DkimStats dkim) {
        // The signing domain is not a label: the operator's domain list could be long.
        CounterWithCallback.builder().name("sluice_outbound_dkim_signatures_total")
                .help("DKIM signatures of outbound messages: signed (computed), reused (another attempt of the same message, later or at once), failed (the attempt was deferred), already_signed (carried our d= and s=, sent as is), untrusted_client (a signing domain's From: from a client outside relay.networks without AUTH: not signed), ambiguous_from (a signing domain's From: but not exactly one From: field with one mailbox: not signed).")
                .labelNames("result")
                .callback(cb -> {
                    cb.call(dkim.signedCount(), "signed");
                    cb.call(dkim.reusedCount(), "reused");
                    cb.call(dkim.failedCount(), "failed");
                    cb.call(dkim.alreadySignedCount(), "already_signed");
                    cb.call(dkim.untrustedCount(), "untrusted_client");
                    cb.call(dkim.ambiguousFromCount(), "ambiguous_from");
                })
                .register(registry);
    }

    private static void reloads(PrometheusRegistry registry, SmtpServer server) {
        ConfigReloader reloader = server.reloader();
        CounterWithCallback.builder().name("sluice_config_reloads_total")
                .help("Reloads without a restart (SIGHUP, or a changed file) by what reloaded: tls (certificates), users (auth.users), dkim (dkim.<domain>.key files); ok = the new state is in use, failed = a file could not be used and what it held was kept (a WARN says why; for dkim the other keys may have been renewed in the same reload).")
                .labelNames("what", "result")
                .callback(cb -> {
                    for (String what : reloader.partNames()) {
                        cb.call(reloader.reloads(what), what, "ok");
                        cb.call(reloader.failedReloads(what), what, "failed");
                    }
                })
                .register(registry);
        if (server.authenticator() != null) {
            gauge(registry, "sluice_auth_users", "Users that may authenticate now (auth.users, as last loaded).",
                    () -> server.authenticator().users().size());
        }
        if (server.client() != null && server.client().dkim().enabled()) {
            gauge(registry, "sluice_dkim_keys", "DKIM keys signing now (as last loaded).",
                    () -> server.client().dkim().keysByName().size());
        }
    }

    /** Reads one loop's value from it or its snapshot. */
    @FunctionalInterface
    private interface LoopValue {
        double of(EventLoop loop, LoopStats stats);
    }

    private static void loopCounter(PrometheusRegistry registry, SmtpServer server, String name, String help,
            LoopValue value) {
        CounterWithCallback.builder().name(name).help(help).labelNames("loop")
                .callback(cb -> {
                    for (EventLoop loop : server.loops().loops()) {
                        cb.call(value.of(loop, loop.stats()), Integer.toString(loop.index()));
                    }
                })
                .register(registry);
    }

    private static void loopGauge(PrometheusRegistry registry, SmtpServer server, String name, String help,
            LoopValue value) {
        GaugeWithCallback.builder().name(name).help(help).labelNames("loop")
                .callback(cb -> {
                    for (EventLoop loop : server.loops().loops()) {
                        cb.call(value.of(loop, loop.stats()), Integer.toString(loop.index()));
                    }
                })
                .register(registry);
    }

    private static void counter(PrometheusRegistry registry, String name, String help, DoubleSupplier value) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsDouble()))
                .register(registry);
    }

    private static void gauge(PrometheusRegistry registry, String name, String help, DoubleSupplier value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsDouble()))
                .register(registry);
    }
}
