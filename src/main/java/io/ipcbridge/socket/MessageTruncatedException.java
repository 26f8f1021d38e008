package io.ipcbridge.socket;

import java.io.IOException;

/** MSG_TRUNC: a datagram or seqpacket message was longer than the buffer; the rest of it is lost. */
public class MessageTruncatedException extends IOException {
    private static final long serialVersionUID = 1L;
    private final int length;

    /** A message of {@code length} bytes arrived on {@code socket} into a buffer of {@code room}. */
    public MessageTruncatedException(String socket, int length, int room) {
        super("recvmsg(" + socket + "): a message of " + length + " bytes was cut to the buffer's " + room);
        this.length = length;
    }

    /** The message's real length. */
    public int length() {
        return length;
    }
}
