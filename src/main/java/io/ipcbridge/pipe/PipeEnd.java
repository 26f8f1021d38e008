package io.ipcbridge.pipe;

import io.ipcbridge.Descriptor;
import io.ipcbridge.HasDescriptor;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.internal.posix.FileInfo;
import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;
import java.nio.channels.Channel;
import java.time.Duration;

/**
 * One end of a pipe or FIFO: {@link PipeSource} reads, {@link PipeSink} writes, so writing to the
 * read end cannot be expressed. Closing an end closes its descriptor once; it never unlinks a FIFO.
 *
 * <p>Thread safety: several threads may read or write one end at once, and a {@link #close()} from
 * any thread ends their blocked calls. Calls are not serialised, so, as between processes, only a
 * write of at most {@link Pipe#PIPE_BUF} bytes is never interleaved with another
 * (see {@link PipeSink}).
 */
public abstract sealed class PipeEnd implements Channel, HasDescriptor permits PipeSource, PipeSink {
    /** A wait without end, for the streams. */
    static final Duration FOREVER = java.time.temporal.ChronoUnit.FOREVER.getDuration();

    final Descriptor descriptor;

    PipeEnd(Descriptor descriptor) {
        this.descriptor = descriptor;
    }

    /**
     * {@code descriptor}, once fstat(2) has shown a pipe or FIFO and fcntl(F_GETFL) an access mode that
     * allows {@code access} ({@link Syscalls#O_RDONLY} to read, {@link Syscalls#O_WRONLY} to write):
     * a descriptor from elsewhere (a peer's SCM_RIGHTS, a parent) is untrusted (FD-11, SEC-07). A
     * directory, socket, file or device, or the wrong end, is refused and closed, since the caller
     * handed it over.
     */
    static Descriptor checked(Descriptor descriptor, int access) throws IOException {
        String name = descriptor.name();
        try {
            descriptor.withFd(fd -> {
                FileInfo info = Syscalls.fstat(fd, name);
                if (!info.isFifo()) {
                    throw new IpcSecurityException(name, "is a " + info.typeName() + ", not a pipe or FIFO; refused");
                }
                int mode = Syscalls.accessMode(fd, name);
                if (mode == Syscalls.O_PATH) {
                    throw new IpcSecurityException(name, "is an O_PATH descriptor, open for neither reading nor writing; refused");
                }
                if (mode != access && mode != Syscalls.O_RDWR) {
                    throw new IpcSecurityException(name, "is not open for "
                            + (access == Syscalls.O_RDONLY ? "reading" : "writing") + "; refused");
                }
                return null;
            });
            return descriptor;
        } catch (IOException | RuntimeException e) {
            Syscalls.closeAfter(descriptor, e);
            throw e;
        }
    }

    /** The owned descriptor, e.g. to place it on a chosen fd of a child process. */
    @Override
    public Descriptor descriptor() {
        return descriptor;
    }

    /** The pipe's capacity in bytes, fcntl(F_GETPIPE_SZ): 65536 by default, never assumed. */
    public int capacity() throws IOException {
        return descriptor.withFd(fd -> Syscalls.pipeSize(fd, descriptor.name()));
    }

    /**
     * Sets the pipe's capacity, fcntl(F_SETPIPE_SZ); the kernel rounds up to a power-of-two number
     * of pages.
     *
     * @return the capacity the kernel chose
     * @throws io.ipcbridge.PermissionDeniedException above /proc/sys/fs/pipe-max-size without
     *     CAP_SYS_RESOURCE (EPERM)
     * @throws io.ipcbridge.ErrnoException EBUSY when shrinking below the bytes in the pipe
     */
    public int setCapacity(int bytes) throws IOException {
        if (bytes <= 0) {
            throw new IllegalArgumentException("capacity must be positive: " + bytes);
        }
        return descriptor.withFd(fd -> Syscalls.setPipeSize(fd, bytes, descriptor.name()));
    }

    /** Sets or clears O_NONBLOCK; see {@link Descriptor#setNonBlocking(boolean)}. */
    public void setNonBlocking(boolean on) throws IOException {
        descriptor.setNonBlocking(on);
    }

    /**
     * Waits until this end is ready: data or end of file for a source, room or a gone reader for a sink.
     *
     * @return false if the timeout passed first
     */
    public abstract boolean await(Duration timeout) throws IOException;

    @Override
    public boolean isOpen() {
        return descriptor.isOpen();
    }

    @Override
    public void close() throws IOException {
        descriptor.close();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + descriptor + "]";
    }
}
