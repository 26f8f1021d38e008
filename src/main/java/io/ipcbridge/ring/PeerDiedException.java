package io.ipcbridge.ring;

import java.io.IOException;

/**
 * The process on the other side of a ring died: a consumer found nothing more to read (or a record
 * its producer never committed) and the producer's pid is gone, or a producer waiting for space found
 * the consumer gone. Records that were complete were all delivered before this is thrown.
 */
public final class PeerDiedException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The pid of the process that died. */
    private final int pid;

    PeerDiedException(String ring, String role, int pid) {
        super("ring " + ring + ": the " + role + " (pid " + pid + ") died");
        this.pid = pid;
    }

    /** The pid of the process that died. */
    public int pid() {
        return pid;
    }
}
