package io.sluice.smtp.protocol;

/**
 * One parsed command line, filled in place by {@link CommandParser#parse} and reused for every
 * command of a session so parsing allocates nothing. Owned by the session's loop thread; read it
 * only until the next {@code parse} call overwrites it. When {@link #error()} is not null the line
 * was rejected and {@code error()} is the exact reply to send; {@link #verb()} then says which
 * command it was, or {@link Verb#UNKNOWN} when the line could not be read at all.
 */
public final class Command {
    /** {@link #ret()}: RET=FULL. */
    public static final int RET_FULL = 1;
    /** {@link #ret()}: RET=HDRS. */
    public static final int RET_HDRS = 2;
    /** {@link #notifyBits()} bit: SUCCESS. The values equal the spool's RecipientDsn bits. */
    public static final int NOTIFY_SUCCESS = 1;
    /** {@link #notifyBits()} bit: FAILURE. */
    public static final int NOTIFY_FAILURE = 2;
    /** {@link #notifyBits()} bit: DELAY. */
    public static final int NOTIFY_DELAY = 4;
    /** {@link #notifyBits()}: NEVER, never combined with another bit. */
    public static final int NOTIFY_NEVER = 8;

    private Verb verb = Verb.UNKNOWN;
    private Reply error;
    private String domain;
    private MailPath path;
    private long size = -1;
    private Body body = Body.NONE;
    private boolean smtpUtf8;
    private boolean authParameter;
    private long chunkSize = -1;
    private boolean lastChunk;
    private boolean hasArgument;
    private String authArgument;
    private int ret;
    private String envelopeId;
    private int notify;
    private String originalRecipient;
    private boolean originalRecipientUtf8;

    /** Creates an empty command (verb UNKNOWN); one per session. */
    public Command() {
    }

    /** @return the verb; {@link Verb#UNKNOWN} for unrecognised or unreadable lines */
    public Verb verb() {
        return verb;
    }

    /** @return null when the command is valid, else the reply the session must send */
    public Reply error() {
        return error;
    }

    /** @return the validated EHLO/HELO domain or address literal as sent (safe for a Received: header), else null */
    public String domain() {
        return domain;
    }

    /** @return the MAIL FROM or RCPT TO path, else null */
    public MailPath path() {
        return path;
    }

    /** @return MAIL {@code SIZE=} in octets, -1 when absent; Long.MAX_VALUE when it overflows a long */
    public long size() {
        return size;
    }

    /** @return MAIL {@code BODY=}, {@link Body#NONE} when absent */
    public Body body() {
        return body;
    }

    /** @return true when MAIL carried the SMTPUTF8 parameter */
    public boolean smtpUtf8() {
        return smtpUtf8;
    }

    /**
     * @return true when MAIL carried a well-formed {@code AUTH=} parameter (RFC 4954 5). Its value is
     *         not kept: we trust no client's claim about who submitted a message, which RFC 4954
     *         allows (such a server parses the parameter and discards it, as if it were {@code AUTH=<>}).
     */
    public boolean authParameter() {
        return authParameter;
    }

    /**
     * @return the BDAT chunk size in octets, also when the rest of the line is malformed (the chunk
     *         follows anyway and must be read); -1 for other verbs and an unreadable size
     */
    public long chunkSize() {
        return chunkSize;
    }

    /** @return true for {@code BDAT n LAST} */
    public boolean lastChunk() {
        return lastChunk;
    }

    /**
     * @return true when anything but spaces followed the verb; for DATA, RSET, QUIT and STARTTLS the
     *         session answers {@link Replies#NO_PARAMETERS_ALLOWED}
     */
    public boolean hasArgument() {
        return hasArgument;
    }

    /**
     * AUTH's argument as sent ({@code "PLAIN dGVzdA=="}), or {@code null}; the one verb whose
     * argument is kept as text, because SASL needs it and AUTH is rare.
     */
    public String authArgument() {
        return authArgument;
    }

    /** @return MAIL {@code RET=} (RFC 3461 4.3): {@link #RET_FULL}, {@link #RET_HDRS}, or 0 when absent */
    public int ret() {
        return ret;
    }

    /** @return MAIL {@code ENVID=} as sent (valid xtext, at most 100 characters decoded), or null */
    public String envelopeId() {
        return envelopeId;
    }

    /** @return RCPT {@code NOTIFY=} (RFC 3461 4.1) as {@code NOTIFY_*} bits, 0 when absent */
    public int notifyBits() {
        return notify;
    }

    /** @return RCPT {@code ORCPT=} as sent ({@code addr-type;xtext}, address at most 500 characters), or null */
    public String originalRecipient() {
        return originalRecipient;
    }

    /**
     * @return true when {@link #originalRecipient()} is RFC 6533's {@code utf-8;} utf-8-addr-unitext
     *         (UTF-8 octets as they are): valid only in a transaction whose MAIL had SMTPUTF8
     */
    public boolean originalRecipientUtf8() {
        return originalRecipientUtf8;
    }

    /** @return true when MAIL or RCPT carried any DSN parameter (RET, ENVID, NOTIFY, ORCPT) */
    public boolean dsnParameter() {
        return ret != 0 || envelopeId != null || notify != 0 || originalRecipient != null;
    }

    void ret(int value) {
        ret = value;
    }

    void envelopeId(String value) {
        envelopeId = value;
    }

    void notifyBits(int bits) {
        notify = bits;
    }

    void originalRecipient(String value, boolean utf8) {
        originalRecipient = value;
        originalRecipientUtf8 = utf8;
    }

    void authArgument(String value) {
        authArgument = value;
    }

    void clear(Verb newVerb) {
        authArgument = null;
        verb = newVerb;
        error = null;
        domain = null;
        path = null;
        size = -1;
        body = Body.NONE;
        smtpUtf8 = false;
        authParameter = false;
        chunkSize = -1;
        lastChunk = false;
        hasArgument = false;
        ret = 0;
        envelopeId = null;
        notify = 0;
        originalRecipient = null;
        originalRecipientUtf8 = false;
    }

    void fail(Reply reply) {
        error = reply;
    }

    void domain(String value) {
        domain = value;
    }

    void path(MailPath value) {
        path = value;
    }

    void size(long octets) {
        size = octets;
    }

    void body(Body value) {
        body = value;
    }

    void smtpUtf8(boolean value) {
        smtpUtf8 = value;
    }

    void authParameter(boolean value) {
        authParameter = value;
    }

    void chunk(long octets, boolean last) {
        chunkSize = octets;
        lastChunk = last;
    }

    void hasArgument(boolean value) {
        hasArgument = value;
    }

    @Override
    public String toString() {
        return "Command{" + verb + (error != null ? " error=" + error : "")
                + (domain != null ? " domain=" + domain : "") + (path != null ? " path=" + path : "")
                + (size >= 0 ? " size=" + size : "") + (body != Body.NONE ? " body=" + body : "")
                + (smtpUtf8 ? " smtputf8" : "") + (authParameter ? " auth=" : "") + (chunkSize >= 0 ? " chunk=" + chunkSize : "")
                + (lastChunk ? " last" : "") + (hasArgument ? " arg" : "") + (ret != 0 ? " ret=" + ret : "")
                + (envelopeId != null ? " envid=" + envelopeId : "") + (notify != 0 ? " notify=" + notify : "")
                + (originalRecipient != null ? " orcpt=" + originalRecipient : "") + '}';
    }
}
