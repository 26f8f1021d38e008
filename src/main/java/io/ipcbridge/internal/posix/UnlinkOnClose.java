package io.ipcbridge.internal.posix;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A handle's opt-in removal of its object's name when it closes (SEC-14), as the JDK's
 * DELETE_ON_CLOSE: once, and only while the name still names the object the handle opened, so an
 * object another process made under the name since is left alone.
 */
public final class UnlinkOnClose {
    /** What {@link #opened} holds once the handle has closed. */
    private static final FileInfo CLOSED = new FileInfo(0, 0, 0, 0, 0, -1, -1);

    /** The removal of the name, e.g. shm_unlink(3). */
    @FunctionalInterface
    public interface Unlink {
        /** Removes the name. */
        void unlink() throws IOException;
    }

    /** Where lstat(2) finds the name, e.g. /dev/shm/NAME. */
    private final String path;
    private final Unlink unlink;
    /** null until {@link #request}ed, then the object as opened, then {@link #CLOSED}. */
    private final AtomicReference<FileInfo> opened = new AtomicReference<>();

    public UnlinkOnClose(String path, Unlink unlink) {
        this.path = path;
        this.unlink = unlink;
    }

    /**
     * Asks for the name's removal at {@link #close()}, of the object fstat(2) gave as {@code object}
     * when the handle was made; asking again changes nothing.
     *
     * @throws ClosedChannelException if the handle has closed
     */
    public void request(FileInfo object) throws ClosedChannelException {
        if (!opened.compareAndSet(null, object) && opened.get() == CLOSED) {
            throw new ClosedChannelException();
        }
    }

    /**
     * At the handle's close, after it released its own resources: if requested, and at the first
     * close only, removes the name if lstat(2) finds the same device and inode there. A name already
     * gone is no failure.
     */
    public void close() throws IOException {
        FileInfo object = opened.getAndSet(CLOSED);
        if (object == null || object == CLOSED) {
            return;
        }
        try {
            if (Syscalls.lstat(path).isSameFile(object)) {
                unlink.unlink();
            }
        } catch (NoSuchFileException gone) {
            // removed by another process, or through the static unlink
        }
    }
}
