package io.ipcbridge;

import java.io.IOException;

/**
 * A failed system call for which the JDK has no more specific type. See {@link IpcError} for what
 * it carries; subclasses name the conditions callers commonly act on.
 */
public class ErrnoException extends IOException implements IpcError {
    private static final long serialVersionUID = 1L;
    private final SyscallFailure failure;

    /**
     * A failure of {@code call} on {@code object} with {@code errno}; {@code detail}, when not null,
     * is appended to the standard message.
     */
    public ErrnoException(String call, String object, int errno, String detail) {
        this(new SyscallFailure(call, object, errno), detail);
    }

    private ErrnoException(SyscallFailure failure, String detail) {
        super(failure.message(detail));
        this.failure = failure;
    }

    @Override
    public SyscallFailure failure() {
        return failure;
    }
}
