package io.sluice.smtp.client;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import io.sluice.reactor.EventLoopGroup;
import io.sluice.reactor.LoopConfig;
import io.sluice.reactor.NanoClock;
import io.sluice.smtp.delivery.DeliveryJob;
import io.sluice.smtp.delivery.RecipientResult;
import io.sluice.smtp.delivery.Route;
import io.sluice.smtp.dkim.DkimSigner;
import io.sluice.smtp.mtasts.MtaStsPolicies;
import io.sluice.smtp.dns.NextHop;
import io.sluice.smtp.dns.NextHopLookupException;
import io.sluice.smtp.dns.NextHopResolver;
import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.spool.BodyType;
import io.sluice.smtp.spool.Envelope;
import io.sluice.smtp.spool.EnvelopeDsn;
import io.sluice.smtp.spool.MessageSource;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;

/** A client on one event loop with a fake resolver, and a way to deliver one message and wait for every result. */
final class ClientHarness implements AutoCloseable {
    private static final AtomicLong IDS = new AtomicLong(1);

    final EventLoopGroup group = new EventLoopGroup(1, false, EventLoopGroup.Assignment.ROUND_ROBIN,
            LoopConfig.defaults(), NanoClock.SYSTEM);
    final Map<String, List<NextHop>> dns = new ConcurrentHashMap<>();
    final SmtpClient client;

    ClientHarness(ClientSettings settings, Path memoryDir) throws IOException {
        this(settings, memoryDir, io.sluice.smtp.dkim.DkimSigner.none());
    }

    /** With a DKIM signer: the client signs what the signer claims before the first hop. */
    ClientHarness(ClientSettings settings, Path memoryDir, io.sluice.smtp.dkim.DkimSigner dkim) throws IOException {
        group.start();
        NextHopResolver resolver = (domain, port) -> {
            List<NextHop> hops = dns.get(domain);
            return hops != null ? CompletableFuture.completedFuture(hops)
                    : CompletableFuture.failedFuture(new NextHopLookupException(true, "5.1.2", "no such domain " + domain));
        };
        client = new SmtpClient(settings, group, resolver, memoryDir, EventLog.silent(), dkim);
    }

    /** A client with a real resolver and MTA-STS policies (null = off); {@link #dns} is unused. */
    ClientHarness(ClientSettings settings, Path memoryDir, NextHopResolver resolver, MtaStsPolicies mtaSts, EventLog log)
            throws IOException {
        group.start();
        client = new SmtpClient(settings, group, resolver, memoryDir, log, DkimSigner.none(), mtaSts);
    }

    static NextHop hop(String name, int port) {
        return new NextHop(name, InetAddress.getLoopbackAddress(), port, 10);
    }

    /** Delivers one message and waits (bounded) for every recipient's result. */
    Map<String, RecipientResult> deliver(Route route, String sender, List<String> recipients, String content) throws Exception {
        return deliver(route, sender, recipients, content.getBytes(StandardCharsets.UTF_8), BodyType.SEVEN_BIT, false);
    }

    Map<String, RecipientResult> deliver(Route route, String sender, List<String> recipients, byte[] content,
            BodyType body, boolean smtpUtf8) throws Exception {
        CountDownLatch done = new CountDownLatch(recipients.size());
        Map<String, RecipientResult> results = new ConcurrentHashMap<>();
        start(route, sender, recipients, content, body, smtpUtf8, r -> {
            results.put(r.recipient(), r);
            done.countDown();
        });
        assertTrue(done.await(40, TimeUnit.SECONDS), "every recipient reported; got " + results);
        return results;
    }

    /** Delivers one message with DSN parameters (RFC 3461) and waits (bounded) for every result. */
    Map<String, RecipientResult> deliver(Route route, String sender, List<String> recipients, String content,
            EnvelopeDsn dsn) throws Exception {
        CountDownLatch done = new CountDownLatch(recipients.size());
        Map<String, RecipientResult> results = new ConcurrentHashMap<>();
        start(route, sender, recipients, content.getBytes(StandardCharsets.UTF_8), BodyType.SEVEN_BIT, false, dsn, r -> {
            results.put(r.recipient(), r);
            done.countDown();
        });
        assertTrue(done.await(40, TimeUnit.SECONDS), "every recipient reported; got " + results);
        return results;
    }

    void start(Route route, String sender, List<String> recipients, byte[] content, BodyType body, boolean smtpUtf8,
            Consumer<RecipientResult> sink) {
        start(route, sender, recipients, content, body, smtpUtf8, EnvelopeDsn.NONE, sink);
    }

    void start(Route route, String sender, List<String> recipients, byte[] content, BodyType body, boolean smtpUtf8,
            EnvelopeDsn dsn, Consumer<RecipientResult> sink) {
        QueueId id = QueueId.of(IDS.getAndIncrement() << 22);
        Envelope envelope = new Envelope(sender, recipients, "127.0.0.1", "client.test", "ESMTP",
                System.currentTimeMillis(), body, smtpUtf8, dsn);
        QueuedMessage message = new QueuedMessage(id, envelope, content.length, envelope.arrivalMillis());
        MessageSource source = new MessageSource() {
            @Override
            public List<QueuedMessage> list() {
                return List.of(message);
            }

            @Override
            public void copyContent(QueueId queueId, WritableByteChannel out) throws IOException {
                ByteBuffer b = ByteBuffer.wrap(content);
                while (b.hasRemaining()) {
                    out.write(b);
                }
            }

            @Override
            public boolean remove(QueueId queueId) {
                return true;
            }

            @Override
            public void onDurable(Consumer<QueuedMessage> consumer) {
            }
        };
        client.apply(route).deliver(new DeliveryJob(IDS.getAndIncrement(), message, recipients, route, source), sink::accept);
    }

    @Override
    public void close() {
        client.close();
        group.close();
    }
}
