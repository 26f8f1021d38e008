package io.ipcbridge.mq;

import io.ipcbridge.ErrnoException;
import io.ipcbridge.internal.posix.Errors;

/**
 * EMSGSIZE: a message longer than the queue's message size, refused before the call (as the kernel
 * would refuse it): nothing was sent.
 */
public class MessageTooLargeException extends ErrnoException {
    private static final long serialVersionUID = 1L;
    private final long limit;

    /** A message of {@code length} bytes for queue {@code name}, whose message size is {@code limit}. */
    MessageTooLargeException(String name, long length, long limit) {
        super("mq_send", name, Errors.EMSGSIZE, "a message of " + length + " bytes is longer than the queue's message size, "
                + limit + " bytes; nothing was sent");
        this.limit = limit;
    }

    /** The queue's message size. */
    public long limit() {
        return limit;
    }
}
