package io.sluice.smtp.server;

import java.util.concurrent.atomic.LongAdder;
import java.util.function.ObjLongConsumer;

/**
 * Counts per SMTP reply code (400..599), one striped adder per code made up front, so counting
 * from any loop never allocates or locks. Read with {@link #forEachNonZero} at scrape time.
 */
public final class ReplyCodeCounts {

    private static final int FIRST_CODE = 400;
    private static final int LAST_CODE = 599;

    private final LongAdder[] byCode = new LongAdder[LAST_CODE - FIRST_CODE + 1];

    ReplyCodeCounts() {
        for (int i = 0; i < byCode.length; i++) {
            byCode[i] = new LongAdder();
        }
    }

    /** Any thread; codes outside 400..599 are counted as 554 (they should not occur). */
    void increment(int replyCode) {
        int i = replyCode >= FIRST_CODE && replyCode <= LAST_CODE ? replyCode - FIRST_CODE : 554 - FIRST_CODE;
        byCode[i].increment();
    }

    /** The count of one code. */
    public long count(int replyCode) {
        return replyCode < FIRST_CODE || replyCode > LAST_CODE ? 0 : byCode[replyCode - FIRST_CODE].sum();
    }

    /** Calls {@code action(code, count)} for every code counted at least once, ascending. */
    public void forEachNonZero(ObjLongConsumer<Integer> action) {
        for (int i = 0; i < byCode.length; i++) {
            long n = byCode[i].sum();
            if (n != 0) {
                action.accept(FIRST_CODE + i, n);
            }
        }
    }
}
