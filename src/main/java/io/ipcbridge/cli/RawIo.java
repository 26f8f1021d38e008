package io.ipcbridge.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * Raw data between the process's stdin/stdout ({@link System#in}, {@link System#out}) and a channel,
 * a buffer or messages: bytes as they are, binary-safe, flushed chunk by chunk (or message by
 * message), so that a closed stdout is noticed at once (exit 141, nothing printed) and another
 * write error too (exit 1, {@link Stdout#failure()}).
 */
final class RawIo {
    private static final int CHUNK = 64 * 1024;

    private RawIo() {
    }

    /**
     * Copies {@code source} to stdout until end of file.
     *
     * @return the number of bytes copied
     * @throws CommandFailure {@link Stdout#failure()} when stdout fails (e.g. its reader has gone, as
     *     with {@code | head -c 10}); the caller then stops reading {@code source}
     */
    static long copyToStdout(ReadableByteChannel source) throws IOException, CommandFailure {
        return copyToStdout(source, null);
    }

    /**
     * {@link #copyToStdout(ReadableByteChannel)}, looking at {@code watch} before each read of
     * {@code source}: once stdout's reader has gone, nothing more is taken out of it (CLI-04), also
     * when it has data waiting, which a read would take at once, before the watch could interrupt it.
     *
     * @param watch the watch on stdout, or null
     */
    static long copyToStdout(ReadableByteChannel source, Stdout.Watch watch) throws IOException, CommandFailure {
        PrintStream out = System.out;
        byte[] chunk = new byte[CHUNK];
        ByteBuffer buffer = ByteBuffer.wrap(chunk);
        long total = 0;
        for (;;) {
            if (watch != null && watch.readerGoneNow()) {
                throw CommandFailure.stdoutClosed();
            }
            buffer.clear();
            int n = source.read(buffer);
            if (n < 0) {
                break;
            }
            out.write(chunk, 0, n);
            if (out.checkError()) { // flushes; the PrintStream keeps the IOException, Stdout knows its errno
                throw Stdout.failure();
            }
            total += n;
        }
        out.flush();
        if (out.checkError()) {
            throw Stdout.failure();
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
                throw stdinFailure(e);
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

    /**
     * Writes {@code parts} to stdout, one after the other, and flushes them (so that a command that
     * takes data from a peer stops as soon as its reader has gone, CLI-04).
     *
     * @throws CommandFailure {@link Stdout#failure()} when stdout fails
     */
    static void writeToStdout(byte[]... parts) throws CommandFailure {
        PrintStream out = System.out;
        for (byte[] part : parts) {
            out.write(part, 0, part.length);
        }
        if (out.checkError()) { // flushes
            throw Stdout.failure();
        }
    }

    /** Writes the remaining bytes of {@code data} to stdout, chunk by chunk, as {@link #writeToStdout} does. */
    static void copyToStdout(ByteBuffer data) throws CommandFailure {
        byte[] chunk = new byte[Math.min(CHUNK, Math.max(1, data.remaining()))];
        while (data.hasRemaining()) {
            int n = Math.min(chunk.length, data.remaining());
            data.get(chunk, 0, n);
            System.out.write(chunk, 0, n);
            if (System.out.checkError()) {
                throw Stdout.failure();
            }
        }
        if (System.out.checkError()) {
            throw Stdout.failure();
        }
    }

    /**
     * Reads stdin until end of file, or until {@code max} bytes have come.
     *
     * @return the bytes read, at most {@code max}
     */
    static byte[] readStdin(int max) throws IOException {
        try {
            return System.in.readNBytes(max);
        } catch (IOException e) {
            throw stdinFailure(e);
        }
    }

    /** Whether stdin holds at least one more byte (which is consumed). */
    static boolean stdinHasMore() throws IOException {
        try {
            return System.in.read() >= 0;
        } catch (IOException e) {
            throw stdinFailure(e);
        }
    }

    /**
     * The next line of {@code in} without its "\n" (a "\r" before it is kept: the bytes are the
     * message), or null at end of file; a last line without "\n" counts. Stops reading a line
     * longer than {@code max} bytes after {@code max + 1} of them and returns those.
     */
    static byte[] readLine(InputStream in, int max) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try {
            for (;;) {
                int b = in.read();
                if (b < 0) {
                    return line.size() == 0 ? null : line.toByteArray();
                }
                if (b == '\n') {
                    return line.toByteArray();
                }
                line.write(b);
                if (line.size() > max) {
                    return line.toByteArray();
                }
            }
        } catch (IOException e) {
            throw stdinFailure(e);
        }
    }

    /** A failed read of stdin, as {@code read(stdin): ENAME (text)}. */
    static IOException stdinFailure(IOException e) {
        return new IOException(ExitCodes.errnoForm("read", "stdin", e.getMessage()), e);
    }
}
