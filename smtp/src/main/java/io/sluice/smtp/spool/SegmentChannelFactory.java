package io.sluice.smtp.spool;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Opens segment files for writing and reports the file system's usable space: the spool's view of
 * its disk, a seam so tests can inject failing channels or a nearly full disk. Any thread.
 */
interface SegmentChannelFactory {
    SegmentChannelFactory DEFAULT = path -> FileChannel.open(path,
            StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);

    /** A new, empty segment file. */
    FileChannel create(Path path) throws IOException;

    /** An existing (recycled) file, to be overwritten from offset 0; never truncated. */
    default FileChannel reuse(Path path) throws IOException {
        return FileChannel.open(path, StandardOpenOption.WRITE);
    }

    /** Fsyncs {@code directory} (a retired file's {@code .free} rename, see Spool.recycle). */
    default void syncDirectory(Path directory) throws IOException {
        Spool.fsyncDirectory(directory);
    }

    /** Bytes this process may still allocate on the file system of {@code directory} (one statvfs). */
    default long usableBytes(Path directory) throws IOException {
        return Files.getFileStore(directory).getUsableSpace();
    }
}
