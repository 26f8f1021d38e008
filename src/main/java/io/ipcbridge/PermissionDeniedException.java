package io.ipcbridge;

import java.nio.file.AccessDeniedException;

/** EACCES or EPERM; a {@link AccessDeniedException} that carries the errno. */
public class PermissionDeniedException extends AccessDeniedException implements IpcError {
    private static final long serialVersionUID = 1L;
    private final SyscallFailure failure;

    /** {@code call} was refused access to {@code object} with {@code errno}. */
    public PermissionDeniedException(String call, String object, int errno) {
        super(object);
        failure = new SyscallFailure(call, object, errno);
    }

    @Override
    public String getMessage() {
        return failure.message(null);
    }

    @Override
    public SyscallFailure failure() {
        return failure;
    }
}
