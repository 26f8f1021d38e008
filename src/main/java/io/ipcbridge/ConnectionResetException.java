package io.ipcbridge;

import io.ipcbridge.internal.posix.Errors;

/** ECONNRESET: the peer closed with data unread; a {@link java.net.SocketException} that carries the errno. */
public class ConnectionResetException extends java.net.SocketException implements IpcError {
    private static final long serialVersionUID = 1L;
    private final SyscallFailure failure;

    /** {@code call} on {@code object} failed with {@code errno}. */
    public ConnectionResetException(String call, String object, int errno) {
        super(Errors.message(call, object, errno, null));
        failure = new SyscallFailure(call, object, errno);
    }

    @Override
    public SyscallFailure failure() {
        return failure;
    }
}
