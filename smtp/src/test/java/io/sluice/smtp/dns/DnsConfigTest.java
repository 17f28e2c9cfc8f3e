package io.sluice.smtp.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xbill.DNS.Type;

class DnsConfigTest {

    private static SluiceConfig with(String key, String value) {
        return SluiceConfig.defaults().withOverrides(Map.of(key, value));
    }

    @Test
    void defaultsAreTheSystemResolversAndFiveSeconds() {
        SluiceConfig config = SluiceConfig.defaults();
        assertEquals(Optional.empty(), config.get(ConfigKeys.DNS_RESOLVER));
        assertEquals(Duration.ofSeconds(5), config.get(ConfigKeys.DNS_TIMEOUT));
    }

    @Test
    void resolverAddressForms() throws Exception {
        assertEquals(new InetSocketAddress(InetAddress.getByName("10.0.0.53"), 53),
                with("dns.resolver", "10.0.0.53").get(ConfigKeys.DNS_RESOLVER).orElseThrow());
        assertEquals(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 5353),
                with("dns.resolver", "127.0.0.1:5353").get(ConfigKeys.DNS_RESOLVER).orElseThrow());
        assertEquals(new InetSocketAddress(InetAddress.getByName("::1"), 5353),
                with("dns.resolver", "[::1]:5353").get(ConfigKeys.DNS_RESOLVER).orElseThrow());
        assertEquals(new InetSocketAddress(InetAddress.getByName("::1"), 53),
                with("dns.resolver", "[::1]").get(ConfigKeys.DNS_RESOLVER).orElseThrow());
        assertEquals(new InetSocketAddress(InetAddress.getByName("2001:db8::53"), 53),
                with("dns.resolver", "2001:db8::53").get(ConfigKeys.DNS_RESOLVER).orElseThrow());
    }

    @ParameterizedTest
    @ValueSource(strings = {"dns.example.com", "dns.example.com:53", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:",
        "1.2.3", "[::1", "[::1]53", "[1.2.3.4]:53", "::g", "1.2.3.4:53x"})
    void badResolverAddressesAreRefused(String value) {
        ConfigException e = assertThrows(ConfigException.class, () -> with("dns.resolver", value));
        assertTrue(e.getMessage().contains("dns.resolver"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"50ms", "2m", "5"})
    void timeoutOutsideItsRangeIsRefused(String value) {
        assertThrows(ConfigException.class, () -> with("dns.timeout", value));
    }

    @Test
    void fromConfigAsksTheConfiguredServer() throws Exception {
        try (DnsStub dns = DnsStub.start()) {
            dns.add("example.com", Type.MX, 300, "10 mx.example.com.").add("mx.example.com", Type.A, 300, "192.0.2.1");
            SluiceConfig config = SluiceConfig.defaults().withOverrides(Map.of(
                    "dns.resolver", "127.0.0.1:" + dns.address().getPort(), "dns.timeout", "5s"));
            try (MxResolver resolver = MxResolver.fromConfig(config)) {
                List<NextHop> hops = resolver.resolve("example.com", 2525).get(20, TimeUnit.SECONDS);
                assertEquals(List.of(new NextHop("mx.example.com", InetAddress.getByName("192.0.2.1"), 2525, 10)), hops);
                assertEquals(1, dns.queries("example.com", Type.MX));
            }
        }
    }
}
