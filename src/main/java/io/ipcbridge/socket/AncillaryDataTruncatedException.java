package io.ipcbridge.socket;

import java.io.IOException;

/**
 * MSG_CTRUNC: more descriptors came than the receive asked room for. Every descriptor that did
 * arrive has been closed; the in-band bytes are in the buffer as for a normal receive.
 */
public class AncillaryDataTruncatedException extends IOException {
    private static final long serialVersionUID = 1L;
    private final int dataLength;
    private final transient Address sender;

    /**
     * {@code dataLength} in-band bytes arrived on {@code socket} with more than {@code room}
     * descriptors, from {@code sender} (null if not known).
     */
    AncillaryDataTruncatedException(String socket, int dataLength, int room, Address sender) {
        super("recvmsg(" + socket + "): more descriptors came than room for " + room
                + " (MSG_CTRUNC); those that arrived were closed; " + dataLength + " bytes of data were kept");
        this.dataLength = dataLength;
        this.sender = sender;
    }

    /** How many in-band bytes were received (and are in the buffer). */
    public int dataLength() {
        return dataLength;
    }

    /**
     * Who sent it, as {@link Socket#receiveFrom} would have returned; null for other receives, and
     * for a sender with no name.
     */
    public Address sender() {
        return sender;
    }
}
