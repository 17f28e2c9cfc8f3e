package io.sluice.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Certificate reload: swap on success, keep the old context on failure, file and SIGHUP triggers. */
class ReloadingTlsContextTest {

    private static final CertifiedKey FIRST = TestCertificates.EC;
    private static final CertifiedKey SECOND = TestCertificates.RSA;

    @TempDir
    Path dir;
    private Path certFile;
    private Path keyFile;

    @BeforeEach
    void writeFirstCertificate() throws Exception {
        certFile = dir.resolve("cert.pem");
        keyFile = dir.resolve("key.pem");
        write(FIRST);
    }

    private void write(CertifiedKey key) throws Exception {
        SelfSignedCertificate.writePem(keyFile, key.key(), true);
        SelfSignedCertificate.writePem(certFile, key.leaf(), false);
    }

    private ReloadingTlsContext reloading(String provider) throws Exception {
        return ReloadingTlsContext.build(TlsContext.forServer().provider(TlsProvider.select(provider))
                .certificate(CertificateSource.pem(certFile, keyFile)));
    }

    private static TlsEndpoint client(String provider) throws Exception {
        return TlsEndpoint.client(TlsContext.forClient().provider(TlsProvider.select(provider)).trustAnyCertificate().build());
    }

    /** Completes the handshake of a pair and returns the leaf certificate the client saw. */
    private static Certificate handshake(TlsEndpoint client, TlsEndpoint server) throws Exception {
        TlsEndpoint.pump(client, server);
        assertTrue(client.layer.handshakeComplete() && server.layer.handshakeComplete(), "handshake complete");
        return client.layer.peerCertificates().get(0);
    }

    private static Certificate served(ReloadingTlsContext reloading, String provider) throws Exception {
        return handshake(client(provider), TlsEndpoint.server(reloading.current()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdk", "conscrypt"})
    void reloadServesTheNewCertificateToNewConnectionsWhileOldLayersKeepTheirs(String provider) throws Exception {
        assumeConscryptFor(provider);
        try (ReloadingTlsContext reloading = reloading(provider)) {
            assertEquals(List.of(certFile, keyFile), reloading.watchedFiles());
            TlsEndpoint oldServer = TlsEndpoint.server(reloading.current());
            TlsEndpoint oldClient = client(provider);
            TlsContext before = reloading.current();

            write(SECOND);
            ReloadingTlsContext.ReloadResult result = reloading.reload();

            assertTrue(result.succeeded(), result.message());
            assertTrue(reloading.current() != before, "a new context is in use");
            assertEquals(SECOND.leaf(), served(reloading, provider));
            assertEquals(FIRST.leaf(), handshake(oldClient, oldServer), "a layer made before the reload keeps its certificate");
            assertEquals(1, reloading.reloads());
            assertEquals(2, reloading.current().stats().handshakesCompleted(), "counters carry over a reload");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdk", "conscrypt"})
    void brokenKeyFileKeepsTheOldCertificateAndSaysWhy(String provider) throws Exception {
        assumeConscryptFor(provider);
        try (ReloadingTlsContext reloading = reloading(provider)) {
            TlsContext before = reloading.current();
            Files.writeString(keyFile, "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n",
                    StandardCharsets.US_ASCII);

            ReloadingTlsContext.ReloadResult result = reloading.reload();

            assertFalse(result.succeeded());
            assertTrue(result.message().contains("still serving the previous certificates"), result.message());
            assertSame(before, reloading.current());
            assertSame(result, reloading.lastResult());
            assertEquals(1, reloading.failedReloads());
            assertEquals(FIRST.leaf(), served(reloading, provider));
        }
    }

    @Test
    void keyOfAnotherCertificateIsRefusedWithBothFileNames() throws Exception {
        try (ReloadingTlsContext reloading = reloading("jdk")) {
            SelfSignedCertificate.writePem(keyFile, SECOND.key(), true);

            ReloadingTlsContext.ReloadResult result = reloading.reload();

            assertFalse(result.succeeded());
            assertTrue(result.message().contains("does not match") && result.message().contains(keyFile.toString()),
                    result.message());
            assertEquals(FIRST.leaf(), served(reloading, "jdk"));
        }
    }

    @Test
    void watcherReloadsOnceTheChangedFilesSettle() throws Exception {
        BlockingQueue<ReloadingTlsContext.ReloadResult> results = new ArrayBlockingQueue<>(8);
        try (ReloadingTlsContext reloading = reloading("jdk")) {
            reloading.onReload(results::add).watchFiles(Duration.ofMillis(20));
            write(SECOND);

            // The two files are written one after the other; on a loaded machine a poll may fall
            // between them, see a key that does not match, keep the old pair and say so. The
            // next poll must then load the new pair.
            ReloadingTlsContext.ReloadResult result = results.poll(10, TimeUnit.SECONDS);
            if (result != null && !result.succeeded()) {
                assertTrue(result.message().contains("still serving the previous certificates"), result.message());
                result = results.poll(10, TimeUnit.SECONDS);
            }

            assertTrue(result != null && result.succeeded(), String.valueOf(result));
            assertEquals(SECOND.leaf(), served(reloading, "jdk"));
        }
    }

    @Test
    void reloadEveryRebuildsWithoutAFileChange() throws Exception {
        BlockingQueue<ReloadingTlsContext.ReloadResult> results = new ArrayBlockingQueue<>(64);
        try (ReloadingTlsContext reloading = reloading("jdk")) {
            TlsContext before = reloading.current();
            reloading.onReload(results::add).reloadEvery(Duration.ofMillis(20));

            ReloadingTlsContext.ReloadResult result = results.poll(10, TimeUnit.SECONDS);

            assertTrue(result != null && result.succeeded(), String.valueOf(result));
            assertTrue(reloading.current() != before);
            assertEquals(FIRST.leaf(), served(reloading, "jdk"));
        }
    }

    @Test
    void sighupReloads() throws Exception {
        BlockingQueue<ReloadingTlsContext.ReloadResult> results = new ArrayBlockingQueue<>(8);
        try (ReloadingTlsContext reloading = reloading("jdk")) {
            boolean installed = reloading.onReload(results::add).reloadOnHangup();
            assumeTrue(installed, "this JVM does not hand SIGHUP to Java code (-Xrs, or SIGHUP ignored since start: nohup)");
            write(SECOND);

            raiseHangup();

            ReloadingTlsContext.ReloadResult result = results.poll(10, TimeUnit.SECONDS);
            assertTrue(result != null && result.succeeded(), String.valueOf(result));
            assertEquals(SECOND.leaf(), served(reloading, "jdk"));
        }
    }

    @Test
    void inMemoryCertificatesHaveNothingToWatch() throws Exception {
        try (ReloadingTlsContext reloading = ReloadingTlsContext.build(TlsContext.forServer().provider(TlsProvider.jdk())
                .certificate(CertificateSource.of(FIRST)))) {
            assertTrue(reloading.watchedFiles().isEmpty());
            assertNull(reloading.lastResult());
            assertTrue(reloading.reload().succeeded(), "rebuilding from memory works (rotates ticket keys)");
        }
    }

    /** In-process SIGHUP; only called while our handler is installed (the default one exits the JVM). */
    private static void raiseHangup() throws ReflectiveOperationException {
        Class<?> signalClass = Class.forName("sun.misc.Signal");
        Object hup = signalClass.getConstructor(String.class).newInstance("HUP");
        signalClass.getMethod("raise", signalClass).invoke(null, hup);
    }

    static void assumeConscryptFor(String provider) {
        assumeTrue(!provider.equals("conscrypt") || TlsProvider.conscryptAvailable(),
                "Conscrypt's native library does not load on this platform");
    }

    /** The server's poller starts from the files' state before the first build: an edit made since is a change. */
    @Test
    void aWatcherSinceBuildSeesAnEditMadeAfterTheBuild() throws Exception {
        try (ReloadingTlsContext reloading = reloading("jdk")) {
            write(SECOND); // while the server was still starting
            FileChangeWatcher watcher = reloading.watcherSinceBuild();
            assertFalse(watcher.changedAndSettled(), "first sight");
            assertTrue(watcher.changedAndSettled(), "the edit made after the build is reported");
        }
    }
}
