package io.ipcbridge.pipe;

import io.ipcbridge.Descriptor;
import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.time.Duration;

/**
 * The write end of a pipe or FIFO: a {@link WritableByteChannel}, or an {@link OutputStream}.
 *
 * <p>A write of at most {@link Pipe#PIPE_BUF} bytes is atomic: bytes from concurrent writers, in
 * this process or another, never interleave inside it. Larger writes may interleave.
 */
public final class PipeSink extends PipeEnd implements WritableByteChannel {
    PipeSink(Descriptor descriptor) {
        super(descriptor);
    }

    /**
     * Takes ownership of {@code descriptor} as the write end of a pipe or FIFO (e.g. fd 4 from a parent,
     * or one a peer sent), once fstat(2) and fcntl(2) have shown it is one (FD-11).
     *
     * @throws io.ipcbridge.IpcSecurityException if it is anything else (a directory, socket, file,
     *     device, a read-only end); it is closed then
     */
    public static PipeSink of(Descriptor descriptor) throws IOException {
        return new PipeSink(checked(descriptor, Syscalls.O_WRONLY));
    }

    /**
     * write(2): all of {@code src} in blocking mode, looping over partial writes; what fits in
     * non-blocking mode (nothing at all for a write of at most PIPE_BUF bytes that does not fit).
     *
     * @throws io.ipcbridge.PeerClosedException if every reader has closed (EPIPE)
     */
    @Override
    public int write(ByteBuffer src) throws IOException {
        return descriptor.write(src);
    }

    /** Waits for room, or for the reader to go. */
    @Override
    public boolean await(Duration timeout) throws IOException {
        return descriptor.awaitWritable(timeout);
    }

    /**
     * A blocking stream over this end, also when the end is in non-blocking mode (a write then
     * waits for room, where the JDK's stream would throw RuntimeException("no bytes written"));
     * closing the stream closes the end.
     */
    public OutputStream outputStream() {
        return Channels.newOutputStream(new WritableByteChannel() {
            @Override
            public int write(ByteBuffer src) throws IOException {
                int start = src.position();
                while (src.hasRemaining()) {
                    if (PipeSink.this.write(src) == 0) {
                        await(PipeEnd.FOREVER);
                    }
                }
                return src.position() - start;
            }

            @Override
            public boolean isOpen() {
                return PipeSink.this.isOpen();
            }

            @Override
            public void close() throws IOException {
                PipeSink.this.close();
            }
        });
    }
}
