package io.sluice.smtp.fuzz;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.SluiceConfig;

/** Plain reproducers of what {@link ConfigFuzzTest} found, one per bug; enabled once fixed. */
class ConfigFuzzFindingsTest {

    /**
     * ValueTypes.socketAddress/resolve and the listen mode parser put the operator's text into the
     * reason unescaped ("bad port " + portText, "unknown mode " + parts[1], "bad address " + host,
     * "bad IPv6 address " + host): a control character (here ESC, a terminal escape) reaches the
     * ConfigException message that the CLI prints, although ConfigException.printable exists for it.
     */
    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1:2\u001b[31m5", "[::1]:25\u0016", "127.0.0.1:25 smtp\u001b", "[::1\u0007]:25"})
    void listenErrorsCarryNoControlCharacters(String listen) {
        // Control characters at either end are trimmed like spaces (and the value may then parse);
        // whatever is refused must be refused in one printable line.
        try {
            SluiceConfig.load(null, Map.of("listen", listen));
        } catch (ConfigException e) {
            assertTrue(e.getMessage().chars().noneMatch(c -> c < 0x20 || c == 0x7F), "control character in: " + e.getMessage());
        }
    }

    @Test
    void controlCharactersInsideAListenValueAreRefusedPrintably() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> SluiceConfig.load(null, Map.of("listen", "127.0.0.1:2\u001b[31m5")));
        assertTrue(e.getMessage().contains("\\u001b"), e.getMessage());
    }
}
