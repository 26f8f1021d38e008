package io.ipcbridge.internal.posix;

import io.ipcbridge.IpcSecurityException;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;

/**
 * Create-or-open of a named object (segment, queue, semaphore, FIFO): an exclusive create, and on EEXIST
 * an open; an object removed by another process between the two leaves its name free, so the
 * create is made again (a bounded number of times). The object opened must be this user's (a
 * semaphore or FIFO may be root's) and grant nothing beyond the mode asked for ({@link #checkMode},
 * SEC-02); each kind checks both on fstat(2) of the descriptor it opened, before any mapping or use.
 */
public final class CreateOrOpen {
    private static final int ATTEMPTS = 100;

    private CreateOrOpen() {
    }

    /** One of the two calls. */
    @FunctionalInterface
    public interface Call<T> {
        /** Makes the call. */
        T call() throws IOException;
    }

    /** {@code create}, or {@code open} where it says EEXIST (FileAlreadyExistsException). */
    public static <T> T run(Call<T> create, Call<T> open) throws IOException {
        for (int attempt = 1;; attempt++) {
            try {
                return create.call();
            } catch (FileAlreadyExistsException e) {
                try {
                    return open.call();
                } catch (NoSuchFileException gone) {
                    if (attempt == ATTEMPTS) {
                        throw gone;
                    }
                }
            }
        }
    }

    /**
     * Refuses existing object {@code name}, as fstat(2) of its descriptor gave {@code info}, if its
     * permission bits grant anything beyond {@code mode}, the mode the create-or-open asked for:
     * other users may have written into it (SEC-02). A narrower mode is accepted.
     */
    public static void checkMode(String name, FileInfo info, int mode) throws IpcSecurityException {
        if ((info.permissions() & ~mode) != 0) {
            throw new IpcSecurityException(name, String.format(
                    "is mode 0%03o, more open than the 0%03o asked for; refused", info.permissions(), mode));
        }
    }
}
