package io.sluice.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.smtp.config.ListenerMode;
import io.sluice.smtp.config.SluiceConfig;
import io.sluice.smtp.server.EventLog;
import io.sluice.smtp.server.SmtpServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code sluice load --proxy v1|v2} into {@code sluice serve} on a {@code +proxy} listener: every
 * connection's header is read and names the generator's own end; into a listener without
 * {@code +proxy} the header is a bad command, which the run counts as errors, not a crash.
 */
@Timeout(60)
class LoadProxyEndToEndTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = ProxyMode.class, names = {"V1", "V2"})
    void everyConnectionIsProxiedAndTheServerSeesTheSentAddress(ProxyMode mode) throws Exception {
        ByteArrayOutputStream logged = new ByteArrayOutputStream();
        EventLog log = new EventLog(EventLog.Level.DEBUG, new PrintStream(logged, true, StandardCharsets.UTF_8));
        SmtpServer server = serve("127.0.0.1:0 smtp+proxy", log);
        try {
            LoadResult result = run(server, mode, 12);
            assertEquals(12, result.messagesOk());
            assertEquals(0, result.errors());
            int version = mode == ProxyMode.V1 ? 1 : 2;
            assertEquals(result.connections(), server.stats().proxyHeaders(version, true), "one header per connection");
            assertEquals(0, server.stats().proxyHeaders(version, false));
            assertEquals(12, server.stats().messages());
            log.close(); // every queued line written
            // DEBUG connect lines name the client from the header; the disconnect line adds the balancer.
            String text = logged.toString(StandardCharsets.UTF_8);
            Matcher proxied = Pattern.compile(" DEBUG proxy client=127\\.0\\.0\\.1 version=" + version + " via=127\\.0\\.0\\.1 local=false")
                    .matcher(text);
            assertEquals(result.connections(), proxied.results().count(), text);
            assertTrue(text.contains(" INFO disconnect client=127.0.0.1 messages=3 errors=0 tls=- via=127.0.0.1"), text);
        } finally {
            server.close();
            log.close();
        }
    }

    @Test
    void aListenerWithoutProxyCountsTheHeaderAsErrors() throws Exception {
        SmtpServer server = serve("127.0.0.1:0 smtp", EventLog.silent());
        try {
            LoadResult result = run(server, ProxyMode.V1, 4);
            assertTrue(result.errors(ErrorKind.UNEXPECTED_REPLY) > 0, "the header is a bad command there: " + result.errors());
            assertEquals(0, result.messagesOk() + server.stats().messages(), "nothing got through as mail");
            assertEquals(1, result.exitStatus());
        } finally {
            server.close();
        }
    }

    private SmtpServer serve(String listen, EventLog log) throws Exception {
        Map<String, String> settings = new HashMap<>();
        settings.put("listen", listen);
        settings.put("hostname", "mx.test");
        settings.put("reactor.threads", "1");
        settings.put("tls.level", "none");
        settings.put("transport.*", "discard");
        settings.put("spool.dir", dir.resolve("spool").toString());
        return SmtpServer.start(SluiceConfig.load(null, settings), SmtpServer.Mode.SERVE, log);
    }

    /** {@code messages} messages, three per connection, on two connections at a time. */
    private static LoadResult run(SmtpServer server, ProxyMode mode, long messages) throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        LoadOptions options = LoadOptions.builder(new InetSocketAddress("127.0.0.1",
                        server.boundAddress(ListenerMode.SMTP).getPort()))
                .proxy(mode).connections(2).messagesPerConnection(3).totalMessages(messages).threads(1)
                .progress(false).build();
        return new LoadGenerator(options, new PrintStream(err, true, StandardCharsets.UTF_8)).run();
    }
}
