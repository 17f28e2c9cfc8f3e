package io.sluice.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code --bdat} against {@link TestSmtpServer} with and without CHUNKING: framing, pipelining, refusals. */
@Timeout(60)
class LoadBdatTest {

    private static LoadOptions.Builder options(TestSmtpServer server) {
        return LoadOptions.builder(server.address()).threads(1).progress(false).replyTimeoutNanos(10_000_000_000L);
    }

    private static TestSmtpServer server(boolean chunking) throws Exception {
        TestSmtpServer server = new TestSmtpServer(TestSmtpServer.Settings.plain());
        server.chunking = chunking;
        return server;
    }

    private static LoadResult run(LoadOptions options) throws Exception {
        return new LoadGenerator(options, null).run();
    }

    @Test
    void onSendsEachMessageAsOneBdatLastWithoutTheDotAndPipelinedWithTheEnvelope() throws Exception {
        try (TestSmtpServer server = server(true)) {
            LoadResult result = run(options(server).bdat(BdatMode.ON).connections(2).messagesPerConnection(5)
                    .totalMessages(10).build());

            assertEquals(10, result.messagesOk());
            assertEquals(0, result.errors());
            assertEquals(10, server.messages.get());
            assertEquals(10, server.bdatChunks.get(), "one BDAT n LAST per message by default");
            assertEquals(10, server.pipelinedEnvelopes.get(), "MAIL, RCPT and BDAT in one write");
            assertEquals(0, server.dotTerminatedBdatMessages.get(), "no DATA terminator in BDAT text");
            assertEquals(result.messageBytes(), server.messageBytes.get(), "exactly the message octets");
            assertEquals(10 * 1024L, result.messageBytes());
            assertEquals(10, server.messageIds.size());
            assertEquals(10, server.stampedMessages.get());
            assertNull(result.replyCodes().get(354), "no DATA");
            assertEquals(10, result.latencyMicros(Phase.DATA).getTotalCount());
            assertEquals(10, result.latencyMicros(Phase.ENVELOPE).getTotalCount());
            assertEquals(0, result.exitStatus());
        }
    }

    @ParameterizedTest(name = "pipelining {0}")
    @ValueSource(booleans = {true, false})
    void chunkSizeSplitsTheMessageAndTheLastChunkIsSmaller(boolean pipelining) throws Exception {
        try (TestSmtpServer server = server(true)) {
            LoadResult result = run(options(server).bdat(BdatMode.ON).chunkOctets(10_000).pipelining(pipelining)
                    .sizes(SizeDistribution.fixed(64 * 1024)).connections(2).messagesPerConnection(2)
                    .totalMessages(4).build());

            assertEquals(4, result.messagesOk());
            assertEquals(4, server.messages.get());
            assertEquals(4 * 7, server.bdatChunks.get(), "65,536 octets in chunks of 10,000: 7");
            assertEquals(4 * 64 * 1024, server.messageBytes.get());
            assertEquals(pipelining ? 4 : 0, server.pipelinedEnvelopes.get());
            assertEquals(0, server.dotTerminatedBdatMessages.get());
            // 250s: EHLO per connection, MAIL and RCPT per message, one per chunk.
            assertEquals(result.connections() + 4 * 2 + 4 * 7, result.replyCodes().get(250));
            assertEquals(0, result.errors());
        }
    }

    @Test
    void onAgainstAServerWithoutChunkingFailsEachMessageWithItsOwnErrorKind() throws Exception {
        try (TestSmtpServer server = server(false)) {
            LoadResult result = run(options(server).bdat(BdatMode.ON).connections(1).messagesPerConnection(5)
                    .totalMessages(3).build());

            assertEquals(0, result.messagesOk());
            assertEquals(3, result.messagesFailed());
            assertEquals(3, result.errors(ErrorKind.CHUNKING_NOT_OFFERED));
            assertEquals(3, result.errors(), "nothing else went wrong");
            assertEquals(0, server.messages.get(), "no silent fallback to DATA");
            assertEquals(0, server.bdatChunks.get());
            assertEquals(1, result.exitStatus());
        }
    }

    @Test
    void autoFallsBackToDataWithoutChunking() throws Exception {
        try (TestSmtpServer server = server(false)) {
            LoadResult result = run(options(server).bdat(BdatMode.AUTO).connections(1).messagesPerConnection(5)
                    .totalMessages(5).build());

            assertEquals(5, result.messagesOk());
            assertEquals(5, result.replyCodes().get(354));
            assertEquals(0, server.bdatChunks.get());
            assertEquals(0, result.errors());
        }
    }

    @Test
    void autoUsesBdatWhereOffered() throws Exception {
        try (TestSmtpServer server = server(true)) {
            LoadResult result = run(options(server).bdat(BdatMode.AUTO).connections(1).messagesPerConnection(5)
                    .totalMessages(5).build());

            assertEquals(5, result.messagesOk());
            assertEquals(5, server.bdatChunks.get());
            assertNull(result.replyCodes().get(354));
        }
    }

    @Test
    void offWithChunkingOfferedStillSendsData() throws Exception {
        try (TestSmtpServer server = server(true)) {
            LoadResult result = run(options(server).connections(1).messagesPerConnection(3).totalMessages(3).build());

            assertEquals(3, result.messagesOk());
            assertEquals(3, result.replyCodes().get(354));
            assertEquals(0, server.bdatChunks.get());
        }
    }

    @Test
    void aRefusedChunkStopsTheMessageWhenNotPipelined() throws Exception {
        try (TestSmtpServer server = server(true)) {
            server.refuseChunksAfterOctets = 20_000;
            LoadResult result = run(options(server).bdat(BdatMode.ON).chunkOctets(8 * 1024).pipelining(false)
                    .sizes(SizeDistribution.fixed(64 * 1024)).connections(1).messagesPerConnection(3)
                    .totalMessages(3).build());

            assertEquals(0, result.messagesOk());
            assertEquals(3, result.messagesFailed());
            assertEquals(3 * 3, server.bdatChunks.get(), "8 KiB, 16 KiB accepted, the third refused: no fourth");
            assertEquals(3, result.replyCodes().get(552));
            assertEquals(3, result.errors(ErrorKind.UNEXPECTED_REPLY));
            assertEquals(0, server.messages.get());
        }
    }

    @Test
    void aRefusedChunkCountsOneErrorWhenTheRestWerePipelinedBehindIt() throws Exception {
        try (TestSmtpServer server = server(true)) {
            server.refuseChunksAfterOctets = 20_000;
            LoadResult result = run(options(server).bdat(BdatMode.ON).chunkOctets(8 * 1024)
                    .sizes(SizeDistribution.fixed(64 * 1024)).connections(1).messagesPerConnection(3)
                    .totalMessages(3).build());

            assertEquals(3, result.messagesFailed());
            assertEquals(3 * 8, server.bdatChunks.get(), "all eight chunks were on their way");
            assertEquals(3 * 6, result.replyCodes().get(552), "chunks 3..8 refused");
            assertEquals(3, result.errors(ErrorKind.UNEXPECTED_REPLY), "one per message");
            assertEquals(3, result.errors());
        }
    }

    @Test
    void everyRecipientRefusedPipelinedSendsNothingTheServerKeeps() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(new TestSmtpServer.Settings(TlsMode.NONE, true, "550 5.1.1 no"))) {
            server.chunking = true;
            LoadResult result = run(options(server).bdat(BdatMode.ON).connections(1).messagesPerConnection(4)
                    .totalMessages(4).build());

            assertEquals(4, result.messagesFailed());
            assertEquals(4, result.replyCodes().get(550));
            assertEquals(4, result.replyCodes().get(554), "the BDAT LAST refused for want of recipients");
            assertEquals(8, result.errors(ErrorKind.UNEXPECTED_REPLY), "as with DATA: the RCPT and the BDAT");
            assertEquals(0, server.messages.get());
        }
    }

    @Test
    void starttlsThenBdatInsideTls() throws Exception {
        try (TestSmtpServer server = new TestSmtpServer(new TestSmtpServer.Settings(TlsMode.STARTTLS, true, "250 ok"))) {
            server.chunking = true;
            LoadResult result = run(options(server).tlsMode(TlsMode.STARTTLS).bdat(BdatMode.ON).chunkOctets(5000)
                    .sizes(SizeDistribution.fixed(16 * 1024)).connections(2).messagesPerConnection(3)
                    .totalMessages(6).build());

            assertEquals(6, result.messagesOk(), "errors " + result.errors());
            assertEquals(result.connections(), server.handshakes.get());
            assertEquals(6 * 4, server.bdatChunks.get(), "16,384 octets in chunks of 5,000: 4");
            assertEquals(6 * 16 * 1024, server.messageBytes.get());
        }
    }

    /** A chunk size near Integer.MAX_VALUE once overflowed the chunk count to 0: nothing sent, a hang. */
    @ParameterizedTest(name = "chunkOctets {0}")
    @ValueSource(ints = {Integer.MAX_VALUE, Integer.MAX_VALUE - 1, LoadOptions.MAX_CHUNK_OCTETS + 1})
    void theBuilderRefusesAChunkSizeAboveItsBound(int chunkOctets) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoadOptions.builder(new java.net.InetSocketAddress("127.0.0.1", 25)).chunkOctets(chunkOctets)
                        .build());
        assertEquals("chunkOctets=" + chunkOctets + " > MAX=" + LoadOptions.MAX_CHUNK_OCTETS, e.getMessage());
    }

    @Test
    void theLargestChunkSizeSendsEachMessageAsOneChunk() throws Exception {
        try (TestSmtpServer server = server(true)) {
            LoadResult result = run(options(server).bdat(BdatMode.ON).chunkOctets(LoadOptions.MAX_CHUNK_OCTETS)
                    .connections(1).messagesPerConnection(3).totalMessages(3).build());

            assertEquals(3, result.messagesOk());
            assertEquals(3, server.bdatChunks.get(), "one BDAT n LAST per message");
            assertEquals(result.messageBytes(), server.messageBytes.get());
        }
    }

    @ParameterizedTest(name = "chunkOctets {0}")
    @ValueSource(ints = {Integer.MAX_VALUE, Integer.MAX_VALUE - 1, LoadOptions.MAX_CHUNK_OCTETS, 0, -1})
    void theFramerCountsOneChunkForAnySizeBeyondTheMessage(int chunkOctets) {
        BdatFramer framer = new BdatFramer();
        framer.start(new byte[100], new byte[4096], 4096, chunkOctets);
        assertEquals(1, framer.chunks());
        framer.start(new byte[0], new byte[0], 0, chunkOctets);
        assertEquals(1, framer.chunks(), "an empty message is one BDAT 0 LAST");
        framer.start(new byte[100], new byte[4096], 4096, 1000);
        assertEquals(5, framer.chunks(), "4,196 octets in chunks of 1,000");
    }

    @Test
    void bdatCommandLinesAreFormattedInPlace() {
        byte[] out = new byte[12];
        int end = BdatFramer.writeDecimal(out, 2, 1_048_576);
        assertEquals("1048576", new String(out, 2, end - 2, StandardCharsets.US_ASCII));
        end = BdatFramer.writeDecimal(out, 0, 0);
        assertEquals("0", new String(out, 0, end, StandardCharsets.US_ASCII));
        assertTrue(end == 1);
    }
}
