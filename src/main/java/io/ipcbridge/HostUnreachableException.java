package io.ipcbridge;

import io.ipcbridge.internal.posix.Errors;

/**
 * EHOSTUNREACH or ENETUNREACH: there is no route to the host or to its network; a
 * {@link java.net.NoRouteToHostException} that carries the errno.
 */
public class HostUnreachableException extends java.net.NoRouteToHostException implements IpcError {
    private static final long serialVersionUID = 1L;
    private final SyscallFailure failure;

    /** {@code call} on {@code object} failed with {@code errno}. */
    public HostUnreachableException(String call, String object, int errno) {
        super(Errors.message(call, object, errno, null));
        failure = new SyscallFailure(call, object, errno);
    }

    @Override
    public SyscallFailure failure() {
        return failure;
    }
}
