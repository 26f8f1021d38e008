package io.ipcbridge.pipe;

import io.ipcbridge.Descriptor;
import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.time.Duration;

/** The read end of a pipe or FIFO: a {@link ReadableByteChannel}, or an {@link InputStream}. */
public final class PipeSource extends PipeEnd implements ReadableByteChannel {
    PipeSource(Descriptor descriptor) {
        super(descriptor);
    }

    /**
     * Takes ownership of {@code descriptor} as the read end of a pipe or FIFO (e.g. fd 3 from a parent,
     * or one a peer sent), once fstat(2) and fcntl(2) have shown it is one (FD-11).
     *
     * @throws io.ipcbridge.IpcSecurityException if it is anything else (a directory, socket, file,
     *     device, a write-only end); it is closed then
     */
    public static PipeSource of(Descriptor descriptor) throws IOException {
        return new PipeSource(checked(descriptor, Syscalls.O_RDONLY));
    }

    /**
     * read(2).
     *
     * @return bytes read; -1 once every writer has closed (again on every later call); 0 only in
     *     non-blocking mode
     */
    @Override
    public int read(ByteBuffer dst) throws IOException {
        return descriptor.read(dst);
    }

    /** Waits for data or end of file. */
    @Override
    public boolean await(Duration timeout) throws IOException {
        return descriptor.awaitReadable(timeout);
    }

    /**
     * A blocking stream over this end, also when the end is in non-blocking mode (a read then
     * waits for data, where the JDK's stream would take the 0 of an empty pipe for end of file);
     * closing the stream closes the end.
     */
    public InputStream inputStream() {
        return Channels.newInputStream(new ReadableByteChannel() {
            @Override
            public int read(ByteBuffer dst) throws IOException {
                for (;;) {
                    int n = PipeSource.this.read(dst);
                    if (n != 0 || !dst.hasRemaining()) {
                        return n;
                    }
                    await(PipeEnd.FOREVER);
                }
            }

            @Override
            public boolean isOpen() {
                return PipeSource.this.isOpen();
            }

            @Override
            public void close() throws IOException {
                PipeSource.this.close();
            }
        });
    }
}
