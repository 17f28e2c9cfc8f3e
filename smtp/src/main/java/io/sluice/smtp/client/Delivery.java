package io.sluice.smtp.client;

import java.net.InetSocketAddress;
import java.util.List;

import io.sluice.smtp.config.ClientTlsLevel;
import io.sluice.smtp.delivery.DeliveryCallback;
import io.sluice.smtp.delivery.DeliveryJob;
import io.sluice.smtp.delivery.RecipientResult;
import io.sluice.smtp.dns.NextHop;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.RecipientDsn;

/**
 * One delivery attempt of one job over the outbound client: its encoded content, the next hops
 * to try in order, and which recipients have been reported. A connection failure, a bad greeting
 * or hello, or a TLS policy failure moves it to the next hop; the last hop's failure is what every
 * unreported recipient gets. A failed handshake under {@code may} retries the same hop in
 * plaintext on a new connection, once.
 *
 * <p>Threading: owned by one thread at a time and handed on through executors (worker, then the
 * session's loop, then possibly another loop for the next hop), which publish its state; the
 * callback it reports to is thread-safe.
 */
final class Delivery {
    private final SmtpClient client;
    private final DeliveryJob job;
    private final DeliveryCallback callback;
    /** Raised to {@code verify} by an enforced MTA-STS policy before {@link #start}. */
    private ClientTlsLevel level;
    /** Set under an enforced MTA-STS policy: what a TLS failure on every hop is reported as. */
    private String mtaStsEnforced;
    /** Set under an MTA-STS policy in mode testing: the policy domain. */
    private String mtaStsTestingDomain;
    private final boolean lmtp;
    private final SmtpCredentials credentials;
    private final boolean[] reported;
    private final boolean needsSmtpUtf8;
    private int unreported;
    /** Results kept back by {@link #hold()} until {@link #flush()}; null until first needed. */
    private RecipientResult[] held;
    private boolean holding;
    private OutboundContent content;
    private List<NextHop> hops;
    private int hopIndex;
    private boolean plaintextOnly;
    private boolean freshRetried;
    private int lastCode = 451;
    private String lastEnhanced = "4.4.1";
    private String lastText = "no next hop was tried";
    /** The hop now taking the message offers DSN and was given the parameters (set with its commands). */
    private boolean dsnPassedOn;

    Delivery(SmtpClient client, DeliveryJob job, DeliveryCallback callback, ClientTlsLevel level, boolean lmtp,
            SmtpCredentials credentials) {
        this.client = client;
        this.job = job;
        this.callback = callback;
        this.level = level;
        this.lmtp = lmtp;
        this.credentials = credentials;
        this.reported = new boolean[job.recipients().size()];
        this.unreported = reported.length;
        this.needsSmtpUtf8 = job.message().envelope().smtpUtf8() || !ascii(job.sender()) || !job.recipients().stream().allMatch(Delivery::ascii);
    }

    private static boolean ascii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- what sessions read

    /** The queue id of the message, for log lines. */
    String queueId() {
        return job.message().id().toString();
    }

    int recipientCount() {
        return reported.length;
    }

    String recipient(int index) {
        return job.recipients().get(index);
    }

    Envelope envelope() {
        return job.message().envelope();
    }

    /** The DSN parameters (NOTIFY, ORCPT) of the {@code index}-th recipient. */
    RecipientDsn dsn(int index) {
        return job.dsn(index);
    }

    /**
     * The message size as RFC 1870 counts it for {@code SIZE=} and the peer's limit: the octets
     * sent, i.e. the encoded content with any DKIM-Signature in front, CRLF line ends and wrapped
     * long lines, without stuffing dots. Not the stored size, which can be smaller.
     */
    long sizeOctets() {
        return content.length();
    }

    OutboundContent content() {
        return content;
    }

    boolean needsSmtpUtf8() {
        return needsSmtpUtf8;
    }

    /** Whether the hop the transaction goes to took the DSN parameters; set before its replies. */
    void dsnPassedOn(boolean value) {
        dsnPassedOn = value;
    }

    // ---------------------------------------------------------------- the hops

    /** Starts on the first hop once the content is encoded. */
    void start(OutboundContent encoded, List<NextHop> nextHops) {
        this.content = encoded;
        this.hops = List.copyOf(nextHops);
        this.hopIndex = 0;
        tryHop();
    }

    /**
     * Before {@link #start}: an MTA-STS policy in mode enforce (RFC 8461 §5) holds, so every hop
     * must give TLS with a certificate valid for its MX name ({@code verify}); when each hop fails
     * on TLS, the recipients are deferred with 4.7.5 naming the policy.
     *
     * @param policy how the policy is named in that reply, e.g. {@code MTA-STS policy of example.com (enforce)}
     */
    void enforceMtaSts(String policy) {
        level = ClientTlsLevel.VERIFY;
        mtaStsEnforced = policy;
    }

    /** Before {@link #start}: an MTA-STS policy in mode testing holds (sessions log hops without TLS). */
    void mtaStsTesting(String domain) {
        mtaStsTestingDomain = domain;
    }

    boolean mtaStsTesting() {
        return mtaStsTestingDomain != null;
    }

    String mtaStsTestingDomain() {
        return mtaStsTestingDomain;
    }

    private void tryHop() {
        if (hopIndex >= hops.size()) {
            if (mtaStsEnforced != null && lastEnhanced != null && lastEnhanced.startsWith("4.7.")) {
                client.mtaStsRefusedTls();
                reportUnreported(451, "4.7.5", mtaStsEnforced + ": no permitted MX host gave TLS with a certificate"
                        + " valid for its name; last: " + lastText);
                return;
            }
            reportUnreported(lastCode, lastEnhanced, lastText);
            return;
        }
        NextHop hop = hops.get(hopIndex);
        client.open(hopKey(hop),
                this, plaintextOnly);
    }

    private HopKey hopKey(NextHop hop) {
        return new HopKey(new InetSocketAddress(hop.address(), hop.port()), lmtp, level, hop.hostName(), credentials);
    }

    /**
     * This hop cannot take the message (connect, greeting, hello, TLS policy): remember why and
     * try the next. Loop thread of the failing session (or a worker when a loop refused the task).
     *
     * @param retryPlain a {@code may} handshake failed: the same hop again without STARTTLS
     */
    void hopFailed(int code, String enhancedCode, String text, boolean retryPlain) {
        lastCode = code;
        lastEnhanced = enhancedCode;
        lastText = text;
        if (retryPlain && !plaintextOnly) {
            plaintextOnly = true;
        } else {
            plaintextOnly = false;
            hopIndex++;
        }
        tryHop();
    }

    /** A cached connection died before taking the message: the same hop on a new connection, once. */
    void retryFresh() {
        if (freshRetried) {
            hopFailed(451, "4.4.2", "cached connection to the next hop failed twice", false);
            return;
        }
        freshRetried = true;
        NextHop hop = hops.get(hopIndex);
        client.connect(hopKey(hop),
                this, plaintextOnly);
    }

    // ---------------------------------------------------------------- results

    /** One recipient's reply; ignored if it was reported already. */
    void report(int index, int code, String enhancedCode, String text) {
        if (reported[index]) {
            return;
        }
        reported[index] = true;
        unreported--;
        RecipientResult result = result(recipient(index), code, enhancedCode, text);
        // Only NOTIFY=SUCCESS makes the hand-over matter (no success report of ours), so only then
        // is it marked: every mark costs a journal record.
        if (dsnPassedOn && result.outcome() == RecipientResult.Outcome.DELIVERED
                && dsn(index).notifySuccess()) {
            result = result.withDsnPassedOn();
        }
        if (holding) {
            if (held == null) {
                held = new RecipientResult[reported.length];
            }
            held[index] = result;
        } else {
            callback.completed(result);
        }
    }

    /**
     * Keeps results back until {@link #flush()}: the session hands its connection back to the
     * pool first, so the next attempt the queue manager starts on hearing them finds it idle.
     */
    void hold() {
        holding = true;
    }

    /** Reports what {@link #hold()} kept back. */
    void flush() {
        holding = false;
        if (held == null) {
            return;
        }
        for (int i = 0; i < held.length; i++) {
            RecipientResult result = held[i];
            if (result != null) {
                held[i] = null;
                callback.completed(result);
            }
        }
    }

    /** Every recipient not yet reported gets this reply. */
    void reportUnreported(int code, String enhancedCode, String text) {
        if (unreported == 0) {
            return;
        }
        for (int i = 0; i < reported.length; i++) {
            report(i, code, enhancedCode, text);
        }
    }

    /** 2xx delivered, 5xx failed, anything else (4xx, a misplaced 3xx) deferred. */
    static RecipientResult result(String recipient, int code, String enhancedCode, String text) {
        int kind = code / 100;
        RecipientResult.Outcome outcome = kind == 2 ? RecipientResult.Outcome.DELIVERED
                : kind == 5 ? RecipientResult.Outcome.FAILED : RecipientResult.Outcome.DEFERRED;
        int replyCode = kind == 2 || kind == 4 || kind == 5 ? code : 451;
        String enhanced = enhancedCode != null ? enhancedCode : enhancedCodeIn(text, replyCode / 100);
        return new RecipientResult(recipient, outcome, replyCode, enhanced, text);
    }

    /** The first {@code C.X.Y} token after "said: NNN " in the text whose class is {@code kind}, else {@code kind.0.0}. */
    static String enhancedCodeIn(String text, int kind) {
        int said = text.indexOf(" said: ");
        int from = said < 0 ? 0 : said + 11;
        if (from + 5 <= text.length() && text.charAt(from) == (char) ('0' + kind) && text.charAt(from + 1) == '.') {
            int end = from + 2;
            int dots = 1;
            while (end < text.length() && (Character.isDigit(text.charAt(end)) || text.charAt(end) == '.')) {
                dots += text.charAt(end) == '.' ? 1 : 0;
                end++;
            }
            if (dots == 2 && Character.isDigit(text.charAt(end - 1)) && end - from <= 11) {
                return text.substring(from, end);
            }
        }
        return kind + ".0.0";
    }
}
