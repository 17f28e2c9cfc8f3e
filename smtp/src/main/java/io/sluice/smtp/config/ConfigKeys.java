package io.sluice.smtp.config;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.sluice.smtp.protocol.BareNewline;
import io.sluice.smtp.spool.SpoolOptions;

/**
 * Every configuration key Sluice knows, with its type, default and description: the single
 * source for parsing, validation, error messages and the README's key table
 * ({@link #markdownTable()}). Immutable after class initialization; any thread.
 */
public final class ConfigKeys {
    // Declared before the keys: key() appends to them during class initialization.
    private static final List<ConfigKey<?>> KEYS = new ArrayList<>();
    private static final Map<String, ConfigKey<?>> BY_NAME = new LinkedHashMap<>();

    private static final Duration MAX_TIMEOUT = Duration.ofDays(1);

    /** Listening sockets. */
    public static final ConfigKey<List<ListenAddress>> LISTEN = key("listen",
            ValueTypes.listenAddresses(), "127.0.0.1:2525",
            "Listening sockets, comma-separated ADDR:PORT [smtp|smtps|submission][+proxy]; IPv6 as [::1]:25; +proxy = the peer is a TCP load balancer that sends a PROXY protocol v1/v2 header first (see proxy.*).");
    /** Balancers allowed to send a PROXY header to a {@code +proxy} listener. */
    public static final ConfigKey<NetworkSet> PROXY_NETWORKS = key("proxy.networks",
            ValueTypes.networks(), "127.0.0.0/8, ::1/128",
            "Load balancers (CIDR) allowed to connect to a +proxy listener and name the client in a PROXY header; a connection from elsewhere is closed unanswered. Must not be empty when a listener has +proxy.");
    /** Time a balancer has to send the whole PROXY header after connecting. */
    public static final ConfigKey<Duration> PROXY_HEADER_TIMEOUT = key("proxy.header_timeout",
            ValueTypes.duration(Duration.ofMillis(100), Duration.ofMinutes(5)), "5s",
            "Time from connect to the end of the PROXY header on a +proxy listener; later, and the connection is closed without a greeting.");
    /** Our name in the greeting, EHLO reply and Received: header. */
    public static final ConfigKey<String> HOSTNAME = key("hostname",
            ValueTypes.hostNameOrLocal(), "",
            "Name used in the 220 greeting, the EHLO reply and Received:; empty = this machine's canonical host name, else localhost.");
    /** Domains we accept mail for from anyone (lower case). */
    public static final ConfigKey<List<String>> DOMAINS = key("domains",
            ValueTypes.list(ValueTypes.hostName(), true), "",
            "Domains we accept mail for from any client (comma-separated); empty = none.");
    /** Client networks allowed to relay to any domain. */
    public static final ConfigKey<NetworkSet> RELAY_NETWORKS = key("relay.networks",
            ValueTypes.networks(), "127.0.0.0/8, ::1/128",
            "Client networks (CIDR) allowed to send mail to any domain.");
    /** Spool directory, relative to the working directory unless absolute. */
    public static final ConfigKey<Path> SPOOL_DIR = key("spool.dir",
            ValueTypes.path(), "./var/spool",
            "Directory of the durable message spool (relative to the working directory).");
    /** How long the spool writer collects messages before one fsync covers them all. */
    public static final ConfigKey<Duration> SPOOL_COMMIT_WINDOW = key("spool.commit_window",
            ValueTypes.duration(Duration.ZERO, Duration.ofSeconds(1)), "0s",
            "Extra time the spool writer waits to gather commits after the first; 0 = none (commits arriving during one fsync already share the next).");
    /** Most messages one fsync covers. */
    public static final ConfigKey<Integer> SPOOL_COMMIT_MAX_BATCH = key("spool.commit_max_batch",
            ValueTypes.integer(1, 1 << 20), "1024",
            "Most messages one group commit covers; a full batch commits before the window ends.");
    /** Emptied segment files each loop keeps to overwrite. */
    public static final ConfigKey<Integer> SPOOL_RECYCLE_SEGMENTS = key("spool.recycle_segments",
            ValueTypes.integer(0, SpoolOptions.MAX_RECYCLED_SEGMENTS_PER_LOOP), "1",
            "Emptied 64 MiB segment files each event loop keeps and overwrites instead of creating new ones (a file whose blocks exist fsyncs without a journal commit); 0 = delete them at once.");
    /** A spool writer without progress for this long (a hanging disk) marks the spool unhealthy. */
    public static final ConfigKey<Duration> SPOOL_SYNC_STALL_TIMEOUT = key("spool.sync_stall_timeout",
            ValueTypes.duration(Duration.ofSeconds(1), Duration.ofHours(1)), "30s",
            "A spool writer that makes no progress for this long (a group commit's fsyncs, or the deletion journal's, hanging on a disk), or that stopped, makes the spool unhealthy (/healthz 503, one WARN) and new MAIL is answered 451 4.3.0 until it moves again.");
    /** How long closing the spool waits for the writer before giving up on a hanging disk. */
    public static final ConfigKey<Duration> SPOOL_CLOSE_TIMEOUT = key("spool.close_timeout",
            ValueTypes.duration(Duration.ofSeconds(1), Duration.ofHours(1)), "10s",
            "At exit, after shutdown.grace: how long the queue manager may take to stop and fsync recipients.log, and then the spool writer to answer the commits still queued; on a hanging disk each is given up (one WARN; nothing acknowledged is lost) so the process exits.");
    /** Number of event loops; 0 = available processors. */
    public static final ConfigKey<Integer> REACTOR_THREADS = key("reactor.threads",
            ValueTypes.integer(0, 1024), "0",
            "Number of event loop threads; 0 = one per available processor.");
    /** Pin each event loop to a core. */
    public static final ConfigKey<Boolean> REACTOR_PIN = key("reactor.pin",
            ValueTypes.bool(), "false",
            "Pin each event loop thread to its own CPU core.");
    /** How new connections are spread over event loops. */
    public static final ConfigKey<LoopAssignment> REACTOR_ASSIGN = key("reactor.assign",
            ValueTypes.enumeration(LoopAssignment.class), "round_robin",
            "How the acceptor picks an event loop for a new connection.");
    /** SIZE advertised in EHLO and enforced; 0 = unlimited. */
    public static final ConfigKey<Long> SMTP_MAX_MESSAGE_SIZE = key("smtp.max_message_size",
            ValueTypes.size(0, Long.MAX_VALUE), "32MiB",
            "Largest message accepted, advertised as SIZE (k/M/G are binary); 0 = unlimited.");
    /** RCPT commands accepted per message. */
    public static final ConfigKey<Integer> SMTP_MAX_RECIPIENTS = key("smtp.max_recipients",
            ValueTypes.integer(100, Integer.MAX_VALUE), "1000",
            "Recipients accepted per message (RFC 5321 4.5.3.1.8 requires at least 100); fewer when their addresses and"
            + " ORCPTs would pass the spool's 1 MiB envelope record: the rest get 452 4.5.3.");
    /** Received: header fields a message may carry before it is refused as looping; 0 = off. */
    public static final ConfigKey<Integer> SMTP_MAX_HOPS = key("smtp.max_hops",
            ValueTypes.integer(0, Integer.MAX_VALUE), "50",
            "Received: header fields a message may carry (mail loop detection, RFC 5321 6.3, like Postfix's"
            + " hopcount_limit); more are refused with 554 5.4.6 after end of data; 0 = off.");
    /** Whether the server offers BINARYMIME (RFC 3030) beside CHUNKING. */
    public static final ConfigKey<Boolean> SMTP_BINARYMIME = key("smtp.binarymime",
            ValueTypes.bool(), "true",
            "Offer BINARYMIME (RFC 3030) beside CHUNKING: BODY=BINARYMIME messages come only with BDAT and are kept"
            + " byte for byte. Turn off when mail is relayed on to hops without it (such messages would bounce 5.6.3).");
    /** Whether the server offers DSN (RFC 3461). */
    public static final ConfigKey<Boolean> SMTP_DSN = key("smtp.dsn",
            ValueTypes.bool(), "true",
            "Offer DSN (RFC 3461): MAIL takes RET= and ENVID=, RCPT takes NOTIFY= and ORCPT=; they are kept with the"
            + " message, decide its bounces, delay and success reports, and are passed on to next hops that offer DSN."
            + " Off: those parameters are refused with 555 5.5.4.");
    /** Bad commands before the session is closed with 421. */
    public static final ConfigKey<Integer> SMTP_MAX_ERRORS = key("smtp.max_errors",
            ValueTypes.integer(1, Integer.MAX_VALUE), "10",
            "Bad commands in one session before it is closed with 421.");
    /** Longest command line, octets including CRLF. */
    public static final ConfigKey<Integer> SMTP_MAX_LINE_LENGTH = key("smtp.max_line_length",
            ValueTypes.integer(512, 65536), "512",
            "Longest command line in octets including CRLF (RFC 5321 minimum 512).");
    /** Longest line of message text, octets including CRLF. */
    public static final ConfigKey<Integer> SMTP_MAX_TEXT_LINE_LENGTH = key("smtp.max_text_line_length",
            ValueTypes.integer(1000, 1 << 20), "1000",
            "Longest line of message text in octets including CRLF (RFC 5321 minimum 1000).");
    /** Idle time allowed while waiting for a command. */
    public static final ConfigKey<Duration> SMTP_COMMAND_TIMEOUT = key("smtp.command_timeout",
            ValueTypes.duration(Duration.ofMillis(100), MAX_TIMEOUT), "5m",
            "Time allowed for each command, from the previous reply to its CRLF (absolute: trickling bytes do not extend it).");
    /** Absolute limit for the whole DATA phase. */
    public static final ConfigKey<Duration> SMTP_DATA_TIMEOUT = key("smtp.data_timeout",
            ValueTypes.duration(Duration.ofMillis(100), MAX_TIMEOUT), "10m",
            "Time allowed for the whole DATA phase, from 354 to the final dot (absolute, not idle).");
    /** Text after the host name in the 220 greeting. */
    public static final ConfigKey<String> SMTP_GREETING_BANNER = key("smtp.greeting_banner",
            ValueTypes.text(200), "ESMTP Sluice",
            "Text after the host name in the 220 greeting.");
    /** What to do with a bare CR or LF in message text. */
    public static final ConfigKey<BareNewline> SMTP_BARE_NEWLINE = key("smtp.bare_newline",
            ValueTypes.enumeration(BareNewline.class), "normalize",
            "Bare CR or LF in message text: store as CRLF, or reject the message; never an end of data.");
    /** Delay before the greeting; clients that talk first are rejected. */
    public static final ConfigKey<Duration> SMTP_GREET_PAUSE = key("smtp.greet_pause",
            ValueTypes.duration(Duration.ZERO, Duration.ofMinutes(5)), "0s",
            "Wait this long before the 220 greeting and reject clients that talk first; 0s = off.");
    /** Open connections in total; 0 = unlimited. */
    public static final ConfigKey<Integer> LIMITS_CONNECTIONS = key("limits.connections",
            ValueTypes.integer(0, Integer.MAX_VALUE), "10000",
            "Open inbound connections in total; more are answered 421 and closed; 0 = unlimited.");
    /** Open connections per client IP address; 0 = unlimited. */
    public static final ConfigKey<Integer> LIMITS_CONNECTIONS_PER_IP = key("limits.connections_per_ip",
            ValueTypes.integer(0, Integer.MAX_VALUE), "100",
            "Open inbound connections per client IP address (IPv6: per limits.ipv6_prefix_length prefix); more are answered 421 4.7.0 and closed; 0 = unlimited.");
    /** New connections per client IP address and sliding minute; 0 = unlimited. */
    public static final ConfigKey<Integer> LIMITS_CONNECTIONS_PER_MINUTE = key("limits.connections_per_minute",
            ValueTypes.integer(0, (1 << 20) - 1), "0",
            "New connections per client IP address (IPv6: per prefix) in a sliding minute; more are answered 421 4.7.0 before the greeting; relay.networks are exempt; 0 = unlimited.");
    /** Messages (MAIL commands) per client IP address and sliding minute; 0 = unlimited. */
    public static final ConfigKey<Integer> LIMITS_MESSAGES_PER_MINUTE = key("limits.messages_per_minute",
            ValueTypes.integer(0, (1 << 20) - 1), "0",
            "Messages (MAIL commands) per client IP address (IPv6: per prefix) in a sliding minute; more are answered 421 4.7.0 and closed; relay.networks are exempt; 0 = unlimited.");
    /** Leading bits of an IPv6 client address that the per-client limits count as one client. */
    public static final ConfigKey<Integer> LIMITS_IPV6_PREFIX_LENGTH = key("limits.ipv6_prefix_length",
            ValueTypes.integer(0, 128), "64",
            "The per-client limits (connections_per_ip, connections_per_minute, messages_per_minute) count IPv6 clients by this prefix, so a host rotating through its /64 is one client; IPv4 clients (also IPv4-mapped IPv6) by their address; 128 = each IPv6 address apart.");
    /** How long a graceful shutdown waits for transactions and deliveries in flight. */
    public static final ConfigKey<Duration> SHUTDOWN_GRACE = key("shutdown.grace",
            ValueTypes.duration(Duration.ZERO, Duration.ofHours(1)), "30s",
            "On SIGTERM: stop accepting, answer 421 4.3.2 to new commands, and wait this long for messages in DATA/BDAT or being spooled and for deliveries in flight; then close everything and exit 0.");
    /** How often the files that reload without a restart are checked for a change. */
    public static final ConfigKey<Duration> RELOAD_POLL_INTERVAL = key("reload.poll_interval",
            ValueTypes.duration(Duration.ZERO, Duration.ofHours(1)), "5s",
            "How often the files that reload without a restart (TLS certificates and keys, auth.users, dkim.<domain>.key) are checked; a change that looks the same on two checks is loaded (SIGHUP reloads them all at once); 0 = only on SIGHUP.");
    /** STARTTLS policy on plain listeners. */
    public static final ConfigKey<TlsLevel> TLS_LEVEL = key("tls.level",
            ValueTypes.enumeration(TlsLevel.class), "may",
            "STARTTLS on plain listeners: not offered, offered, or required before MAIL.");
    /** Users allowed to authenticate (SMTP AUTH inside TLS); empty = AUTH not offered. */
    public static final ConfigKey<Optional<Path>> AUTH_USERS = key("auth.users",
            ValueTypes.optionalReadableFile(), "",
            "File of user:hash lines (hashes from: sluice passwd USER); empty = AUTH not offered. AUTH is offered only inside TLS; authenticated clients may relay. Reloaded on change and on SIGHUP (a bad file keeps the users in use).");
    /** PEM certificate chain; empty = embedded self-signed certificate. */
    public static final ConfigKey<Optional<Path>> TLS_CERT = key("tls.cert",
            ValueTypes.optionalReadableFile(), "",
            "PEM certificate chain file (with tls.key); all of tls.cert/key/keystore empty = embedded self-signed certificate.");
    /** PEM private key for {@link #TLS_CERT}. */
    public static final ConfigKey<Optional<Path>> TLS_KEY = key("tls.key",
            ValueTypes.optionalReadableFile(), "",
            "PEM private key file for tls.cert.");
    /** PKCS#12 key store, instead of tls.cert and tls.key. */
    public static final ConfigKey<Optional<Path>> TLS_KEYSTORE = key("tls.keystore",
            ValueTypes.optionalReadableFile(), "",
            "PKCS#12 key store instead of tls.cert and tls.key; with an RSA and an ECDSA entry, clients get ECDSA unless their hello shows they cannot take it.");
    /** Password of {@link #TLS_KEYSTORE}. */
    public static final ConfigKey<String> TLS_KEYSTORE_PASSWORD = key("tls.keystore_password",
            ValueTypes.secret(), "",
            "Password of tls.keystore.");
    /** SSLEngine implementation. */
    public static final ConfigKey<TlsProviderName> TLS_PROVIDER = key("tls.provider",
            ValueTypes.enumeration(TlsProviderName.class), "conscrypt",
            "SSLEngine implementation; conscrypt falls back to jdk if its native library cannot load.");
    /** Enabled TLS protocol versions. */
    public static final ConfigKey<List<String>> TLS_PROTOCOLS = key("tls.protocols",
            ValueTypes.list(ValueTypes.oneOf("TLSv1.3", "TLSv1.2"), false), "TLSv1.3,TLSv1.2",
            "Enabled TLS protocol versions.");
    /** Time allowed for a TLS handshake. */
    public static final ConfigKey<Duration> TLS_HANDSHAKE_TIMEOUT = key("tls.handshake_timeout",
            ValueTypes.duration(Duration.ofMillis(100), Duration.ofMinutes(5)), "10s",
            "Time allowed for a TLS handshake to complete.");
    /** Shorthand for {@code transport.* = smtp:[host]:port}. */
    public static final ConfigKey<String> RELAY_HOST = key("relay.host",
            ValueTypes.text(300), "",
            "Send all mail through this host: HOST, HOST:PORT or [HOST]:PORT (no MX lookup; port 25 unless given), shorthand for transport.* = smtp:[HOST]:PORT; empty = off. Not together with transport.*.");
    /** Deliveries in flight at once to one destination (route). */
    public static final ConfigKey<Integer> DELIVERY_CONCURRENCY = key("delivery.concurrency",
            ValueTypes.integer(1, 10_000), "20",
            "Delivery attempts in flight at once per destination (one transport route, e.g. one maildir template or next hop).");
    /** Waits between delivery attempts of a deferred recipient; the last one repeats. */
    public static final ConfigKey<List<Duration>> DELIVERY_RETRY_SCHEDULE = key("delivery.retry_schedule",
            ValueTypes.list(ValueTypes.duration(Duration.ofSeconds(1), Duration.ofDays(1)), false), "5m,10m,20m,40m,1h",
            "Waits before the 1st, 2nd, ... retry of a deferred recipient (comma-separated); the last one repeats.");
    /** Messages per second per destination; 0 = unlimited. */
    public static final ConfigKey<Integer> DELIVERY_RATE = key("delivery.rate",
            ValueTypes.integer(0, 1_000_000), "0",
            "Delivery attempts (messages) started per second per destination, a token bucket with one second of burst; 0 = unlimited.");
    /** Age of a deferred message at which its sender gets one delay notification. */
    public static final ConfigKey<Duration> DELIVERY_DELAY_WARNING = key("delivery.delay_warning",
            ValueTypes.duration(Duration.ZERO, Duration.ofDays(365)), "4h",
            "Once a message with a deferred recipient is this old, its sender gets one RFC 3464 delay notification (Action: delayed); 0s = never.");
    /**
     * Largest original a RET=FULL bounce carries whole (Postfix's bounce_size_limit). At most 10 MiB:
     * the queue thread reads that original into memory to build the bounce (DeliveryOptions checks the same).
     */
    public static final ConfigKey<Long> DELIVERY_BOUNCE_SIZE_LIMIT = key("delivery.bounce_size_limit",
            ValueTypes.size(0, 10L << 20), "50000",
            "Largest original message (octets) that a bounce for a RET=FULL sender (RFC 3461) carries whole, as a"
            + " message/rfc822 part; a larger one (or a BINARYMIME one) is returned as its headers and the report says so."
            + " Other reports carry the headers only. At most 10 MiB: the queue thread reads the original into"
            + " memory to build the bounce.");
    /** Age after which a message still deferred is bounced. */
    public static final ConfigKey<Duration> DELIVERY_MAX_QUEUE_TIME = key("delivery.max_queue_time",
            ValueTypes.duration(Duration.ofSeconds(1), Duration.ofDays(365)), "5d",
            "A recipient still deferred this long after the message arrived is bounced (one last attempt is made at this age).");
    /** Time a transport has to report an attempt's results. */
    public static final ConfigKey<Duration> DELIVERY_ATTEMPT_TIMEOUT = key("delivery.attempt_timeout",
            ValueTypes.duration(Duration.ofSeconds(1), MAX_TIMEOUT), "10m",
            "Time one delivery attempt may take; recipients without a result by then are deferred (4.4.1).");
    /** Threads that run blocking (local) transports. */
    public static final ConfigKey<Integer> DELIVERY_WORKERS = key("delivery.workers",
            ValueTypes.integer(1, 256), "4",
            "Threads that run blocking local deliveries (maildir); never the event loops.");
    /** Whether maildir deliveries carry a Delivered-To: header. */
    public static final ConfigKey<Boolean> DELIVERY_MAILDIR_DELIVERED_TO = key("delivery.maildir_delivered_to",
            ValueTypes.bool(), "true",
            "Prepend Delivered-To: <recipient> to each maildir file; off = all recipients of a message share one file through hard links.");
    /** DNS server for MX and address lookups; empty = the system's resolvers. */
    public static final ConfigKey<Optional<InetSocketAddress>> DNS_RESOLVER = key("dns.resolver",
            ValueTypes.optionalServerAddress(53), "",
            "DNS server (a recursive resolver) for MX and A/AAAA lookups: ADDR or ADDR:PORT, IPv6 as [::1]:53; empty = the system's resolvers from /etc/resolv.conf.");
    /** Time one DNS question may take, retries included. */
    public static final ConfigKey<Duration> DNS_TIMEOUT = key("dns.timeout",
            ValueTypes.duration(Duration.ofMillis(100), Duration.ofMinutes(1)), "5s",
            "Time one DNS question may take, retries included; a timeout defers the recipients (4.4.3).");
    /** Time allowed to open an outbound connection. */
    public static final ConfigKey<Duration> DELIVERY_CONNECT_TIMEOUT = key("delivery.connect_timeout",
            ValueTypes.duration(Duration.ofMillis(100), Duration.ofMinutes(10)), "30s",
            "Outbound SMTP/LMTP: time allowed for the TCP connection to open (then the next MX is tried).");
    /** Time allowed for a next hop's 220 greeting. */
    public static final ConfigKey<Duration> DELIVERY_GREETING_TIMEOUT = key("delivery.greeting_timeout",
            ValueTypes.duration(Duration.ofMillis(100), Duration.ofMinutes(30)), "120s",
            "Outbound: time allowed for the next hop's greeting (Postfix waits 300s; shorter so a stuck peer fails inside delivery.attempt_timeout).");
    /** Time allowed for each reply to EHLO, STARTTLS, MAIL, RCPT, DATA, RSET, QUIT. */
    public static final ConfigKey<Duration> DELIVERY_REPLY_TIMEOUT = key("delivery.reply_timeout",
            ValueTypes.duration(Duration.ofMillis(100), Duration.ofMinutes(30)), "120s",
            "Outbound: time allowed for each reply to a command (EHLO, STARTTLS, MAIL, RCPT, DATA, RSET).");
    /** Time allowed from the start of the content to the reply to the final dot. */
    public static final ConfigKey<Duration> DELIVERY_DATA_TIMEOUT = key("delivery.data_timeout",
            ValueTypes.duration(Duration.ofMillis(100), Duration.ofHours(1)), "300s",
            "Outbound: time allowed to send the content and get the reply to the final dot (each LMTP recipient's reply too).");
    /** Time allowed for an outbound TLS handshake. */
    public static final ConfigKey<Duration> DELIVERY_TLS_HANDSHAKE_TIMEOUT = key("delivery.tls_handshake_timeout",
            ValueTypes.duration(Duration.ofMillis(100), Duration.ofMinutes(10)), "60s",
            "Outbound: time allowed for the TLS handshake after the peer's 220 to STARTTLS.");
    /** Time an unused outbound connection stays open for the next message to the same next hop. */
    public static final ConfigKey<Duration> DELIVERY_IDLE_TIMEOUT = key("delivery.idle_timeout",
            ValueTypes.duration(Duration.ZERO, Duration.ofMinutes(10)), "30s",
            "Outbound: an idle connection is kept this long for the next message to the same next hop (address, port, TLS level); 0s = QUIT after each attempt.");
    /** Messages one outbound connection carries before it is closed. */
    public static final ConfigKey<Integer> DELIVERY_MAX_MESSAGES_PER_CONNECTION = key("delivery.max_messages_per_connection",
            ValueTypes.integer(1, 1_000_000), "1000",
            "Outbound: messages one connection carries (RSET between them) before QUIT.");
    /** Whether the outbound client sends with BDAT when the next hop offers CHUNKING. */
    public static final ConfigKey<Boolean> DELIVERY_CHUNKING = key("delivery.chunking",
            ValueTypes.bool(), "true",
            "Outbound: send the content with BDAT (RFC 3030, no dot-stuffing) when the next hop offers CHUNKING; off = always DATA. BODY=BINARYMIME messages need it (and BINARYMIME offered), else they bounce with 5.6.3.");
    /** Outbound STARTTLS policy. */
    public static final ConfigKey<ClientTlsLevel> TLS_CLIENT_LEVEL = key("tls.client.level",
            ValueTypes.enumeration(ClientTlsLevel.class), "may",
            "Outbound STARTTLS: none; may (when offered, plaintext if absent, 454 or a failed handshake, then on a new connection); encrypt (TLS or defer); verify (encrypt + the chain verifies and names the next-hop/MX host, which is also the SNI).");
    /** Trust anchors for {@code verify}; empty = the JDK's default trust store. */
    public static final ConfigKey<Optional<Path>> TLS_CLIENT_CA_FILE = key("tls.client.ca_file",
            ValueTypes.optionalReadableFile(), "",
            "PEM file of CA certificates trusted for tls.client.level = verify; empty = the JDK's default trust store.");
    /** Whether a destination that once did TLS is later delivered to only over TLS. */
    public static final ConfigKey<Boolean> TLS_CLIENT_REMEMBER = key("tls.client.remember",
            ValueTypes.bool(), "false",
            "Remember next-hop hosts that did STARTTLS (file tls-memory in the spool directory); a later plaintext-only answer from one under level may defers and is logged as a possible downgrade.");
    /** How long a successful TLS session is remembered. */
    public static final ConfigKey<Duration> TLS_CLIENT_REMEMBER_TIME = key("tls.client.remember_time",
            ValueTypes.duration(Duration.ofMinutes(1), Duration.ofDays(3650)), "30d",
            "How long after the last successful STARTTLS a remembered host must keep offering TLS.");
    /** Whether MX deliveries honour the recipient domain's MTA-STS policy (RFC 8461). */
    public static final ConfigKey<Boolean> TLS_CLIENT_MTA_STS = key("tls.client.mta_sts",
            ValueTypes.bool(), "on",
            "Honour MTA-STS (RFC 8461) for smtp: routes that look up MX (never smtp:[HOST], relay.host, lmtp:, nor a domain with a tls.client.policy.<domain> entry): the _mta-sts TXT record is asked alongside the MX, the policy fetched from https://mta-sts.<domain>/.well-known/mta-sts.txt (certificate checked against tls.client.ca_file or the JDK's trust store) and cached for its max_age (kept across restarts in the file mta-sts-policies in the spool directory, refreshed before expiry while deliveries use it); enforce = only matching MX hosts, with verify TLS, else defer 4.7.5; testing = deliver and log.");
    /** Time one MTA-STS policy fetch may take. */
    public static final ConfigKey<Duration> TLS_CLIENT_MTA_STS_FETCH_TIMEOUT = key("tls.client.mta_sts_fetch_timeout",
            ValueTypes.duration(Duration.ofMillis(100), Duration.ofMinutes(2)), "10s",
            "Time one MTA-STS policy fetch may take (connect, TLS handshake and response together); a failure keeps a cached policy, else delivers without one, and is not retried for 5 minutes.");
    /** Least severe level logged. */
    public static final ConfigKey<LogLevel> LOG_LEVEL = key("log.level",
            ValueTypes.enumeration(LogLevel.class), "info",
            "Least severe log level printed.");
    /** Where Prometheus metrics and the health check are served; empty = no HTTP server. */
    public static final ConfigKey<Optional<InetSocketAddress>> METRICS_LISTEN = key("metrics.listen",
            ValueTypes.optionalSocketAddress(), "",
            "HTTP address of /metrics (Prometheus text format) and /healthz (200 ok or 503 with the reason), e.g. 127.0.0.1:9465; empty = no HTTP server, no metrics, no health check.");
    /** Destinations named in the queue metrics; the rest are summed as "other". */
    public static final ConfigKey<Integer> METRICS_QUEUE_DESTINATIONS = key("metrics.queue_destinations",
            ValueTypes.integer(0, 1000), "20",
            "Destinations (routes) with the most queued recipients named in sluice_queue_recipients; the others are summed as destination=\"other\" (bounds the label set).");

    /** The header fields a DKIM signature covers ({@code h=}). */
    public static final ConfigKey<List<String>> DKIM_HEADERS = key("dkim.headers",
            ValueTypes.list(ValueTypes.headerName(), true), "",
            "Header fields DKIM signatures cover (h=), each as often as the message has it; must include from, which is over-signed (listed once more, so no From: can be added). Empty = from, to, cc, subject, date, message-id, reply-to, in-reply-to, references, mime-version, content-type, content-transfer-encoding, list-id, list-unsubscribe, list-unsubscribe-post.");

    /** {@code tls.sni.<name>.cert}: PEM certificate chain served to clients asking for {@code <name>}. */
    public static final PatternKey TLS_SNI_CERT = new PatternKey("tls.sni.", ".cert",
            "PEM certificate chain served when the client's SNI is <name> (a host name or *.domain); needs tls.sni.<name>.key.");
    /** {@code tls.sni.<name>.key}: PEM private key for {@link #TLS_SNI_CERT}. */
    public static final PatternKey TLS_SNI_KEY = new PatternKey("tls.sni.", ".key",
            "PEM private key for tls.sni.<name>.cert.");

    /** {@code transport.<domain>}: where mail for a recipient domain goes. */
    public static final PatternKey TRANSPORT = new PatternKey("transport.", "domain", "",
            "maildir:/PATH/{domain}/{user} | lmtp:HOST:PORT | smtp:[HOST]:PORT | smtp:DOMAIN | smtp: | discard | error:5.X.X TEXT",
            "Route for recipients in <domain>: an exact domain, .example.com for its subdomains, or * for all others (default smtp:, i.e. MX lookup); exact beats .subdomain (longest first) beats *.");

    /** {@code delivery.concurrency.<destination>}: overrides delivery.concurrency for one destination. */
    public static final PatternKey DELIVERY_CONCURRENCY_FOR = new PatternKey("delivery.concurrency.", "destination", "",
            "a whole number from 1 to 10000",
            "delivery.concurrency for one destination: the MX domain of an smtp:DOMAIN (or smtp:) route, or the host of an smtp:[HOST] or lmtp: route (exact name).");
    /** {@code delivery.rate.<destination>}: overrides delivery.rate for one destination. */
    public static final PatternKey DELIVERY_RATE_FOR = new PatternKey("delivery.rate.", "destination", "",
            "a whole number from 0 to 1000000",
            "delivery.rate for one destination (named as for delivery.concurrency.<destination>); 0 = unlimited.");

    /** {@code delivery.auth.<destination>}: the file of the SMTP AUTH credentials for one destination. */
    public static final PatternKey DELIVERY_AUTH_FOR = new PatternKey("delivery.auth.", "destination", "",
            "the path of a readable file of one line username:password (UTF-8)",
            "Authenticate (RFC 4954: AUTH PLAIN, else LOGIN) to this destination (named as for delivery.concurrency.<destination>: the host of smtp:[HOST] or relay.host, the MX domain of smtp:DOMAIN) before MAIL; only inside TLS and, unless a tls.client.policy.<destination> entry names it (then at least encrypt), to a verified certificate (the destination gets tls.client level verify); a refused AUTH defers. Read at start.");

    /** {@code tls.client.policy.<domain>}: outbound TLS level for one destination. */
    public static final PatternKey TLS_CLIENT_POLICY = new PatternKey("tls.client.policy.", "domain", "",
            "none | may | encrypt | verify",
            "Outbound TLS level for <domain> (the recipient domain of smtp: routes, the host of smtp:[HOST] and lmtp: routes): an exact name or .example.com for its subdomains; overrides tls.client.level.");

    /** {@code dkim.<domain>.selector}: the DKIM selector of a signing domain. */
    public static final PatternKey DKIM_SELECTOR = new PatternKey("dkim.", "domain", ".selector",
            "a selector such as s2026 (letters, digits, '-', dots)",
            "DKIM-sign (RFC 6376, c=relaxed/relaxed) mail from relay.networks, authenticated clients and our bounces that leaves over smtp:/lmtp: routes with a From: domain of <domain> (or, for .example.com, a subdomain of it; bounces from MAILER-DAEMON@hostname also match a parent of hostname) with this selector (s=); needs dkim.<domain>.key.");
    /** {@code dkim.<domain>.key}: the private key of a signing domain. */
    public static final PatternKey DKIM_KEY = new PatternKey("dkim.", "domain", ".key",
            "the path of an unencrypted PKCS#8 PEM private key: RSA of at least 1024 bits (rsa-sha256; 2048 recommended) or Ed25519 (ed25519-sha256)",
            "The private key for dkim.<domain>.selector; read and tried at start (a bad key stops the start), and again on change and on SIGHUP (a bad key then keeps the key in use).");

    private static final List<ConfigKey<?>> ALL = Collections.unmodifiableList(KEYS);
    private static final List<PatternKey> PATTERNS = List.of(TLS_SNI_CERT, TLS_SNI_KEY, TRANSPORT,
            DELIVERY_CONCURRENCY_FOR, DELIVERY_RATE_FOR, DELIVERY_AUTH_FOR, TLS_CLIENT_POLICY, DKIM_SELECTOR, DKIM_KEY);

    private ConfigKeys() {
    }

    /** Every key, in documentation order. */
    public static List<ConfigKey<?>> all() {
        return ALL;
    }

    /** Every pattern key ({@code tls.sni.<name>.cert}, ...). */
    public static List<PatternKey> patterns() {
        return PATTERNS;
    }

    /** The key with exactly this name, if any (pattern keys are not included). */
    public static Optional<ConfigKey<?>> byName(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    /**
     * A Markdown table of every key: name, default, allowed values and description, one row per
     * key, each row starting with {@code | `name` |}. The README's table is pasted from this.
     */
    public static String markdownTable() {
        StringBuilder out = new StringBuilder(8192);
        out.append("| Key | Default | Allowed | Description |\n|---|---|---|---|\n");
        for (ConfigKey<?> k : ALL) {
            row(out, k.name(), k.defaultText().isEmpty() ? "*(empty)*" : "`" + k.defaultText() + "`",
                    k.allowed(), k.description());
        }
        for (PatternKey p : PATTERNS) {
            row(out, p.pattern(), "*(none)*", p.allowed(), p.description());
        }
        return out.toString();
    }

    /**
     * A sample configuration file with every key commented out at its default, each under its
     * description and allowed values: {@code packaging/sluice.conf} is this text, and a test keeps
     * them equal. Uncommenting a {@code #key = value} line gives a file that parses to the defaults.
     */
    public static String sampleConfig() {
        StringBuilder out = new StringBuilder(16384);
        out.append("# Sluice configuration: key = value lines (java.util.Properties syntax; # starts a comment).\n")
                .append("# Every key is shown commented out at its default. Override single keys on the command\n")
                .append("# line with --set KEY=VALUE. Generated from ConfigKeys.sampleConfig(); do not edit by hand.\n");
        for (ConfigKey<?> k : ALL) {
            out.append('\n');
            comment(out, k.name() + ": " + k.description());
            comment(out, "Allowed: " + k.allowed() + ".");
            out.append('#').append(k.name()).append(" =");
            if (!k.defaultText().isEmpty()) {
                out.append(' ').append(k.defaultText()); // no trailing blank: editors strip it
            }
            out.append('\n');
        }
        for (PatternKey p : PATTERNS) {
            out.append('\n');
            comment(out, p.pattern() + ": " + p.description());
            comment(out, "Allowed: " + p.allowed() + ". No default; repeat with other names.");
        }
        return out.toString();
    }

    /** Writes {@code text} as "# " lines of at most about 100 columns, breaking at spaces. */
    private static void comment(StringBuilder out, String text) {
        int start = 0;
        while (start < text.length()) {
            int end = Math.min(text.length(), start + 98);
            if (end < text.length()) {
                int space = text.lastIndexOf(' ', end);
                end = space > start ? space : end;
            }
            out.append("# ").append(text, start, end).append('\n');
            start = end;
            while (start < text.length() && text.charAt(start) == ' ') {
                start++;
            }
        }
    }

    private static void row(StringBuilder out, String name, String def, String allowed, String description) {
        out.append("| `").append(name).append("` | ").append(cell(def)).append(" | ")
                .append(cell(allowed)).append(" | ").append(cell(description)).append(" |\n");
    }

    private static String cell(String text) {
        return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;");
    }

    private static <T> ConfigKey<T> key(String name, ValueType<T> type, String defaultText, String description) {
        ConfigKey<T> key = new ConfigKey<>(name, type, defaultText, description, KEYS.size());
        if (BY_NAME.putIfAbsent(name, key) != null) {
            throw new IllegalStateException("duplicate key " + name);
        }
        KEYS.add(key);
        return key;
    }
}
