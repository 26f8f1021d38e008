package io.ipcbridge;

import io.ipcbridge.internal.posix.Errors;
import java.nio.file.AccessDeniedException;

/** EACCES or EPERM: permission denied; a {@link AccessDeniedException} that carries the errno. */
public class PermissionDeniedException extends AccessDeniedException implements IpcError {
    private static final long serialVersionUID = 1L;
    private final String call;
    private final int errno;

    /** {@code call} was refused access to {@code object}. */
    public PermissionDeniedException(String call, String object, int errno) {
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
