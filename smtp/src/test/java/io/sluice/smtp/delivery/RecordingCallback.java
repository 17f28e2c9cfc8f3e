package io.sluice.smtp.delivery;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** Collects the results a transport reports. */
final class RecordingCallback implements DeliveryCallback {
    final List<RecipientResult> results = new CopyOnWriteArrayList<>();
    final Map<String, RecipientResult> byRecipient = new ConcurrentHashMap<>();

    @Override
    public void completed(RecipientResult result) {
        results.add(result);
        byRecipient.put(result.recipient(), result);
    }
}
