package io.ipcbridge;

import io.ipcbridge.internal.posix.Errors;

/**
 * EADDRNOTAVAIL: the address is not one of this host's (bind), or no local port is left (connect);
 * a {@link java.net.BindException}, as the JDK reports it, that carries the errno.
 */
public class AddressNotAvailableException extends java.net.BindException implements IpcError {
    private static final long serialVersionUID = 1L;
    private final SyscallFailure failure;

    /** {@code call} on {@code object} failed with {@code errno}. */
    public AddressNotAvailableException(String call, String object, int errno) {
        super(Errors.message(call, object, errno, null));
        failure = new SyscallFailure(call, object, errno);
    }

    @Override
    public SyscallFailure failure() {
        return failure;
    }
}
