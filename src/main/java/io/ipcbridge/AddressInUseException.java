package io.ipcbridge;

import io.ipcbridge.internal.posix.Errors;

/** EADDRINUSE: the address is taken; a {@link java.net.BindException} that carries the errno. */
public class AddressInUseException extends java.net.BindException implements IpcError {
    private static final long serialVersionUID = 1L;
    private final SyscallFailure failure;

    /** {@code call} on {@code object} failed with {@code errno}. */
    public AddressInUseException(String call, String object, int errno) {
        super(Errors.message(call, object, errno, null));
        failure = new SyscallFailure(call, object, errno);
    }

    @Override
    public SyscallFailure failure() {
        return failure;
    }
}
