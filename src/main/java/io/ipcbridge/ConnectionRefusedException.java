package io.ipcbridge;

import io.ipcbridge.internal.posix.Errors;

/**
 * Nobody listens at the address: ECONNREFUSED, or ENOENT when connecting to an AF_UNIX path that
 * names no file. A {@link java.net.ConnectException} that carries the errno.
 */
public class ConnectionRefusedException extends java.net.ConnectException implements IpcError {
    private static final long serialVersionUID = 1L;
    private final SyscallFailure failure;

    /** {@code call} on {@code object} failed with {@code errno}. */
    public ConnectionRefusedException(String call, String object, int errno) {
        super(Errors.message(call, object, errno, null));
        failure = new SyscallFailure(call, object, errno);
    }

    @Override
    public SyscallFailure failure() {
        return failure;
    }
}
