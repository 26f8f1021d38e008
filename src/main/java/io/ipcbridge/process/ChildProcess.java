package io.ipcbridge.process;

import io.ipcbridge.Descriptor;
import io.ipcbridge.internal.posix.Deadline;
import io.ipcbridge.internal.posix.SignalledWait;
import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;
import java.lang.ref.Cleaner;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A spawned child, held through a pidfd (pidfd_open(2)): waiting is a poll on it, and signals go
 * through pidfd_send_signal(2), so a signal can never reach another process that reused the pid.
 *
 * <p>{@link #close()} does not leave a zombie or an orphan behind: a child still running is killed
 * (SIGKILL) and reaped. Wait for it first when it should finish its work. A child dropped without
 * {@code close()} or a wait that reaped it runs on, and is reaped when it ends (a daemon thread
 * waits for it once the garbage collector finds it dropped), as the JDK reaps a {@link Process}.
 *
 * <p>Thread safety: several threads may wait for, signal and close the child at once; it is reaped
 * once, and every wait returns its status.
 */
public final class ChildProcess implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    private final int pid;
    private final String program;
    private final Descriptor pidfd;
    private final ReapWhenDropped dropped;
    private ExitStatus status;

    private ChildProcess(int pid, String program, Descriptor pidfd) {
        this.pid = pid;
        this.program = program;
        this.pidfd = pidfd;
        this.dropped = new ReapWhenDropped(pid);
        CLEANER.register(this, dropped);
    }

    static ChildProcess adopt(int pid, String program) throws IOException {
        int fd;
        try {
            fd = Syscalls.pidfdOpen(pid);
        } catch (IOException e) {
            // EMFILE, ENFILE, ENOMEM: without a pidfd nothing could wait for, signal or close the
            // child, so end it now rather than leave it running (and a zombie once it ends)
            Syscalls.killAndReap(pid);
            throw e;
        }
        try {
            return new ChildProcess(pid, program, Descriptor.adopt(fd, "pidfd " + pid + " (" + program + ")"));
        } catch (IOException | RuntimeException e) {
            // the first descriptor of the JVM sets up what closes need, which can fail at RLIMIT_NOFILE
            Syscalls.close(fd);
            Syscalls.killAndReap(pid);
            throw e;
        }
    }

    /** The child's process id. */
    public int pid() {
        return pid;
    }

    /**
     * Waits for the child to end and reaps it. Returns at once, even on an interrupted thread, if it
     * has ended; a {@link #close()} from another thread meanwhile ends the wait with the status.
     */
    public ExitStatus waitFor() throws IOException, InterruptedException {
        return waitUntil(Deadline.NEVER).orElseThrow();
    }

    /**
     * Waits at most {@code timeout} for the child to end; zero checks without waiting (so, as with
     * {@link Process#waitFor(long, java.util.concurrent.TimeUnit)}, an interrupt is not taken), and a
     * timeout too long to count in nanoseconds waits without limit.
     *
     * @return the exit status, or empty if the child is still running when the timeout passes
     * @throws IllegalArgumentException if {@code timeout} is negative, before any wait
     */
    public Optional<ExitStatus> waitFor(Duration timeout) throws IOException, InterruptedException {
        return waitUntil(Deadline.of(Objects.requireNonNull(timeout, "timeout")));
    }

    /** Waits until {@code deadline} ({@link Deadline}) for the child to end. */
    Optional<ExitStatus> waitUntil(long deadline) throws IOException, InterruptedException {
        Optional<ExitStatus> already = exitStatus();
        // as Process.waitFor: no wait (the child has ended, or the timeout is zero), so no interrupt to take
        if (already.isPresent() || Deadline.passed(deadline)) {
            return already;
        }
        try {
            boolean ended = pidfd.withFd(fd -> SignalledWait.run(Deadline.NEVER, () -> {
                int revents = Syscalls.poll(fd, Syscalls.POLLIN, Deadline.remainingMillis(deadline), pidfd.name());
                if (revents == Syscalls.INTERRUPTED) {
                    return Deadline.passed(deadline) ? Boolean.FALSE : null;
                }
                return revents != 0;
            }).orElse(false));
            return ended ? Optional.of(reap()) : Optional.empty();
        } catch (ClosedByInterruptException e) {
            Thread.interrupted();
            InterruptedException ie = new InterruptedException("interrupted while waiting for " + this);
            ie.initCause(e);
            throw ie;
        } catch (ClosedChannelException e) {
            // a close from another thread came after the look above: it reaps the child before it
            // releases the pidfd, so, as with Process.waitFor, the child's end is known, no failure
            Optional<ExitStatus> closed = exitStatus();
            if (closed.isEmpty()) {
                throw e;
            }
            return closed;
        }
    }

    /** The exit status if the child has ended (reaping it), without waiting. */
    public Optional<ExitStatus> exitStatus() throws IOException {
        synchronized (this) {
            if (status != null) {
                return Optional.of(status);
            }
            int raw = Syscalls.reap(pid);
            if (raw == -1) {
                return Optional.empty();
            }
            status = ExitStatus.fromWaitStatus(raw);
            dropped.reaped = true;
            return Optional.of(status);
        }
    }

    private ExitStatus reap() throws IOException {
        return exitStatus().orElseThrow(() -> new IllegalStateException("pidfd readable but " + pid + " not reaped"));
    }

    /** Sends {@code signal} (e.g. 15 for SIGTERM); nothing happens once the child has ended. */
    public void signal(int signal) throws IOException {
        if (signal <= 0 || signal > 64) {
            throw new IllegalArgumentException("not a signal: " + signal);
        }
        synchronized (this) {
            if (status != null) {
                return;
            }
            pidfd.withFd(fd -> {
                Syscalls.pidfdSignal(fd, signal, pidfd.name());
                return null;
            });
        }
    }

    /** Sends SIGKILL. */
    public void kill() throws IOException {
        signal(Syscalls.SIGKILL);
    }

    /** Kills (SIGKILL) and reaps the child if it still runs, then releases the pidfd. */
    @Override
    public void close() throws IOException {
        try {
            if (pidfd.isOpen() && exitStatus().isEmpty()) {
                kill();
                boolean interrupted = false;
                for (;;) {
                    try {
                        waitFor();
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true; // finish the reap; keep the interrupt for the caller
                    }
                }
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        } finally {
            pidfd.close();
        }
    }

    @Override
    public String toString() {
        return "ChildProcess[" + pid + " " + Objects.toString(program) + "]";
    }

    /**
     * The Cleaner's action: unless the child was reaped, reaps it if it has ended, or else starts a
     * daemon thread that waits for it to end and reaps it. Holds the pid only, never the ChildProcess.
     */
    private static final class ReapWhenDropped implements Runnable {
        private final int pid;
        private volatile boolean reaped;

        ReapWhenDropped(int pid) {
            this.pid = pid;
        }

        @Override
        public void run() {
            if (reaped) {
                return;
            }
            try {
                if (Syscalls.reap(pid) != -1) {
                    return; // it had ended: reaped now, without a thread
                }
            } catch (IOException e) {
                return; // not this process's child to reap (ECHILD)
            }
            Thread reaper = new Thread(() -> Syscalls.awaitAndReap(pid), "ipcbridge-reaper-" + pid);
            reaper.setDaemon(true);
            reaper.start();
        }
    }
}
