package io.sluice.smtp.crash;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Continuous SMTP load for the crash harness: blocking-socket clients, each on its own thread,
 * sending messages with unique Message-IDs and recording in the {@link LoadLedger} exactly which
 * got {@code 250}, which got another reply, which were cut before their final dot and which had
 * their final dot sent but no reply read when the connection died. "Bulk" clients pipeline
 * MAIL/RCPT/DATA for small messages at a shared paced rate; "trickle" clients send larger bodies in
 * paced chunks, so that a kill often lands while a message is mid-DATA. After a failed connection a
 * client waits on {@link ServerLife} for the next incarnation. Start and stop from the harness
 * thread; {@link #snapshot()} from any thread.
 */
final class LoadClients {
    private static final String[] USERS = {"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"};
    private static final int READ_TIMEOUT_MILLIS = 60_000; // a 2-core box shared with other builds stalls for seconds
    private static final long RESTART_WAIT_MILLIS = 300_000;
    private static final int TRICKLE_CHUNK_OCTETS = 2048;
    private static final long TRICKLE_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(4);

    /** What a client is doing right now. */
    enum Phase { IDLE, ENVELOPE, DATA, FINAL_REPLY }

    /** How many clients are in DATA and awaiting the reply to their final dot, right now. */
    record Snapshot(int inData, int awaitingFinalReply) {
    }

    private final LoadLedger ledger;
    private final ServerLife life;
    private final List<Worker> workers = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final long bulkIntervalNanos;
    private final AtomicLong nextBulkSlotNanos = new AtomicLong();
    private final AtomicLong connections = new AtomicLong();
    private final AtomicLong failuresWhileUp = new AtomicLong();
    private final ConcurrentLinkedQueue<String> failureSamples = new ConcurrentLinkedQueue<>();
    private volatile boolean running = true;

    /**
     * @param bulk           clients sending small pipelined messages
     * @param trickle        clients sending 32-128 KiB bodies in paced 2 KiB chunks
     * @param bulkPerSecond  messages per second all bulk clients together start at most
     * @param seed           for message sizes and recipients (client {@code i} uses {@code seed + i})
     */
    LoadClients(LoadLedger ledger, ServerLife life, int bulk, int trickle, int bulkPerSecond, long seed) {
        this.ledger = ledger;
        this.life = life;
        this.bulkIntervalNanos = TimeUnit.SECONDS.toNanos(1) / Math.max(1, bulkPerSecond);
        for (int i = 0; i < bulk + trickle; i++) {
            workers.add(new Worker(i, i >= bulk, new Random(seed + i)));
        }
    }

    void start() {
        for (Worker w : workers) {
            Thread t = new Thread(w, "crash-load-" + w.index);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    Snapshot snapshot() {
        int inData = 0;
        int awaiting = 0;
        for (Worker w : workers) {
            Phase p = w.phase;
            inData += p == Phase.DATA ? 1 : 0;
            awaiting += p == Phase.FINAL_REPLY ? 1 : 0;
        }
        return new Snapshot(inData, awaiting);
    }

    long connections() {
        return connections.get();
    }

    /** Connections that failed while their server was not being killed (should be 0). */
    long failuresWhileUp() {
        return failuresWhileUp.get();
    }

    List<String> failureSamples() {
        return new ArrayList<>(failureSamples);
    }

    /**
     * Stops the clients: each finishes (or loses) the message it is on and returns; a client
     * waiting for a server returns at once once {@link ServerLife#stop()} was called.
     */
    void stop() throws InterruptedException {
        running = false;
        for (Thread t : threads) {
            t.join(READ_TIMEOUT_MILLIS + 5_000);
            if (t.isAlive()) {
                throw new IllegalStateException(t.getName() + " did not stop");
            }
        }
    }

    /** Waits for the shared bulk rate: each message takes the next free slot (idle time is not owed later). */
    private void paceBulk() {
        long now = System.nanoTime();
        long slot = Math.max(now, nextBulkSlotNanos.getAndUpdate(s -> Math.max(s, now) + bulkIntervalNanos));
        if (slot > now) {
            LockSupport.parkNanos(slot - now); // load pacing, not waiting for a result
        }
    }

    /** One client; its thread only (phase is read by snapshot()). */
    private final class Worker implements Runnable {
        final int index;
        final boolean trickle;
        final Random random;
        volatile Phase phase = Phase.IDLE;
        long sequence;
        InputStream in;
        OutputStream out;

        Worker(int index, boolean trickle, Random random) {
            this.index = index;
            this.trickle = trickle;
            this.random = random;
        }

        @Override
        public void run() {
            try {
                while (running) {
                    ServerLife.Target target = life.awaitUp(RESTART_WAIT_MILLIS);
                    if (target == null) {
                        if (!life.stopped()) {
                            failureSamples.add("client " + index + ": no server for " + RESTART_WAIT_MILLIS + " ms");
                        }
                        return;
                    }
                    session(target);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** One connection: a random number of messages, then QUIT. Never throws IOException. */
        private void session(ServerLife.Target target) {
            LoadLedger.Entry current = null;
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", target.port()), 5_000);
                socket.setSoTimeout(READ_TIMEOUT_MILLIS);
                connections.incrementAndGet();
                in = new BufferedInputStream(socket.getInputStream());
                out = socket.getOutputStream();
                expect(reply(), "220");
                send("EHLO load" + index + ".test\r\n");
                expect(reply(), "250");
                int messages = 1 + random.nextInt(trickle ? 4 : 40);
                for (int i = 0; i < messages && running; i++) {
                    if (!trickle) {
                        paceBulk();
                    }
                    current = ledger.add(nextMessage());
                    if (!transaction(current)) {
                        return; // closed on purpose after an odd envelope reply
                    }
                    current = null;
                }
                send("QUIT\r\n");
                reply();
            } catch (IOException e) {
                if (current != null) {
                    classifyBroken(current);
                }
                if (life.isUp(target.epoch())) {
                    failuresWhileUp.incrementAndGet();
                    if (failureSamples.size() < 20) {
                        failureSamples.add("client " + index + " epoch " + target.epoch() + ": " + e);
                    }
                }
            } finally {
                phase = Phase.IDLE;
            }
        }

        private LoadMessage nextMessage() {
            String id = "t" + index + "." + (++sequence) + "@load.test";
            List<String> rcpts = new ArrayList<>(2);
            rcpts.add(USERS[random.nextInt(USERS.length)] + "@example.net");
            if (random.nextInt(4) == 0) {
                String second = USERS[random.nextInt(USERS.length)] + "@example.net";
                if (!second.equals(rcpts.get(0))) {
                    rcpts.add(second);
                }
            }
            int octets = trickle ? (32 + random.nextInt(97)) * 1024
                    : random.nextInt(20) == 0 ? 64 * 1024 : 200 + random.nextInt(4000);
            return new LoadMessage(id, rcpts, LoadMessage.body(id, octets));
        }

        /** Sends one message and records its outcome; false when the connection was given up. */
        private boolean transaction(LoadLedger.Entry e) throws IOException {
            LoadMessage m = e.message;
            phase = Phase.ENVELOPE;
            StringBuilder envelope = new StringBuilder("MAIL FROM:<load@example.org>\r\n");
            for (String r : m.recipients()) {
                envelope.append("RCPT TO:<").append(r).append(">\r\n");
            }
            send(envelope.append("DATA\r\n").toString());
            boolean ok = reply().startsWith("250");
            for (int i = 0; i < m.recipients().size(); i++) {
                ok &= reply().startsWith("250");
            }
            String data = reply();
            if (!data.startsWith("354")) {
                e.reply = data;
                phase = Phase.IDLE;
                send("RSET\r\n");
                reply();
                return true; // NOT_SENT: no content went out
            }
            phase = Phase.DATA;
            if (!ok) {
                // 354 with a refused recipient: the recipient list is not what we recorded.
                e.outcome = LoadLedger.Outcome.CUT;
                failureSamples.add("client " + index + ": 354 after a refused envelope command for " + m.messageId());
                return false;
            }
            sendText(m.wire());
            e.outcome = LoadLedger.Outcome.IN_FLIGHT;
            phase = Phase.FINAL_REPLY;
            send(".\r\n");
            String reply = reply();
            e.reply = reply.strip();
            e.outcome = reply.startsWith("250") ? LoadLedger.Outcome.ACKNOWLEDGED : LoadLedger.Outcome.REJECTED;
            phase = Phase.IDLE;
            return true;
        }

        /** Where the message was when its connection broke. */
        private void classifyBroken(LoadLedger.Entry e) {
            if (phase == Phase.DATA) {
                e.outcome = LoadLedger.Outcome.CUT;
            }
            // ENVELOPE: still NOT_SENT; FINAL_REPLY: IN_FLIGHT was set before the dot went out.
        }

        private void sendText(String text) throws IOException {
            byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
            if (!trickle) {
                out.write(bytes);
                out.flush();
                return;
            }
            for (int off = 0; off < bytes.length; off += TRICKLE_CHUNK_OCTETS) {
                out.write(bytes, off, Math.min(TRICKLE_CHUNK_OCTETS, bytes.length - off));
                out.flush();
                LockSupport.parkNanos(TRICKLE_PAUSE_NANOS); // pacing: keep this message mid-DATA for a while
                if (!running) {
                    throw new IOException("stopping mid-DATA");
                }
            }
        }

        private void send(String text) throws IOException {
            out.write(text.getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        private void expect(String reply, String code) throws IOException {
            if (!reply.startsWith(code)) {
                throw new IOException("expected " + code + ", got " + reply.strip());
            }
        }

        /** One whole reply (all lines of a multi-line one). */
        private String reply() throws IOException {
            StringBuilder reply = new StringBuilder();
            while (true) {
                String line = line();
                reply.append(line);
                if (line.length() < 6 || line.charAt(3) != '-') {
                    return reply.toString();
                }
            }
        }

        private String line() throws IOException {
            StringBuilder line = new StringBuilder(64);
            for (int previous = -1; ; ) {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("connection closed after \"" + line + "\"");
                }
                line.append((char) b);
                if (previous == '\r' && b == '\n') {
                    return line.toString();
                }
                previous = b;
            }
        }
    }
}
