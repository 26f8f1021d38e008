package io.ipcbridge.conn;

import java.io.IOException;

/** The authkey handshake failed: the other side has another key (or none), or refused ours. */
public class AuthenticationException extends IOException {
    private static final long serialVersionUID = 1L;

    /** Authentication on {@code connection} failed because {@code why}. */
    AuthenticationException(String connection, String why) {
        super(connection + ": authentication failed: " + why);
    }
}
