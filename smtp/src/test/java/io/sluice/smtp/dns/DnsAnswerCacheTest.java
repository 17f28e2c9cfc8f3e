package io.sluice.smtp.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.sluice.smtp.dns.DnsAnswerCache.Question;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Name;
import org.xbill.DNS.Type;

class DnsAnswerCacheTest {
    private final AtomicLong nowNanos = new AtomicLong(-5_000_000_000L); // negative: expiry must use differences
    private final DnsAnswerCache cache = new DnsAnswerCache(3, nowNanos::get);

    private static Question q(String name) throws Exception {
        return new Question(Name.fromString(name, Name.root), Type.MX);
    }

    @Test
    void keepsAnAnswerForItsTtlOnly() throws Exception {
        cache.put(q("a.example"), RrSet.noData(10));
        nowNanos.addAndGet(9_999_999_999L);
        assertNotNull(cache.get(q("A.Example")), "names compare case-insensitively");
        nowNanos.addAndGet(1);
        assertNull(cache.get(q("a.example")));
        assertEquals(0, cache.size(), "an expired entry is dropped when seen");
    }

    @Test
    void aZeroTtlIsNotKept() throws Exception {
        cache.put(q("a.example"), RrSet.noData(0));
        assertNull(cache.get(q("a.example")));
    }

    @Test
    void theLeastRecentlyUsedGoesWhenFull() throws Exception {
        cache.put(q("a.example"), RrSet.noData(60));
        cache.put(q("b.example"), RrSet.noData(60));
        cache.put(q("c.example"), RrSet.noData(60));
        assertNotNull(cache.get(q("a.example")));
        cache.put(q("d.example"), RrSet.noData(60));
        assertEquals(3, cache.size());
        assertNull(cache.get(q("b.example")), "b was used least recently");
        assertNotNull(cache.get(q("a.example")));
        assertNotNull(cache.get(q("c.example")));
        assertNotNull(cache.get(q("d.example")));
    }

    @Test
    void typesAreSeparateQuestions() throws Exception {
        Name name = Name.fromString("a.example.");
        cache.put(new Question(name, Type.A), RrSet.noData(60));
        assertNull(cache.get(new Question(name, Type.AAAA)));
    }
}
