package io.ipcbridge.conn;

import java.io.EOFException;

/**
 * The peer closed inside a message (its header or its payload): unlike an {@link EOFException}
 * between messages, which is a clean end, this is an error. The message says how much arrived.
 */
public class TruncatedMessageException extends EOFException {
    private static final long serialVersionUID = 1L;

    /** {@code detail} says what was expected and what arrived. */
    TruncatedMessageException(String detail) {
        super(detail);
    }
}
