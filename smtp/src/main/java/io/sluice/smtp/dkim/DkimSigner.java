package io.sluice.smtp.dkim;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.LongSupplier;

import io.sluice.smtp.config.NetworkSet;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;

/**
 * Decides whether an outbound message is DKIM-signed and signs it (RFC 6376, relaxed/relaxed;
 * RFC 8463 for Ed25519): a message is signed when it came from a client we relay for (in
 * {@code relay.networks}, or authenticated), or is our own (a bounce, protocol {@code LOCAL}) —
 * never mail an outside client handed us, whatever its From: says, which our signature would
 * make look authentic — and its header has exactly one From: field naming exactly one mailbox
 * (RFC 5322 §3.6; with two authors, verifiers and DMARC receivers differ on which one the
 * signature vouches for, RFC 7489 §6.6.1), whose domain has a key ({@code dkim.<domain>.*}), or
 * is under a {@code dkim..<parent>.*} entry, or it comes from {@code MAILER-DAEMON@hostname} and
 * the hostname or a parent of it has a key (our bounces and delay notices); and it does not
 * already carry a signature with that key's {@code d=} and {@code s=}. The signature covers the
 * content exactly as given (the client's wire form) and is sent in front of it; the spool is not
 * touched.
 *
 * <p>The signature of a message is kept in a small cache by queue id ({@link #CACHE_ENTRIES}
 * entries, LRU, about 0.7 KiB each with a 2048-bit key: under 1 MiB). The entry goes in before
 * the signing starts, as a future: attempts that a message with recipients at several
 * destinations starts at once wait for the one that signs, and retries soon after find it done,
 * so they all cost one private-key operation, not one each.
 *
 * <p>Threading: immutable but for the cache (synchronized, held only to look up or insert, never
 * while signing), the counters and the key set, which a reload replaces whole ({@link #replaceKeys},
 * one volatile write; each message reads it once); called by the client's delivery workers, which may block on
 * another worker's signature, never by an event loop (a signature costs about 1.4 ms of CPU with
 * RSA-2048, about 1.1 ms with Ed25519: perf-results/2026-11-29-dkim-sign.md).
 */
public final class DkimSigner {
    /** Signatures kept for later attempts of the same message. */
    public static final int CACHE_ENTRIES = 1024;
    /** The default {@code h=} names (over-signed {@code from} is added, see {@link #signedNames}). */
    public static final List<String> DEFAULT_HEADERS = List.of("from", "to", "cc", "subject", "date", "message-id",
            "reply-to", "in-reply-to", "references", "mime-version", "content-type", "content-transfer-encoding",
            "list-id", "list-unsubscribe", "list-unsubscribe-post");

    private static final DkimSigner NONE = new DkimSigner(Map.of(), DEFAULT_HEADERS, "", NetworkSet.EMPTY,
            System::currentTimeMillis);

    /** The keys now: replaced whole by {@link #replaceKeys}, read once per message. */
    private volatile KeySet keys;
    private final List<String> headers;
    private final String hostname;
    private final NetworkSet trustedClients;
    private final LongSupplier clockMillis;
    private final DkimStats stats = new DkimStats();
    private final Map<QueueId, Cached> cache = new LinkedHashMap<>(64, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<QueueId, Cached> eldest) {
            return size() > CACHE_ENTRIES;
        }
    };

    /**
     * A signature, done or being made, the content length it is for (a different length is a
     * different content) and the key it was made with: valid while that very instance is in use,
     * so a reload that renews another domain's key keeps it, one that renews this key does not.
     */
    private record Cached(int length, DkimKey key, CompletableFuture<DkimSignature> signature) {

        boolean validFor(int contentLength, KeySet set) {
            return length == contentLength && set.holds(key);
        }
    }

    /**
     * One immutable set of keys: by configured name (lower case), by exact domain, and by parent
     * domain (the name without its leading dot) for subdomain entries.
     */
    private static final class KeySet {
        final Map<String, DkimKey> byName;
        final Map<String, DkimKey> exact = new LinkedHashMap<>();
        final Map<String, DkimKey> subdomains = new LinkedHashMap<>();

        KeySet(Map<String, DkimKey> keys) {
            Map<String, DkimKey> names = new LinkedHashMap<>();
            keys.forEach((name, key) -> {
                String lower = name.toLowerCase(Locale.ROOT);
                names.put(lower, key);
                if (lower.startsWith(".")) {
                    subdomains.put(lower.substring(1), key);
                } else {
                    exact.put(lower, key);
                }
            });
            byName = Collections.unmodifiableMap(names);
        }

        /** True when {@code key}, this instance, is one of these (a handful of keys: a scan by identity, not equals). */
        boolean holds(DkimKey key) {
            for (DkimKey inUse : byName.values()) {
                if (inUse == key) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * What the From: fields say: the key of a mailbox of theirs (the first that has one), or null;
     * {@code single} when there is exactly one From: field with exactly one mailbox.
     */
    private record Author(DkimKey key, boolean single) {
    }

    /**
     * Told why a message that names a signing domain in From: is sent unsigned; the reason is the
     * {@code result} label of {@code sluice_outbound_dkim_signatures_total}. Called on the thread
     * that asked for the signature.
     */
    @FunctionalInterface
    public interface UnsignedListener {
        /** Ignores every reason. */
        UnsignedListener NONE = (message, reason) -> { };

        /** {@code message} leaves unsigned because of {@code reason} (untrusted_client, ambiguous_from, already_signed). */
        void unsigned(QueuedMessage message, String reason);
    }

    /**
     * @param keys           by configured name: a domain, or {@code .parent} for the parent's subdomains
     * @param headers        the {@code h=} names, lower case, {@code from} among them
     * @param hostname       our host name (the domain of MAILER-DAEMON's address in bounces)
     * @param trustedClients the clients whose mail is signed without AUTH ({@code relay.networks})
     * @param clockMillis    the clock of {@code t=}
     */
    public DkimSigner(Map<String, DkimKey> keys, List<String> headers, String hostname, NetworkSet trustedClients,
            LongSupplier clockMillis) {
        this.keys = new KeySet(keys);
        this.headers = headers.stream().map(h -> h.toLowerCase(Locale.ROOT)).toList();
        if (!this.headers.contains("from")) {
            throw new IllegalArgumentException("dkim.headers must include from (RFC 6376 §5.4)");
        }
        this.hostname = hostname.toLowerCase(Locale.ROOT);
        this.trustedClients = trustedClients;
        this.clockMillis = clockMillis;
    }

    /** A signer with no keys: signs nothing. */
    public static DkimSigner none() {
        return NONE;
    }

    /** True when any key is in use. */
    public boolean enabled() {
        return !keys.byName.isEmpty();
    }

    /** The keys in use (for the start line and {@code dkim-record}). */
    public Collection<DkimKey> keys() {
        KeySet set = keys;
        List<DkimKey> all = new ArrayList<>(set.exact.values());
        all.addAll(set.subdomains.values());
        return all;
    }

    /** The keys in use by configured name, lower case ({@code .parent} for subdomain entries); immutable. */
    public Map<String, DkimKey> keysByName() {
        return keys.byName;
    }

    /**
     * Signs from now on with {@code replacement} (by configured name, as the constructor takes
     * them): one volatile write. A message already being signed finishes with the keys it started
     * with; a cached signature made with other keys is not reused. Any thread (the reload thread).
     */
    public void replaceKeys(Map<String, DkimKey> replacement) {
        keys = new KeySet(replacement);
    }

    public DkimStats stats() {
        return stats;
    }

    /** {@link #signatureFor(QueuedMessage, byte[], int, UnsignedListener)} without being told why not. */
    public DkimSignature signatureFor(QueuedMessage message, byte[] content, int length) throws GeneralSecurityException {
        return signatureFor(message, content, length, UnsignedListener.NONE);
    }

    /**
     * The signature to send in front of {@code content[0, length)} (the client's wire form of
     * {@code message}), or null when the message is not ours to sign ({@code unsigned} is told
     * why when a From: mailbox has a signing domain). Blocking CPU work, and may wait for another
     * attempt of the same message that is signing it: a worker thread.
     *
     * @throws GeneralSecurityException the signing itself failed, here or in the attempt this one waited for (counted)
     */
    public DkimSignature signatureFor(QueuedMessage message, byte[] content, int length, UnsignedListener unsigned)
            throws GeneralSecurityException {
        KeySet set = keys;
        if (set.byName.isEmpty()) {
            return null;
        }
        CompletableFuture<DkimSignature> earlier = cached(message.id(), length, set);
        if (earlier != null) {
            return reuse(earlier);
        }
        HeaderBlock header = HeaderBlock.parse(content, length);
        Author author = header == null ? null : author(header, set);
        if (author == null || author.key() == null) {
            return null;
        }
        if (!trusted(message.envelope())) {
            stats.untrusted();
            unsigned.unsigned(message, "untrusted_client");
            return null;
        }
        if (!author.single()) {
            stats.ambiguousFrom();
            unsigned.unsigned(message, "ambiguous_from");
            return null;
        }
        if (carriesSignatureOf(header, author.key())) {
            stats.alreadySigned();
            unsigned.unsigned(message, "already_signed");
            return null;
        }
        return signOnce(message.id(), length, author.key(), header);
    }

    /**
     * Signs unless another attempt of the same content got there first (between our cache miss
     * and now), in which case its signature is awaited instead.
     */
    private DkimSignature signOnce(QueueId id, int length, DkimKey key, HeaderBlock header)
            throws GeneralSecurityException {
        // Allocated once per signed message, not per attempt: the mark other attempts wait on.
        CompletableFuture<DkimSignature> mine = new CompletableFuture<>();
        CompletableFuture<DkimSignature> theirs = claim(id, new Cached(length, key, mine));
        if (theirs != null) {
            return reuse(theirs);
        }
        DkimSignature signature;
        try {
            signature = sign(key, header, headers, clockMillis.getAsLong() / 1000);
        } catch (GeneralSecurityException | RuntimeException e) {
            stats.failed();
            forget(id, mine); // before completing it: a later attempt signs afresh, not this failure again
            mine.completeExceptionally(e);
            throw e;
        }
        stats.signed();
        mine.complete(signature);
        return signature;
    }

    /** Waits for a signature another attempt makes or made. */
    private DkimSignature reuse(CompletableFuture<DkimSignature> earlier) throws GeneralSecurityException {
        DkimSignature signature;
        try {
            signature = earlier.join();
        } catch (CompletionException | CancellationException e) {
            stats.failed();
            throw new GeneralSecurityException("signing the message in another attempt failed", e.getCause());
        }
        stats.reused();
        return signature;
    }

    /** Our bounces, authenticated submissions (ESMTPA, ESMTPSA, ...) and clients in {@link #trustedClients}. */
    boolean trusted(Envelope envelope) {
        String protocol = envelope.protocol();
        if (protocol.equals("LOCAL") || protocol.endsWith("A")) {
            return true;
        }
        String client = envelope.clientAddress();
        for (int i = 0; i < client.length(); i++) {
            char c = client.charAt(i);
            if (!(Character.digit(c, 16) >= 0 || c == '.' || c == ':')) {
                return false; // not an address literal (never stored so): no name lookup from here
            }
        }
        try {
            return !client.isEmpty() && trustedClients.contains(InetAddress.getByName(client));
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** Signs with {@code key}: body hash, the {@code h=} list for this header, the field. */
    static DkimSignature sign(DkimKey key, HeaderBlock header, List<String> configuredNames, long epochSeconds)
            throws GeneralSecurityException {
        byte[] bodyHash = RelaxedCanonicalization.bodyHash(header.bytes(), header.bodyStart(), header.contentLength());
        List<String> names = signedNames(header, configuredNames);
        String unsigned = SignatureField.unsigned(key, epochSeconds, names, bodyHash);
        byte[] b = SignatureField.signature(key.algorithm(), key.privateKey(), header, names, unsigned);
        return new DkimSignature(key.domain(), key.selector(), SignatureField.complete(unsigned, b));
    }

    /**
     * Each configured name as often as the message has fields of that name (absent ones are left
     * out), and {@code from} once more: over-signed, so that no From: can be added above ours.
     */
    static List<String> signedNames(HeaderBlock header, List<String> configuredNames) {
        List<String> names = new ArrayList<>();
        for (String name : configuredNames) {
            int n = header.occurrences(name) + (name.equals("from") ? 1 : 0);
            for (int i = 0; i < n; i++) {
                names.add(name);
            }
        }
        return names;
    }

    /** Every mailbox of every From: field: the first key among them, and whether there is just one. */
    private Author author(HeaderBlock header, KeySet set) {
        DkimKey key = null;
        int fields = 0;
        int mailboxes = 0;
        for (int i = 0; i < header.count(); i++) {
            if (!header.named(i, "from")) {
                continue;
            }
            fields++;
            for (String spec : AuthorAddress.addrSpecs(header.unfoldedValue(i))) {
                mailboxes++;
                AuthorAddress address = AuthorAddress.ofAddrSpec(spec);
                key = key != null || address == null ? key : keyFor(address, set);
            }
        }
        return new Author(key, fields == 1 && mailboxes == 1);
    }

    /** The key for this author among the keys in use, or null (see the class comment). */
    DkimKey keyFor(AuthorAddress author) {
        return keyFor(author, keys);
    }

    private DkimKey keyFor(AuthorAddress author, KeySet set) {
        String domain = author.domain();
        DkimKey key = set.exact.get(domain);
        for (String parent = parent(domain); key == null && parent != null; parent = parent(parent)) {
            key = set.subdomains.get(parent);
        }
        if (key == null && author.mailerDaemon() && domain.equals(hostname)) {
            for (String parent = parent(domain); key == null && parent != null; parent = parent(parent)) {
                key = set.exact.get(parent);
            }
        }
        return key;
    }

    private static String parent(String domain) {
        int dot = domain.indexOf('.');
        return dot < 0 || dot == domain.length() - 1 ? null : domain.substring(dot + 1);
    }

    /** Whether a DKIM-Signature field of the message has this key's d= and s=. */
    static boolean carriesSignatureOf(HeaderBlock header, DkimKey key) {
        for (int i = 0; i < header.count(); i++) {
            if (header.named(i, "dkim-signature")) {
                Map<String, String> tags = tags(header.unfoldedValue(i));
                if (key.domain().equalsIgnoreCase(tags.get("d")) && key.selector().equalsIgnoreCase(tags.get("s"))) {
                    return true;
                }
            }
        }
        return false;
    }

    /** A tag-list (RFC 6376 §3.2): names trimmed, values with every blank removed. */
    static Map<String, String> tags(String value) {
        Map<String, String> tags = new LinkedHashMap<>();
        for (String spec : value.split(";")) {
            int eq = spec.indexOf('=');
            if (eq > 0) {
                tags.putIfAbsent(spec.substring(0, eq).strip(), spec.substring(eq + 1).replaceAll("[ \t\r\n]", ""));
            }
        }
        return tags;
    }

    /** The signature, done or in the making, of this message's content of this length with these keys, or null. */
    private synchronized CompletableFuture<DkimSignature> cached(QueueId id, int length, KeySet set) {
        Cached entry = cache.get(id);
        return entry != null && entry.validFor(length, set) ? entry.signature() : null;
    }

    /** Puts {@code entry} in unless one for the same content is there: then its signature (compute-if-absent). */
    private synchronized CompletableFuture<DkimSignature> claim(QueueId id, Cached entry) {
        Cached present = cache.get(id);
        if (present != null && present.length() == entry.length() && present.key() == entry.key()) {
            return present.signature();
        }
        cache.put(id, entry);
        return null;
    }

    private synchronized void forget(QueueId id, CompletableFuture<DkimSignature> signature) {
        Cached present = cache.get(id);
        if (present != null && present.signature() == signature) {
            cache.remove(id);
        }
    }
}
