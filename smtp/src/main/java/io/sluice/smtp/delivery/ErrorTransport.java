package io.sluice.smtp.delivery;

/**
 * Refuses every recipient with the configured status ({@code transport.x = error:5.1.1 text}):
 * a 5.X.X fails (bounces), a 4.X.X defers (holds the mail until the configuration changes or it
 * expires). Immutable; any thread.
 */
public final class ErrorTransport implements Transport {
    private final String enhancedCode;
    private final String text;

    /** @param enhancedCode {@code 4.X.X} or {@code 5.X.X} */
    public ErrorTransport(String enhancedCode, String text) {
        if (!enhancedCode.startsWith("4.") && !enhancedCode.startsWith("5.")) {
            throw new IllegalArgumentException("enhancedCode=" + enhancedCode + ": expected 4.X.X or 5.X.X");
        }
        this.enhancedCode = enhancedCode;
        this.text = text;
    }

    @Override
    public void deliver(DeliveryJob job, DeliveryCallback callback) {
        boolean permanent = enhancedCode.startsWith("5.");
        for (String recipient : job.recipients()) {
            callback.completed(permanent ? RecipientResult.failed(recipient, enhancedCode, text)
                    : RecipientResult.deferred(recipient, enhancedCode, text));
        }
    }

    @Override
    public String toString() {
        return "error:" + enhancedCode + " " + text;
    }
}
