package io.sluice.smtp.config;

/** Which SSLEngine implementation to use ({@code tls.provider}). */
public enum TlsProviderName {
    /** Conscrypt (BoringSSL); falls back to the JDK if its native library cannot load. */
    CONSCRYPT,
    /** The JDK's own SunJSSE. */
    JDK
}
