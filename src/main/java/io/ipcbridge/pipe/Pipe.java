package io.ipcbridge.pipe;

import io.ipcbridge.Descriptor;
import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;

/**
 * An anonymous pipe, pipe2(2) with O_CLOEXEC: a {@link PipeSource} and a {@link PipeSink}.
 *
 * <pre>{@code
 * try (Pipe pipe = Pipe.open()) {
 *     pipe.sink().outputStream().write("hello".getBytes());
 *     pipe.sink().close();
 *     byte[] all = pipe.source().inputStream().readAllBytes();
 * }
 * }</pre>
 */
public final class Pipe implements AutoCloseable {
    /** The size up to which a write is atomic, from {@code <limits.h>}. */
    public static final int PIPE_BUF = 4096;

    private final PipeSource source;
    private final PipeSink sink;

    private Pipe(PipeSource source, PipeSink sink) {
        this.source = source;
        this.sink = sink;
    }

    /** Creates a pipe; both ends are close-on-exec and blocking. */
    public static Pipe open() throws IOException {
        int[] fds = Syscalls.pipe("pipe");
        Descriptor read;
        try {
            read = Descriptor.adopt(fds[0], "pipe read end");
        } catch (IOException | RuntimeException e) {
            Syscalls.close(fds[0]);
            Syscalls.close(fds[1]);
            throw e;
        }
        try {
            return new Pipe(new PipeSource(read), new PipeSink(Descriptor.adopt(fds[1], "pipe write end")));
        } catch (IOException | RuntimeException e) {
            read.close();
            Syscalls.close(fds[1]);
            throw e;
        }
    }

    /** The read end. */
    public PipeSource source() {
        return source;
    }

    /** The write end. */
    public PipeSink sink() {
        return sink;
    }

    /** Closes both ends (an end closed already is left as it is). */
    @Override
    public void close() throws IOException {
        try {
            source.close();
        } finally {
            sink.close();
        }
    }
}
