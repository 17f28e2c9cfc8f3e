package io.sluice.bench.load;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One line of a {@code sluice load --ledger} file: {@code MESSAGE-ID OUTCOME CODE}, e.g.
 * {@code 5f3a...e1.000000000000002a@load.sluice.test ACKNOWLEDGED 250}. The code is the reply that
 * decided the outcome, or 0 when there was none (the connection failed). Immutable; any thread.
 *
 * @param messageId the Message-ID the generator put (or would have put) in the message, no brackets
 */
public record LedgerLine(String messageId, LedgerOutcome outcome, int code) {

    /** Reads a whole ledger; for tests and harnesses after the run. */
    public static List<LedgerLine> read(Path ledger) throws IOException {
        List<LedgerLine> lines = new ArrayList<>();
        for (String text : Files.readAllLines(ledger, StandardCharsets.US_ASCII)) {
            if (!text.isEmpty()) {
                lines.add(parse(text));
            }
        }
        return lines;
    }

    /** @throws IllegalArgumentException when {@code text} is not a ledger line */
    public static LedgerLine parse(String text) {
        String[] fields = text.split(" ");
        if (fields.length != 3) {
            throw new IllegalArgumentException("not a ledger line: " + text);
        }
        return new LedgerLine(fields[0], LedgerOutcome.valueOf(fields[1]), Integer.parseInt(fields[2]));
    }
}
