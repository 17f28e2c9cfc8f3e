package io.sluice.smtp.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import com.code_intelligence.jazzer.junit.FuzzTest;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;

/**
 * Fuzzes {@link SluiceConfig#load} with an arbitrary properties file and arbitrary {@code --set}
 * arguments: the only failure allowed is a {@link ConfigException} whose message is one line
 * starting {@code config: }; a configuration that loads must load again, unchanged, from its own
 * {@link SluiceConfig#toPropertiesText()}.
 *
 * <p>Input layout: the file's octets up to the first NUL, then NUL-separated {@code --set}
 * arguments as UTF-8. Each argument goes both through {@link SluiceConfig#parseSetArguments} and,
 * split at its first '=' without trimming, straight into the overrides map.
 *
 * <p>{@code listen} resolves host names; so that fuzzing never queries DNS, fuzzing mode resolves
 * from a hosts file of its own, and runs that would resolve anything else are skipped.
 */
class ConfigFuzzTest {

    static {
        JazzerOutput.pin();
    }

    private static final Path DIR;
    private static final boolean LOCAL_RESOLVER;

    static {
        try {
            DIR = Files.createTempDirectory("sluice-config-fuzz");
            DIR.toFile().deleteOnExit();
            boolean fuzzing = System.getenv("JAZZER_FUZZ") != null && !System.getenv("JAZZER_FUZZ").isEmpty();
            if (fuzzing) {
                // Read when InetAddress initialises, so only effective if nothing resolved before us:
                // true in fuzzing mode, where this is the only test class in the JVM.
                Path hosts = DIR.resolve("hosts");
                Files.writeString(hosts, "127.0.0.1 localhost\n::1 localhost\n192.0.2.1 sluice-fuzz-probe.invalid\n");
                hosts.toFile().deleteOnExit();
                System.setProperty("jdk.net.hosts.file", hosts.toString());
            }
            LOCAL_RESOLVER = fuzzing && resolvesFromOurHostsFile();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "2m")
    void loadFailsOnlyWithAOneLineConfigException(byte[] input) throws IOException {
        int nul = indexOf(input, 0, (byte) 0);
        byte[] file = java.util.Arrays.copyOf(input, nul);
        List<String> arguments = new ArrayList<>();
        Map<String, String> raw = new LinkedHashMap<>();
        for (int from = nul + 1; from <= input.length; ) {
            int end = indexOf(input, from, (byte) 0);
            String argument = new String(input, from, end - from, StandardCharsets.UTF_8);
            arguments.add(argument);
            int eq = argument.indexOf('=');
            raw.put(eq < 0 ? argument : argument.substring(0, eq), eq < 0 ? "" : argument.substring(eq + 1));
            from = end + 1;
        }
        if (!LOCAL_RESOLVER && mayResolve(file, raw)) {
            return;
        }
        Path path = DIR.resolve("sluice.properties");
        Files.write(path, file);
        try {
            roundTrip(load(path, raw));
            if (input.length > nul) {
                Map<String, String> parsed = parseSet(arguments);
                Map<String, String> overrides = parsed == null ? Map.of() : parsed;
                if (LOCAL_RESOLVER || !mayResolve(file, overrides)) {
                    roundTrip(load(path, overrides));
                }
            }
        } finally {
            Files.deleteIfExists(path);
        }
    }

    /** Loads, returning null after a well-formed ConfigException; any other throwable fails the run. */
    private static SluiceConfig load(Path file, Map<String, String> overrides) {
        try {
            return SluiceConfig.load(file, overrides);
        } catch (ConfigException e) {
            checkMessage(e);
            return null;
        }
    }

    private static Map<String, String> parseSet(List<String> arguments) {
        try {
            return SluiceConfig.parseSetArguments(arguments);
        } catch (ConfigException e) {
            checkMessage(e);
            return null;
        }
    }

    private static void checkMessage(ConfigException e) {
        String message = e.getMessage();
        assertTrue(message != null && message.startsWith("config: "), "message: " + message);
        assertTrue(message.indexOf('\n') < 0 && message.indexOf('\r') < 0, "not one line: " + message);
        assertTrue(message.chars().noneMatch(c -> c < 0x20 || c == 0x7F), "control character in: " + message);
    }

    /** A loaded configuration written out by toPropertiesText must load back to the same text. */
    private static void roundTrip(SluiceConfig config) throws IOException {
        if (config == null || !config.text(ConfigKeys.TLS_KEYSTORE_PASSWORD).isEmpty()) {
            return; // the password is masked in the text, so it cannot round-trip
        }
        String text = config.toPropertiesText();
        Path again = DIR.resolve("again.properties");
        Files.writeString(again, text);
        try {
            SluiceConfig reloaded = SluiceConfig.load(again, Map.of());
            assertEquals(text, reloaded.toPropertiesText(), "toPropertiesText does not read back the same");
        } catch (ConfigException e) {
            fail("toPropertiesText does not load back: " + e.getMessage() + "\n" + text);
        } finally {
            Files.deleteIfExists(again);
        }
    }

    /**
     * True when the effective {@code listen} value might name a host to look up, judged strictly:
     * anything but dotted-quad or bracketed addresses with a port, each optionally followed by a word.
     */
    private static boolean mayResolve(byte[] file, Map<String, String> overrides) {
        Properties properties = new Properties();
        try (Reader reader = new StringReader(new String(file, StandardCharsets.UTF_8))) {
            properties.load(reader);
        } catch (IOException | IllegalArgumentException e) {
            // load() will refuse the file; the overrides alone decide
        }
        String listen = overrides.containsKey("listen") ? overrides.get("listen") : properties.getProperty("listen", "");
        String outside = listen.replaceAll("\\[[^\\]]*\\]", "[]");
        return !outside.matches("[\\s,]*((\\[\\]|\\d{1,3}(\\.\\d{1,3}){3}):\\d*(\\s+\\w+)?[\\s,]*)*");
    }

    private static boolean resolvesFromOurHostsFile() {
        try {
            return InetAddress.getByName("sluice-fuzz-probe.invalid").getHostAddress().equals("192.0.2.1");
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static int indexOf(byte[] input, int from, byte octet) {
        for (int i = from; i < input.length; i++) {
            if (input[i] == octet) {
                return i;
            }
        }
        return input.length;
    }
}
