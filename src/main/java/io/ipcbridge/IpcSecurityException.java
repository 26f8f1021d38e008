package io.ipcbridge;

import java.nio.file.FileSystemException;

/**
 * An object was found but refused before any data went through it: a symbolic link, a regular file
 * or another user's FIFO planted where a FIFO was expected. No errno: nothing failed, ipcbridge said no.
 */
public class IpcSecurityException extends FileSystemException {
    private static final long serialVersionUID = 1L;

    /** {@code path} was refused for {@code reason}. */
    public IpcSecurityException(String path, String reason) {
        super(path, null, reason);
    }

    @Override
    public String getMessage() {
        return getFile() + ": " + getReason();
    }
}
