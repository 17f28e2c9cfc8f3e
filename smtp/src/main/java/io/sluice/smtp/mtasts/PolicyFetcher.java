package io.sluice.smtp.mtasts;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/**
 * Fetches {@code https://mta-sts.<domain>/.well-known/mta-sts.txt} (RFC 8461 §3.3) with one
 * plain HTTP/1.1 GET over an {@link SSLSocket}: to addresses the caller resolved (our resolver,
 * not the JDK's), SNI and the certificate check for the policy host, no redirects, only a 200
 * with {@code text/plain} and a body of at most {@link StsPolicy#MAX_BODY_OCTETS}; connect,
 * handshake and read all within one timeout (a deadline that closes the socket, so a peer dripping
 * bytes cannot stretch it read by read). Blocking: call from a thread that may block (the
 * MTA-STS executor), never from an event loop. Thread-safe (no state besides configuration).
 */
public final class PolicyFetcher {
    /** The policy's path on {@code mta-sts.<domain>}. */
    public static final String WELL_KNOWN_PATH = "/.well-known/mta-sts.txt";
    /** The HTTPS port; tests use another. */
    public static final int HTTPS_PORT = 443;
    private static final int MAX_HEAD_OCTETS = 8 * 1024;
    /**
     * Closes sockets whose fetch passed its deadline: SO_TIMEOUT bounds each read, not their sum,
     * and a handshake is many reads. One daemon thread for all fetchers; tasks are cancelled (and
     * removed) when a fetch ends in time.
     */
    private static final ScheduledThreadPoolExecutor DEADLINES = deadlineCloser();

    private final SSLContext tls;
    private final int port;
    private final long timeoutNanos;

    /**
     * @param tls     trust anchors for the policy host's certificate ({@link #trusting})
     * @param port    {@link #HTTPS_PORT} except in tests
     * @param timeout connect, handshake and the whole response, together
     */
    public PolicyFetcher(SSLContext tls, int port, Duration timeout) {
        this.tls = tls;
        this.port = port;
        this.timeoutNanos = timeout.toNanos();
    }

    /** The time one fetch may take, all told. */
    public Duration timeout() {
        return Duration.ofNanos(timeoutNanos);
    }

    /**
     * A TLS context that trusts the CA certificates of a PEM file, or the JDK's default trust store.
     *
     * @throws IOException when the file cannot be read or holds no certificate
     */
    public static SSLContext trusting(Optional<Path> caFile) throws IOException {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trustManagers(caFile), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IOException("MTA-STS trust: " + e.getMessage(), e);
        }
    }

    /** Trust managers for the CA certificates of a PEM file, or the JDK's default trust store. */
    static TrustManager[] trustManagers(Optional<Path> caFile) throws IOException {
        try {
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            if (caFile.isPresent()) {
                KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
                anchors.load(null, null);
                int n = 0;
                try (InputStream in = Files.newInputStream(caFile.get())) {
                    for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                        anchors.setCertificateEntry("ca-" + n++, c);
                    }
                }
                if (n == 0) {
                    throw new IOException(caFile.get() + ": no certificate");
                }
                trust.init(anchors);
            } else {
                trust.init((KeyStore) null);
            }
            return trust.getTrustManagers();
        } catch (GeneralSecurityException e) {
            throw new IOException("MTA-STS trust: " + e.getMessage(), e);
        }
    }

    /**
     * The policy body of {@code policyHost}, from the first address that answers.
     *
     * @param policyHost {@code mta-sts.<domain>}: the Host header, SNI and the name the certificate must carry
     * @param addresses  where it lives, in the order to try
     * @throws PolicyFetchException with the result the fetch counts as
     */
    public String fetch(String policyHost, List<InetAddress> addresses) throws PolicyFetchException {
        if (addresses.isEmpty()) {
            throw new PolicyFetchException(FetchResult.NO_ADDRESS, policyHost + " has no address");
        }
        long deadline = System.nanoTime() + timeoutNanos;
        // The socket of the address being tried; the closer takes it when the deadline passes.
        AtomicReference<Socket> current = new AtomicReference<>();
        ScheduledFuture<?> closer = DEADLINES.schedule(() -> closeQuietly(current.getAndSet(CLOSED)),
                timeoutNanos, TimeUnit.NANOSECONDS);
        try {
            PolicyFetchException last = null;
            for (InetAddress address : addresses) {
                try {
                    return parse(policyHost, get(policyHost, address, deadline, current));
                } catch (PolicyFetchException e) {
                    if (e.result() != FetchResult.IO && e.result() != FetchResult.TLS) {
                        throw e; // an HTTP answer, or no time left: another address would not change it
                    }
                    last = e;
                }
            }
            throw last;
        } finally {
            closer.cancel(false);
        }
    }

    /** Marks a fetch whose deadline passed: a socket made after it is closed at once. */
    private static final Socket CLOSED = new Socket();

    private static ScheduledThreadPoolExecutor deadlineCloser() {
        ScheduledThreadPoolExecutor closer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "sluice-mta-sts-deadline");
            t.setDaemon(true);
            return t;
        });
        closer.setRemoveOnCancelPolicy(true);
        return closer;
    }

    private static void closeQuietly(Socket socket) {
        if (socket != null && socket != CLOSED) {
            try {
                socket.close(); // the blocked connect, handshake or read fails with a SocketException
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

    /** The raw response (head and body) from one address; {@code current} holds its socket for the deadline closer. */
    private Response get(String host, InetAddress address, long deadline, AtomicReference<Socket> current)
            throws PolicyFetchException {
        try (Socket raw = new Socket()) {
            Socket previous = current.getAndSet(raw);
            if (previous == CLOSED) {
                current.set(CLOSED);
                throw new SocketTimeoutException("fetch timeout");
            }
            raw.connect(new InetSocketAddress(address, port), remainingMillis(deadline));
            try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket(raw, host, port, true)) {
                SSLParameters params = socket.getSSLParameters();
                params.setEndpointIdentificationAlgorithm("HTTPS");
                params.setServerNames(List.of(new SNIHostName(host)));
                socket.setSSLParameters(params);
                socket.setSoTimeout(remainingMillis(deadline));
                socket.startHandshake();
                OutputStream out = socket.getOutputStream();
                out.write(("GET " + WELL_KNOWN_PATH + " HTTP/1.1\r\nHost: " + host
                        + "\r\nUser-Agent: sluice\r\nAccept: text/plain\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                return read(socket, deadline);
            }
        } catch (SocketTimeoutException e) {
            throw timedOut(host, address);
        } catch (IOException | IllegalArgumentException e) {
            if (current.get() == CLOSED) {
                throw timedOut(host, address); // the deadline closer closed the socket under us
            }
            throw failed(host, address, e);
        }
    }

    private static PolicyFetchException timedOut(String host, InetAddress address) {
        return new PolicyFetchException(FetchResult.TIMEOUT, host + "[" + address.getHostAddress() + "]: timed out");
    }

    private static PolicyFetchException failed(String host, InetAddress address, Exception e) {
        if (e instanceof SSLException) {
            return new PolicyFetchException(FetchResult.TLS, host + "[" + address.getHostAddress() + "]: " + e.getMessage());
        }
        return new PolicyFetchException(FetchResult.IO, host + "[" + address.getHostAddress() + "]: " + e);
    }

    private static int remainingMillis(long deadline) throws SocketTimeoutException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new SocketTimeoutException("fetch timeout");
        }
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, left / 1_000_000));
    }

    /** Reads until the server closes, the Content-Length is met, or the size limit is passed. */
    private static Response read(SSLSocket socket, long deadline) throws IOException {
        // One buffer per fetch: fetches are rare (once per policy id or max_age), never on a hot path.
        byte[] buffer = new byte[MAX_HEAD_OCTETS + StsPolicy.MAX_BODY_OCTETS + 1];
        int length = 0;
        InputStream in = socket.getInputStream();
        while (length < buffer.length) {
            socket.setSoTimeout(remainingMillis(deadline));
            int n = in.read(buffer, length, buffer.length - length);
            if (n < 0) {
                break;
            }
            length += n;
            Response r = Response.of(buffer, length);
            if (r != null && r.complete()) {
                return r;
            }
        }
        Response r = Response.of(buffer, length);
        return r != null ? r.closed(length == buffer.length) : new Response(buffer, length, -1, length == buffer.length);
    }

    private static String parse(String host, Response response) throws PolicyFetchException {
        if (response.headEnd() < 0) {
            throw new PolicyFetchException(response.overflow() ? FetchResult.TOO_LARGE : FetchResult.BAD_RESPONSE,
                    host + ": no complete HTTP response head");
        }
        String head = new String(response.buffer(), 0, response.headEnd(), StandardCharsets.ISO_8859_1);
        String[] lines = head.split("\r\n");
        int status = status(host, lines[0]);
        if (status / 100 == 3) {
            throw new PolicyFetchException(FetchResult.REDIRECT, host + ": status " + status + " (redirects are not followed)");
        }
        if (status != 200) {
            throw new PolicyFetchException(FetchResult.HTTP_STATUS, host + ": status " + status);
        }
        String type = header(lines, "content-type");
        if (type == null || !type.split(";", 2)[0].trim().equalsIgnoreCase("text/plain")) {
            throw new PolicyFetchException(FetchResult.BAD_RESPONSE, host + ": Content-Type " + type + " is not text/plain");
        }
        byte[] body = response.body("chunked".equalsIgnoreCase(trimmed(header(lines, "transfer-encoding"))), host);
        return new String(body, StandardCharsets.UTF_8);
    }

    private static int status(String host, String statusLine) throws PolicyFetchException {
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.") || parts[1].length() != 3
                || !parts[1].chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new PolicyFetchException(FetchResult.BAD_RESPONSE, host + ": bad status line");
        }
        return Integer.parseInt(parts[1]);
    }

    /** The first value of a header, or null. */
    static String header(String[] lines, String lowerName) {
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0 && lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT).equals(lowerName)) {
                return lines[i].substring(colon + 1).trim();
            }
        }
        return null;
    }

    private static String trimmed(String s) {
        return s == null ? null : s.trim();
    }
}
