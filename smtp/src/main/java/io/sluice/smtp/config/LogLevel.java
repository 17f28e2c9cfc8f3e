package io.sluice.smtp.config;

/** Least severe log level that is printed ({@code log.level}). */
public enum LogLevel {
    /** Only errors. */
    ERROR,
    /** Errors and warnings. */
    WARN,
    /** Normal operation: start, stop, one line per rejected session. */
    INFO,
    /** Everything, including per-command traces. */
    DEBUG
}
