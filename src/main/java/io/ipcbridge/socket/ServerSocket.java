package io.ipcbridge.socket;

import io.ipcbridge.AddressInUseException;
import io.ipcbridge.ConnectionRefusedException;
import io.ipcbridge.Descriptor;
import io.ipcbridge.HasDescriptor;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.internal.posix.Deadline;
import io.ipcbridge.internal.posix.FileInfo;
import io.ipcbridge.internal.posix.SocketCalls;
import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;
import java.nio.channels.Channel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;

/**
 * A listening stream or seqpacket socket: bind(2), listen(2), accept4(2).
 *
 * <p>A filesystem socket gets exactly the mode asked for (0600 by default; connecting needs write
 * permission on it), a path longer than {@code sun_path} is refused before any call, and a stale
 * socket file left by a dead server can be replaced on request (only if nothing answers on it).
 * The server removes the socket file it created when it is closed. {@link #allowUids} makes
 * {@link #accept()} take only peers of the given users (checked with SO_PEERCRED, fail-closed).
 */
public final class ServerSocket implements Channel, HasDescriptor {
    /** The mode filesystem sockets get unless another is given. */
    public static final int DEFAULT_MODE = 0600;
    private static final int BACKLOG = 128;

    private final Descriptor fd;
    private final Address address;
    private final Socket.Type type;
    private final String ownedPath;
    /** Held while the socket file is removed, so that no close() returns before the removal is done. */
    private final Object removal = new Object();
    private boolean pathRemoved; // guarded by removal
    private volatile int[] allowedUids;

    private ServerSocket(Descriptor fd, Address address, Socket.Type type, String ownedPath) {
        this.fd = fd;
        this.address = address;
        this.type = type;
        this.ownedPath = ownedPath;
    }

    /** Listens at {@code address} with mode 0600, refusing an existing socket file. */
    public static ServerSocket listen(Address address, Socket.Type type) throws IOException {
        return listen(address, type, DEFAULT_MODE, false);
    }

    /**
     * Listens at {@code address}.
     *
     * @param mode the mode of a filesystem socket
     * @param replaceStale whether a socket file nobody answers on may be removed and replaced; the
     *     directory's flock(2), which every listen here holds from bind to listen, keeps it from
     *     taking another listener's file in that window for a stale one
     * @throws java.net.BindException if the address is in use (EADDRINUSE)
     */
    public static ServerSocket listen(Address address, Socket.Type type, int mode, boolean replaceStale)
            throws IOException {
        if (type == Socket.Type.DATAGRAM) {
            throw new IllegalArgumentException("datagram sockets do not listen: use Socket.bind");
        }
        Socket.checkType(address, type);
        if ((mode & ~0777) != 0) {
            throw new IllegalArgumentException("mode must be within 0777: 0" + Integer.toOctalString(mode));
        }
        String object = address.toString();
        int raw = SocketCalls.socket(address.domain(), type.value | SocketCalls.SOCK_NONBLOCK, object);
        Descriptor d;
        try {
            d = Descriptor.adopt(raw, object);
        } catch (IOException | RuntimeException e) {
            Syscalls.close(raw);
            throw e;
        }
        String path = address instanceof Address.Unix unix ? unix.path().toString() : null;
        int lock = -1;
        if (path != null) {
            try {
                lock = Syscalls.lockDirectory(directoryOf(path), object);
            } catch (IOException unopenable) {
                // missing (bind tells) or unreadable: bound without the lock, as before it existed
            }
        }
        try {
            return bindAndListen(d, address, type, mode, replaceStale, path, object);
        } finally {
            if (lock >= 0) {
                Syscalls.close(lock);
            }
        }
    }

    /**
     * The directory of socket file {@code path}, whose flock(2) every listener here holds from its
     * bind to its listen (and while it removes what it bound, if that fails). In between, connecting
     * is refused as on a stale file's socket, so another listener replacing a stale file there would
     * unlink this live one; and two replacing the same stale file would each unlink it and bind, one
     * of them left listening on a file the other removed. The lock makes each of these one step for
     * ipcbridge's listeners (and for any program that takes the same lock); a directory this process
     * cannot read (mode -wx) is not locked.
     */
    private static String directoryOf(String path) {
        Path parent = Path.of(path).getParent();
        return parent == null ? "." : parent.toString();
    }

    /** bind(2), replacing a stale file if asked, the mode, listen(2); under the directory's lock. */
    private static ServerSocket bindAndListen(Descriptor d, Address address, Socket.Type type, int mode,
            boolean replaceStale, String path, String object) throws IOException {
        boolean[] bound = {false};
        try {
            d.withFd(f -> {
                if (address instanceof Address.Inet) {
                    SocketCalls.setInt(f, SocketCalls.SOL_SOCKET, SocketCalls.SO_REUSEADDR, 1, object);
                }
                try {
                    SocketCalls.bind(f, address.sockaddr(), object);
                } catch (AddressInUseException e) {
                    if (path == null || !replaceStale || !isStale(address, path)) {
                        throw e;
                    }
                    Syscalls.unlink(path);
                    SocketCalls.bind(f, address.sockaddr(), object);
                }
                bound[0] = true;
                if (path != null) {
                    chmodBound(path, mode, object);
                }
                SocketCalls.listen(f, BACKLOG, object);
                return null;
            });
            return new ServerSocket(d, address, type, path);
        } catch (IOException | RuntimeException e) {
            d.close();
            if (bound[0] && path != null) {
                // the bind made the file, and the call failed after it (EMFILE on the open that sets
                // the mode, listen): nothing may be left, or a retry finds the address in use
                removeBound(path, e);
            }
            throw e;
        }
    }

    /**
     * A socket file is stale when it is a socket of our effective uid and connecting to it is
     * refused (ECONNREFUSED: no socket is bound to it). Any other answer means someone lives there:
     * EPROTOTYPE is a live socket of another type (a seqpacket server, a bound datagram socket), a
     * timeout a server whose backlog is full. Another user's file is never ours to remove (UDS-02).
     */
    private static boolean isStale(Address address, String path) throws IOException {
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

    /**
     * Makes {@link #accept()} take only peers whose SO_PEERCRED uid is one of {@code uids}; others are
     * closed at once. No argument lifts the restriction.
     *
     * @throws IllegalArgumentException if this is not an AF_UNIX server: the kernel keeps no
     *     credentials for TCP peers, so every one would be refused; or if a uid is negative: -1 is
     *     (uid_t) -1, no user, and uids from 2^31 up, which an int shows negative, are left unused
     *     because so many programs read uids as signed
     */
    public void allowUids(int... uids) {
        if (address.domain() != Address.AF_UNIX) {
            throw new IllegalArgumentException("allowUids: " + address + " is not AF_UNIX, and SO_PEERCRED tells "
                    + "the uid of AF_UNIX peers only: no peer could ever be accepted");
        }
        for (int uid : uids) {
            if (uid < 0) {
                throw new IllegalArgumentException("allowUids: a uid is 0 or more: " + uid);
            }
        }
        allowedUids = uids.length == 0 ? null : uids.clone();
    }

    /** Waits for a connection and accepts it. */
    public Socket accept() throws IOException {
        return accept(null).orElseThrow();
    }

    /**
     * Accepts a connection, waiting at most {@code timeout} (null: for ever); zero takes a
     * connection already queued, without waiting. A peer {@link #allowUids} refuses ends the call if
     * the deadline has passed meanwhile, so a stream of refused peers cannot hold it past it.
     *
     * @return empty if none came in time
     */
    public Optional<Socket> accept(Duration timeout) throws IOException {
        long deadline = Deadline.of(timeout);
        String object = address + " (accepted)";
        for (;;) {
            // a connection accept4 took counts as taken (an effect) even if a close or an interrupt came
            // meanwhile: it is returned, as a read returns its data, never dropped with no owner
            int raw = fd.blocking(null, (f, unused) -> {
                int r = SocketCalls.accept(f, address.toString());
                if (r == Syscalls.INTERRUPTED) {
                    return Descriptor.RETRY;
                }
                if (r != Syscalls.AGAIN) {
                    return r;
                }
                if (Deadline.passed(deadline)) {
                    return -1;
                }
                // poll here, not fd.awaitReadable: a nested blocking call would turn an interrupt's
                // ClosedByInterruptException into an AsynchronousCloseException on the way out
                Syscalls.poll(f, Syscalls.POLLIN, Deadline.remainingMillis(deadline), address.toString());
                return Descriptor.RETRY;
            }, true);
            if (raw < 0) {
                return Optional.empty();
            }
            Socket s = Socket.adopt(raw, address.domain(), type, object);
            int[] uids = allowedUids;
            if (uids == null || Arrays.stream(uids).anyMatch(u -> u == uidOf(s))) {
                return Optional.of(s);
            }
            s.close();
            if (Deadline.passed(deadline)) {
                // without this look, refused peers that keep coming (a queue never empty) would keep a
                // timed accept past its deadline: it is otherwise checked only when accept4 finds none
                return Optional.empty();
            }
        }
    }

    private static int uidOf(Socket s) {
        try {
            return s.peerCredentials().uid();
        } catch (IOException e) {
            return -1; // no credentials: refused
        }
    }

    /** The address it listens on (for a TCP port 0, the port the kernel chose). */
    public Address localAddress() throws IOException {
        byte[] sa = fd.withFd(f -> SocketCalls.name(f, false, address.toString()));
        return Address.fromSockaddr(sa, sa.length);
    }

    /** The listening descriptor. */
    @Override
    public Descriptor descriptor() {
        return fd;
    }

    @Override
    public boolean isOpen() {
        return fd.isOpen();
    }

    /** Stops listening and removes the socket file this server created. */
    @Override
    public void close() throws IOException {
        try {
            fd.close();
        } finally {
            // also when an interrupted accept has closed the descriptor already, or the close failed:
            // the file is still ours. A close racing another one (a shutdown hook's and the main
            // thread's) waits for the removal the other began: it returned before the unlink, and a
            // JVM that halted then left the file behind
            if (ownedPath != null) {
                synchronized (removal) {
                    if (!pathRemoved) {
                        pathRemoved = true;
                        unlinkQuietly(ownedPath);
                    }
                }
            }
        }
    }

    /**
     * chmod(2) of the socket file just bound at {@code path}, through an O_PATH|O_NOFOLLOW descriptor
     * of it: a symbolic link put in its place since the bind (in a directory others may write) is
     * refused, not followed, so the mode never lands on the link's target (SEC-01).
     *
     * @throws IpcSecurityException if {@code path} is no longer a socket
     */
    static void chmodBound(String path, int mode, String object) throws IOException {
        int fd = Syscalls.open(path, Syscalls.O_PATH | Syscalls.O_NOFOLLOW, 0, object);
        try {
            FileInfo info = Syscalls.fstat(fd, path);
            if (!info.isSocket()) {
                throw new IpcSecurityException(path, "is " + (info.isSymbolicLink() ? "a symbolic link (not followed)"
                        : "a " + info.typeName()) + ", not the socket just bound there; its mode is left alone");
            }
            Syscalls.chmod("/proc/self/fd/" + fd, mode, object);
        } finally {
            Syscalls.close(fd);
        }
    }

    /** After a failed listen: removes the socket file it bound, if a socket is still there. */
    private static void removeBound(String path, Throwable failure) {
        try {
            if (Syscalls.lstat(path).isSocket()) {
                unlinkQuietly(path);
            }
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    /** Removes a socket file this process bound, if it is still there. */
    static void unlinkQuietly(String path) throws IOException {
        try {
            Syscalls.unlink(path);
        } catch (java.nio.file.NoSuchFileException gone) {
            // removed by someone else
        }
    }

    @Override
    public String toString() {
        return "ServerSocket[" + type + " " + address + (isOpen() ? "" : ", closed") + "]";
    }
}
