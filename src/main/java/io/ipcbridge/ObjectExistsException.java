package io.ipcbridge;

import io.ipcbridge.internal.posix.Errors;
import java.nio.file.FileAlreadyExistsException;

/** EEXIST: the path or name exists already (an exclusive create); a {@link FileAlreadyExistsException} that carries the errno. */
public class ObjectExistsException extends FileAlreadyExistsException implements IpcError {
    private static final long serialVersionUID = 1L;
    private final String call;
    private final int errno;

    /** {@code call} found {@code object} existing. */
    public ObjectExistsException(String call, String object, int errno) {
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
