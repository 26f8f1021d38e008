package io.ipcbridge.internal.posix;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;

/**
 * Create-or-open of a named object (segment, queue, semaphore, FIFO): an exclusive create, and on EEXIST
 * an open; an object removed by another process between the two leaves its name free, so the
 * create is made again (a bounded number of times).
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
}
