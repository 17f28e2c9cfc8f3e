package io.sluice.smtp.delivery;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import io.sluice.smtp.spool.MessageSource;
import io.sluice.smtp.spool.QueueId;
import io.sluice.smtp.spool.QueuedMessage;

/** A message source in memory, for transport tests that need no spool. */
final class InMemorySource implements MessageSource {
    final Map<QueueId, QueuedMessage> messages = new ConcurrentHashMap<>();
    final Map<QueueId, byte[]> contents = new ConcurrentHashMap<>();

    void put(QueuedMessage message, byte[] content) {
        messages.put(message.id(), message);
        contents.put(message.id(), content);
    }

    @Override
    public List<QueuedMessage> list() {
        return new ArrayList<>(messages.values());
    }

    @Override
    public void copyContent(QueueId id, WritableByteChannel out) throws IOException {
        byte[] content = contents.get(id);
        if (content == null) {
            throw new IOException("no queued message " + id);
        }
        ByteBuffer b = ByteBuffer.wrap(content);
        while (b.hasRemaining()) {
            out.write(b);
        }
    }

    @Override
    public boolean remove(QueueId id) {
        contents.remove(id);
        return messages.remove(id) != null;
    }

    @Override
    public void onDurable(Consumer<QueuedMessage> consumer) {
    }
}
