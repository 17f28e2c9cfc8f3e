package io.sluice.smtp.client;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;

/**
 * How the outbound client behaves: our name, every phase timeout, connection reuse, the TLS
 * policy, CHUNKING use and the SMTP AUTH credentials. Immutable; any thread.
 *
 * @param heloName                  the name in EHLO/HELO/LHLO
 * @param connectTimeoutNanos       TCP connect
 * @param greetingTimeoutNanos      the 220 greeting
 * @param replyTimeoutNanos         each command reply
 * @param dataTimeoutNanos          content sent and the final-dot reply(s) received
 * @param handshakeTimeoutNanos     the TLS handshake after STARTTLS
 * @param idleTimeoutNanos          an idle pooled connection's life; 0 = no reuse
 * @param maxMessagesPerConnection  messages before QUIT
 * @param tlsPolicy                 the level per destination
 * @param caFile                    trust anchors for {@code verify}; empty = the JDK's default trust store
 * @param rememberTls               keep a memory of hosts that did TLS
 * @param rememberNanos             how long an entry of that memory lasts
 * @param tlsProvider               {@code auto} or {@code jdk}
 * @param chunking                  send with BDAT when the peer offers CHUNKING (RFC 3030)
 * @param bdatChunkOctets           the largest BDAT chunk ({@link #BDAT_CHUNK_OCTETS}; tests use less)
 * @param auth                      SMTP AUTH credentials per destination
 */
public record ClientSettings(String heloName, long connectTimeoutNanos, long greetingTimeoutNanos,
                             long replyTimeoutNanos, long dataTimeoutNanos, long handshakeTimeoutNanos,
                             long idleTimeoutNanos, int maxMessagesPerConnection, TlsPolicyTable tlsPolicy,
                             Optional<Path> caFile, boolean rememberTls, long rememberNanos, String tlsProvider,
                             boolean chunking, int bdatChunkOctets, AuthTable auth) {
    /**
     * Content octets per BDAT command: a typical message goes as one {@code BDAT n LAST}; a large
     * one in pieces of this size, so a receiver that buffers a chunk before answering it (RFC
     * 3030 allows that) never needs more.
     */
    public static final int BDAT_CHUNK_OCTETS = 1 << 20;

    /** Rejects a chunk size that BDAT cannot use. */
    public ClientSettings {
        if (bdatChunkOctets < 1) {
            throw new IllegalArgumentException("bdatChunkOctets=" + bdatChunkOctets + " < 1");
        }
    }

    /** From the {@code delivery.*} and {@code tls.client.*} keys. */
    public static ClientSettings fromConfig(SluiceConfig config) {
        return new ClientSettings(config.get(ConfigKeys.HOSTNAME),
                nanos(config.get(ConfigKeys.DELIVERY_CONNECT_TIMEOUT)),
                nanos(config.get(ConfigKeys.DELIVERY_GREETING_TIMEOUT)),
                nanos(config.get(ConfigKeys.DELIVERY_REPLY_TIMEOUT)),
                nanos(config.get(ConfigKeys.DELIVERY_DATA_TIMEOUT)),
                nanos(config.get(ConfigKeys.DELIVERY_TLS_HANDSHAKE_TIMEOUT)),
                nanos(config.get(ConfigKeys.DELIVERY_IDLE_TIMEOUT)),
                config.get(ConfigKeys.DELIVERY_MAX_MESSAGES_PER_CONNECTION),
                TlsPolicyTable.fromConfig(config),
                config.get(ConfigKeys.TLS_CLIENT_CA_FILE),
                config.get(ConfigKeys.TLS_CLIENT_REMEMBER),
                nanos(config.get(ConfigKeys.TLS_CLIENT_REMEMBER_TIME)),
                config.get(ConfigKeys.TLS_PROVIDER).name().equals("JDK") ? "jdk" : "auto",
                config.get(ConfigKeys.DELIVERY_CHUNKING), BDAT_CHUNK_OCTETS, AuthTable.fromConfig(config));
    }

    /** Defaults as the key table documents them, with {@code heloName} and a TLS policy (tests). */
    public static ClientSettings defaults(String heloName, TlsPolicyTable tlsPolicy) {
        long second = 1_000_000_000L;
        return new ClientSettings(heloName, 30 * second, 120 * second, 120 * second, 300 * second, 60 * second,
                30 * second, 1000, tlsPolicy, Optional.empty(), false, Duration.ofDays(30).toNanos(), "auto", true,
                BDAT_CHUNK_OCTETS, AuthTable.none());
    }

    /** A copy with every reply, greeting, data and handshake timeout set to one value (tests). */
    public ClientSettings withTimeouts(Duration timeout) {
        long t = timeout.toNanos();
        return new ClientSettings(heloName, t, t, t, t, t, idleTimeoutNanos, maxMessagesPerConnection, tlsPolicy,
                caFile, rememberTls, rememberNanos, tlsProvider, chunking, bdatChunkOctets, auth);
    }

    /** A copy with another TLS policy and trust anchors (tests). */
    public ClientSettings withTls(TlsPolicyTable policy, Optional<Path> trust, boolean remember) {
        return new ClientSettings(heloName, connectTimeoutNanos, greetingTimeoutNanos, replyTimeoutNanos,
                dataTimeoutNanos, handshakeTimeoutNanos, idleTimeoutNanos, maxMessagesPerConnection, policy, trust,
                remember, rememberNanos, tlsProvider, chunking, bdatChunkOctets, auth);
    }

    /** A copy with CHUNKING use on or off and another BDAT chunk size (tests). */
    public ClientSettings withChunking(boolean use, int chunkOctets) {
        return new ClientSettings(heloName, connectTimeoutNanos, greetingTimeoutNanos, replyTimeoutNanos,
                dataTimeoutNanos, handshakeTimeoutNanos, idleTimeoutNanos, maxMessagesPerConnection, tlsPolicy, caFile,
                rememberTls, rememberNanos, tlsProvider, use, chunkOctets, auth);
    }

    /** A copy with other SMTP AUTH credentials (tests). */
    public ClientSettings withAuth(AuthTable credentials) {
        return new ClientSettings(heloName, connectTimeoutNanos, greetingTimeoutNanos, replyTimeoutNanos,
                dataTimeoutNanos, handshakeTimeoutNanos, idleTimeoutNanos, maxMessagesPerConnection, tlsPolicy, caFile,
                rememberTls, rememberNanos, tlsProvider, chunking, bdatChunkOctets, credentials);
    }

    private static long nanos(Duration d) {
        return d.toNanos();
    }
}
