package io.ipcbridge.cli;

import io.ipcbridge.Descriptor;
import io.ipcbridge.ErrnoException;
import io.ipcbridge.IpcError;
import io.ipcbridge.PeerClosedException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
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
