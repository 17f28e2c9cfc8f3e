package io.sluice.smtp.mtasts;

/** A policy fetch that failed, with the result it counts as. */
public final class PolicyFetchException extends Exception {
    private static final long serialVersionUID = 1L;
    private final FetchResult result;

    /**
     * @param result what kind of failure (never {@link FetchResult#OK})
     * @param why    what happened, for the log
     */
    public PolicyFetchException(FetchResult result, String why) {
        super(why);
        this.result = result;
    }

    /** The kind of failure. */
    public FetchResult result() {
        return result;
    }
}
