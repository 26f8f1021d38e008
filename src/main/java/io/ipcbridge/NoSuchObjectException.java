package io.ipcbridge;

import io.ipcbridge.internal.posix.Errors;
import java.nio.file.NoSuchFileException;

/** ENOENT: the path or name does not exist; a {@link NoSuchFileException} that carries the errno. */
public class NoSuchObjectException extends NoSuchFileException implements IpcError {
    private static final long serialVersionUID = 1L;
    private final String call;
    private final int errno;

    /** {@code call} found no {@code object}. */
    public NoSuchObjectException(String call, String object, int errno) {
        super(object, null, Errors.message(call, object, errno, null));
        this.call = call;
        this.errno = errno;
    }

    @Override
    public String getMessage() {
        return getReason();
    }

    @Override
    public int errno() {
        return errno;
    }

    @Override
    public String errnoName() {
        return Errors.name(errno);
    }

    @Override
    public String call() {
        return call;
    }

    @Override
    public String object() {
        return getFile();
    }
}
