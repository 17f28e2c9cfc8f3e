/**
 * Durable spool: a message is acknowledged ({@code 250 Ok: queued as <id>}) only after its
 * envelope and content are on disk and fsynced, with one fsync covering every message that
 * finished in the same commit window (group commit over an append-only log).
 *
 * <h2>Threads</h2>
 * Each event loop {@code i} owns {@link io.sluice.smtp.spool.SpoolAppender} {@code i} and writes
 * its own segment files without locks. {@code commit} hands a request through a lock-free MPSC
 * queue to the {@code sluice-spool-writer} thread, which fsyncs each touched segment once per
 * batch and answers each {@link io.sluice.smtp.spool.CommitListener} on the executor the caller
 * gave (the session's loop). The {@code sluice-spool-prepare} thread readies emptied segment files
 * for reuse (see Segment file) so that no fsync ever runs on a loop. No code here depends on the reactor.
 *
 * <h2>Directory layout ({@code spool.dir})</h2>
 * <pre>
 *   lock                 exclusive FileLock of the running server; holds "pid N"
 *   segments/LL-SSSSSSSSSSSS.seg   loop LL's segment number S (both decimal, zero-padded)
 *   segments/LL-SSSSSSSSSSSS.free  an emptied segment kept for reuse by loop LL (never scanned;
 *                        one per loop may already carry the header of the loop's next number;
 *                        deleted at close, at start, and, every loop's, when the disk runs short:
 *                        a write failed, or a new segment file finds less than a segment usable;
 *                        the health check counts them as free space)
 *   deleted.log          tombstones of deleted/delivered messages (any process appends)
 *   deleted.log.tmp      a rewrite of deleted.log in progress (removed at start if a crash left it)
 *   deleted.lock         taken by CLI appends and by the server's compaction of deleted.log
 *   recipients.log       the queue manager's per-recipient state (outcomes, deferrals, delay
 *                        notices); see io.sluice.smtp.delivery.RecipientJournal; its .tmp is
 *                        a rewrite in progress, never read, overwritten by the start's rewrite
 *   control.sock         the running server's queue control socket (Unix domain); see
 *                        io.sluice.smtp.delivery.QueueControl
 * </pre>
 *
 * <h2>Segment file</h2>
 * Big-endian. A 32-byte header {@code u64 magic "SLUICESG", u32 version = 4, u32 loopIndex,
 * u64 nonce, u64 seq} (nonce random, new for each life of the file; seq the number S it is
 * written as), then records, each a 20-byte header and a payload. Version 3 (the same header, no
 * SYNCED records), version 2 (a 24-byte header without seq) and version 1 (16 bytes, no nonce,
 * unsalted CRCs) are still read; a build older
 * than a version quarantines that version's files as {@code .corrupt}, so do not downgrade over a
 * non-empty spool. The envelope in a BEGIN record has its own version: 1, or 2 only for a message
 * with DSN parameters (releases before DSN support cannot read it). Recovery quarantines a segment
 * holding an envelope version newer than it knows, with every segment holding a record of a
 * message in it, as {@code .corrupt}: such a message is never dropped.
 * <pre>
 *   offset 0  u8   type      1 BEGIN, 2 DATA, 3 COMMIT, 4 ABORT, 5 SYNCED (version 4)
 *          1  u8   magic     0xA5
 *          2  u16  reserved  0
 *          4  u32  length    payload bytes
 *          8  u64  queue id  see {@link io.sluice.smtp.spool.QueueId}; SYNCED: the loop index alone
 *         16  u32  crc32c    over bytes 0..15 of the header, then the payload, XOR the salt
 *                            (versions 2-4: SpoolRecord.crcSalt of the nonce and S; version 1: 0)
 *         20  ...  payload   BEGIN: envelope (version byte 1; 2 only for a message with DSN
 *                            parameters; see EnvelopeCodec), at most 1 MiB
 *                            DATA: content bytes, at most 16 MiB (writer splits at spool option)
 *                            COMMIT: u64 content octets (sum of the message's DATA lengths)
 *                            ABORT: empty
 *                            SYNCED: u64 offset of this file through which an fdatasync of it
 *                            had completed (at most the record's own offset)
 * </pre>
 * The loop's appender writes a SYNCED record just before its next record into the segment once
 * a commit round has made the segment durable further than its last SYNCED claims (the end of
 * the round's last COMMIT in it): at most one per round, no fsync of its own (it is durable with
 * the next round, or lost in a crash, which only weakens the evidence), and at close for the
 * last round. A build that reads format 3 at most sees a format-4 file as of an unknown version
 * and quarantines it, never cuts it.
 * Records of the loop's concurrent sessions interleave; a message may span segments (a segment
 * rolls over at a record boundary once it holds {@code segmentMaxBytes}). A record is never
 * rewritten in place; once no pending or queued message has a record in a segment, the file is
 * deleted, or renamed {@code .free} and reused (its blocks exist, so fdatasync needs no journal
 * commit): once that rename is durable, the preparer thread writes a new header over the file's
 * first 32 bytes, with a new nonce and a segment number it reserves from the loop's counter, and
 * fdatasyncs it while the file is still {@code .free}; the loop's next roll takes it if its number
 * is above every number the loop used, renames it to that number (no fsync on the loop) and
 * writes its records from offset 32. A roll never waits for it: with none ready the loop creates a
 * new file, and a file it passed over is stamped again with a later number. Reserved numbers never
 * used are skipped: numbers increase per loop, with gaps. What is left behind from its previous life, old records or message bytes a scan reads
 * as record headers, fails the CRC under the new salt (and a record naming another loop's id is
 * invalid anyway): a scan stops there. A read-only spool (the CLI next to a running server)
 * checks after each read that the segment's name still names the file it read.
 *
 * <h2>Recovery</h2>
 * Segments are scanned in (loop, sequence) order. Scanning a segment stops at the first record
 * whose framing or CRC is invalid, unless (version 4, not the first record) a valid SYNCED record
 * anywhere behind it claims an offset beyond it: then the bytes were fsynced and later damaged (bit
 * rot, a bad sector, a stray write; a torn write never lies before a completed fsync's end), and
 * the scan resumes at the first offset after it that frames a valid record under the file's salt
 * (message bytes cannot pass: the nonce is secret; a resync that spends 256 MiB of CRC on
 * candidates that fail resumes at that SYNCED record). The file is kept, not cut; a message with
 * a record in the damaged range is incomplete and not queued (a missing DATA fails the COMMIT's
 * size, a missing BEGIN or COMMIT leaves it unfinished); one ERROR per file names the ranges and
 * how many messages begun before or ended after a range without completing were not queued, and
 * SpoolStats#damagedRanges counts the ranges. New mail goes to a new segment, as after every
 * start. A SYNCED record that is itself damaged, or left from a reused file's previous life (it
 * fails the new salt), proves nothing; one claiming more than its own offset is ignored. Without
 * evidence the torn-write rule holds: in read-write mode the file is truncated there, except that a
 * file is never cut at its header while it may hold acknowledged mail: a file whose header names
 * another loop or number than its name (renamed, restored or copied by hand), and a file whose
 * first record is invalid while a valid record (version 2: anything framed like a whole record)
 * follows, are quarantined ({@code .corrupt}, {@code .corrupt.N} if taken; bytes unchanged, one
 * WARN). A reused file never shows its old number under its new name: its new header is written
 * and fsynced while it is still {@code .free}, then it is renamed. A crash while a file is readied
 * but not yet renamed leaves a {@code .free} file whose header names a number no segment has: like
 * every {@code .free} file it is deleted unread at start, and that number may be given again. With a file quarantined, the
 * unreferenced segments of its loop holding a message begun before it and never committed are
 * quarantined too (the COMMIT may be in it); the numbers a {@code .corrupt} file names (its name
 * and its version-3 header) are never given to new segments; and while any {@code .corrupt} file
 * exists, {@code deleted.log} keeps every tombstone of a message not found whole in the scan,
 * so restoring a quarantined file does not resurrect its delivered messages (and
 * {@code recipients.log} keeps the records of ids up to the quarantined files' newest, see
 * {@link io.sluice.smtp.spool.MessageSource#quarantinedIdBound}). A first record with nothing valid
 * behind it is a torn first write (an fsync covers every earlier write of the file, so an
 * acknowledged record behind it would make the first one valid too): cut. A message is
 * queued iff a valid BEGIN, its DATA records and a valid COMMIT whose size equals the DATA total
 * were seen, no later ABORT cancels it (an ABORT follows a COMMIT when the writer refused it)
 * and {@code deleted.log} holds no tombstone for it. Segments with no queued message are
 * deleted; a {@code .seg} file without the segment magic is renamed {@code .corrupt}. New
 * segments continue after the highest sequence seen (quarantined files included) and new ids
 * after the newest id seen.
 *
 * <h2>deleted.log</h2>
 * 20-byte records {@code u32 magic "SDLT", u32 reason (1 deleted, 2 delivered, 3 commit failed), u64 id,
 * u32 crc32c(bytes 0..15)}, fsynced one by one (a delivery's lazily, within 50 ms); readers skip
 * garbage byte by byte. The server rewrites it keeping only the tombstones whose message still has
 * a segment file on disk (or, while a {@code .corrupt} file exists, may be in one): at start, and at runtime each time the file doubles past 1 MiB. It
 * remembers the segment range of every tombstoned message for that, fsyncs {@code segments/}
 * first (the unlinks that make a tombstone useless must be durable before it goes), and replaces
 * the file atomically under {@code deleted.lock}: {@code deleted.log.tmp}, fsync, rename, fsync
 * of the directory. A stale {@code deleted.log.tmp} (a crash before the rename) is never read and
 * is removed at the next start.
 *
 * <h2>Durability order</h2>
 * The writer fsyncs ({@code force(false)}, i.e. fdatasync) every segment a batch touched (the
 * segments concurrently, on helper threads {@code sluice-spool-sync-N}, and waits for all), and
 * the {@code segments/} directory when a batch touches a segment created since the last
 * directory fsync, before it publishes the messages and schedules the listeners. A failed fsync
 * marks the segment failed for good (the kernel may have dropped the pages); every later commit
 * touching it fails, and the appender moves to a new segment. Every commit answered {@code failed}
 * also gets a tombstone, because its COMMIT record may be intact on disk and the client will
 * send the message again.
 */
package io.sluice.smtp.spool;
