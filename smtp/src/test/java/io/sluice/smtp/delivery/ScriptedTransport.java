package io.sluice.smtp.delivery;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A transport that records every job (with its content) and answers each recipient from a script,
 * or holds the job's callback for the test to answer when the script is null.
 */
final class ScriptedTransport implements Transport {
    final List<DeliveryJob> jobs = new CopyOnWriteArrayList<>();
    final List<String> contents = new CopyOnWriteArrayList<>();
    final List<DeliveryCallback> held = new CopyOnWriteArrayList<>();
    volatile Function<String, RecipientResult> script = r -> RecipientResult.delivered(r, "ok");
    volatile boolean throwNext;

    @Override
    public void deliver(DeliveryJob job, DeliveryCallback callback) {
        jobs.add(job);
        contents.add(content(job));
        if (throwNext) {
            throwNext = false;
            throw new IllegalStateException("transport exploded");
        }
        Function<String, RecipientResult> s = script;
        if (s == null) {
            held.add(callback);
            return;
        }
        for (String rcpt : job.recipients()) {
            callback.completed(s.apply(rcpt));
        }
    }

    private static String content(DeliveryJob job) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            job.copyContent(Channels.newChannel(out));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    DeliveryJob job(int i) {
        return jobs.get(i);
    }

    String content(int i) {
        return contents.get(i);
    }
}
