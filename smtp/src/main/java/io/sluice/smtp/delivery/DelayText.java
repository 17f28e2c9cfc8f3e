package io.sluice.smtp.delivery;

/** Formats a delay for the log as Postfix does: seconds with two decimals ({@code 1.25}). Any thread. */
final class DelayText {

    private DelayText() {
    }

    static String seconds(long millis) {
        long m = Math.max(0, millis);
        long hundredths = (m + 5) / 10;
        long frac = hundredths % 100;
        return (hundredths / 100) + (frac < 10 ? ".0" : ".") + frac;
    }
}
