package io.sluice.smtp.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.util.Arrays;

import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.Spool;

/** Reads messages back out of a spool as raw octets, with or without our Received: header. */
final class StoredMessages {

    private StoredMessages() {
    }

    /** The stored octets of one message exactly as the spool keeps them. */
    static byte[] content(Spool spool, QueueId id) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        spool.copyContent(id, Channels.newChannel(out));
        return out.toByteArray();
    }

    /**
     * The message as the client sent it: everything after the first header field, which must be
     * our Received: (it may be folded over several lines, each continuation starting with a tab).
     */
    static byte[] withoutReceived(byte[] stored) {
        if (!startsWith(stored, "Received: ")) {
            throw new AssertionError("stored message does not start with our Received: line: "
                    + new String(stored, 0, Math.min(stored.length, 200), java.nio.charset.StandardCharsets.UTF_8));
        }
        for (int i = 0; i + 2 < stored.length; i++) {
            if (stored[i] == '\r' && stored[i + 1] == '\n' && stored[i + 2] != '\t' && stored[i + 2] != ' ') {
                return Arrays.copyOfRange(stored, i + 2, stored.length);
            }
        }
        throw new AssertionError("Received: line never ends");
    }

    private static boolean startsWith(byte[] bytes, String prefix) {
        if (bytes.length < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (bytes[i] != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
