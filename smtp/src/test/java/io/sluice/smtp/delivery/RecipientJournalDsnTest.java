package io.sluice.smtp.delivery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The DSN records of recipients.log: a hand-over to a DSN hop and a sent success report survive reading and rewriting. */
class RecipientJournalDsnTest {
    @TempDir
    Path dir;

    @Test
    void handOverAndSuccessNoticeAreReadBackAndKeptByARewrite() throws Exception {
        try (RecipientJournal j = RecipientJournal.in(dir)) {
            j.recordFinal(7, 0, 1, RecipientResult.delivered("a@x", "queued").withDsnPassedOn(), 1000);
            j.recordFinal(7, 1, 1, RecipientResult.delivered("b@x", "queued"), 1000);
            j.recordFinal(8, 0, 1, RecipientResult.delivered("c@x", "queued"), 1000);
            j.recordSuccessNotified(8, 1001);
            j.flush(true);
        }
        Map<Long, RecipientJournal.MessageRecord> read = RecipientJournal.read(dir);
        check(read);
        try (RecipientJournal j = RecipientJournal.in(dir)) {
            j.compact(read, List.of(7L, 8L)); // what a restart does
        }
        check(RecipientJournal.read(dir));
    }

    private static void check(Map<Long, RecipientJournal.MessageRecord> read) {
        RecipientJournal.MessageRecord seven = read.get(7L);
        assertTrue(seven.dsnPassedOn(0));
        assertFalse(seven.dsnPassedOn(1));
        assertFalse(seven.successNotified());
        assertEquals("delivered", seven.recipient(0).state());
        RecipientJournal.MessageRecord eight = read.get(8L);
        assertFalse(eight.dsnPassedOn(0));
        assertTrue(eight.successNotified());
    }
}
