package io.ipcbridge.socket;

import java.io.IOException;

/** MSG_TRUNC: a datagram or seqpacket message was longer than the buffer; the rest of it is lost. */
public class MessageTruncatedException extends IOException {
    private static final long serialVersionUID = 1L;
    private final int length;
    private final transient Address sender;

    /**
     * A message of {@code length} bytes arrived on {@code socket} into a buffer of {@code room},
     * from {@code sender} (null if not known).
     */
    MessageTruncatedException(String socket, int length, int room, Address sender) {
        super("recvmsg(" + socket + "): a message of " + length + " bytes was cut to the buffer's " + room);
        this.length = length;
        this.sender = sender;
    }

    /** The message's real length. */
    public int length() {
        return length;
    }

    /**
     * Who sent it, as {@link Socket#receiveFrom} would have returned, so that a server can answer
     * that the message was too long; null for other receives, and for a sender with no name.
     */
    public Address sender() {
        return sender;
    }
}
