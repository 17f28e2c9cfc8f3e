package io.sluice.bench.load;

/**
 * How a load session sends message text: DATA (RFC 5321) or BDAT chunks (CHUNKING, RFC 3030). An
 * immutable constant; any thread.
 */
public enum BdatMode {
    /** Always DATA, dot-terminated: the figures stay comparable with runs before BDAT existed. */
    OFF,
    /** Always BDAT; a server that does not offer CHUNKING fails the message ({@link ErrorKind#CHUNKING_NOT_OFFERED}). */
    ON,
    /** BDAT where the server offers CHUNKING, DATA elsewhere. */
    AUTO
}
