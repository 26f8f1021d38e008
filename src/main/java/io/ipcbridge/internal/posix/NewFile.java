package io.ipcbridge.internal.posix;

import java.io.IOException;

/**
 * A file made whole before anyone can open it by its name: created without a name in its
 * directory (open(2) with O_TMPFILE, mode 0600), written through {@link #fd()}, then given its name
 * by linkat(2), which fails if the name exists. Until then it has no name at all, so a creator
 * killed half-way leaves nothing behind (glibc's sem_open uses a temporary name, which stays).
 */
public final class NewFile implements AutoCloseable {
    private final int fd;
    private final String call;
    private final String object;

    private NewFile(int fd, String call, String object) {
        this.fd = fd;
        this.call = call;
        this.object = object;
    }

    /** Creates the unnamed file in directory {@code dir}; failures name {@code call} and {@code object}. */
    public static NewFile create(String dir, String call, String object) throws IOException {
        return new NewFile(Syscalls.openFile(call, dir, Syscalls.O_RDWR | Syscalls.O_TMPFILE, 0600, object),
                call, object);
    }

    /** The new file's descriptor, open read-write until {@link #close()}. */
    public int fd() {
        return fd;
    }

    /**
     * Gives the file its name {@code path}: it appears there whole.
     *
     * @throws java.nio.file.FileAlreadyExistsException if {@code path} exists (EEXIST, told as CALL(OBJECT))
     */
    public void link(String path) throws IOException {
        Syscalls.linkUnnamed(fd, path, call, object);
    }

    /** Closes the descriptor; a file never linked goes with it. */
    @Override
    public void close() throws IOException {
        Syscalls.close(fd);
    }
}
