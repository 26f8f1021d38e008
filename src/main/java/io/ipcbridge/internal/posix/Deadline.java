package io.ipcbridge.internal.posix;

import java.time.Duration;

/** Monotonic deadlines for {@link Duration} timeouts: a relative timeout survives clock steps. */
public final class Deadline {
    /** No deadline. */
    public static final long NEVER = Long.MAX_VALUE;

    private Deadline() {
    }

    /** The {@link System#nanoTime()} at which {@code timeout} ends; null means never. */
    public static long of(Duration timeout) {
        if (timeout == null) {
            return NEVER;
        }
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("negative timeout: " + timeout);
        }
        long nanos;
        try {
            nanos = timeout.toNanos();
        } catch (ArithmeticException tooLong) {
            return NEVER;
        }
        long now = System.nanoTime();
        return nanos >= NEVER - now ? NEVER : now + nanos;
    }

    /** Whether {@code deadline} has come; {@link #NEVER} never does. */
    public static boolean passed(long deadline) {
        return deadline != NEVER && System.nanoTime() - deadline >= 0;
    }

    /** What is left, in whole milliseconds rounded up, for poll(2); -1 means forever. */
    public static int remainingMillis(long deadline) {
        if (deadline == NEVER) {
            return -1;
        }
        long nanos = deadline - System.nanoTime();
        if (nanos <= 0) {
            return 0;
        }
        long millis = (nanos + 999_999) / 1_000_000;
        return (int) Math.min(millis, Integer.MAX_VALUE);
    }
}
