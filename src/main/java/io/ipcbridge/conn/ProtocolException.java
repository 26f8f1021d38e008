package io.ipcbridge.conn;

import java.io.IOException;

/**
 * The peer broke the framing or the handshake (a frame larger than the receiver allows, a bad
 * length, garbage instead of a challenge). The connection has been closed.
 */
public class ProtocolException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The peer on {@code connection} did {@code what}. */
    ProtocolException(String connection, String what) {
        super(connection + ": " + what + "; the connection was closed");
    }
}
