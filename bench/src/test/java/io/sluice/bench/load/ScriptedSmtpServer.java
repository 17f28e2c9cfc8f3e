package io.sluice.bench.load;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A tiny blocking SMTP server for the ledger tests that misbehaves after DATA in one scripted way
 * per run: closes (with a reset) in the middle of the message text, closes right after the final
 * dot without a reply, or rejects the final dot. No PIPELINING, one connection at a time on its own
 * thread, 127.0.0.1 only; {@link #close()} stops it. Records the Message-IDs whose final dot it read.
 */
final class ScriptedSmtpServer implements AutoCloseable {

    /** What happens after 354. */
    enum Script {
        /** Read {@link #MID_DATA_BYTES} of the text, then reset the connection. */
        RESET_MID_DATA,
        /** Read up to the final dot, then close without a reply. */
        CLOSE_AFTER_DOT,
        /** Read up to the final dot and answer 554. */
        REJECT_DOT
    }

    static final int MID_DATA_BYTES = 4096;

    final Set<String> completeMessageIds = ConcurrentHashMap.newKeySet();
    private final Script script;
    private final ServerSocket listener;
    private final Thread thread;

    ScriptedSmtpServer(Script script) throws IOException {
        this.script = script;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.thread = new Thread(this::serve, "scripted-smtp");
        thread.setDaemon(true);
        thread.start();
    }

    InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort());
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }

    private void serve() {
        while (!listener.isClosed()) {
            try (Socket socket = listener.accept()) {
                converse(socket);
            } catch (IOException e) {
                // the client went away or the listener closed: next connection
            }
        }
    }

    private void converse(Socket socket) throws IOException {
        InputStream in = new BufferedInputStream(socket.getInputStream());
        OutputStream out = socket.getOutputStream();
        reply(out, "220 scripted.test ESMTP");
        String line;
        while ((line = readLine(in)) != null) {
            String verb = line.length() >= 4 ? line.substring(0, 4).toUpperCase(java.util.Locale.ROOT) : line;
            switch (verb) {
                case "EHLO", "HELO", "MAIL", "RCPT", "RSET", "NOOP" -> reply(out, "250 ok");
                case "QUIT" -> {
                    reply(out, "221 bye");
                    return;
                }
                case "DATA" -> {
                    reply(out, "354 go ahead");
                    if (!afterData(socket, in, out)) {
                        return;
                    }
                }
                default -> reply(out, "500 what");
            }
        }
    }

    /** Runs the script; false when the connection is over. */
    private boolean afterData(Socket socket, InputStream in, OutputStream out) throws IOException {
        if (script == Script.RESET_MID_DATA) {
            in.readNBytes(MID_DATA_BYTES);
            socket.setSoLinger(true, 0);
            return false;
        }
        String messageId = readMessage(in);
        if (messageId == null) {
            return false;
        }
        completeMessageIds.add(messageId);
        if (script == Script.CLOSE_AFTER_DOT) {
            return false;
        }
        reply(out, "554 5.6.0 no thanks");
        return true;
    }

    /** Reads up to the final dot; the Message-ID without brackets, or null at end of input. */
    private static String readMessage(InputStream in) throws IOException {
        String messageId = "";
        String line;
        while ((line = readLine(in)) != null) {
            if (line.equals(".")) {
                return messageId;
            }
            if (line.startsWith("Message-ID: <")) {
                messageId = line.substring("Message-ID: <".length(), line.length() - 1);
            }
        }
        return null;
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            if (b == '\n') {
                byte[] bytes = line.toByteArray();
                int length = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, length, StandardCharsets.US_ASCII);
            }
            line.write(b);
        }
        return null;
    }

    private static void reply(OutputStream out, String text) throws IOException {
        out.write((text + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }
}
