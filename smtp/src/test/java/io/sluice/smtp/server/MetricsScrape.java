package io.sluice.smtp.server;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** An HTTP GET against a metrics server on loopback, and the Prometheus text format as a map. */
final class MetricsScrape {

    private MetricsScrape() {
    }

    /** Status code and body of {@code GET path}. */
    record Response(int status, String body) {
    }

    static Response get(InetSocketAddress server, String path) throws IOException {
        URL url = new URL("http://127.0.0.1:" + server.getPort() + path);
        HttpURLConnection http = (HttpURLConnection) url.openConnection();
        http.setConnectTimeout(5_000);
        http.setReadTimeout(10_000);
        try {
            int status = http.getResponseCode();
            InputStream in = status < 400 ? http.getInputStream() : http.getErrorStream();
            String body = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return new Response(status, body);
        } finally {
            http.disconnect();
        }
    }

    /** Every sample line, {@code name{labels}} (as printed) to value; comments skipped. */
    static Map<String, Double> samples(String text) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            out.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
        }
        return out;
    }

    /** The value of the one sample whose name is {@code name} and whose labels contain every {@code label}. */
    static double value(Map<String, Double> samples, String name, String... labels) {
        Double found = null;
        for (Map.Entry<String, Double> e : samples.entrySet()) {
            String key = e.getKey();
            String sampleName = key.indexOf('{') < 0 ? key : key.substring(0, key.indexOf('{'));
            if (!sampleName.equals(name)) {
                continue;
            }
            boolean all = true;
            for (String label : labels) {
                all &= key.contains(label);
            }
            if (all) {
                if (found != null) {
                    throw new AssertionError("more than one sample " + name + " with " + String.join(",", labels));
                }
                found = e.getValue();
            }
        }
        if (found == null) {
            throw new AssertionError("no sample " + name + " with " + String.join(",", labels) + " in " + samples.keySet());
        }
        return found;
    }
}
