package io.ipcbridge.socket;

import io.ipcbridge.ConnectionRefusedException;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.internal.posix.Errors;
import io.ipcbridge.internal.posix.FileInfo;
import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A socket file this process bound, removed when its socket closes only if the path still holds
 * this socket's file. While the socket is open, no one takes its file for stale; once its descriptor
 * has closed (an interrupt, before close()), the file looks stale, and another listener may have
 * replaced it.
 *
 * <p>A listener holds flock(2) on the file's directory from its bind to its listen (in between,
 * connecting is refused as on a stale file), and so do a stale-file replacement and the removal of
 * a closed socket's file, for their look and their unlink: none of them interleave. The lock binds
 * ipcbridge's sockets (and any program that takes the same lock). Since anyone who may read the
 * directory can take it and keep it, it is waited for {@link #LOCK_WAIT} at most; without it (or in a
 * directory this process cannot read, mode -wx) no stale file is replaced and no closed socket's
 * file is removed.
 */
final class SocketFile {
    /**
     * How long to wait for the directory's lock: its holders keep it for microseconds, and at most
     * for the stale check's connect (one second).
     */
    static final Duration LOCK_WAIT = Duration.ofSeconds(2);

    private final String path;
    private final FileInfo bound;
    private boolean removed; // guarded by this

    private SocketFile(String path, FileInfo bound) {
        this.path = path;
        this.bound = bound;
    }

    /**
     * The directory lock of socket file {@code path}: a descriptor to close to release it, or -1
     * when the directory cannot be opened (missing: bind tells; unreadable) or the lock stayed taken
     * for {@link #LOCK_WAIT}.
     */
    static int lock(String path, String object) {
        Path parent = Path.of(path).getParent();
        try {
            return Syscalls.lockDirectory(parent == null ? "." : parent.toString(), LOCK_WAIT, object);
        } catch (IOException unopenable) {
            return -1;
        }
    }

    /** Releases a lock {@link #lock} took. */
    static void unlock(int lock) throws IOException {
        if (lock >= 0) {
            Syscalls.close(lock);
        }
    }

    /**
     * The socket file just bound at {@code path}, given {@code mode} by chmod(2) through an
     * O_PATH|O_NOFOLLOW descriptor of it: a symbolic link put in its place since the bind (in a
     * directory others may write) is refused, not followed, so the mode never lands on the link's
     * target (SEC-01).
     *
     * @throws IpcSecurityException if {@code path} is no longer a socket
     */
    static SocketFile bound(String path, int mode, String object) throws IOException {
        int fd = Syscalls.open(path, Syscalls.O_PATH | Syscalls.O_NOFOLLOW, 0, object);
        try {
            FileInfo info = Syscalls.fstat(fd, path);
            if (!info.isSocket()) {
                throw new IpcSecurityException(path, "is " + (info.isSymbolicLink() ? "a symbolic link (not followed)"
                        : "a " + info.typeName()) + ", not the socket just bound there; its mode is left alone");
            }
            Syscalls.chmod("/proc/self/fd/" + fd, mode, object);
            return new SocketFile(path, info);
        } finally {
            Syscalls.close(fd);
        }
    }

    /**
     * After a bind whose follow-up failed before a {@link SocketFile} was made (EMFILE on the open
     * that sets the mode; listen): removes the socket at {@code path}, if a socket is still there, or
     * a retry would find the address in use. Called before the socket's descriptor closes, so that
     * no one has taken the file for stale and replaced it. Failures are added to {@code failure}.
     */
    static void removeAfterFailure(String path, Throwable failure) {
        try {
            if (Syscalls.lstat(path).isSocket()) {
                unlinkQuietly(path);
            }
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    /**
     * Removes the file, once, if the path still holds the one bound and it is this socket's; called
     * before the socket's descriptor closes, {@code open} telling whether it was open still. An open
     * socket's file is its own. One whose descriptor closed before is removed only if it is stale,
     * under the directory's lock, since the same inode number may be a replacement's (ext4 hands a
     * freed one out again); without the lock it is left. A call racing another (a shutdown hook's
     * and the main thread's) returns once the first is done.
     */
    synchronized void remove(boolean open) throws IOException {
        if (removed) {
            return;
        }
        removed = true;
        int lock = open ? -1 : lock(path, path);
        if (!open && lock < 0) {
            return;
        }
        try {
            if (Syscalls.lstat(path).isSameFile(bound) && (open || isStale(Address.unix(Path.of(path)), path))) {
                unlinkQuietly(path);
            }
        } catch (NoSuchFileException gone) {
            // removed by someone else
        } finally {
            unlock(lock);
        }
    }

    /**
     * A socket file is stale when it is a socket of our effective uid and connecting to it is
     * refused (ECONNREFUSED: no socket is bound to it). Any other answer means someone lives there:
     * EPROTOTYPE is a live socket of another type (a seqpacket server, a bound datagram socket), a
     * timeout a server whose backlog is full. Another user's file is never ours to remove (UDS-02).
     * The probe (bounded by a second) is made with the caller's interrupt status set aside, and the
     * status restored: a server closed by the thread whose accept an interrupt ended must still
     * remove its file, and an interrupted probe would only leave it.
     */
    static boolean isStale(Address address, String path) throws IOException {
        FileInfo info = Syscalls.lstat(path);
        if (!info.isSocket() || info.uid() != Syscalls.geteuid()) {
            return false;
        }
        boolean interrupted = Thread.interrupted();
        try {
            Socket.connect(address, Socket.Type.STREAM, Duration.ofSeconds(1)).close();
            return false;
        } catch (ConnectionRefusedException e) {
            return e.errno() == Errors.ECONNREFUSED; // ENOENT: the file went meanwhile
        } catch (IOException e) {
            return false;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void unlinkQuietly(String path) throws IOException {
        try {
            Syscalls.unlink(path);
        } catch (NoSuchFileException gone) {
            // removed by someone else
        }
    }
}
