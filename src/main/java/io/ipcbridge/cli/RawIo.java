package io.ipcbridge.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * Raw data between the process's stdin/stdout ({@link System#in}, {@link System#out}) and a channel:
 * bytes as they are, binary-safe, flushed chunk by chunk.
 */
final class RawIo {
    private static final int CHUNK = 64 * 1024;

    private RawIo() {
    }

    /**
     * Copies {@code source} to stdout until end of file.
     *
     * @return the number of bytes copied
     * @throws CommandFailure {@link CommandFailure#stdoutClosed()} when stdout fails (its reader has
     *     gone, as with {@code | head -c 10}); the caller then stops reading {@code source}
     */
    static long copyToStdout(ReadableByteChannel source) throws IOException, CommandFailure {
        PrintStream out = System.out;
        byte[] chunk = new byte[CHUNK];
        ByteBuffer buffer = ByteBuffer.wrap(chunk);
        long total = 0;
        for (;;) {
            buffer.clear();
            int n = source.read(buffer);
            if (n < 0) {
                break;
            }
            out.write(chunk, 0, n);
            if (out.checkError()) { // flushes; PrintStream keeps the IOException (EPIPE) to itself
                throw CommandFailure.stdoutClosed();
            }
            total += n;
        }
        out.flush();
        if (out.checkError()) {
            throw CommandFailure.stdoutClosed();
        }
        return total;
    }

    /**
     * Copies stdin to {@code sink} until end of file.
     *
     * @return the number of bytes copied
     */
    static long copyFromStdin(WritableByteChannel sink) throws IOException {
        InputStream in = System.in;
        byte[] chunk = new byte[CHUNK];
        long total = 0;
        for (;;) {
            int n;
            try {
                n = in.read(chunk);
            } catch (IOException e) {
                throw new IOException("read(stdin): " + e.getMessage(), e);
            }
            if (n < 0) {
                return total;
            }
            ByteBuffer buffer = ByteBuffer.wrap(chunk, 0, n);
            while (buffer.hasRemaining()) {
                sink.write(buffer);
            }
            total += n;
        }
    }
}
