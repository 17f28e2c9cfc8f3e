package io.sluice.smtp.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.concurrent.Callable;

import io.sluice.smtp.dkim.DkimKey;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sluice dkim-record --key FILE --selector S --domain D}: prints the DNS TXT record that
 * publishes the public half of a DKIM key, as a zone-file line. Main thread only.
 */
@Command(name = "dkim-record", mixinStandardHelpOptions = true,
        description = "Print the DNS TXT record (zone-file line) to publish for a DKIM key (dkim.<domain>.key).")
public final class DkimRecordCommand implements Callable<Integer> {

    @Option(names = "--key", required = true, paramLabel = "FILE", description = "PKCS#8 PEM private key (RSA or Ed25519).")
    Path key;

    @Option(names = "--selector", required = true, paramLabel = "S", description = "The selector (dkim.<domain>.selector).")
    String selector;

    @Option(names = "--domain", required = true, paramLabel = "D", description = "The signing domain (d=).")
    String domain;

    @Override
    public Integer call() {
        DkimKey loaded;
        try {
            loaded = DkimKey.load(domain, selector, key);
        } catch (IOException | GeneralSecurityException e) {
            System.err.println("sluice: dkim-record: --key=" + key + ": " + e.getMessage());
            return 2;
        }
        System.out.println("; " + loaded.algorithm().tag() + ", " + loaded.bits() + " bits; TXT text: " + loaded.recordText().length()
                + " characters");
        System.out.println(loaded.zoneLine());
        return 0;
    }
}
