package io.ipcbridge;

import java.nio.file.NoSuchFileException;

/** ENOENT; a {@link NoSuchFileException} that carries the errno. */
public class NoSuchObjectException extends NoSuchFileException implements IpcError {
    private static final long serialVersionUID = 1L;
    private final SyscallFailure failure;

    /** {@code call} found no {@code object}: the path or name does not exist. */
    public NoSuchObjectException(String call, String object, int errno) {
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
