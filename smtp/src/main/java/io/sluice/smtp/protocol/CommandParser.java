package io.sluice.smtp.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Frames and parses SMTP command lines (RFC 5321 4.1) straight from a read buffer into a reused
 * {@link Command}. Strict and bounded: a line ends at CRLF only, a bare CR or LF inside it is an
 * error (never a line end: that leniency is what command and data smuggling exploit), and a line
 * over {@code maxLineOctets} is discarded without buffering and answered once.
 *
 * <p>One instance per session, used only by the session's loop thread. Parsing allocates nothing
 * except for MAIL and RCPT (the {@link MailPath} and its Strings, and the DSN parameters' ENVID
 * and ORCPT Strings of RFC 3461) and EHLO/HELO (the name String); each of these is reused when
 * the same octets come again on the session. A complete line (at most {@code maxLineOctets}) is
 * copied into a scratch array owned by the parser so the grammar runs over a plain
 * {@code byte[]}; that bounded copy is the only copy.
 */
public final class CommandParser {
    /** RFC 5321 4.5.3.1.4: a command line is at most 512 octets including CRLF. */
    public static final int DEFAULT_MAX_LINE_OCTETS = 512;
    /** Shortest line limit accepted: "QUIT" CRLF. */
    public static final int MIN_LINE_OCTETS = 6;

    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final byte SP = ' ';
    private static final int BARE_NEWLINE = 1;
    private static final int CONTROL = 2;
    /** RFC 1870: size-value is 1*20DIGIT; a longer one is malformed, a 20-digit overflow saturates. */
    private static final int MAX_SIZE_DIGITS = 20;
    /** 18 digits always fit a long, so a BDAT size cannot overflow; nobody sends an exabyte chunk. */
    private static final int MAX_CHUNK_DIGITS = 18;
    /** RFC 3461 4.4: ENVID is at most 100 characters before xtext encoding. */
    static final int MAX_ENVID_OCTETS = 100;
    /** RFC 3461 4.2: ORCPT's address is at most 500 characters before xtext encoding. */
    static final int MAX_ORCPT_OCTETS = 500;
    /** An ORCPT in RFC 3461 xtext (US-ASCII). */
    private static final int ORCPT_XTEXT = 0;
    /** An ORCPT {@code utf-8;} in RFC 6533 utf-8-addr-unitext (UTF-8 octets as they are). */
    private static final int ORCPT_UNITEXT = 1;
    /** Longest ENVID or ORCPT value remembered for reuse; longer ones (rare) are made anew each time. */
    private static final int RECENT_DSN_VALUE_OCTETS = 128;

    // Verbs as big-endian ASCII words, lower case; input is folded with | 0x20 per octet, which
    // maps only 'A'..'Z' onto 'a'..'z' so folding never makes a non-letter match.
    private static final int EHLO = 'e' << 24 | 'h' << 16 | 'l' << 8 | 'o';
    private static final int HELO = 'h' << 24 | 'e' << 16 | 'l' << 8 | 'o';
    private static final int MAIL = 'm' << 24 | 'a' << 16 | 'i' << 8 | 'l';
    private static final int RCPT = 'r' << 24 | 'c' << 16 | 'p' << 8 | 't';
    private static final int DATA = 'd' << 24 | 'a' << 16 | 't' << 8 | 'a';
    private static final int BDAT = 'b' << 24 | 'd' << 16 | 'a' << 8 | 't';
    private static final int RSET = 'r' << 24 | 's' << 16 | 'e' << 8 | 't';
    private static final int NOOP = 'n' << 24 | 'o' << 16 | 'o' << 8 | 'p';
    private static final int QUIT = 'q' << 24 | 'u' << 16 | 'i' << 8 | 't';
    private static final int VRFY = 'v' << 24 | 'r' << 16 | 'f' << 8 | 'y';
    private static final int EXPN = 'e' << 24 | 'x' << 16 | 'p' << 8 | 'n';
    private static final int HELP = 'h' << 24 | 'e' << 16 | 'l' << 8 | 'p';
    private static final int AUTH = 'a' << 24 | 'u' << 16 | 't' << 8 | 'h';
    private static final int POST = 'p' << 24 | 'o' << 16 | 's' << 8 | 't';
    private static final int HEAD = 'h' << 24 | 'e' << 16 | 'a' << 8 | 'd';
    private static final int GET = 'g' << 16 | 'e' << 8 | 't';
    private static final int PUT = 'p' << 16 | 'u' << 8 | 't';
    private static final long STARTTLS = word("starttls");
    private static final long CONNECT = word("connect");
    private static final long OPTIONS = word("options");

    private final int maxLineOctets;
    /** Whether DSN is offered: when not, RET, ENVID, NOTIFY and ORCPT are unknown parameters. */
    private final boolean dsn;
    /** Scratch for one line: RFC 5321's 512 octets at first, grown once to the limit by a longer line. */
    private byte[] line;
    private final PathParser paths = new PathParser();
    private final RecentValue<String> recentHelo = new RecentValue<>(1, DEFAULT_MAX_LINE_OCTETS);
    /** ENVID and ORCPT values last seen; made at a session's first DSN parameter (most never send one). */
    private RecentValue<String> recentEnvelopeIds;
    private RecentValue<String> recentOriginalRecipients;
    private boolean discarding;
    private boolean discardedCr;

    /** Creates a parser with the RFC 5321 limit of 512 octets per line. */
    private int lastLength;

    public CommandParser() {
        this(DEFAULT_MAX_LINE_OCTETS);
    }

    /**
     * @param maxLineOctets longest accepted command line including CRLF (default 512)
     * @throws IllegalArgumentException when below {@link #MIN_LINE_OCTETS}
     */
    public CommandParser(int maxLineOctets) {
        this(maxLineOctets, true);
    }

    /**
     * @param maxLineOctets longest accepted command line including CRLF (default 512)
     * @param dsn           whether DSN (RFC 3461) is offered; when not, its parameters are not parsed
     *                      and get 555 like any parameter we do not know (RFC 5321 4.1.1.11)
     * @throws IllegalArgumentException when below {@link #MIN_LINE_OCTETS}
     */
    public CommandParser(int maxLineOctets, boolean dsn) {
        this.dsn = dsn;
        if (maxLineOctets < MIN_LINE_OCTETS) {
            throw new IllegalArgumentException("maxLineOctets=" + maxLineOctets + " < MIN=" + MIN_LINE_OCTETS);
        }
        this.maxLineOctets = maxLineOctets;
        // A limit over 512 (DSN's ORCPT and ENVID lengthen MAIL and RCPT) costs idle sessions
        // nothing: the array grows when a longer line first arrives.
        this.line = new byte[Math.min(maxLineOctets, DEFAULT_MAX_LINE_OCTETS)];
    }

    /** @return the longest accepted command line including CRLF */
    public int maxLineOctets() {
        return maxLineOctets;
    }

    /**
     * Scans {@code in} from its position for one complete CRLF-terminated command line.
     *
     * @return false when more input is needed: {@code in.position()} is then unchanged, unless the
     *         parser is discarding an over-long line, in which case it consumed what it discarded.
     *         True when one line was consumed ({@code in.position()} just after its CRLF) and
     *         {@code out} was filled: a valid command, or {@code out.error() != null}.
     */
    public boolean parse(ByteBuffer in, Command out) {
        if (discarding) {
            return discard(in, out);
        }
        int start = in.position();
        int scanEnd = (int) Math.min(in.limit(), (long) start + maxLineOctets);
        int flags = 0;
        byte prev = 0;
        for (int i = start; i < scanEnd; i++) {
            byte c = in.get(i);
            if (prev == CR) {
                if (c == LF) {
                    int length = i - 1 - start;
                    if (length > line.length) {
                        line = new byte[maxLineOctets]; // once per session, for its first long line
                    }
                    in.get(start, line, 0, length);
                    lastLength = length;
                    in.position(i + 1);
                    parseLine(length, flags, out);
                    return true;
                }
                flags |= BARE_NEWLINE;
            }
            if (c == LF) {
                flags |= BARE_NEWLINE;
            } else if (c >= 0 && c < SP && c != CR || c == 0x7F) {
                flags |= CONTROL;
            }
            prev = c;
        }
        if (scanEnd - start < maxLineOctets) {
            return false;
        }
        // No CRLF within the limit: the line is too long whatever follows. Drop what we have.
        discarding = true;
        discardedCr = prev == CR;
        in.position(scanEnd);
        return discard(in, out);
    }

    /**
     * The last complete line, without its CRLF, as ASCII text (octets over 127 become U+FFFD).
     * For the rare lines that are not commands: a SASL response during AUTH. Allocates.
     */
    public String lastLine() {
        return new String(line, 0, lastLength, StandardCharsets.US_ASCII);
    }

    /** Forgets any partial state (a line being discarded); called when TLS starts. */
    public void reset() {
        discarding = false;
        discardedCr = false;
    }

    private boolean discard(ByteBuffer in, Command out) {
        int limit = in.limit();
        boolean prevCr = discardedCr;
        for (int i = in.position(); i < limit; i++) {
            byte c = in.get(i);
            if (c == LF && prevCr) {
                in.position(i + 1);
                reset();
                out.clear(Verb.UNKNOWN);
                out.fail(Replies.LINE_TOO_LONG);
                return true;
            }
            prevCr = c == CR;
        }
        discardedCr = prevCr;
        in.position(limit);
        return false;
    }

    private void parseLine(int length, int flags, Command out) {
        if (flags != 0) {
            out.clear(Verb.UNKNOWN);
            out.fail((flags & BARE_NEWLINE) != 0 ? Replies.BARE_NEWLINE_IN_COMMAND : Replies.CONTROL_CHARACTER);
            return;
        }
        int verbEnd = 0;
        while (verbEnd < length && line[verbEnd] != SP) {
            verbEnd++;
        }
        int end = length;
        while (end > verbEnd && line[end - 1] == SP) {
            end--; // trailing spaces are common and harmless
        }
        Verb verb = verb(verbEnd, verbEnd < length);
        out.clear(verb);
        out.hasArgument(end > verbEnd);
        int arg = verbEnd + 1;
        switch (verb) {
            case EHLO:
                helo(arg, end, out, Replies.EHLO_SYNTAX);
                break;
            case HELO:
                helo(arg, end, out, Replies.HELO_SYNTAX);
                break;
            case MAIL:
                mail(arg, end, out);
                break;
            case RCPT:
                rcpt(arg, end, out);
                break;
            case BDAT:
                bdat(arg, end, out);
                break;
            case VRFY:
            case EXPN:
                if (!out.hasArgument()) {
                    out.fail(Replies.ARGUMENT_REQUIRED);
                }
                break;
            case AUTH:
                if (out.hasArgument()) {
                    out.authArgument(new String(line, arg, end - arg, StandardCharsets.US_ASCII));
                }
                break;
            case HTTP:
                out.fail(Replies.HTTP_NOT_SERVED);
                break;
            case UNKNOWN:
                out.fail(Replies.COMMAND_UNRECOGNIZED);
                break;
            default:
                break; // DATA, RSET, QUIT, STARTTLS, NOOP, HELP, AUTH: the session judges hasArgument()
        }
    }

    private Verb verb(int length, boolean followedBySpace) {
        switch (length) {
            case 3:
                int word3 = ((line[0] & 0xFF) << 16 | (line[1] & 0xFF) << 8 | (line[2] & 0xFF)) | 0x202020;
                return followedBySpace && (word3 == GET || word3 == PUT) ? Verb.HTTP : Verb.UNKNOWN;
            case 4:
                return verb4(followedBySpace);
            case 7:
                long word7 = fold(7);
                return followedBySpace && (word7 == CONNECT || word7 == OPTIONS) ? Verb.HTTP : Verb.UNKNOWN;
            case 8:
                return fold(8) == STARTTLS ? Verb.STARTTLS : Verb.UNKNOWN;
            default:
                return Verb.UNKNOWN;
        }
    }

    private Verb verb4(boolean followedBySpace) {
        int word = ((line[0] & 0xFF) << 24 | (line[1] & 0xFF) << 16 | (line[2] & 0xFF) << 8 | (line[3] & 0xFF)) | 0x20202020;
        switch (word) {
            case EHLO: return Verb.EHLO;
            case HELO: return Verb.HELO;
            case MAIL: return Verb.MAIL;
            case RCPT: return Verb.RCPT;
            case DATA: return Verb.DATA;
            case BDAT: return Verb.BDAT;
            case RSET: return Verb.RSET;
            case NOOP: return Verb.NOOP;
            case QUIT: return Verb.QUIT;
            case VRFY: return Verb.VRFY;
            case EXPN: return Verb.EXPN;
            case HELP: return Verb.HELP;
            case AUTH: return Verb.AUTH;
            case POST:
            case HEAD:
                return followedBySpace ? Verb.HTTP : Verb.UNKNOWN;
            default:
                return Verb.UNKNOWN;
        }
    }

    private long fold(int length) {
        long word = 0;
        for (int i = 0; i < length; i++) {
            word = word << 8 | (line[i] & 0xFF) | 0x20;
        }
        return word;
    }

    private static long word(String lower) {
        long word = 0;
        for (int i = 0; i < lower.length(); i++) {
            word = word << 8 | lower.charAt(i);
        }
        return word;
    }

    /** EHLO/HELO: one domain (a trailing root dot allowed) or an address literal, nothing else. */
    private void helo(int arg, int end, Command out, Reply missing) {
        if (!out.hasArgument()) {
            out.fail(missing);
            return;
        }
        boolean valid;
        if (line[arg] == '[') {
            valid = AddressSyntax.isAddressLiteral(line, arg, end, true);
        } else {
            int to = line[end - 1] == '.' ? end - 1 : end;
            valid = to > arg && AddressSyntax.scanDomain(line, arg, to, false) == to;
        }
        if (!valid) {
            out.fail(Replies.BAD_HELO_HOSTNAME);
            return;
        }
        String name = recentHelo.lookup(line, arg, end);
        if (name == null) {
            // Allocation allowed: the client name is kept for the session (Received: header).
            name = new String(line, arg, end - arg, StandardCharsets.ISO_8859_1);
            recentHelo.remember(line, arg, end, name);
        }
        out.domain(name);
    }

    /** MAIL FROM:[SP]&lt;path&gt; *(SP param): the one space after the colon is what many clients send. */
    private void mail(int arg, int end, Command out) {
        int p = pathStart(arg, end, "from:");
        if (p < 0) {
            out.fail(Replies.MAIL_SYNTAX);
            return;
        }
        p = paths.parse(line, p, end, true);
        if (p < 0) {
            out.fail(Replies.BAD_SENDER_ADDRESS);
            return;
        }
        out.path(paths.path());
        parameters(p, end, false, out);
    }

    /** The SP-separated esmtp-params in {@code [p, end)} of MAIL ({@code rcpt} false) or RCPT; fails {@code out} at the first bad one. */
    private void parameters(int p, int end, boolean rcpt, Command out) {
        while (p < end) {
            if (line[p] != SP) {
                out.fail(Replies.SYNTAX_ERROR_PARAMETERS);
                return;
            }
            int keyword = p + 1;
            int next = keyword;
            while (next < end && line[next] != SP) {
                next++;
            }
            Reply error = rcpt ? rcptParameter(keyword, next, out) : mailParameter(keyword, next, out);
            if (error != null) {
                out.fail(error);
                return;
            }
            p = next;
        }
    }

    /** One esmtp-param of MAIL in {@code [from, to)}; returns the error reply or null. */
    private Reply mailParameter(int from, int to, Command out) {
        int equals = from;
        while (equals < to && line[equals] != '=') {
            equals++;
        }
        boolean hasValue = equals < to;
        int value = equals + 1;
        if (from == equals) {
            return Replies.SYNTAX_ERROR_PARAMETERS;
        } else if (AddressSyntax.equalsIgnoreCase(line, from, equals, "size")) {
            long octets = hasValue && out.size() < 0 ? decimal(value, to, MAX_SIZE_DIGITS) : -1;
            if (octets < 0) {
                return Replies.SYNTAX_ERROR_PARAMETERS;
            }
            out.size(octets);
        } else if (AddressSyntax.equalsIgnoreCase(line, from, equals, "body")) {
            Body body = hasValue && out.body() == Body.NONE ? body(value, to) : Body.NONE;
            if (body == Body.NONE) {
                return Replies.SYNTAX_ERROR_PARAMETERS;
            }
            out.body(body);
        } else if (AddressSyntax.equalsIgnoreCase(line, from, equals, "smtputf8")) {
            if (hasValue || out.smtpUtf8()) {
                return Replies.SYNTAX_ERROR_PARAMETERS;
            }
            out.smtpUtf8(true);
        } else if (AddressSyntax.equalsIgnoreCase(line, from, equals, "auth")) {
            // RFC 4954 5: AUTH's mailbox is xtext, as RFC 3461 4 defines it.
            if (!hasValue || out.authParameter() || Xtext.decodedLength(line, value, to, false, false) < 0) {
                return Replies.SYNTAX_ERROR_PARAMETERS;
            }
            out.authParameter(true); // the session answers 555 where AUTH is not offered
        } else if (dsn && AddressSyntax.equalsIgnoreCase(line, from, equals, "ret")) {
            return ret(hasValue, value, to, out);
        } else if (dsn && AddressSyntax.equalsIgnoreCase(line, from, equals, "envid")) {
            return envelopeId(hasValue, value, to, out);
        } else {
            return Replies.UNSUPPORTED_PARAMETER;
        }
        return null;
    }

    /** RFC 3461 4.3: {@code RET=FULL / HDRS}, once. */
    private Reply ret(boolean hasValue, int value, int to, Command out) {
        if (out.ret() != 0) {
            return Replies.DUPLICATE_PARAMETER;
        }
        int ret = !hasValue ? 0
                : AddressSyntax.equalsIgnoreCase(line, value, to, "full") ? Command.RET_FULL
                : AddressSyntax.equalsIgnoreCase(line, value, to, "hdrs") ? Command.RET_HDRS : 0;
        if (ret == 0) {
            return Replies.RET_SYNTAX;
        }
        out.ret(ret);
        return null;
    }

    /** RFC 3461 4.4: {@code ENVID=xtext}, at most 100 printable characters once decoded, once. */
    private Reply envelopeId(boolean hasValue, int value, int to, Command out) {
        if (out.envelopeId() != null) {
            return Replies.DUPLICATE_PARAMETER;
        }
        int octets = hasValue ? Xtext.decodedLength(line, value, to, true, true) : -1;
        if (octets < 0 || octets > MAX_ENVID_OCTETS) {
            return Replies.ENVID_SYNTAX;
        }
        Xtext.upperCaseHex(line, value, to);
        if (recentEnvelopeIds == null) {
            recentEnvelopeIds = new RecentValue<>(1, RECENT_DSN_VALUE_OCTETS);
        }
        out.envelopeId(ascii(recentEnvelopeIds, value, to));
        return null;
    }

    private Body body(int from, int to) {
        if (AddressSyntax.equalsIgnoreCase(line, from, to, "7bit")) {
            return Body.SEVEN_BIT;
        } else if (AddressSyntax.equalsIgnoreCase(line, from, to, "8bitmime")) {
            return Body.EIGHT_BIT_MIME;
        } else if (AddressSyntax.equalsIgnoreCase(line, from, to, "binarymime")) {
            return Body.BINARY_MIME;
        }
        return Body.NONE;
    }

    /** RCPT TO:[SP]&lt;path&gt; *(SP param): the DSN parameters NOTIFY and ORCPT (RFC 3461 4.1, 4.2). */
    private void rcpt(int arg, int end, Command out) {
        int p = pathStart(arg, end, "to:");
        if (p < 0) {
            out.fail(Replies.RCPT_SYNTAX);
            return;
        }
        p = paths.parse(line, p, end, false);
        if (p < 0) {
            out.fail(Replies.BAD_RECIPIENT_ADDRESS);
            return;
        }
        out.path(paths.path());
        parameters(p, end, true, out);
    }

    /** One esmtp-param of RCPT in {@code [from, to)}; returns the error reply or null. */
    private Reply rcptParameter(int from, int to, Command out) {
        int equals = from;
        while (equals < to && line[equals] != '=') {
            equals++;
        }
        boolean hasValue = equals < to;
        int value = equals + 1;
        if (from == equals) {
            return Replies.SYNTAX_ERROR_PARAMETERS;
        } else if (dsn && AddressSyntax.equalsIgnoreCase(line, from, equals, "notify")) {
            if (out.notifyBits() != 0) {
                return Replies.DUPLICATE_PARAMETER;
            }
            int notify = hasValue ? notify(value, to) : 0;
            if (notify == 0) {
                return Replies.NOTIFY_SYNTAX;
            }
            out.notifyBits(notify);
        } else if (dsn && AddressSyntax.equalsIgnoreCase(line, from, equals, "orcpt")) {
            if (out.originalRecipient() != null) {
                return Replies.DUPLICATE_PARAMETER;
            }
            int form = hasValue ? originalRecipientForm(value, to) : -1;
            if (form < 0) {
                return Replies.ORCPT_SYNTAX;
            }
            if (recentOriginalRecipients == null) {
                recentOriginalRecipients = new RecentValue<>(PathParser.RECENT_PATHS, RECENT_DSN_VALUE_OCTETS);
            }
            // Kept as received (RFC 6533 3: unitext goes on as it is, to hops that take SMTPUTF8).
            boolean utf8 = form == ORCPT_UNITEXT;
            out.originalRecipient(text(recentOriginalRecipients, value, to, utf8), utf8);
        } else {
            return Replies.UNSUPPORTED_PARAMETER;
        }
        return null;
    }

    /** The ASCII text of {@code line[from, to)}, the remembered String when these octets were seen lately. */
    private String ascii(RecentValue<String> recent, int from, int to) {
        return text(recent, from, to, false);
    }

    /** The text of {@code line[from, to)} (UTF-8 or ASCII), the remembered String when these octets were seen lately. */
    private String text(RecentValue<String> recent, int from, int to, boolean utf8) {
        String value = recent.lookup(line, from, to);
        if (value == null) {
            // Allocation allowed: the value is kept with the envelope; repeats (a recipient list
            // sent again on the connection) reuse it.
            value = new String(line, from, to - from, utf8 ? StandardCharsets.UTF_8 : StandardCharsets.US_ASCII);
            recent.remember(line, from, to, value);
        }
        return value;
    }

    /**
     * RFC 3461 4.1: {@code "NEVER" / 1#("SUCCESS" / "FAILURE" / "DELAY")}, each keyword at most once.
     *
     * @return the NOTIFY bits, 0 when malformed
     */
    private int notify(int from, int to) {
        int bits = 0;
        int start = from;
        while (start <= to) {
            int comma = start;
            while (comma < to && line[comma] != ',') {
                comma++;
            }
            int bit = notifyKeyword(start, comma);
            if (bit == 0 || (bits & bit) != 0) {
                return 0; // unknown, empty or repeated keyword
            }
            bits |= bit;
            start = comma + 1;
        }
        return (bits & Command.NOTIFY_NEVER) != 0 && bits != Command.NOTIFY_NEVER ? 0 : bits;
    }

    private int notifyKeyword(int from, int to) {
        if (AddressSyntax.equalsIgnoreCase(line, from, to, "success")) {
            return Command.NOTIFY_SUCCESS;
        } else if (AddressSyntax.equalsIgnoreCase(line, from, to, "failure")) {
            return Command.NOTIFY_FAILURE;
        } else if (AddressSyntax.equalsIgnoreCase(line, from, to, "delay")) {
            return Command.NOTIFY_DELAY;
        } else if (AddressSyntax.equalsIgnoreCase(line, from, to, "never")) {
            return Command.NOTIFY_NEVER;
        }
        return 0;
    }

    /**
     * RFC 3461 4.2: {@code addr-type ";" xtext}, addr-type an atom (RFC 5322 atext, as registered
     * types like {@code rfc822} and {@code utf-8} are), the address at most 500 printable characters;
     * or RFC 6533 3: {@code "utf-8;" utf-8-addr-unitext} when it has octets over 0x7F (the session
     * takes that only under SMTPUTF8). Makes xtext's hex digits upper case in place.
     *
     * @return {@link #ORCPT_XTEXT}, {@link #ORCPT_UNITEXT}, or -1 when malformed
     */
    private int originalRecipientForm(int from, int to) {
        int semicolon = from;
        while (semicolon < to && line[semicolon] != ';') {
            if (line[semicolon] < 0 || !AddressSyntax.isAtext(line[semicolon])) {
                return -1;
            }
            semicolon++;
        }
        if (semicolon == from || semicolon == to) {
            return -1;
        }
        if (AddressSyntax.equalsIgnoreCase(line, from, semicolon, "utf-8") && hasHighOctet(semicolon + 1, to)) {
            int chars = Xtext.unitextLength(line, semicolon + 1, to);
            return chars < 0 || chars > MAX_ORCPT_OCTETS ? -1 : ORCPT_UNITEXT;
        }
        int octets = Xtext.decodedLength(line, semicolon + 1, to, true, true);
        if (octets < 0 || octets > MAX_ORCPT_OCTETS) {
            return -1;
        }
        Xtext.upperCaseHex(line, semicolon + 1, to);
        return ORCPT_XTEXT;
    }

    private boolean hasHighOctet(int from, int to) {
        for (int i = from; i < to; i++) {
            if (line[i] < 0) {
                return true;
            }
        }
        return false;
    }

    /** @return the index of '&lt;' after "FROM:" / "TO:" and at most one space, or -1 */
    private int pathStart(int arg, int end, String keyword) {
        int p = arg + keyword.length();
        if (p > end || !AddressSyntax.equalsIgnoreCase(line, arg, p, keyword)) {
            return -1;
        }
        if (p < end && line[p] == SP) {
            p++;
        }
        return p < end && line[p] == '<' ? p : -1;
    }

    /** BDAT SP chunk-size [SP "LAST"] (RFC 3030 2). */
    private void bdat(int arg, int end, Command out) {
        int sizeEnd = arg;
        while (sizeEnd < end && line[sizeEnd] != SP) {
            sizeEnd++;
        }
        long octets = out.hasArgument() ? decimal(arg, sizeEnd, MAX_CHUNK_DIGITS) : -1;
        boolean last = sizeEnd < end && AddressSyntax.equalsIgnoreCase(line, sizeEnd + 1, end, "last");
        if (octets >= 0) {
            out.chunk(octets, last); // kept when the rest is malformed: the session still reads the chunk
        }
        if (octets < 0 || (sizeEnd < end && !last)) {
            out.fail(Replies.BDAT_SYNTAX);
        }
    }

    /** @return the decimal value of 1..maxDigits digits in {@code [from, to)}, saturating at Long.MAX_VALUE; -1 if malformed */
    private long decimal(int from, int to, int maxDigits) {
        if (from >= to || to - from > maxDigits) {
            return -1;
        }
        long value = 0;
        for (int i = from; i < to; i++) {
            int digit = line[i] - '0';
            if (digit < 0 || digit > 9) {
                return -1;
            }
            value = value > (Long.MAX_VALUE - digit) / 10 ? Long.MAX_VALUE : value * 10 + digit;
        }
        return value;
    }
}
