package io.sluice.smtp.config;

/** How the acceptor picks the event loop for a new connection ({@code reactor.assign}). */
public enum LoopAssignment {
    /** Next loop in turn: cheapest, even when connections are alike. */
    ROUND_ROBIN,
    /** Loop with the fewest open connections: better when connection lifetimes differ widely. */
    LEAST_LOADED
}
