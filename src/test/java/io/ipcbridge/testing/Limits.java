package io.ipcbridge.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import jnr.posix.RLimit;

/**
 * Lowers a resource limit of this process for the length of a try block (setrlimit(2) in-process:
 * restoring it needs no new descriptor, which matters when the limit is RLIMIT_NOFILE).
 */
public final class Limits implements AutoCloseable {
    /** RLIMIT_NOFILE on Linux. */
    public static final int NOFILE = 7;
    /** RLIMIT_AS on Linux: the bytes of address space. */
    public static final int AS = 9;
    /** RLIMIT_MSGQUEUE on Linux. */
    public static final int MSGQUEUE = 12;
    private static final POSIX POSIX = POSIXFactory.getNativePOSIX();

    private final int resource;
    private final long soft;
    private final long hard;

    private Limits(int resource, long soft, long hard) {
        this.resource = resource;
        this.soft = soft;
        this.hard = hard;
    }

    /** Sets the soft limit of {@code resource} to {@code soft} until {@link #close()}. */
    public static Limits lower(int resource, long soft) {
        RLimit now = POSIX.getrlimit(resource);
        assertEquals(0, POSIX.setrlimit(resource, soft, now.rlimMax()), "setrlimit " + resource);
        return new Limits(resource, now.rlimCur(), now.rlimMax());
    }

    /** Restores the soft limit. */
    @Override
    public void close() {
        assertEquals(0, POSIX.setrlimit(resource, soft, hard), "setrlimit " + resource + " restored");
    }
}
