package io.ipcbridge.internal.posix;

import java.io.IOException;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The waits in progress on one handle that is not a {@link io.ipcbridge.Descriptor} (a semaphore, a
 * ring): closing the handle ends them with {@link java.nio.channels.AsynchronousCloseException}, an
 * interrupt ends one with {@link InterruptedException}, and a use after close is refused.
 */
public final class Waits {
    private final Set<SignalledWait> waits = new HashSet<>();
    private volatile boolean closed;

    /**
     * Runs {@code attempt} as {@link SignalledWait#await} does, until a result, the deadline, a
     * {@link #close()} or an interrupt.
     *
     * @param what what is waited for, for the interrupt's message
     */
    public <T> Optional<T> await(long deadline, SignalledWait.Attempt<T> attempt, String what)
            throws IOException, InterruptedException {
        SignalledWait wait = new SignalledWait();
        synchronized (this) {
            checkWaiting();
            waits.add(wait);
        }
        try {
            return wait.await(deadline, attempt);
        } catch (ClosedByInterruptException e) {
            Thread.interrupted();
            InterruptedException ie = new InterruptedException("interrupted while waiting for " + what);
            ie.initCause(e);
            throw ie;
        } finally {
            synchronized (this) {
                waits.remove(wait);
            }
        }
    }

    /** Throws {@link ClosedChannelException} once {@link #close()} has been called. */
    public void check() throws ClosedChannelException {
        if (closed) {
            throw new ClosedChannelException();
        }
    }

    /**
     * Throws {@link AsynchronousCloseException} once {@link #close()} has been called: for a call
     * under way, which {@link #check()} let begin.
     */
    public void checkWaiting() throws AsynchronousCloseException {
        if (closed) {
            throw new AsynchronousCloseException();
        }
    }

    /** Whether {@link #close()} has not been called. */
    public boolean isOpen() {
        return !closed;
    }

    /** Marks the handle closed and ends every wait on it; false if it was closed already. */
    public boolean close() throws IOException {
        List<SignalledWait> ending;
        synchronized (this) {
            if (closed) {
                return false;
            }
            closed = true;
            ending = new ArrayList<>(waits);
        }
        for (SignalledWait w : ending) {
            w.cancel();
        }
        return true;
    }
}
