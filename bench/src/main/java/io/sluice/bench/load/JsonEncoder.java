package io.sluice.bench.load;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes nested maps, lists, strings, numbers, booleans and nulls as indented JSON (RFC 8259).
 * Stateless; any thread. Enough for result files; not a general-purpose library.
 */
final class JsonEncoder {

    private JsonEncoder() {
    }

    static String encode(Object value) {
        StringBuilder out = new StringBuilder();
        write(out, value, 0);
        return out.append('\n').toString();
    }

    private static void write(StringBuilder out, Object value, int depth) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof Map<?, ?> map) {
            writeMap(out, map, depth);
        } else if (value instanceof List<?> list) {
            writeList(out, list, depth);
        } else if (value instanceof Boolean || value instanceof Integer || value instanceof Long) {
            out.append(value);
        } else if (value instanceof Number number) {
            double d = number.doubleValue();
            // Three decimals are plenty for rates and milliseconds; Double.toString is valid JSON.
            out.append(!Double.isFinite(d) ? "null"
                    : Double.toString(Math.abs(d) < 1e12 ? Math.round(d * 1000) / 1000.0 : d));
        } else {
            writeString(out, value.toString());
        }
    }

    private static void writeMap(StringBuilder out, Map<?, ?> map, int depth) {
        out.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> entry : map.entrySet()) {
            out.append(first ? "\n" : ",\n").append("  ".repeat(depth + 1));
            writeString(out, String.valueOf(entry.getKey()));
            out.append(": ");
            write(out, entry.getValue(), depth + 1);
            first = false;
        }
        out.append(first ? "}" : "\n" + "  ".repeat(depth) + "}");
    }

    private static void writeList(StringBuilder out, List<?> list, int depth) {
        out.append('[');
        for (int i = 0; i < list.size(); i++) {
            out.append(i == 0 ? "" : ", ");
            write(out, list.get(i), depth + 1);
        }
        out.append(']');
    }

    private static void writeString(StringBuilder out, String text) {
        out.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
