package io.ipcbridge.pipe;

import io.ipcbridge.Descriptor;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.internal.posix.CreateOrOpen;
import io.ipcbridge.internal.posix.Deadline;
import io.ipcbridge.internal.posix.Errors;
import io.ipcbridge.internal.posix.FileInfo;
import io.ipcbridge.internal.posix.SignalledWait;
import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Named pipes: mkfifo(3) and a safe open.
 *
 * <p>Opening never follows a symbolic link and never writes into something that is not a FIFO: the
 * path is first opened with {@code O_PATH|O_NOFOLLOW} (which opens nothing), checked with fstat(2)
 * (a FIFO with one link, owned by this user, or by root and writable by no one else), and only then
 * opened for reading or writing through {@code /proc/self/fd}, so the object checked is the object opened. Anything else gets an
 * {@link IpcSecurityException} and nothing is read or written.
 *
 * <p>An open for reading waits for a writer and an open for writing waits for a reader, as
 * open(2) does; the timed variants end that wait at a deadline, and {@link Thread#interrupt()} ends
 * it with {@link java.nio.channels.ClosedByInterruptException}. An empty path is refused with an
 * {@link IllegalArgumentException} before any call.
 */
public final class Fifo {
    /** The mode {@link #create(Path)} gives. */
    public static final int DEFAULT_MODE = 0600;
    /** What {@link #checkedPathFdOnce} returns for a FIFO unlinked since it was opened. */
    private static final int UNLINKED = -1;
    /** How many times {@link #checkedPathFd} looks a name up that keeps being unlinked under it. */
    private static final int LOOKUPS = 100;

    private Fifo() {
    }

    /** mkfifo(3) with mode 0600. */
    public static void create(Path path) throws IOException {
        create(path, DEFAULT_MODE);
    }

    /**
     * mkfifo(3): creates a FIFO with exactly {@code mode} (set again after creation, since the umask
     * only narrows it). An existing entry of any kind, a symbolic link included, is never replaced.
     *
     * @throws java.nio.file.FileAlreadyExistsException if anything exists at {@code path} (EEXIST)
     * @throws java.nio.file.NoSuchFileException if the parent directory is missing (ENOENT)
     */
    public static void create(Path path, int mode) throws IOException {
        String p = checked(path);
        checkMode(mode);
        Syscalls.mkfifo(p, mode);
        int fd;
        try {
            fd = checkedPathFd(p);
        } catch (IOException | RuntimeException e) {
            removeMade(p, e);
            throw e;
        }
        try {
            Syscalls.chmod("/proc/self/fd/" + fd, mode, p);
        } catch (IOException | RuntimeException e) {
            removeMade(p, e);
            throw e;
        } finally {
            Syscalls.close(fd);
        }
    }

    /**
     * Undoes the mkfifo of a create that then failed (say, EMFILE on the check's open): the entry is
     * removed if it is still a FIFO of this user, so that nothing is left by a failed call; anything
     * else found there is left alone.
     */
    private static void removeMade(String path, Throwable failure) {
        try {
            FileInfo info = Syscalls.lstat(path);
            if (info.isFifo() && info.uid() == Syscalls.geteuid()) {
                Syscalls.unlink(path);
            }
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    /**
     * Creates a FIFO as {@link #create(Path, int)} does, unless a FIFO that {@link #openReader}
     * accepts (this user's, or root's that no one else may write) and whose mode grants nothing
     * beyond {@code mode} is already there, which is accepted as it is. One removed between mkfifo's
     * EEXIST and the check leaves the name free: the mkfifo is made again (a bounded number of times).
     *
     * @return true if it was created, false if it was there
     * @throws IpcSecurityException if something else is at {@code path} (a file, a symbolic link,
     *     another user's FIFO, a FIFO more open than {@code mode}: SEC-02); it is left untouched
     */
    public static boolean createIfAbsent(Path path, int mode) throws IOException {
        return CreateOrOpen.run(() -> {
            create(path, mode);
            return true;
        }, () -> {
            String p = checked(path);
            int fd = checkedPathFd(p);
            try {
                CreateOrOpen.checkMode(p, Syscalls.fstat(fd, p), mode);
            } finally {
                Syscalls.close(fd);
            }
            return false;
        });
    }

    /**
     * Removes the FIFO at {@code path}; refuses anything that is not a FIFO.
     *
     * @throws java.nio.file.NoSuchFileException if nothing is there
     * @throws IpcSecurityException if the entry is not a FIFO
     */
    public static void delete(Path path) throws IOException {
        String p = checked(path);
        FileInfo info;
        try {
            info = Syscalls.lstat(p);
        } catch (io.ipcbridge.NoSuchObjectException e) {
            throw new io.ipcbridge.NoSuchObjectException("unlink", p, e.errno());
        }
        if (!info.isFifo()) {
            throw new IpcSecurityException(p, "is a " + info.typeName() + ", not a FIFO; not removed");
        }
        Syscalls.unlink(p);
    }

    /** Opens {@code path} for reading, waiting for a writer as long as it takes. */
    public static PipeSource openReader(Path path) throws IOException {
        return new PipeSource(open(path, Syscalls.O_RDONLY, Deadline.NEVER).orElseThrow());
    }

    /**
     * Opens {@code path} for reading, waiting at most {@code timeout} for a writer; a zero timeout
     * is a check, which an interrupt pending does not end (it stays set).
     *
     * @return empty if no writer came in time
     */
    public static Optional<PipeSource> openReader(Path path, Duration timeout) throws IOException {
        return open(path, Syscalls.O_RDONLY, deadline(timeout)).map(PipeSource::new);
    }

    /** Opens {@code path} for writing, waiting for a reader as long as it takes. */
    public static PipeSink openWriter(Path path) throws IOException {
        return new PipeSink(open(path, Syscalls.O_WRONLY, Deadline.NEVER).orElseThrow());
    }

    /**
     * Opens {@code path} for writing, waiting at most {@code timeout} for a reader; with a zero
     * timeout this is a non-blocking open, empty when there is no reader (ENXIO).
     *
     * @return empty if no reader came in time
     */
    public static Optional<PipeSink> openWriter(Path path, Duration timeout) throws IOException {
        return open(path, Syscalls.O_WRONLY, deadline(timeout)).map(PipeSink::new);
    }

    /**
     * Opens {@code path} for reading and writing without waiting (so a pending interrupt is not
     * taken). Linux allows this on a FIFO (POSIX leaves it undefined): the descriptor is its own
     * writer, so reads never see end of file, which makes it a keep-alive for a FIFO that writers
     * come and go on.
     */
    public static Descriptor openReadWrite(Path path) throws IOException {
        return open(path, Syscalls.O_RDWR, Deadline.NEVER).orElseThrow();
    }

    private static long deadline(Duration timeout) {
        return Deadline.of(Objects.requireNonNull(timeout, "timeout"));
    }

    private static Optional<Descriptor> open(Path path, int access, long deadline) throws IOException {
        String p = checked(path);
        int pathFd = checkedPathFd(p);
        try {
            String reopen = "/proc/self/fd/" + pathFd;
            Optional<Integer> fd;
            if (access == Syscalls.O_RDWR) {
                // its own peer, so no wait, and no interrupt to take (as FileChannel.open)
                fd = Optional.of(openWithoutWaiting(reopen, access, p));
            } else if (access == Syscalls.O_WRONLY && deadline != Deadline.NEVER
                    && Deadline.remainingMillis(deadline) == 0) {
                int r = openWithoutWaiting(reopen, access | Syscalls.O_NONBLOCK, p);
                fd = r == Syscalls.NO_PEER ? Optional.empty() : Optional.of(r);
                if (fd.isPresent()) {
                    clearNonBlocking(fd.get(), p);
                }
            } else {
                // a zero timeout is a check, not a wait: an interrupt pending does not end it and is
                // kept (as openWriter(ZERO) and Process.waitFor(0, unit)). A reader cannot ask without
                // the blocking open, which returns at once with a writer there, or at the wake-up
                boolean check = deadline != Deadline.NEVER && Deadline.remainingMillis(deadline) == 0
                        && Thread.interrupted();
                try {
                    fd = SignalledWait.run(deadline, () -> {
                        int r = Syscalls.open(reopen, access, 0, p);
                        return r == Syscalls.INTERRUPTED ? null : r;
                    });
                } finally {
                    if (check) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
            if (fd.isEmpty()) {
                return Optional.empty();
            }
            try {
                return Optional.of(Descriptor.adopt(fd.get(), p));
            } catch (IOException | RuntimeException e) {
                Syscalls.close(fd.get());
                throw e;
            }
        } finally {
            Syscalls.close(pathFd);
        }
    }

    /** open(2) of {@code reopen} with {@code flags} that never wait for a peer; again on EINTR. */
    private static int openWithoutWaiting(String reopen, int flags, String p) throws IOException {
        for (;;) {
            int r = Syscalls.open(reopen, flags, 0, p);
            if (r != Syscalls.INTERRUPTED) {
                return r;
            }
        }
    }

    private static void clearNonBlocking(int fd, String p) throws IOException {
        try {
            Syscalls.setNonBlocking(fd, false, p);
        } catch (IOException | RuntimeException e) {
            Syscalls.close(fd);
            throw e;
        }
    }

    /**
     * Opens {@code path} with O_PATH|O_NOFOLLOW and checks it is a FIFO of ours (or root's, see above).
     * A FIFO unlinked since the open (st_nlink 0: an rm, or a rename putting another FIFO at the
     * name, as {@code mkfifo tmp && mv tmp PATH} does) is no planted link: the name is looked up again,
     * a bounded number of times (then it is missing: ENOENT).
     */
    private static int checkedPathFd(String path) throws IOException {
        for (int i = 0; i < LOOKUPS; i++) {
            int fd = checkedPathFdOnce(path);
            if (fd != UNLINKED) {
                return fd;
            }
        }
        throw Errors.exception("open", path, Errors.ENOENT);
    }

    /** {@link #checkedPathFd} once: the descriptor, or {@link #UNLINKED}. */
    private static int checkedPathFdOnce(String path) throws IOException {
        int fd = Syscalls.open(path, Syscalls.O_PATH | Syscalls.O_NOFOLLOW, 0, path);
        try {
            FileInfo info = Syscalls.fstat(fd, path);
            if (!info.isFifo()) {
                String what = info.isSymbolicLink() ? "a symbolic link (not followed)" : "a " + info.typeName();
                throw new IpcSecurityException(path, "is " + what + ", not a FIFO; refused");
            }
            if (info.nlink() == 0) {
                Syscalls.close(fd);
                return UNLINKED;
            }
            if (info.nlink() != 1) {
                // FIFO-07, SEC-03: a second name for a FIFO is how another user's (or root's) FIFO,
                // e.g. /run/initctl, gets planted at our path where hard links are not protected
                throw new IpcSecurityException(path,
                        "is a FIFO with " + info.nlink() + " hard links, not 1; refused");
            }
            int me = Syscalls.geteuid();
            if (info.uid() != me && info.uid() != 0) {
                throw new IpcSecurityException(path,
                        "is a FIFO owned by uid " + Integer.toUnsignedString(info.uid()) + ", not by this user (uid "
                                + Integer.toUnsignedString(me) + "); refused");
            }
            if (info.uid() != me && (info.permissions() & 0022) != 0) {
                // FIFO-07: root's FIFO that anyone may write into is no channel from root; ours has
                // the mode we gave it
                throw new IpcSecurityException(path, "is a FIFO of uid 0 with mode 0"
                        + Integer.toOctalString(info.permissions()) + ", writable by group or others; refused");
            }
            return fd;
        } catch (IOException | RuntimeException e) {
            Syscalls.close(fd);
            throw e;
        }
    }

    /**
     * {@code path} as the calls take it. An empty one ({@code Path.of("")}, the current directory to
     * the JDK) is refused: the calls would fail with ENOENT naming nothing.
     */
    private static String checked(Path path) {
        String p = path.toString();
        if (p.isEmpty()) {
            throw new IllegalArgumentException("an empty path names no FIFO");
        }
        return p;
    }

    private static void checkMode(int mode) {
        if ((mode & ~0777) != 0) {
            throw new IllegalArgumentException("mode must be within 0777: 0" + Integer.toOctalString(mode));
        }
    }
}
