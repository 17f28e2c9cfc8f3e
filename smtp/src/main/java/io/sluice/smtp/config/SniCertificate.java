package io.sluice.smtp.config;

import java.nio.file.Path;

/**
 * A certificate chosen by SNI server name, from {@code tls.sni.<name>.cert} and
 * {@code tls.sni.<name>.key}. Immutable; any thread.
 *
 * @param serverName lower-case host name, or a wildcard such as {@code *.example.com}
 * @param cert PEM certificate chain file
 * @param key PEM private key file
 */
public record SniCertificate(String serverName, Path cert, Path key) {
}
