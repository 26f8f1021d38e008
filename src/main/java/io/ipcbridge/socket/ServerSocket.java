package io.ipcbridge.socket;

import io.ipcbridge.AddressInUseException;
import io.ipcbridge.Descriptor;
import io.ipcbridge.HasDescriptor;
import io.ipcbridge.internal.posix.Deadline;
import io.ipcbridge.internal.posix.SocketCalls;
import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;
import java.nio.channels.Channel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * A listening stream or seqpacket socket: bind(2), listen(2), accept4(2).
 *
 * <p>A filesystem socket gets exactly the mode asked for (0600 by default; connecting needs write
 * permission on it), a path longer than {@code sun_path} is refused before any call, and a stale
 * socket file left by a dead server can be replaced on request (only if nothing answers on it).
 * The server removes the socket file it created when it is closed. {@link #allowUids} makes
 * {@link #accept()} take only peers of the given users (checked with SO_PEERCRED, fail-closed: a
 * peer without credentials, or of a uid not mapped into this user namespace, is never taken).
 *
 * <p>The socket is blocking, as systemd's socket activation passes one, so that a child it is
 * placed on ({@link io.ipcbridge.process.Command#fd}) can wait in accept(2). The first timed
 * {@link #accept(Duration)} makes it non-blocking (O_NONBLOCK, which every holder of the same open
 * socket sees, such a child too), since a blocking accept4(2) could wait past the deadline for a
 * connection another process took first.
 *
 * <p>Thread safety: several threads may accept at once, timed or not; each connection goes to one
 * of them, and a {@link #close()} from any thread ends their waits.
 */
public final class ServerSocket implements Channel, HasDescriptor {
    /** The mode filesystem sockets get unless another is given. */
    public static final int DEFAULT_MODE = 0600;
    /**
     * listen(2)'s backlog: 1,024 (RELIABILITY.md LOAD-02), so that as many clients connecting at
     * once without waiting (O_NONBLOCK) are queued, not refused with EAGAIN; net.core.somaxconn caps it.
     */
    private static final int BACKLOG = 1024;

    private final Descriptor fd;
    private final int domain;
    private final String name; // the address, or the name of a descriptor taken by of()
    private final Socket.Type type;
    private final SocketFile file; // null but for a filesystem socket this server bound
    private volatile int[] allowedUids;

    private ServerSocket(Descriptor fd, int domain, String name, Socket.Type type, SocketFile file) {
        this.fd = fd;
        this.domain = domain;
        this.name = name;
        this.type = type;
        this.file = file;
    }

    /** Listens at {@code address} with mode 0600, refusing an existing socket file. */
    public static ServerSocket listen(Address address, Socket.Type type) throws IOException {
        return listen(address, type, DEFAULT_MODE, false);
    }

    /**
     * Listens at {@code address}.
     *
     * @param mode the mode of a filesystem socket
     * @param replaceStale whether a socket file of ours nobody answers on may be removed and
     *     replaced; under the directory's flock(2), which every listen here holds from bind to
     *     listen, so that no listener's file is taken for stale in that window. Without the lock
     *     (held elsewhere for 2 s, or an unreadable directory) nothing is
     *     replaced: EADDRINUSE
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
        int raw = SocketCalls.socket(Sockaddrs.domain(address), type.value, object);
        String path = address instanceof Address.Unix unix ? unix.path().toString() : null;
        int lock = path == null ? -1 : SocketFile.lock(path, object);
        try {
            return bindAndListen(raw, address, type, mode, replaceStale && lock >= 0, path, object);
        } finally {
            SocketFile.unlock(lock);
        }
    }

    /**
     * Takes ownership of {@code descriptor} as a listening socket: one inherited from a parent
     * (inetd's or systemd's socket activation), or received ({@link Socket#receiveDescriptors}).
     * getsockopt(2) tells its kind first, and a wrong one is refused (FD-11). Its blocking mode is
     * kept until a timed {@link #accept(Duration)} (see the class comment). A socket file it is
     * bound to is never removed: it is not this object's.
     *
     * @throws io.ipcbridge.ErrnoException ENOTSOCK if it is no socket; it is closed then
     * @throws io.ipcbridge.IpcSecurityException if it is not listening (take a connected or
     *     datagram socket with {@link Socket#of}), or neither AF_UNIX nor TCP; it is closed then
     */
    public static ServerSocket of(Descriptor descriptor) throws IOException {
        Socket.Kind kind = Socket.Kind.of(descriptor, true);
        return new ServerSocket(descriptor, kind.domain(), descriptor.name(), kind.type(), null);
    }

    /**
     * bind(2), replacing a stale file if asked, the mode, listen(2), under the directory's lock; then
     * the socket is named by the address it got (a TCP port 0 becomes the port the kernel chose).
     * {@code raw} is closed on failure.
     */
    private static ServerSocket bindAndListen(int raw, Address address, Socket.Type type, int mode,
            boolean replaceStale, String path, String object) throws IOException {
        boolean bound = false;
        boolean handedOver = false;
        try {
            if (address instanceof Address.Inet) {
                SocketCalls.setInt(raw, SocketCalls.SOL_SOCKET, SocketCalls.SO_REUSEADDR, 1, object);
            }
            try {
                SocketCalls.bind(raw, Sockaddrs.of(address), object);
            } catch (AddressInUseException e) {
                if (path == null || !replaceStale || !SocketFile.isStale(address, path)) {
                    throw e;
                }
                Syscalls.unlink(path);
                SocketCalls.bind(raw, Sockaddrs.of(address), object);
            }
            bound = true;
            SocketFile file = path == null ? null : SocketFile.bound(path, mode, object);
            SocketCalls.listen(raw, BACKLOG, object);
            String name = Socket.boundName(raw, address, object);
            handedOver = true; // adopt closes it if it fails
            return new ServerSocket(Descriptor.adopt(raw, name), Sockaddrs.domain(address), name, type, file);
        } catch (IOException | RuntimeException e) {
            if (bound && path != null) {
                SocketFile.removeAfterFailure(path, e);
            }
            if (!handedOver) {
                Syscalls.close(raw);
            }
            throw e;
        }
    }

    /**
     * Makes {@link #accept()} take only peers whose SO_PEERCRED uid is one of {@code uids}; others are
     * closed at once. No argument lifts the restriction.
     *
     * @throws IllegalArgumentException if this is not an AF_UNIX server: the kernel keeps no
     *     credentials for TCP peers, so every one would be refused; if a uid is negative: -1 is
     *     (uid_t) -1, no user, and uids from 2^31 up, which an int shows negative, are left unused
     *     because so many programs read uids as signed; or if a uid is the overflow uid
     *     (/proc/sys/kernel/overflowuid, 65534 by default: nobody), which SO_PEERCRED gives for every
     *     peer whose uid is not mapped into this user namespace, so that allowing it would admit
     *     them all: the policy fails closed (RELIABILITY.md SEC-05), and a real user of that uid
     *     cannot be told from them. The policy is left as it was.
     */
    public void allowUids(int... uids) {
        Objects.requireNonNull(uids, "uids");
        if (domain != Sockaddrs.AF_UNIX) {
            throw new IllegalArgumentException("allowUids: " + name + " is not AF_UNIX, and SO_PEERCRED tells "
                    + "the uid of AF_UNIX peers only: no peer could ever be accepted");
        }
        int overflow = overflowUid();
        for (int uid : uids) {
            if (uid < 0) {
                throw new IllegalArgumentException("allowUids: a uid is 0 or more: " + uid);
            }
            if (uid == overflow) {
                throw new IllegalArgumentException("allowUids: " + uid + " is the overflow uid "
                        + "(/proc/sys/kernel/overflowuid), which the kernel reports for every peer whose uid is not "
                        + "mapped into this user namespace: allowing it would admit them all");
            }
        }
        allowedUids = uids.length == 0 ? null : uids.clone();
    }

    /** /proc/sys/kernel/overflowuid; the kernel's default, 65534, if it cannot be read. */
    private static int overflowUid() {
        try {
            return Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/kernel/overflowuid")).get(0).trim());
        } catch (IOException | RuntimeException e) {
            return 65534;
        }
    }

    /** Waits for a connection and accepts it. */
    public Socket accept() throws IOException {
        return accept(null).orElseThrow();
    }

    /**
     * Accepts a connection, waiting at most {@code timeout} (null: for ever); zero takes a
     * connection already queued, without waiting (so, as with the JDK's non-blocking accept, an
     * interrupt is not taken). A timeout makes the socket non-blocking for good
     * (see the class comment). A peer {@link #allowUids} refuses ends the call if the deadline has
     * passed meanwhile, so a stream of refused peers cannot hold it past it.
     *
     * @return empty if none came in time
     */
    public Optional<Socket> accept(Duration timeout) throws IOException {
        long deadline = Deadline.of(timeout);
        if (timeout != null && !fd.isNonBlocking()) {
            fd.setNonBlocking(true);
        }
        String object = name + " (accepted)";
        for (;;) {
            // a connection accept4 took counts as taken (an effect) even if a close or an interrupt came
            // meanwhile: it is returned, as a read returns its data, never dropped with no owner
            Descriptor.BufferCall accept = (f, unused) -> {
                int r = SocketCalls.accept(f, name);
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
                Syscalls.poll(f, Syscalls.POLLIN, Deadline.remainingMillis(deadline), name);
                return Descriptor.RETRY;
            };
            // with the deadline passed (a zero timeout) it cannot wait: as the JDK's non-blocking
            // accept, a pending interrupt neither ends it nor closes the socket
            int raw = Deadline.passed(deadline) ? fd.once(null, accept, true) : fd.blocking(null, accept, true);
            if (raw < 0) {
                return Optional.empty();
            }
            Socket s = Socket.adopt(raw, domain, type, object);
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
        byte[] sa = fd.withFd(f -> SocketCalls.name(f, false, name));
        return Sockaddrs.decode(sa, sa.length);
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
            if (file != null) {
                file.remove(fd.isOpen()); // first: while this socket listens, no one takes its file for stale
            }
        } finally {
            fd.close();
        }
    }

    @Override
    public String toString() {
        return "ServerSocket[" + type + " " + name + (isOpen() ? "" : ", closed") + "]";
    }
}
