package io.sluice.smtp.config;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.StringJoiner;

/**
 * The value types configuration keys are made of: whole numbers, sizes, durations, booleans,
 * enums, text, host names, paths, lists, listen addresses and networks. Stateless; any thread.
 */
public final class ValueTypes {
    private static final String[] SIZE_UNITS = {"", "k", "K", "KiB", "M", "MiB", "G", "GiB", "T", "TiB"};
    private static final int[] SIZE_SHIFTS = {0, 10, 10, 10, 20, 20, 30, 30, 40, 40};
    private static final String[] DURATION_UNITS = {"ms", "s", "m", "h", "d"};
    private static final long[] DURATION_MILLIS = {1, 1000, 60_000, 3_600_000, 86_400_000};

    private ValueTypes() {
    }

    /** A whole number in {@code [min, max]}; no sign unless {@code min < 0}, no leading '+'. */
    public static ValueType<Integer> integer(int min, int max) {
        String expected = max == Integer.MAX_VALUE
                ? "a whole number >= " + min
                : "a whole number from " + min + " to " + max;
        return new ValueType<>(expected, text -> {
            long value = parseWholeNumber(text, min < 0);
            if (value < min || value > max) {
                throw new Mismatch(null);
            }
            return (int) value;
        });
    }

    /**
     * A size in bytes: {@code 512}, or with a binary unit {@code k}/{@code K}/{@code KiB} (1024),
     * {@code M}/{@code MiB}, {@code G}/{@code GiB}, {@code T}/{@code TiB}. Decimal {@code kB}/{@code MB}
     * are refused rather than guessed.
     */
    public static ValueType<Long> size(long minBytes, long maxBytes) {
        String range = maxBytes == Long.MAX_VALUE
                ? " >= " + formatSize(minBytes)
                : " from " + formatSize(minBytes) + " to " + formatSize(maxBytes);
        return new ValueType<>("a size in bytes or with a binary unit (512, 64k, 10MiB, 1G)" + range, text -> {
            int digits = countDigits(text);
            String unit = text.substring(digits);
            int u = indexOf(SIZE_UNITS, unit);
            if (digits == 0) {
                throw new Mismatch(null);
            }
            if (u < 0 && unit.startsWith(" ")) {
                throw new Mismatch("no space allowed before the unit");
            }
            if (u < 0) {
                throw unit.endsWith("B") || unit.endsWith("b")
                        ? new Mismatch("unit " + unit + " is ambiguous or unknown, use KiB, MiB or GiB")
                        : new Mismatch("unknown unit " + unit);
            }
            long number = parseWholeNumber(text.substring(0, digits), false);
            if (number > (Long.MAX_VALUE >> SIZE_SHIFTS[u])) {
                throw new Mismatch("too large");
            }
            long bytes = number << SIZE_SHIFTS[u];
            if (bytes < minBytes || bytes > maxBytes) {
                throw new Mismatch(null);
            }
            return bytes;
        });
    }

    /**
     * A duration with a unit: {@code 500ms}, {@code 30s}, {@code 5m}, {@code 2h}, {@code 5d}. A
     * bare number is refused: {@code timeout = 30} is ambiguous.
     */
    public static ValueType<Duration> duration(Duration min, Duration max) {
        String expected = "a duration with a unit (500ms, 30s, 5m, 2h, 5d) from "
                + formatDuration(min) + " to " + formatDuration(max);
        return new ValueType<>(expected, text -> {
            int digits = countDigits(text);
            if (digits == 0) {
                throw new Mismatch(null);
            }
            String unit = text.substring(digits);
            if (unit.isEmpty()) {
                throw new Mismatch("a unit is needed");
            }
            int u = indexOf(DURATION_UNITS, unit);
            if (u < 0 && unit.startsWith(" ")) {
                throw new Mismatch("no space allowed before the unit");
            }
            if (u < 0) {
                throw new Mismatch("unknown unit " + unit);
            }
            long number = parseWholeNumber(text.substring(0, digits), false);
            if (number > Long.MAX_VALUE / DURATION_MILLIS[u]) {
                throw new Mismatch("too large");
            }
            Duration value = Duration.ofMillis(number * DURATION_MILLIS[u]);
            if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
                throw new Mismatch(null);
            }
            return value;
        });
    }

    /** {@code true|false|yes|no|on|off}, any case. */
    public static ValueType<Boolean> bool() {
        return new ValueType<>("true|false|yes|no|on|off", text -> {
            switch (text.toLowerCase(Locale.ROOT)) {
                case "true": case "yes": case "on":
                    return Boolean.TRUE;
                case "false": case "no": case "off":
                    return Boolean.FALSE;
                default:
                    throw new Mismatch(null);
            }
        });
    }

    /** One of the enum's constants, written in lower case ({@code round_robin}). */
    public static <E extends Enum<E>> ValueType<E> enumeration(Class<E> type) {
        E[] constants = type.getEnumConstants();
        StringJoiner names = new StringJoiner("|");
        for (E e : constants) {
            names.add(e.name().toLowerCase(Locale.ROOT));
        }
        return new ValueType<>("one of " + names, text -> {
            for (E e : constants) {
                if (e.name().toLowerCase(Locale.ROOT).equals(text)) {
                    return e;
                }
            }
            throw new Mismatch(null);
        });
    }

    /** Printable single-line text of at most {@code maxChars} characters (may be empty). */
    public static ValueType<String> text(int maxChars) {
        return new ValueType<>("printable ASCII text of at most " + maxChars + " characters", text -> {
            if (text.length() > maxChars) {
                throw new Mismatch(null);
            }
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c < 0x20 || c > 0x7e) {
                    throw new Mismatch(null);
                }
            }
            return text;
        });
    }

    /** A header field name (RFC 5322 §3.6.8: printable ASCII but colon), lower-cased. */
    public static ValueType<String> headerName() {
        return new ValueType<>("a header field name such as subject", text -> {
            if (text.isEmpty() || text.length() > 76) {
                throw new Mismatch(null);
            }
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c < 0x21 || c > 0x7e || c == ':') {
                    throw new Mismatch(null);
                }
            }
            return text.toLowerCase(Locale.ROOT);
        });
    }

    /** Any text, used as is (passwords). */
    public static ValueType<String> secret() {
        return new ValueType<>("any text", text -> text);
    }

    /** A DNS host name such as {@code mx.example.com} (letters, digits, '-', dots), lower-cased. */
    public static ValueType<String> hostName() {
        return new ValueType<>("a host name such as mx.example.com", text -> {
            if (!InetLiterals.isHostName(text)) {
                throw new Mismatch(null);
            }
            return text.toLowerCase(Locale.ROOT);
        });
    }

    /** A host name, or empty for this machine's canonical host name (falling back to localhost). */
    public static ValueType<String> hostNameOrLocal() {
        ValueType<String> name = hostName();
        return new ValueType<>(name.expected() + ", or empty for this machine's name",
                text -> text.isEmpty() ? LocalHostName.get() : name.parse(text));
    }

    /** A file system path; relative paths are relative to the working directory. */
    public static ValueType<Path> path() {
        return new ValueType<>("a file system path", text -> {
            if (text.isEmpty()) {
                throw new Mismatch(null);
            }
            try {
                return Path.of(text);
            } catch (InvalidPathException e) {
                throw new Mismatch(e.getReason());
            }
        });
    }

    /** Empty, or the path of a readable file (checked now so a typo fails at start, not at first TLS). */
    public static ValueType<Optional<Path>> optionalReadableFile() {
        ValueType<Path> path = path();
        return new ValueType<>("empty, or the path of a readable file", text -> {
            if (text.isEmpty()) {
                return Optional.empty();
            }
            Path p = path.parse(text);
            if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
                throw new Mismatch("no readable file there");
            }
            return Optional.of(p);
        });
    }

    /** Empty (off), or one {@code ADDR:PORT} as in {@link #listenAddress()}, without a mode. */
    public static ValueType<Optional<InetSocketAddress>> optionalSocketAddress() {
        return new ValueType<>("empty (off), or ADDR:PORT with ADDR an IPv4 address, [IPv6] or a host name", text -> {
            if (text.isEmpty()) {
                return Optional.empty();
            }
            return Optional.of(socketAddress(text));
        });
    }

    /**
     * A comma-separated list; entries are trimmed and empty entries dropped, so a trailing comma is
     * harmless. The reason for a bad entry names the entry.
     */
    public static <T> ValueType<List<T>> list(ValueType<T> element, boolean allowEmpty) {
        String expected = "a comma-separated list" + (allowEmpty ? "" : " (not empty)") + ", each " + element.expected();
        return new ValueType<>(expected, text -> {
            List<T> out = new ArrayList<>();
            for (String entry : splitList(text)) {
                try {
                    out.add(element.parse(entry));
                } catch (InvalidValueException e) {
                    throw new InvalidValueException("entry '" + ConfigException.printable(entry) + "': " + e.getMessage());
                }
            }
            if (out.isEmpty() && !allowEmpty) {
                throw new Mismatch("the list is empty");
            }
            return List.copyOf(out);
        });
    }

    /** One of the given words, matched ignoring case, returned as written here. */
    public static ValueType<String> oneOf(String... allowed) {
        return new ValueType<>("one of " + String.join("|", allowed), text -> {
            for (String a : allowed) {
                if (a.equalsIgnoreCase(text)) {
                    return a;
                }
            }
            throw new Mismatch(null);
        });
    }

    /**
     * Listening sockets: a comma-separated, non-empty list of {@code ADDR:PORT [MODE]}, where ADDR
     * is an IPv4 literal, a bracketed IPv6 literal or a host name (resolved now; the first address
     * is used), PORT is 0..65535 and MODE is smtp (default), smtps or submission.
     */
    public static ValueType<List<ListenAddress>> listenAddresses() {
        ValueType<ListenAddress> one = listenAddress();
        ValueType<List<ListenAddress>> list = list(one, false);
        return new ValueType<>(list.expected(), text -> {
            List<ListenAddress> out = list.parse(text);
            Set<InetSocketAddress> seen = new HashSet<>();
            for (ListenAddress a : out) {
                if (a.address().getPort() != 0 && !seen.add(a.address())) {
                    throw new InvalidValueException("entry '" + a + "': listed twice");
                }
            }
            return out;
        });
    }

    /** One {@code ADDR:PORT [MODE]}; see {@link #listenAddresses()}. */
    public static ValueType<ListenAddress> listenAddress() {
        ValueType<ListenerMode> modes = enumeration(ListenerMode.class);
        return new ValueType<>("ADDR:PORT [" + modes.expected().substring("one of ".length())
                + "][+proxy] with ADDR an IPv4 address, [IPv6] or a host name", text -> {
            String[] parts = text.split("\\s+");
            if (parts.length > 2) {
                throw new Mismatch(null);
            }
            ListenerMode mode = ListenerMode.SMTP;
            boolean proxy = false;
            if (parts.length == 2) {
                String modeText = parts[1];
                if (modeText.toLowerCase(Locale.ROOT).endsWith(ListenAddress.PROXY_SUFFIX)) {
                    proxy = true;
                    modeText = modeText.substring(0, modeText.length() - ListenAddress.PROXY_SUFFIX.length());
                }
                try {
                    mode = modes.parse(modeText);
                } catch (InvalidValueException e) {
                    throw new Mismatch("unknown mode " + parts[1]);
                }
            }
            return new ListenAddress(socketAddress(parts[0]), mode, proxy);
        });
    }

    /**
     * A server address that needs no DNS to find: empty, or an IPv4 literal or a bracketed IPv6
     * literal with an optional {@code :PORT} ({@code defaultPort} when absent); a bare IPv6
     * literal (no port) is accepted too. Host names are refused: looking up the DNS server's own
     * name would need DNS.
     */
    public static ValueType<Optional<InetSocketAddress>> optionalServerAddress(int defaultPort) {
        return new ValueType<>("empty, or ADDR or ADDR:PORT with ADDR an IPv4 address or [IPv6] (port "
                + defaultPort + " unless given)", text -> {
            if (text.isEmpty()) {
                return Optional.empty();
            }
            if (text.startsWith("[")) {
                int close = text.indexOf(']');
                String rest = close < 0 ? "" : text.substring(close + 1);
                if (close < 0 || !(rest.isEmpty() || rest.startsWith(":"))) {
                    throw new Mismatch(null);
                }
                int port = rest.isEmpty() ? defaultPort : serverPort(rest.substring(1));
                return Optional.of(new InetSocketAddress(ipv6(text.substring(1, close)), port));
            }
            int colon = text.indexOf(':');
            if (colon >= 0 && text.indexOf(':', colon + 1) >= 0) {
                return Optional.of(new InetSocketAddress(ipv6(text), defaultPort));
            }
            String host = colon < 0 ? text : text.substring(0, colon);
            int port = colon < 0 ? defaultPort : serverPort(text.substring(colon + 1));
            byte[] v4 = InetLiterals.parseIpv4(host);
            if (v4 == null) {
                throw new Mismatch(InetLiterals.isHostName(host) ? "host names are not allowed" : "bad address " + host);
            }
            try {
                return Optional.of(new InetSocketAddress(InetAddress.getByAddress(v4), port));
            } catch (UnknownHostException e) {
                throw new Mismatch("bad address " + host);
            }
        });
    }

    private static InetAddress ipv6(String text) {
        InetAddress v6 = InetLiterals.parseIpv6(text);
        if (v6 == null) {
            throw new Mismatch("bad IPv6 address " + text);
        }
        return v6;
    }

    private static int serverPort(String text) {
        if (text.isEmpty() || text.length() > 5 || countDigits(text) != text.length()
                || Integer.parseInt(text) < 1 || Integer.parseInt(text) > 65535) {
            throw new Mismatch("bad port " + text);
        }
        return Integer.parseInt(text);
    }

    /** See {@link NetworkSet#parse(String)}. */
    public static ValueType<NetworkSet> networks() {
        return new ValueType<>("a comma-separated list of IP addresses or CIDR networks (127.0.0.0/8, ::1/128, 10.1.2.3)", text -> {
            List<byte[]> addresses = new ArrayList<>();
            List<Integer> prefixes = new ArrayList<>();
            for (String entry : splitList(text)) {
                try {
                    addNetwork(entry, addresses, prefixes);
                } catch (Mismatch e) {
                    throw new Mismatch("entry '" + ConfigException.printable(entry) + "': " + e.getMessage());
                }
            }
            return addresses.isEmpty() ? NetworkSet.EMPTY : NetworkSet.of(addresses, prefixes);
        });
    }

    private static void addNetwork(String entry, List<byte[]> addresses, List<Integer> prefixes) {
        int slash = entry.indexOf('/');
        String addressText = slash < 0 ? entry : entry.substring(0, slash);
        byte[] address = InetLiterals.parseIpv4(addressText);
        int offset = 0;
        if (address == null) {
            InetAddress v6 = InetLiterals.parseIpv6(addressText);
            if (v6 == null) {
                throw new Mismatch(InetLiterals.isHostName(addressText) ? "host names are not allowed" : "not an IP address");
            }
            address = v6.getAddress();
            // The JDK turns ::ffff:a.b.c.d into an IPv4 address: its prefix counts 96 bits fewer.
            offset = v6 instanceof Inet4Address ? 96 : 0;
        }
        int maxPrefix = address.length * 8 + offset;
        int prefix = maxPrefix;
        if (slash >= 0) {
            String prefixText = entry.substring(slash + 1);
            if (countDigits(prefixText) != prefixText.length() || prefixText.isEmpty() || prefixText.length() > 3) {
                throw new Mismatch("bad prefix length /" + prefixText);
            }
            prefix = Integer.parseInt(prefixText);
            if (prefix > maxPrefix || prefix < offset) {
                throw new Mismatch("prefix length /" + prefix + " is out of range " + offset + ".." + maxPrefix);
            }
        }
        prefix -= offset;
        byte[] network = maskBytes(address, prefix);
        if (!java.util.Arrays.equals(network, address)) {
            throw new Mismatch("host bits are set (did you mean " + InetLiterals.format(network) + "/" + (prefix + offset) + "?)");
        }
        addresses.add(address);
        prefixes.add(prefix);
    }

    private static byte[] maskBytes(byte[] address, int prefix) {
        byte[] out = address.clone();
        for (int i = 0; i < out.length; i++) {
            int bitsHere = Math.max(0, Math.min(8, prefix - i * 8));
            out[i] = (byte) (out[i] & (0xff00 >> bitsHere));
        }
        return out;
    }

    private static InetSocketAddress socketAddress(String text) {
        String host;
        String portText;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0 || close + 1 >= text.length() || text.charAt(close + 1) != ':') {
                throw new Mismatch(null);
            }
            host = text.substring(1, close);
            portText = text.substring(close + 2);
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0) {
                throw new Mismatch("a port is needed");
            }
            if (text.indexOf(':') != colon) {
                throw new Mismatch("an IPv6 address needs brackets, as in [::1]:2525");
            }
            host = text.substring(0, colon);
            portText = text.substring(colon + 1);
        }
        if (portText.isEmpty() || portText.length() > 5 || countDigits(portText) != portText.length()
                || Integer.parseInt(portText) > 65535) {
            throw new Mismatch("bad port " + portText);
        }
        return new InetSocketAddress(resolve(host, text.startsWith("[")), Integer.parseInt(portText));
    }

    private static InetAddress resolve(String host, boolean bracketed) {
        if (bracketed) {
            InetAddress v6 = InetLiterals.parseIpv6(host);
            if (v6 == null) {
                throw new Mismatch("bad IPv6 address " + host);
            }
            return v6;
        }
        try {
            byte[] v4 = InetLiterals.parseIpv4(host);
            if (v4 != null) {
                return InetAddress.getByAddress(v4);
            }
            if (!InetLiterals.isHostName(host)) {
                throw new Mismatch("bad address " + host);
            }
            return InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new Mismatch("cannot resolve host " + host);
        }
    }

    static List<String> splitList(String text) {
        List<String> out = new ArrayList<>();
        for (String part : text.split(",", -1)) {
            String trimmed = part.trim();
            if (!trimmed.isEmpty()) {
                out.add(trimmed);
            }
        }
        return out;
    }

    private static long parseWholeNumber(String text, boolean signed) {
        int start = signed && text.startsWith("-") ? 1 : 0;
        int digits = text.length() - start;
        if (digits == 0 || digits > 18 || countDigits(text.substring(start)) != digits) {
            throw digits > 18 ? new Mismatch("too large") : new Mismatch(null);
        }
        return Long.parseLong(text);
    }

    private static int countDigits(String text) {
        int i = 0;
        while (i < text.length() && InetLiterals.isDigit(text.charAt(i))) {
            i++;
        }
        return i;
    }

    private static int indexOf(String[] options, String value) {
        for (int i = 0; i < options.length; i++) {
            if (options[i].equals(value)) {
                return i;
            }
        }
        return -1;
    }

    /** Largest exact binary unit: 33554432 becomes 32MiB. */
    static String formatSize(long bytes) {
        String[] units = {"TiB", "GiB", "MiB", "KiB"};
        int[] shifts = {40, 30, 20, 10};
        for (int i = 0; i < units.length; i++) {
            if (bytes != 0 && bytes % (1L << shifts[i]) == 0) {
                return (bytes >> shifts[i]) + units[i];
            }
        }
        return Long.toString(bytes);
    }

    /** Largest exact unit: 300000 ms becomes 5m. */
    static String formatDuration(Duration d) {
        long millis = d.toMillis();
        for (int i = DURATION_UNITS.length - 1; i > 0; i--) {
            if (millis != 0 && millis % DURATION_MILLIS[i] == 0) {
                return millis / DURATION_MILLIS[i] + DURATION_UNITS[i];
            }
        }
        return millis == 0 ? "0s" : millis + "ms";
    }
}
