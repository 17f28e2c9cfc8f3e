package io.sluice.smtp.dns;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * What one DNS question (name, type) answered, as the cache keeps it: the records of that type,
 * no data, no such name, or an alias whose target must be asked next. Immutable; any thread.
 *
 * @param outcome    which of the four
 * @param records    the records of the asked type (FOUND only), in answer order
 * @param ttlSeconds how long the answer may be reused (0 = not at all)
 * @param alias      the end of the CNAME chain to ask next (ALIAS only)
 */
record RrSet(Outcome outcome, List<Record> records, long ttlSeconds, Name alias) {
    /** Longest CNAME chain followed inside one answer. */
    static final int MAX_CHAIN = 8;
    /** Cap on positive TTLs, so a record published with a huge TTL still gets re-read daily. */
    static final long MAX_TTL_SECONDS = 86_400;
    /** Cap on negative TTLs (RFC 2308 §5 suggests one to three hours). */
    static final long MAX_NEGATIVE_TTL_SECONDS = 3 * 3600;

    /** The kinds of answer. */
    enum Outcome { FOUND, NO_DATA, NO_DOMAIN, ALIAS }

    static RrSet noData(long ttlSeconds) {
        return new RrSet(Outcome.NO_DATA, List.of(), ttlSeconds, null);
    }

    /**
     * Reads a response to the question (qname, type). A recursive resolver puts the CNAME chain
     * and the final records in the answer section; the chain is followed here.
     *
     * @throws CompletionException wrapping a temporary {@link NextHopLookupException} for any
     *     rcode other than NOERROR and NXDOMAIN (SERVFAIL, REFUSED, ...): retrying may help
     */
    static RrSet read(Message response, Name qname, int type) {
        int rcode = response.getRcode();
        if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
            throw new CompletionException(Failures.temporary(qname, type, Rcode.string(rcode)));
        }
        List<Record> answer = response.getSection(Section.ANSWER);
        Name current = qname;
        long chainTtl = MAX_TTL_SECONDS;
        for (int hop = 0; hop < MAX_CHAIN; hop++) {
            CNAMERecord cname = cnameOf(answer, current);
            if (cname == null || type == Type.CNAME) {
                break;
            }
            current = cname.getTarget();
            chainTtl = Math.min(chainTtl, cname.getTTL());
        }
        List<Record> found = new ArrayList<>();
        long ttl = chainTtl;
        for (Record r : answer) {
            if (r.getType() == type && r.getName().equals(current)) {
                found.add(r);
                ttl = Math.min(ttl, r.getTTL());
            }
        }
        if (!found.isEmpty()) {
            return new RrSet(Outcome.FOUND, List.copyOf(found), ttl, null);
        }
        if (rcode == Rcode.NXDOMAIN) {
            return new RrSet(Outcome.NO_DOMAIN, List.of(), negativeTtl(response), null);
        }
        if (!current.equals(qname)) {
            // The resolver gave the chain but not the target's records: ask for the target.
            return new RrSet(Outcome.ALIAS, List.of(), chainTtl, current);
        }
        return noData(negativeTtl(response));
    }

    private static CNAMERecord cnameOf(List<Record> answer, Name owner) {
        for (Record r : answer) {
            if (r instanceof CNAMERecord && r.getName().equals(owner)) {
                return (CNAMERecord) r;
            }
        }
        return null;
    }

    /** RFC 2308 §5: the SOA's TTL capped by its MINIMUM field; no SOA means do not cache. */
    private static long negativeTtl(Message response) {
        for (Record r : response.getSection(Section.AUTHORITY)) {
            if (r instanceof SOARecord) {
                long ttl = Math.min(r.getTTL(), ((SOARecord) r).getMinimum());
                return Math.min(ttl, MAX_NEGATIVE_TTL_SECONDS);
            }
        }
        return 0;
    }
}
