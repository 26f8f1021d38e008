package io.ipcbridge.socket;

import io.ipcbridge.ConnectionRefusedException;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.internal.posix.FileInfo;
import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * A socket file this process bound, removed when its socket closes only if the path still holds
 * this socket's file: once the socket's descriptor has closed (an interrupt), the file looks stale,
 * and another listener may have replaced it.
 *
 * <p>Binding and removing take flock(2) on the file's directory: a listener holds it from its bind
 * to its listen (in between, connecting is refused as on a stale file), and a stale-file replacement
 * and a removal each hold it for their look and their unlink, so none of them interleave. The lock
 * binds ipcbridge's sockets (and any program that takes the same lock); a directory this process
 * cannot open for reading (mode -wx) goes without it.
 */
final class SocketFile {
    private final String path;
    private final FileInfo bound;
    private boolean removed; // guarded by this

    private SocketFile(String path, FileInfo bound) {
        this.path = path;
        this.bound = bound;
    }

    /**
     * The directory lock of socket file {@code path}: a descriptor to close to release it, or -1
     * when the directory cannot be opened (missing: bind tells; unreadable).
     */
    static int lock(String path, String object) {
        Path parent = Path.of(path).getParent();
        try {
            return Syscalls.lockDirectory(parent == null ? "." : parent.toString(), object);
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
     * a retry would find the address in use. Failures are added to {@code failure}.
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
     * Removes the file, once, if the path still holds the one bound and it is this socket's: called
     * before the socket's descriptor closes, and {@code open} tells whether it still is. An open
     * socket's file cannot have been taken for stale and replaced; one whose descriptor closed before
     * (an interrupt) is removed only if it is stale, since the same inode number may be a
     * replacement's (ext4 hands a freed one out again). A call racing another (a shutdown hook's and
     * the main thread's) returns once the first is done.
     */
    synchronized void remove(BooleanSupplier open) throws IOException {
        if (removed) {
            return;
        }
        removed = true;
        int lock = lock(path, path);
        try {
            if (Syscalls.lstat(path).isSameFile(bound)
                    && (open.getAsBoolean() || isStale(Address.unix(Path.of(path)), path))) {
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
     */
    static boolean isStale(Address address, String path) throws IOException {
        FileInfo info = Syscalls.lstat(path);
        if (!info.isSocket() || info.uid() != Syscalls.geteuid()) {
            return false;
        }
        try {
            Socket.connect(address, Socket.Type.STREAM, Duration.ofSeconds(1)).close();
            return false;
        } catch (ConnectionRefusedException e) {
            return true;
        } catch (IOException e) {
            return false;
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
