package io.sluice.bench.load;

import java.net.InetSocketAddress;
import java.util.Locale;

/**
 * Parses the value syntaxes of {@code sluice load} options: sizes ({@code 1KiB}), durations
 * ({@code 60s}), rates ({@code 2000/s}) and targets ({@code host:port}). Stateless; any thread.
 * Every error message names the value and what was expected.
 */
public final class OptionValues {

    private OptionValues() {
    }

    /**
     * A byte count: a plain number, or a number with {@code B}, {@code KiB}/{@code KB}/{@code k},
     * {@code MiB}/{@code MB}/{@code m} (all binary multiples: a load tool sizes in buffers).
     */
    public static int parseSizeBytes(String text) {
        String s = text.trim();
        String unit = s.replaceFirst("^[0-9]+", "");
        String digits = s.substring(0, s.length() - unit.length());
        if (digits.isEmpty()) {
            throw new IllegalArgumentException("size=" + text + " is not a number with an optional unit (1024, 1KiB, 2MiB)");
        }
        long multiplier = switch (unit.toLowerCase(Locale.ROOT)) {
            case "", "b" -> 1L;
            case "k", "kb", "kib" -> 1024L;
            case "m", "mb", "mib" -> 1024L * 1024;
            default -> throw new IllegalArgumentException("size=" + text + ": unknown unit '" + unit + "' (B, KiB, MiB)");
        };
        long bytes;
        try {
            bytes = Math.multiplyExact(Long.parseLong(digits), multiplier);
        } catch (ArithmeticException | NumberFormatException e) { // past a long: far past MAX
            bytes = Long.MAX_VALUE;
        }
        if (bytes > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("size=" + text + " > MAX=" + (Integer.MAX_VALUE / 2) + " bytes");
        }
        return (int) bytes;
    }

    /** A duration: a number with {@code ms}, {@code s}, {@code m} or {@code h}; a plain number is seconds. */
    public static long parseDurationNanos(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        String unit = s.replaceFirst("^[0-9]+(\\.[0-9]+)?", "");
        String number = s.substring(0, s.length() - unit.length());
        if (number.isEmpty()) {
            throw new IllegalArgumentException("duration=" + text + " is not a number with a unit (500ms, 60s, 2m)");
        }
        double nanosPerUnit = switch (unit) {
            case "ms" -> 1e6;
            case "", "s" -> 1e9;
            case "m", "min" -> 60e9;
            case "h" -> 3600e9;
            default -> throw new IllegalArgumentException("duration=" + text + ": unknown unit '" + unit + "' (ms, s, m, h)");
        };
        return Math.round(Double.parseDouble(number) * nanosPerUnit);
    }

    /** A rate in events per second: {@code 2000}, {@code 2000/s}, {@code 120/m}. */
    public static double parseRatePerSecond(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        int slash = s.indexOf('/');
        double perUnit = 1;
        if (slash >= 0) {
            perUnit = switch (s.substring(slash + 1)) {
                case "s" -> 1;
                case "m", "min" -> 60;
                case "h" -> 3600;
                default -> throw new IllegalArgumentException("rate=" + text + ": unknown unit (/s, /m, /h)");
            };
            s = s.substring(0, slash);
        }
        double rate;
        try {
            rate = Double.parseDouble(s) / perUnit;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("rate=" + text + " is not a number per time unit (2000/s)", e);
        }
        if (!(rate > 0) || Double.isInfinite(rate)) {
            throw new IllegalArgumentException("rate=" + text + " <= 0");
        }
        return rate;
    }

    /** {@code host:port}, {@code [v6]:port} or {@code v4:port}; the host is not resolved here. */
    public static InetSocketAddress parseTarget(String text) {
        String s = text.trim();
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new IllegalArgumentException("target=" + text + " is not host:port");
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException("target=" + text + ": write an IPv6 address as [addr]:port");
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("target=" + text + ": port is not a number", e);
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("target=" + text + ": port=" + port + " not in [1, 65535]");
        }
        return InetSocketAddress.createUnresolved(host, port);
    }
}
