package io.ipcbridge.cli;

import io.ipcbridge.Descriptor;
import io.ipcbridge.ErrnoException;
import io.ipcbridge.IpcError;
import io.ipcbridge.PeerClosedException;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.pipe.Pipe;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.time.Duration;

/**
 * The process's stdout, written with write(2) on fd 1 through the library's {@link Descriptor}, so
 * that a failed write has its errno: EPIPE (the reader has gone) is exit 141 and no message, as
 * with SIGPIPE; any other (ENOSPC on /dev/full, EIO...) is exit 1 with the one line
 * {@code write(stdout): ENOSPC (No space left on device)} (CLI.md). {@link System#out}, and so
 * picocli's own output (--version, --help, info, ls), goes through it as well once {@link Main#main}
 * has called {@link #install()}; the first failure is kept, for {@link #error()}.
 *
 * <p>Without {@link #install()} (the CLI run inside a test JVM), {@link System#out} is written as it
 * is and any failure counts as a closed stdout, as a {@link PrintStream} cannot tell more.
 */
final class Stdout extends OutputStream {
    /** EBADF: fd 1 is not open for writing. */
    private static final int EBADF = 9;
    private static volatile Stdout installed;

    /** fd 1, never closed: held here so that its Cleaner never runs. */
    private final Descriptor fd1;
    private volatile IOException error;

    private Stdout(Descriptor fd1) {
        this.fd1 = fd1;
    }

    /** Makes fd 1, through this class, the process's {@link System#out}. */
    static void install() {
        try {
            Stdout stdout = new Stdout(Descriptor.adopt(1, "stdout"));
            installed = stdout;
            System.setOut(new PrintStream(stdout, false));
        } catch (IOException | IllegalArgumentException e) {
            // fd 1 is not open: keep the JDK's System.out, whose writes then fail as a closed stdout.
        }
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (error != null) {
            throw error;
        }
        try {
            ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
            while (buffer.hasRemaining()) {
                if (fd1.write(buffer) == 0) { // an O_NONBLOCK stdout inherited from the parent: wait, do not spin
                    fd1.awaitWritable(Duration.ofSeconds(1));
                }
            }
        } catch (IOException e) {
            error = e;
            throw e;
        } catch (IllegalStateException internal) {
            // The library's EBADF, which it takes for a bug of its own; here it is the caller's doing:
            // stdout was closed (`>&-`, so the JVM's first file took fd 1) or opened for reading only
            // (`1</dev/null`). Exit 1 with the errno line (CLI.md), not an internal error or a trace.
            if (internal.getMessage() == null || !internal.getMessage().contains(": EBADF ")) {
                throw internal;
            }
            error = new ErrnoException("write", "stdout", EBADF, null);
            throw error;
        }
    }

    /**
     * Watches fd 1, while open, for its reader going away (POLLERR or POLLHUP: {@code | head} has
     * exited), and then interrupts the thread that opened it, so that a receive waiting for the next
     * message ends instead of taking one it could not write (CLI-04). Without {@link #install()} (the
     * CLI run inside a test JVM, whose fd 1 is not the command's), it watches nothing.
     */
    static Watch watch() throws IOException {
        return installed == null ? new Watch(null) : new Watch(Pipe.open());
    }

    /** What {@link #whileReaderStays} runs; it may look at the watch between two waits. */
    @FunctionalInterface
    interface Body {
        void run(Watch watch) throws IOException, InterruptedException, CommandFailure;
    }

    /**
     * Runs {@code body} under a {@link #watch()}: a wait that the reader's going ended (or a write
     * that failed for it) is exit 141, quietly.
     */
    static void whileReaderStays(Body body) throws IOException, InterruptedException, CommandFailure {
        try (Watch watch = watch()) {
            try {
                body.run(watch);
            } catch (ClosedByInterruptException | InterruptedException | CommandFailure e) {
                if (watch.readerGone()) {
                    throw CommandFailure.stdoutClosed();
                }
                throw e;
            }
        }
    }

    /** A watch on fd 1's reader; see {@link #watch()}. */
    static final class Watch implements AutoCloseable {
        private final Pipe wake;
        private final Thread watcher;
        private volatile boolean readerGone;

        private Watch(Pipe wake) throws IOException {
            this.wake = wake;
            if (wake == null) {
                watcher = null;
                return;
            }
            Thread target = Thread.currentThread();
            int stop = wake.source().descriptor().fd(); // open until the watcher has ended
            watcher = new Thread(() -> run(target, stop), "ipcbridge-stdout-watch");
            watcher.setDaemon(true);
            watcher.start();
        }

        private void run(Thread target, int stop) {
            int[] entries = new int[4];
            try {
                for (;;) {
                    entries[0] = 1;
                    entries[1] = 0; // POLLERR and POLLHUP are reported unasked
                    entries[2] = stop;
                    entries[3] = Syscalls.POLLIN;
                    if (Syscalls.poll(entries, 2, -1, "stdout") == Syscalls.INTERRUPTED) {
                        continue;
                    }
                    int out = entries[1] >>> 16;
                    if ((out & (Syscalls.POLLERR | Syscalls.POLLHUP)) != 0) {
                        readerGone = true;
                        target.interrupt();
                        return;
                    }
                    if (out != 0 || entries[3] >>> 16 != 0) {
                        return; // fd 1 not open (POLLNVAL), or the watch was closed
                    }
                }
            } catch (IOException e) {
                // poll failed: nothing is watched, and a write still finds EPIPE
            }
        }

        /**
         * Whether stdout's reader has gone, looked at now with poll(2) on fd 1, not only as the
         * watcher thread last saw it (it may not have looked yet): for a command about to take data
         * that would not wait, which the watcher's interrupt could not stop.
         */
        boolean readerGoneNow() {
            if (!readerGone && wake != null) {
                int[] entry = {1, 0}; // POLLERR and POLLHUP are reported unasked
                try {
                    if (Syscalls.poll(entry, 1, 0, "stdout") > 0
                            && ((entry[1] >>> 16) & (Syscalls.POLLERR | Syscalls.POLLHUP)) != 0) {
                        readerGone = true;
                    }
                } catch (IOException e) {
                    // nothing known: a write still finds EPIPE
                }
            }
            return readerGone;
        }

        /** Whether stdout's reader has gone (and the opening thread was interrupted). */
        boolean readerGone() {
            return readerGone;
        }

        /** Ends the watch; an interrupt it made stays, with {@link #readerGone()} true. */
        @Override
        public void close() throws IOException {
            if (wake == null) {
                return;
            }
            boolean interrupted = false;
            try {
                wake.sink().close(); // the watcher's poll sees POLLHUP on the other end, and returns
                for (;;) {
                    try {
                        watcher.join(); // before the source closes: the watcher polls its number
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            } finally {
                wake.close();
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** The first write error on stdout, or null (also when not {@link #install() installed}). */
    static IOException error() {
        Stdout s = installed;
        return s == null ? null : s.error;
    }

    /**
     * What a failed write on stdout ends the command with: exit 141 quietly when its reader has gone
     * (or when the errno is not known), else exit 1 with {@code write(stdout): ENAME (text)}.
     */
    static CommandFailure failure() {
        IOException e = error();
        if (e == null || e instanceof PeerClosedException) {
            return CommandFailure.stdoutClosed();
        }
        // The bare errno form: the library's detail for ENOSPC speaks of IPC objects, not of stdout.
        return CommandFailure.refused(e instanceof IpcError ipc ? ipc.failure().message(null) : ExitCodes.describe(e));
    }
}
