package io.sluice.smtp.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Executor;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

import io.sluice.reactor.StreamLayer;
import io.sluice.smtp.fuzz.JazzerOutput;
import io.sluice.smtp.protocol.BareNewline;
import io.sluice.smtp.spool.CommitListener;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.QueueId;

/**
 * Fuzzes a whole {@link SmtpSession} over a {@link FakeConnection}: arbitrary client octets in
 * arbitrary reads, interleaved with clock jumps and deadline ticks, commits that succeed or fail,
 * spool append failures, STARTTLS handshakes that complete or fail, and input shutdown. Checks after
 * every step that the session never throws, that everything written is whole, well-formed SMTP
 * replies, that nothing is answered while a commit is pending and the commit's answer comes first,
 * that an open connection always has a deadline, and at the end that no message is left open and
 * none was queued without MAIL and RCPT.
 *
 * <p>Input layout ({@link FuzzedDataProvider} takes numbers from the end): last octet = settings
 * flags (bit 0 STARTTLS available, 1 TLS required, 2 greet pause 3 s, 3 REJECT bare newlines,
 * 4 non-loopback client, 5 local domain example.net, 6 max errors 1000), then the message limit
 * (0: default 32 MiB, else 16n), the step count (0..64) and two octets per step (kind, amount); the
 * octets left at the front are the client's bytes, consumed by the feed steps in order, the rest fed
 * at the end.
 */
class SessionFuzzTest {

    static {
        JazzerOutput.pin();
    }

    private static final long SECOND = 1_000_000_000L;
    private static final long[] TICK_UNITS = {1_000_000L, SECOND, 10 * SECOND, 60 * SECOND};
    private static final String QUEUED = "250 2.0.0 Ok: queued as ";
    private static final String STORAGE_ERROR = "452 4.3.1 ";

    /** Shared by every run: SessionServices allocates a 64 KiB direct scratch buffer per instance. */
    private static final SwitchedStore STORE = new SwitchedStore();
    private static long now;
    private static final SessionServices SERVICES = new SessionServices(() -> now, Runnable::run,
            (deadline, task) -> fail("nothing is scheduled without AUTH"), STORE);

    private RecordingStore store;
    private FakeConnection connection;
    private HeldTls tls;
    private final StringBuilder output = new StringBuilder();
    private byte[] wire;
    private int fed;
    private boolean inputShut;
    private boolean closed;

    @FuzzTest(maxDuration = "2m")
    void anyClientLeavesAWellFormedDialogue(FuzzedDataProvider data) {
        int flags = data.consumeInt(0, 255);
        int sizeSelector = data.consumeInt(0, 255);
        int steps = data.consumeInt(0, 64);
        int[] kinds = new int[steps];
        int[] amounts = new int[steps];
        for (int i = 0; i < steps; i++) {
            kinds[i] = data.consumeInt(0, 255);
            amounts[i] = data.consumeInt(0, 255);
        }
        wire = data.consumeRemainingAsBytes();
        open(flags, sizeSelector);
        for (int i = 0; i < steps; i++) {
            step(kinds[i], amounts[i]);
        }
        boolean committing = store.pendingCommits() > 0;
        feed(wire.length - fed);
        afterStep(committing);
        finish();
    }

    private void open(int flags, int sizeSelector) {
        now = 1_000 * SECOND;
        store = new RecordingStore();
        STORE.target = store;
        output.setLength(0);
        fed = 0;
        inputShut = false;
        closed = false;
        SessionSettingsBuilder b = new SessionSettingsBuilder()
                .tlsRequired((flags & 2) != 0)
                .greetPauseNanos((flags & 4) != 0 ? 3 * SECOND : 0)
                .bareNewline((flags & 8) != 0 ? BareNewline.REJECT : BareNewline.NORMALIZE)
                .localDomains((flags & 32) != 0 ? Set.of("example.net") : Set.of());
        if ((flags & 64) != 0) {
            b.maxErrors(1000);
        }
        if (sizeSelector != 0) {
            b.maxMessageOctets(16L * sizeSelector);
        }
        tls = (flags & 1) != 0 ? new HeldTls() : null;
        ListenerContext listener = new ListenerContext(b.build(), tls, false, new ConnectionLimiter(1000, 100),
                EventLog.silent(), new SessionStats(), null);
        connection = new FakeConnection((flags & 16) != 0 ? "192.0.2.7" : "127.0.0.1");
        connection.open(new SmtpSession(listener, c -> SERVICES));
        afterStep(false);
    }

    private void step(int kind, int amount) {
        boolean committing = store.pendingCommits() > 0;
        int variant = kind >>> 3;
        switch (kind & 7) {
            case 0, 1, 2 -> feed(amount);
            case 3 -> feed(amount * 64);
            case 4 -> {
                now += amount * TICK_UNITS[variant & 3];
                connection.tick(now);
            }
            case 5 -> {
                store.failCommits = (variant & 1) != 0;
                int before = output.length();
                store.completeCommits();
                collect();
                if (committing && connection.isOpen()) {
                    String answer = output.substring(before);
                    assertTrue(answer.startsWith(QUEUED) || answer.startsWith(STORAGE_ERROR),
                            "the commit's answer must be the next reply: " + answer);
                }
                committing = false;
            }
            case 6 -> handshake((variant & 1) == 0);
            default -> {
                if ((variant & 3) == 3 && !inputShut) {
                    inputShut = true; // the reactor reports end of input once
                    connection.shutdownInput();
                } else {
                    store.failAppends = (variant & 1) != 0;
                }
            }
        }
        afterStep(committing);
    }

    /** Delivers the next {@code n} client octets, or holds them while a TLS handshake is under way. */
    private void feed(int n) {
        n = Math.min(n, wire.length - fed);
        if (n <= 0 || inputShut || tls != null && tls.handshaking()) {
            return; // a TLS layer delivers no plaintext before its handshake completes
        }
        byte[] chunk = new byte[n];
        System.arraycopy(wire, fed, chunk, 0, n);
        fed += n;
        connection.feed(chunk);
    }

    private void handshake(boolean completes) {
        if (tls == null || !tls.handshaking() || !connection.isOpen()) {
            return;
        }
        tls.done = true;
        if (completes) {
            tls.listener.handshakeCompleted("TLSv1.3", "TLS_AES_128_GCM_SHA256");
        } else {
            tls.listener.handshakeFailed(new javax.net.ssl.SSLHandshakeException("fuzzed failure"));
        }
    }

    /** Checks what must hold between any two events. */
    private void afterStep(boolean committing) {
        int before = output.length();
        collect();
        if (committing && store.pendingCommits() > 0) {
            assertEquals(before, output.length(), "a reply while a commit is pending: " + output.substring(before));
        }
        checkReplies(output);
        if (connection.isOpen()) {
            assertNotEquals(0, connection.deadlineNanos(), "an open connection without a deadline can idle forever");
        }
        if (closed) {
            assertEquals(before, output.length(), "written after close: " + output.substring(before));
        }
        closed = !connection.isOpen();
    }

    private void collect() {
        output.append(connection.takeOutput());
    }

    private void finish() {
        store.failCommits = false;
        store.completeCommits();
        collect();
        connection.close();
        store.completeCommits();
        collect();
        checkReplies(output);
        assertTrue(store.open.isEmpty(), "messages left open after close: " + store.open.keySet());
        Set<QueueId> aborted = new HashSet<>(store.aborted);
        for (QueueId id : store.committed.keySet()) {
            assertFalse(aborted.contains(id), id + " was both aborted and committed");
            Envelope envelope = store.envelopes.get(id);
            assertNotNull(envelope, "committed without an envelope: " + id);
            assertFalse(envelope.recipients().isEmpty(), "committed without RCPT: " + id);
        }
        String text = output.toString();
        int queued = count(text, QUEUED);
        assertTrue(queued <= store.committed.size(), queued + " queued replies for " + store.committed.size() + " commits");
        assertTrue(count(text, "250 2.1.0 Ok\r\n") >= store.committed.size(), "committed more messages than MAIL accepted");
        assertTrue(count(text, "250 2.1.5 Ok\r\n") >= store.committed.size(), "committed more messages than RCPT accepted");
    }

    /**
     * Everything written must be whole replies: CRLF-terminated lines of three digits, ' ' or '-',
     * printable ASCII; a '-' line continues the same code and is followed by the rest of its reply.
     */
    static void checkReplies(CharSequence written) {
        String text = written.toString();
        if (!text.isEmpty() && !text.endsWith("\r\n")) {
            fail("output ends inside a line: " + printable(text));
        }
        String continued = null;
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf("\r\n", start);
            String line = text.substring(start, end);
            if (line.length() < 4 || !Character.isDigit(line.charAt(0)) || line.charAt(0) < '2' || line.charAt(0) > '5'
                    || !Character.isDigit(line.charAt(1)) || !Character.isDigit(line.charAt(2))
                    || line.charAt(3) != ' ' && line.charAt(3) != '-') {
                fail("not a reply line: " + printable(line) + " in " + printable(text));
            }
            for (int i = 0; i < line.length(); i++) {
                char c = line.charAt(i);
                if (c < 0x20 || c > 0x7E) {
                    fail("non-printable octet " + (int) c + " in reply line " + printable(line));
                }
            }
            String code = line.substring(0, 3);
            if (continued != null && !continued.equals(code)) {
                fail("reply " + code + " interleaved into multi-line reply " + continued + ": " + printable(text));
            }
            continued = line.charAt(3) == '-' ? code : null;
            start = end + 2;
        }
        if (continued != null) {
            fail("multi-line reply " + continued + " left unfinished: " + printable(text));
        }
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int at = text.indexOf(what); at >= 0; at = text.indexOf(what, at + 1)) {
            n++;
        }
        return n;
    }

    private static String printable(String text) {
        return text.replace("\r", "\\r").replace("\n", "\\n");
    }

    /** The store the shared services see; each run points it at a fresh {@link RecordingStore}. */
    private static final class SwitchedStore implements MessageStore {
        RecordingStore target;

        @Override
        public QueueId begin(Envelope envelope) throws IOException {
            return target.begin(envelope);
        }

        @Override
        public void append(QueueId id, ByteBuffer data) throws IOException {
            assertTrue(target.open.containsKey(id), "append to a message that is not open: " + id);
            target.append(id, data);
        }

        @Override
        public void commit(QueueId id, long storedOctets, CommitListener listener, Executor executor) {
            assertTrue(target.open.containsKey(id), "commit of a message that is not open: " + id);
            assertEquals(storedOctets, target.open.get(id).size(), "storedOctets must count every appended octet");
            target.commit(id, storedOctets, listener, executor);
        }

        @Override
        public void abort(QueueId id) {
            assertTrue(target.open.containsKey(id), "abort of a message that is not open: " + id);
            target.abort(id);
        }
    }

    /** A STARTTLS layer whose handshake the fuzzer completes or fails; plaintext is passed through. */
    private static final class HeldTls implements TlsUpgrade {
        HandshakeListener listener;
        boolean done;

        boolean handshaking() {
            return listener != null && !done;
        }

        @Override
        public StreamLayer newServerLayer(HandshakeListener handshakeListener) {
            assertTrue(listener == null, "a second TLS layer on one connection");
            this.listener = handshakeListener;
            return new PassThroughLayer();
        }
    }
}
