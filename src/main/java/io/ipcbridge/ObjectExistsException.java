package io.ipcbridge;

import java.nio.file.FileAlreadyExistsException;

/** EEXIST; a {@link FileAlreadyExistsException} that carries the errno. */
public class ObjectExistsException extends FileAlreadyExistsException implements IpcError {
    private static final long serialVersionUID = 1L;
    private final SyscallFailure failure;

    /** {@code call} found {@code object} existing: the path or name exists already (an exclusive create). */
    public ObjectExistsException(String call, String object, int errno) {
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
