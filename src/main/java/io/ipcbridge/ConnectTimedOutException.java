package io.ipcbridge;

import io.ipcbridge.internal.posix.Errors;

/**
 * ETIMEDOUT from connect(2): the kernel gave up on the handshake (TCP: the SYN went unanswered);
 * a {@link java.net.ConnectException}, as the JDK reports it, that carries the errno. A timeout
 * the caller gave ends a connect with {@link java.net.SocketTimeoutException} instead.
 */
public class ConnectTimedOutException extends java.net.ConnectException implements IpcError {
    private static final long serialVersionUID = 1L;
    private final SyscallFailure failure;

    /** {@code call} on {@code object} failed with {@code errno}. */
    public ConnectTimedOutException(String call, String object, int errno) {
        super(Errors.message(call, object, errno, null));
        failure = new SyscallFailure(call, object, errno);
    }

    @Override
    public SyscallFailure failure() {
        return failure;
    }
}
