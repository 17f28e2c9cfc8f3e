package io.sluice.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.SluiceConfig;

/**
 * {@code delivery.bounce_size_limit} is at most 10 MiB: a RET=FULL bounce reads the whole original
 * into memory on the queue thread (review s7a allowed 1 GiB).
 */
class BounceSizeLimitTest {
    @Test
    void tenMebibytesIsTheMost() {
        SluiceConfig ok = SluiceConfig.load(null, Map.of("delivery.bounce_size_limit", "10MiB"));
        assertEquals(DeliveryOptions.MAX_BOUNCE_SIZE_LIMIT_OCTETS, DeliveryOptions.fromConfig(ok).bounceSizeLimitOctets());
        ConfigException e = assertThrows(ConfigException.class,
                () -> SluiceConfig.load(null, Map.of("delivery.bounce_size_limit", String.valueOf((10L << 20) + 1))));
        assertTrue(e.getMessage().contains("delivery.bounce_size_limit"), e.getMessage());
        assertThrows(ConfigException.class, () -> SluiceConfig.load(null, Map.of("delivery.bounce_size_limit", "1GiB")));
    }

    @Test
    void theOptionsRecordChecksTheSameLimit() {
        DeliveryOptions defaults = DeliveryOptions.fromConfig(SluiceConfig.defaults());
        assertEquals(DeliveryOptions.DEFAULT_BOUNCE_SIZE_LIMIT_OCTETS, defaults.bounceSizeLimitOctets());
        assertThrows(IllegalArgumentException.class,
                () -> defaults.withBounceSizeLimit(DeliveryOptions.MAX_BOUNCE_SIZE_LIMIT_OCTETS + 1));
    }
}
