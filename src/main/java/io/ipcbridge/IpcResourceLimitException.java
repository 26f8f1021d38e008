package io.ipcbridge;

/** A system or per-process limit stopped the call (EMFILE, ENFILE, ENOSPC, ENOMEM...); the message names it. */
public class IpcResourceLimitException extends ErrnoException {
    private static final long serialVersionUID = 1L;

    /** {@code call} on {@code object} hit the limit described by {@code limit}. */
    public IpcResourceLimitException(String call, String object, int errno, String limit) {
        super(call, object, errno, limit);
    }
}
