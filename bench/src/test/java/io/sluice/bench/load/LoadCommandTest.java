package io.sluice.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.HdrHistogram.EncodableHistogram;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogReader;

import io.sluice.bench.plot.JsonTree;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@Timeout(60)
class LoadCommandTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int execute(String... args) {
        LoadCommand command = new LoadCommand(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        CommandLine line = new CommandLine(command);
        line.setErr(new java.io.PrintWriter(err, true, StandardCharsets.UTF_8));
        return line.execute(args);
    }

    @Test
    @SuppressWarnings("unchecked")
    void writesJsonAndHgrmAndASummary(@TempDir Path dir) throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain())) {
            Path json = dir.resolve("result.json");
            Path hgrm = dir.resolve("message.hgrm");
            int status = execute("--target", "127.0.0.1:" + server.address().getPort(), "--connections", "2",
                    "--messages-per-connection", "5", "--messages", "10", "--size", "2KiB", "--threads", "1",
                    "--json", json.toString(), "--hgrm", hgrm.toString(), "--quiet");

            assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
            assertEquals(10, server.messages.get());
            Map<String, Object> root = (Map<String, Object>) JsonTree.parse(Files.readString(json));
            for (String key : new String[] {"options", "machine", "elapsed_s", "totals", "rates", "latency_ms",
                "reply_codes", "errors", "exit_status"}) {
                assertTrue(root.containsKey(key), key);
            }
            Map<String, Object> machine = (Map<String, Object>) root.get("machine");
            assertTrue(machine.keySet().containsAll(java.util.List.of("nproc", "cpu_model", "jdk")), machine.toString());
            Map<String, Object> totals = (Map<String, Object>) root.get("totals");
            assertEquals(10.0, totals.get("messages_ok"));
            Map<String, Object> message = (Map<String, Object>) ((Map<String, Object>) root.get("latency_ms")).get("message");
            assertEquals(10.0, message.get("count"));
            assertTrue(message.keySet().containsAll(java.util.List.of("p50", "p90", "p99", "p99.9", "max")), message.toString());
            assertEquals(2048.0, ((Map<String, Object>) root.get("options")).get("size_dist") instanceof String ? 2048.0 : 0.0);
            assertTrue(Files.readString(hgrm).contains("#[Max"), "hgrm footer");
            String summary = out.toString(StandardCharsets.UTF_8);
            assertTrue(summary.contains("messages ok 10"), summary);
            assertTrue(summary.contains("354=10"), summary);
        }
    }

    @Test
    void writesALedgerLinePerMessage(@TempDir Path dir) throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain())) {
            Path ledger = dir.resolve("ledger.txt");
            int status = execute("--target", "127.0.0.1:" + server.address().getPort(), "--connections", "2",
                    "--messages", "12", "--threads", "1", "--ledger", ledger.toString(), "--quiet");

            assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
            java.util.List<String> lines = Files.readAllLines(ledger);
            assertEquals(12, lines.size());
            assertTrue(lines.stream().allMatch(l -> l.matches("[0-9a-f]{16}\\.[0-9a-f]{16}@load\\.sluice\\.test ACKNOWLEDGED 250")),
                    lines.toString());
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void writesAnIntervalLogAndTheServerCpu(@TempDir Path dir) throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain())) {
            Path json = dir.resolve("result.json");
            Path hlog = dir.resolve("message.hlog");
            long ownPid = ProcessHandle.current().pid(); // the test server runs in this JVM
            int status = execute("--target", "127.0.0.1:" + server.address().getPort(), "--connections", "2",
                    "--messages-per-connection", "10", "--messages", "40", "--threads", "1",
                    "--server-pid", Long.toString(ownPid), "--tag", "scenario=unit", "--tag", "server=test",
                    "--json", json.toString(), "--hlog", hlog.toString(), "--quiet");

            assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
            long untagged = 0;
            boolean taggedEnvelope = false;
            HistogramLogReader reader = new HistogramLogReader(hlog.toFile());
            for (EncodableHistogram h = reader.nextIntervalHistogram(); h != null; h = reader.nextIntervalHistogram()) {
                if (h.getTag() == null) {
                    untagged += ((Histogram) h).getTotalCount();
                } else {
                    taggedEnvelope |= h.getTag().equals("envelope");
                }
            }
            assertEquals(40, untagged, "every measured message is in one untagged interval");
            assertTrue(taggedEnvelope, "other phases are tagged");

            Map<String, Object> root = (Map<String, Object>) JsonTree.parse(Files.readString(json));
            Map<String, Object> cpu = (Map<String, Object>) root.get("cpu");
            assertEquals((double) ownPid, cpu.get("server_pid"));
            double serverCpu = (Double) cpu.get("server_cpu_s");
            double generatorCpu = (Double) cpu.get("generator_cpu_s");
            assertTrue(serverCpu >= 0 && serverCpu < 60, cpu.toString());
            // Server and generator are the same process here: the same readings, a tick or two apart.
            assertTrue(Math.abs(serverCpu - generatorCpu) < 0.5, cpu.toString());
            assertTrue(cpu.containsKey("messages_per_server_cpu_s"), cpu.toString());
            assertEquals(Map.of("scenario", "unit", "server", "test"), root.get("tags"));
            assertTrue(((String) root.get("command")).contains("--server-pid " + ownPid), root.toString());
            assertTrue(root.containsKey("finished_at"), root.toString());
            assertTrue(out.toString(StandardCharsets.UTF_8).contains("server cpu "), out.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void aServerThatIsGoneReportsNoCpu() {
        ProcessCpu none = ProcessCpu.tree(Long.MAX_VALUE);
        assertTrue(Double.isNaN(none.cpuSeconds()));
        assertTrue(ProcessCpu.self().cpuSeconds() > 0, "this JVM has used CPU");
    }

    /** The children-list walk sees what the full /proc scan sees: a busy child's CPU. */
    @Test
    void treeCountsABusyChildByWalkingTheChildrenLists() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "Linux only");
        Process child = new ProcessBuilder("sh", "-c", "while :; do :; done").start();
        try {
            Path stat = Path.of("/proc", Long.toString(child.pid()), "stat");
            long deadline = System.nanoTime() + 10_000_000_000L;
            long childTicks = 0;
            while (childTicks < 10 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
                ProcessCpu.Stat read = ProcessCpu.Stat.read(stat);
                childTicks = read == null ? 0 : read.ownTicks();
            }
            assertTrue(childTicks >= 10, "the child ran 0.1 s within 10 s");
            ProcessCpu tree = ProcessCpu.tree(ProcessHandle.current().pid());
            assertTrue(tree.descendantTicks() >= childTicks, "walk " + tree.descendantTicks() + " < " + childTicks);
            assertTrue(tree.scanAll() >= childTicks, "scan " + tree.scanAll() + " < " + childTicks);
        } finally {
            child.destroyForcibly().waitFor();
        }
    }

    @Test
    void statParsingSkipsACommandNameWithParenthesesAndSpaces() {
        ProcessCpu.Stat stat = ProcessCpu.Stat.parse(
                "4242 (a (b) c) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 100 0 0\n");
        assertEquals(17, stat.ppid());
        assertEquals(300, stat.ownTicks());
        assertEquals(310, stat.ticksWithReapedChildren());
    }

    @Test
    void badOptionsExitWithStatus2() {
        assertEquals(2, execute("--target", "nohostport"));
        assertEquals(2, execute("--target", "127.0.0.1:25", "--tls", "sometimes"));
        assertEquals(2, execute("--target", "127.0.0.1:25", "--messages", "5", "--duration", "5s"));
        assertEquals(2, execute("--target", "127.0.0.1:25", "--size", "1KiB", "--size-dist", "1KiB:1"));
        assertEquals(2, execute("--connections", "5"), "--target is required");
        assertEquals(2, execute("--target", "127.0.0.1:25", "--bdat", "maybe"));
        assertEquals(2, execute("--target", "127.0.0.1:25", "--bdat", "on", "--chunk-size", "0"));
        assertEquals(2, execute("--target", "127.0.0.1:25", "--bdat", "on", "--chunk-size", "2147483647"));
        assertEquals(2, execute("--target", "127.0.0.1:25", "--bdat", "on", "--chunk-size", "1024MiB"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--chunk-size=2147483647: size=2147483647 > MAX=1073741823"),
                err.toString(StandardCharsets.UTF_8));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--tls=sometimes"), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void optionsMapOntoLoadOptions() {
        LoadCommand command = new LoadCommand();
        new CommandLine(command).parseArgs("--target", "[::1]:465", "--tls", "implicit", "--tls-provider", "jdk",
                "--protocol", "TLSv1.2", "--resume", "off", "--connections", "300", "--messages-per-connection", "1",
                "--duration", "60s", "--size-dist", "1KiB:70,16KiB:25,256KiB:5", "--recipients", "3",
                "--pipelining", "off", "--rate", "2000/s", "--threads", "4", "--warmup", "2s", "--max-errors", "7");
        LoadOptions options = command.toOptions();
        assertEquals(TlsMode.IMPLICIT, options.tlsMode());
        assertEquals(java.util.List.of("TLSv1.2"), options.protocols());
        assertEquals(false, options.resume());
        assertEquals(300, options.connections());
        assertEquals(60_000_000_000L, options.durationNanos());
        assertEquals(3, options.sizes().count());
        assertEquals(false, options.pipelining());
        assertEquals(2000.0, options.ratePerSecond());
        assertEquals(4, options.threads());
        assertEquals(2_000_000_000L, options.warmupNanos());
        assertEquals(7, options.maxErrors());
        assertEquals(BdatMode.OFF, options.bdat(), "DATA unless asked: figures stay comparable");
        assertEquals(0, options.chunkOctets());
        assertEquals(ProxyMode.NONE, options.proxy(), "no PROXY header unless asked");
    }

    @Test
    void proxyOptionMapsOntoLoadOptionsAndABadOneIsRefused() {
        for (String value : new String[] {"v1", "V2", "none"}) {
            LoadCommand command = new LoadCommand();
            new CommandLine(command).parseArgs("--target", "127.0.0.1:25", "--proxy", value);
            assertEquals(ProxyMode.valueOf(value.toUpperCase(java.util.Locale.ROOT)), command.toOptions().proxy());
        }
        assertEquals(2, execute("--target", "127.0.0.1:25", "--proxy", "v3"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--proxy=v3 is not one of [none, v1, v2]"), err::toString);
    }

    @Test
    void bdatOptionsMapOntoLoadOptions() {
        LoadCommand command = new LoadCommand();
        new CommandLine(command).parseArgs("--target", "127.0.0.1:25", "--bdat", "auto", "--chunk-size", "4KiB");
        LoadOptions options = command.toOptions();
        assertEquals(BdatMode.AUTO, options.bdat());
        assertEquals(4096, options.chunkOctets());
        assertEquals(LoadOptions.MAX_CHUNK_OCTETS, LoadCommand.chunkOctets("1073741823"), "the bound itself");
    }
}
