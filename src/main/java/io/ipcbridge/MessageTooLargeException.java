package io.ipcbridge;

import io.ipcbridge.internal.posix.Errors;

/**
 * EMSGSIZE: a message longer than a queue's message size, refused before the call (as the kernel
 * would refuse it), or a datagram longer than its socket sends, refused by the kernel; nothing was
 * sent. {@link #limit()} is the largest message that would have been taken.
 */
public class MessageTooLargeException extends ErrnoException {
    private static final long serialVersionUID = 1L;
    private final long limit;

    /**
     * EMSGSIZE from {@code call} on {@code object}: a message of {@code length} bytes is longer than
     * the {@code limit} bytes that {@code what} allows.
     */
    public MessageTooLargeException(String call, String object, long length, long limit, String what) {
        super(call, object, Errors.EMSGSIZE, "a message of " + length + " bytes is longer than " + what + ", "
                + limit + " bytes; nothing was sent");
        this.limit = limit;
    }

    /** The largest message that would have been taken: the queue's message size, or the socket's limit. */
    public long limit() {
        return limit;
    }
}
