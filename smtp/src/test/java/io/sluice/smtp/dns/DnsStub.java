package io.sluice.smtp.dns;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * A scripted recursive resolver on 127.0.0.1 (UDP and TCP on one ephemeral port) for tests:
 * answers from records the test adds, NXDOMAIN for unknown names, no data (with an SOA) for
 * known names without the asked type; SERVFAIL, silence and truncation on request. Counts the
 * questions it gets. Test threads script it; its own two threads answer.
 */
public final class DnsStub implements AutoCloseable {
    static final long NEGATIVE_TTL_SECONDS = 60;

    private final DatagramSocket udp;
    private final ServerSocket tcp;
    private final Map<Name, List<Record>> records = new ConcurrentHashMap<>();
    private final Set<Name> servfail = ConcurrentHashMap.newKeySet();
    private final Set<Name> truncated = ConcurrentHashMap.newKeySet();
    private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    private final AtomicInteger tcpQueries = new AtomicInteger();
    private final List<Thread> threads = new CopyOnWriteArrayList<>();
    private volatile boolean silent;
    private volatile boolean chaseCnames = true;

    private DnsStub(DatagramSocket udp, ServerSocket tcp) {
        this.udp = udp;
        this.tcp = tcp;
    }

    /** Binds UDP and TCP on the same ephemeral loopback port and starts answering. */
    public static DnsStub start() throws IOException {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        IOException last = null;
        for (int attempt = 0; attempt < 20; attempt++) {
            ServerSocket tcp = new ServerSocket(0, 16, loopback);
            try {
                DatagramSocket udp = new DatagramSocket(new InetSocketAddress(loopback, tcp.getLocalPort()));
                DnsStub stub = new DnsStub(udp, tcp);
                stub.startThreads();
                return stub;
            } catch (IOException e) { // UDP port taken: try another
                tcp.close();
                last = e;
            }
        }
        throw last;
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(tcp.getInetAddress(), tcp.getLocalPort());
    }

    /** Adds records, e.g. {@code add("example.com", Type.MX, 300, "10 mx1.example.com.")}. */
    public DnsStub add(String name, int type, long ttl, String... rdata) throws IOException {
        Name owner = Name.fromString(name, Name.root);
        for (String text : rdata) {
            Record r = Record.fromString(owner, type, DClass.IN, ttl, text, Name.root);
            records.computeIfAbsent(owner, k -> new CopyOnWriteArrayList<>()).add(r);
        }
        return this;
    }

    /** Replaces the records of (name, type) with these (none = removes them). */
    public DnsStub replace(String name, int type, long ttl, String... rdata) throws IOException {
        List<Record> here = records.get(Name.fromString(name, Name.root));
        if (here != null) {
            here.removeIf(r -> r.getType() == type);
        }
        return add(name, type, ttl, rdata);
    }

    /** Makes a name exist with no records (every question about it gets no data). */
    DnsStub exists(String name) throws IOException {
        records.computeIfAbsent(Name.fromString(name, Name.root), k -> new CopyOnWriteArrayList<>());
        return this;
    }

    public DnsStub servfail(String name) throws IOException {
        servfail.add(Name.fromString(name, Name.root));
        return this;
    }

    /** UDP answers about this name are empty with TC set; TCP answers are whole. */
    DnsStub truncateUdp(String name) throws IOException {
        truncated.add(Name.fromString(name, Name.root));
        return this;
    }

    /** Stop answering at all (the questions are still counted). */
    void silent(boolean on) {
        silent = on;
    }

    /** Whether answers carry the CNAME target's records too, as recursive resolvers do. */
    void chaseCnames(boolean on) {
        chaseCnames = on;
    }

    /** Questions received about (name, type), over UDP and TCP. */
    public int queries(String name, int type) {
        AtomicInteger n = counts.get(key(name, type));
        return n == null ? 0 : n.get();
    }

    int totalQueries() {
        return counts.values().stream().mapToInt(AtomicInteger::get).sum();
    }

    int tcpQueries() {
        return tcpQueries.get();
    }

    @Override
    public void close() throws IOException {
        udp.close();
        tcp.close();
        for (Thread t : threads) {
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void startThreads() {
        Thread u = new Thread(this::serveUdp, "dns-stub-udp");
        Thread t = new Thread(this::serveTcp, "dns-stub-tcp");
        for (Thread each : List.of(u, t)) {
            each.setDaemon(true);
            threads.add(each);
            each.start();
        }
    }

    private void serveUdp() {
        byte[] buffer = new byte[4096];
        while (!udp.isClosed()) {
            try {
                DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
                udp.receive(packet);
                byte[] reply = answer(new Message(java.util.Arrays.copyOf(packet.getData(), packet.getLength())), false);
                if (reply != null) {
                    udp.send(new DatagramPacket(reply, reply.length, packet.getSocketAddress()));
                }
            } catch (IOException e) {
                // closed, or an unparsable datagram: the loop condition decides
            }
        }
    }

    private void serveTcp() {
        while (!tcp.isClosed()) {
            try (Socket s = tcp.accept()) {
                s.setSoTimeout(5_000);
                DataInputStream in = new DataInputStream(s.getInputStream());
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                byte[] query = new byte[in.readUnsignedShort()];
                in.readFully(query);
                tcpQueries.incrementAndGet();
                byte[] reply = answer(new Message(query), true);
                if (reply != null) {
                    out.writeShort(reply.length);
                    out.write(reply);
                    out.flush();
                }
            } catch (IOException e) {
                // closed, or the client went away: the loop condition decides
            }
        }
    }

    private byte[] answer(Message query, boolean overTcp) {
        Record question = query.getQuestion();
        Name name = question.getName();
        counts.computeIfAbsent(key(name.toString(), question.getType()), k -> new AtomicInteger()).incrementAndGet();
        if (silent) {
            return null;
        }
        Message reply = new Message(query.getHeader().getID());
        reply.getHeader().setFlag(Flags.QR);
        reply.getHeader().setFlag(Flags.RD);
        reply.getHeader().setFlag(Flags.RA);
        reply.addRecord(question, Section.QUESTION);
        if (servfail.contains(name)) {
            reply.getHeader().setRcode(Rcode.SERVFAIL);
        } else if (truncated.contains(name) && !overTcp) {
            reply.getHeader().setFlag(Flags.TC);
        } else {
            fill(reply, name, question.getType());
        }
        return reply.toWire();
    }

    private void fill(Message reply, Name name, int type) {
        Name current = name;
        for (int hop = 0; hop < 10; hop++) {
            List<Record> here = records.get(current);
            if (here == null) {
                reply.getHeader().setRcode(Rcode.NXDOMAIN);
                reply.addRecord(soa(), Section.AUTHORITY);
                return;
            }
            List<Record> matching = new ArrayList<>();
            CNAMERecord cname = null;
            for (Record r : here) {
                if (r.getType() == type) {
                    matching.add(r);
                } else if (r instanceof CNAMERecord) {
                    cname = (CNAMERecord) r;
                }
            }
            if (!matching.isEmpty()) {
                matching.forEach(r -> reply.addRecord(r, Section.ANSWER));
                return;
            }
            if (cname == null) {
                reply.addRecord(soa(), Section.AUTHORITY);
                return;
            }
            reply.addRecord(cname, Section.ANSWER);
            if (!chaseCnames) {
                return;
            }
            current = cname.getTarget();
        }
    }

    private static SOARecord soa() {
        try {
            return new SOARecord(Name.fromString("test."), DClass.IN, NEGATIVE_TTL_SECONDS,
                    Name.fromString("ns.test."), Name.fromString("hostmaster.test."),
                    1, 3600, 600, 86400, NEGATIVE_TTL_SECONDS);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String key(String name, int type) {
        String n = name.toLowerCase(Locale.ROOT);
        return (n.endsWith(".") ? n : n + ".") + "/" + Type.string(type);
    }
}
