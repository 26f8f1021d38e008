package io.ipcbridge.internal.posix;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A file made whole before anyone can open it by its name, as glibc's sem_open makes a semaphore:
 * created at a fresh temporary name in the same directory (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600),
 * written through {@link #fd()}, then given its name by link(2), which fails if the name exists.
 * {@link #close()} closes the descriptor and removes the temporary name, linked or not.
 */
public final class NewFile implements AutoCloseable {
    private final String temp;
    private final int fd;
    private final String call;
    private final String object;

    private NewFile(String temp, int fd, String call, String object) {
        this.temp = temp;
        this.fd = fd;
        this.call = call;
        this.object = object;
    }

    /**
     * Creates the file at "{@code prefix}ipcbridge-HEX" ({@code prefix} ends with the directory's
     * slash, or a name prefix in it); failures name {@code call} and {@code object}.
     */
    public static NewFile create(String prefix, String call, String object) throws IOException {
        for (;;) {
            String temp = prefix + "ipcbridge-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
            try {
                return new NewFile(temp, Syscalls.openFile(call, temp, Syscalls.O_RDWR | Syscalls.O_CREAT
                        | Syscalls.O_EXCL | Syscalls.O_NOFOLLOW, 0600, object), call, object);
            } catch (FileAlreadyExistsException clash) {
                // another temporary file has that name: draw another
            }
        }
    }

    /** The new file's descriptor, open read-write until {@link #close()}. */
    public int fd() {
        return fd;
    }

    /**
     * link(2) of the file to {@code path}: it appears there whole.
     *
     * @throws FileAlreadyExistsException if {@code path} exists (EEXIST, told as CALL(OBJECT))
     */
    public void link(String path) throws IOException {
        Syscalls.link(temp, path, call, object);
    }

    /** Closes the descriptor and removes the temporary name. */
    @Override
    public void close() throws IOException {
        Syscalls.close(fd);
        Syscalls.unlink(temp);
    }
}
