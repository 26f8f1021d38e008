package io.ipcbridge.ring;

import java.io.IOException;

/**
 * A shared memory object is not a ring this version can use (too small, wrong magic or layout
 * version, inconsistent header), or a record in it is out of bounds: the data in shared memory is
 * untrusted, so every length and offset read from it is checked before use.
 */
public final class RingFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    RingFormatException(String ring, String problem) {
        super("ring " + ring + ": " + problem);
    }
}
