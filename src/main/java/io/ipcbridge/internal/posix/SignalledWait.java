package io.ipcbridge.internal.posix;

import java.io.IOException;
import java.nio.channels.spi.AbstractInterruptibleChannel;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A blocking call that POSIX gives no timeout, such as open(2) of a FIFO, made answerable to a
 * deadline and to {@link Thread#interrupt()}: at the deadline, or on interrupt, the waiting thread
 * is sent the wake-up signal (see {@link NativeThread}) every 10 ms until it has left the call, so a
 * signal that lands just before the thread enters the call is not lost.
 */
public final class SignalledWait extends AbstractInterruptibleChannel {
    private static final long RESEND_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "ipcbridge-wait-timer");
        t.setDaemon(true);
        return t;
    });

    private final long thread = NativeThread.current();
    private boolean waiting = true;
    private ScheduledFuture<?> deadlineWake;
    private ScheduledFuture<?> interruptWake;

    private SignalledWait() {
    }

    /** One try of the call. */
    @FunctionalInterface
    public interface Attempt<T> {
        /** Makes the call once; null when it returned EINTR. */
        T run() throws IOException;
    }

    /**
     * Runs {@code attempt} until it returns a value, the deadline passes or the thread is interrupted.
     *
     * @param deadline a {@link Deadline}
     * @return the value, or empty if the deadline passed first
     * @throws java.nio.channels.ClosedByInterruptException if the thread was interrupted
     */
    public static <T> Optional<T> run(long deadline, Attempt<T> attempt) throws IOException {
        SignalledWait wait = new SignalledWait();
        if (deadline != Deadline.NEVER) {
            long delay = Math.max(0, deadline - System.nanoTime());
            wait.deadlineWake = TIMER.scheduleAtFixedRate(wait::wake, delay, RESEND_NANOS, TimeUnit.NANOSECONDS);
        }
        boolean completed = false;
        wait.begin();
        try {
            for (;;) {
                T result = attempt.run();
                if (result != null) {
                    completed = true;
                    return Optional.of(result);
                }
                if (!wait.isOpen()) {
                    return Optional.empty(); // end() throws ClosedByInterruptException
                }
                if (Deadline.passed(deadline)) {
                    completed = true;
                    return Optional.empty();
                }
            }
        } finally {
            wait.finish();
            wait.end(completed);
        }
    }

    private synchronized void wake() {
        if (waiting) {
            NativeThread.signal(thread);
        }
    }

    private synchronized void finish() {
        waiting = false;
        if (deadlineWake != null) {
            deadlineWake.cancel(false);
        }
        if (interruptWake != null) {
            interruptWake.cancel(false);
        }
    }

    @Override
    protected synchronized void implCloseChannel() {
        if (waiting) {
            interruptWake = TIMER.scheduleAtFixedRate(this::wake, 0, RESEND_NANOS, TimeUnit.NANOSECONDS);
        }
    }
}
