package io.sluice.smtp.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ConfigKeysTest {

    @Test
    void everyDefaultParsesAndValidates() {
        for (ConfigKey<?> key : ConfigKeys.all()) {
            assertNotNull(key.parse(key.defaultText()), key.name());
        }
    }

    @Test
    void everyKeyIsDocumentedAndNamedConsistently() {
        Set<String> names = new HashSet<>();
        for (int i = 0; i < ConfigKeys.all().size(); i++) {
            ConfigKey<?> key = ConfigKeys.all().get(i);
            assertEquals(i, key.index());
            assertTrue(names.add(key.name()), key.name());
            assertTrue(key.name().matches("[a-z]+(\\.[a-z][a-z0-9_]*)*"), key.name()); // digits for ipv6_...
            assertFalse(key.description().isBlank(), key.name());
            assertFalse(key.description().contains("\n"), key.name());
            assertFalse(key.allowed().isBlank(), key.name());
            assertEquals(key, ConfigKeys.byName(key.name()).orElseThrow());
        }
        assertTrue(ConfigKeys.byName("no.such").isEmpty());
    }

    @Test
    void minimumsFromTheRfcsAreEnforced() {
        assertTrue(ConfigKeys.SMTP_MAX_RECIPIENTS.allowed().contains(">= 100"));
        assertTrue(ConfigKeys.SMTP_MAX_LINE_LENGTH.allowed().contains("from 512"));
        assertTrue(ConfigKeys.SMTP_MAX_TEXT_LINE_LENGTH.allowed().contains("from 1000"));
        assertTrue(ConfigKeys.SMTP_COMMAND_TIMEOUT.allowed().contains("from 100ms"));
        assertTrue(ConfigKeys.SMTP_DATA_TIMEOUT.allowed().contains("from 100ms"));
    }

    @Test
    void markdownTableHasOneRowPerKeyAndPattern() throws Exception {
        String table = ConfigKeys.markdownTable();
        List<String> rows = new ArrayList<>();
        for (String line : table.split("\n")) {
            if (line.startsWith("| `")) {
                rows.add(line);
            }
        }
        assertEquals(ConfigKeys.all().size() + ConfigKeys.patterns().size(), rows.size());
        for (String row : rows) {
            // 5 unescaped pipes = 4 cells: escaped pipes inside cells do not split the row.
            assertEquals(5, row.replace("\\|", "").chars().filter(c -> c == '|').count(), row);
        }
        assertTrue(table.contains("| `smtp.max_message_size` | `32MiB` |"));
        assertTrue(table.contains("| `tls.sni.<name>.cert` |"));
        // Written where the lead can paste it from: smtp/target/config-keys.md.
        Path out = Path.of("target", "config-keys.md");
        if (Files.isDirectory(out.getParent())) {
            Files.writeString(out, table, StandardCharsets.UTF_8);
        }
    }

    @Test
    void readmeHasARowForEveryKey() throws Exception {
        Path readme = repositoryRoot().resolve("README.md");
        assumeTrue(Files.exists(readme), "README.md not written yet; paste ConfigKeys.markdownTable() "
                + "(smtp/target/config-keys.md) into it");
        String text = Files.readString(readme, StandardCharsets.UTF_8);
        List<String> missing = new ArrayList<>();
        for (ConfigKey<?> key : ConfigKeys.all()) {
            if (!text.contains("| `" + key.name() + "` |")) {
                missing.add(key.name());
            }
        }
        for (PatternKey p : ConfigKeys.patterns()) {
            if (!text.contains("| `" + p.pattern() + "` |")) {
                missing.add(p.pattern());
            }
        }
        assertEquals(List.of(), missing, "README.md lacks rows; regenerate from ConfigKeys.markdownTable()");
        assertTrue(text.contains(ConfigKeys.markdownTable().strip()),
                "README.md's key table differs from the registry; paste smtp/target/config-keys.md over it");
    }

    @Test
    void packagedSampleConfigEqualsTheRegistry() throws Exception {
        String sample = ConfigKeys.sampleConfig();
        Path out = Path.of("target", "sluice.conf");
        if (Files.isDirectory(out.getParent())) {
            Files.writeString(out, sample, StandardCharsets.UTF_8);
        }
        Path packaged = repositoryRoot().resolve("packaging").resolve("sluice.conf");
        assertTrue(Files.exists(packaged), "packaging/sluice.conf missing; copy smtp/target/sluice.conf there");
        assertEquals(sample, Files.readString(packaged, StandardCharsets.UTF_8),
                "packaging/sluice.conf differs from ConfigKeys.sampleConfig(); copy smtp/target/sluice.conf over it");
    }

    @Test
    void sampleConfigNamesEveryKeyAndParsesToTheDefaults(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        String sample = ConfigKeys.sampleConfig();
        for (ConfigKey<?> key : ConfigKeys.all()) {
            String shown = key.defaultText().isEmpty() ? "" : " " + key.defaultText();
            assertTrue(sample.contains("\n#" + key.name() + " =" + shown + "\n"), key.name());
        }
        for (PatternKey p : ConfigKeys.patterns()) {
            assertTrue(sample.contains("\n# " + p.pattern() + ": "), p.pattern());
        }
        for (String line : sample.split("\n")) {
            assertTrue(line.isEmpty() || line.startsWith("#"), "only comments: " + line);
            assertTrue(line.length() <= 100, "short lines: " + line);
            assertTrue(line.isEmpty() || line.charAt(line.length() - 1) != ' ', "no trailing blank: " + line);
        }
        // As shipped (all commented) the file is the defaults; uncommented, every line still parses to them.
        Path commented = dir.resolve("commented.conf");
        Files.writeString(commented, sample, StandardCharsets.UTF_8);
        assertEquals(SluiceConfig.defaults().get(ConfigKeys.LISTEN), SluiceConfig.load(commented, java.util.Map.of())
                .get(ConfigKeys.LISTEN));
        Path uncommented = dir.resolve("uncommented.conf");
        Files.writeString(uncommented, sample.replaceAll("(?m)^#([a-z][a-z_.]*) =", "$1 ="), StandardCharsets.UTF_8);
        SluiceConfig config = SluiceConfig.load(uncommented, java.util.Map.of());
        for (ConfigKey<?> key : ConfigKeys.all()) {
            assertEquals(key.defaultText(), config.text(key), key.name());
            assertEquals(key.parse(key.defaultText()), config.get(key), key.name());
        }
    }

    /** The top-most directory holding a pom.xml, walking up from the working directory. */
    private static Path repositoryRoot() {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        Path root = dir;
        for (Path p = dir; p != null; p = p.getParent()) {
            if (Files.exists(p.resolve("pom.xml"))) {
                root = p;
            }
        }
        return root;
    }

    @Test
    void suggesterDistances() {
        assertEquals(0, KeySuggester.distance("abc", "abc"));
        assertEquals(1, KeySuggester.distance("abc", "acb"));
        assertEquals(1, KeySuggester.distance("abc", "abcd"));
        assertEquals(3, KeySuggester.distance("", "abc"));
        assertEquals(null, KeySuggester.suggest("xyz", List.of("log.level")));
    }
}
