package io.sluice.smtp.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import io.sluice.smtp.config.SluiceConfig;
import picocli.CommandLine.Option;

/** The options every command that reads configuration shares: a file and {@code --set} overrides. */
public final class ConfigOptions {

    @Option(names = "--config", paramLabel = "FILE", description = "Configuration file (key = value lines).")
    Path file;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override one key (repeatable).")
    List<String> sets = new ArrayList<>();

    @Option(names = "--log-level", paramLabel = "LEVEL", description = "error, warn, info or debug (log.level).")
    String logLevel;

    /**
     * The effective configuration. {@code commandDefaults} (a command's own defaults, such as the
     * sink's port) apply only to keys that neither the file nor {@code --set} gives.
     */
    SluiceConfig load(Map<String, String> commandDefaults) {
        Map<String, String> overrides = new LinkedHashMap<>();
        Set<String> fileKeys = fileKeys();
        commandDefaults.forEach((key, value) -> {
            if (!fileKeys.contains(key)) {
                overrides.put(key, value);
            }
        });
        overrides.putAll(SluiceConfig.parseSetArguments(sets));
        if (logLevel != null) {
            overrides.put("log.level", logLevel);
        }
        return SluiceConfig.load(file, overrides);
    }

    private Set<String> fileKeys() {
        if (file == null) {
            return Set.of();
        }
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(reader);
        } catch (IOException e) {
            return Set.of(); // SluiceConfig.load reports the unreadable file with its reason
        }
        return properties.stringPropertyNames();
    }
}
