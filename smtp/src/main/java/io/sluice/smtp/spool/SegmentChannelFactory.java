package io.sluice.smtp.spool;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Opens a new segment file for appending; a seam so tests can inject failing channels. */
interface SegmentChannelFactory {
    SegmentChannelFactory DEFAULT = path -> FileChannel.open(path,
            StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);

    FileChannel create(Path path) throws IOException;
}
