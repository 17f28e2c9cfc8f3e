package io.sluice.smtp.dkim;

import java.util.List;

import io.sluice.smtp.config.ConfigException;
import io.sluice.smtp.config.ConfigKeys;
import io.sluice.smtp.config.SluiceConfig;

/**
 * Builds the {@link DkimSigner} from {@code dkim.<domain>.selector}, {@code dkim.<domain>.key}
 * and {@code dkim.headers}: every key file is read and tried once (a test signature) at start; a
 * problem stops the start with one line naming the key and what is wrong, never the key's content.
 * The key files are read again on a reload ({@link DkimKeyFiles#reload}); the rest of the
 * configuration is not. Called once by the starting thread.
 */
public final class DkimConfig {
    private DkimConfig() {
    }

    /** The signer of a configuration ({@link DkimSigner#none()}-like when no domain is configured). */
    public static DkimSigner signer(SluiceConfig config) {
        DkimKeyFiles files = DkimKeyFiles.fromConfig(config);
        List<String> headers = config.get(ConfigKeys.DKIM_HEADERS);
        if (headers.isEmpty()) {
            headers = DkimSigner.DEFAULT_HEADERS;
        }
        if (!headers.contains("from")) {
            throw ConfigException.badValue(ConfigKeys.DKIM_HEADERS.name(), config.text(ConfigKeys.DKIM_HEADERS),
                    "must include from (RFC 6376 §5.4)");
        }
        return new DkimSigner(files.loadAll(), headers, config.get(ConfigKeys.HOSTNAME), config.get(ConfigKeys.RELAY_NETWORKS),
                System::currentTimeMillis);
    }
}
