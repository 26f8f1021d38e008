package io.ipcbridge.internal.posix;

import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;
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
 * signal that lands just before the thread enters the call is not lost. {@link #cancel()} ends it
 * the same way from another thread (for a close), with
 * {@link java.nio.channels.AsynchronousCloseException}. A call that succeeds as the interrupt or
 * the cancel comes keeps its result: the interrupt status stays set for the caller's next wait.
 */
public final class SignalledWait extends AbstractInterruptibleChannel {
    private static final long RESEND_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "ipcbridge-wait-timer");
        t.setDaemon(true);
        return t;
    });

    private long thread;
    private boolean waiting = true;
    private ScheduledFuture<?> deadlineWake;
    private ScheduledFuture<?> interruptWake;

    /** A wait for one call, to be run by {@link #await} on the thread that makes the call. */
    public SignalledWait() {
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
        return new SignalledWait().await(deadline, attempt);
    }

    /**
     * Runs {@code attempt} on this thread as {@link #run} does; {@link #cancel()} may end it.
     *
     * @throws java.nio.channels.AsynchronousCloseException if cancelled
     */
    public <T> Optional<T> await(long deadline, Attempt<T> attempt) throws IOException {
        NativeThread.ensureReady();
        synchronized (this) {
            thread = NativeThread.current();
        }
        if (deadline != Deadline.NEVER) {
            long delay = Math.max(0, deadline - System.nanoTime());
            deadlineWake = TIMER.scheduleAtFixedRate(this::wake, delay, RESEND_NANOS, TimeUnit.NANOSECONDS);
        }
        boolean completed = false;
        T result = null;
        begin();
        try {
            for (;;) {
                if (!isOpen()) {
                    return Optional.empty(); // cancelled before the call: end() throws
                }
                result = attempt.run();
                if (result != null) {
                    completed = true;
                    return Optional.of(result);
                }
                if (!isOpen()) {
                    return Optional.empty(); // end() throws ClosedByInterruptException
                }
                if (Deadline.passed(deadline)) {
                    completed = true;
                    return Optional.empty();
                }
            }
        } finally {
            finish();
            try {
                end(completed);
            } catch (ClosedByInterruptException e) {
                if (result == null) {
                    throw e;
                }
                // the call succeeded as the interrupt came (a unit taken, a descriptor opened): its
                // result is returned, not lost, and the thread keeps its interrupt status
            }
        }
    }

    /** Ends the wait from another thread; harmless once it has ended. */
    public void cancel() throws IOException {
        close();
    }

    private synchronized void wake() {
        if (waiting && thread != 0) {
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
