package io.ipcbridge;

import io.ipcbridge.internal.posix.Errors;
import java.io.IOException;

/**
 * A failed system call for which the JDK has no more specific type. See {@link IpcError} for what
 * it carries; subclasses name the conditions callers commonly act on.
 */
public class ErrnoException extends IOException implements IpcError {
    private static final long serialVersionUID = 1L;
    private final String call;
    private final String object;
    private final int errno;

    /**
     * A failure of {@code call} on {@code object} with {@code errno}; {@code detail}, when not null,
     * is appended to the standard message.
     */
    public ErrnoException(String call, String object, int errno, String detail) {
        super(Errors.message(call, object, errno, detail));
        this.call = call;
        this.object = object;
        this.errno = errno;
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
        return object;
    }
}
