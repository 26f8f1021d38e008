package io.ipcbridge.socket;

import io.ipcbridge.Descriptor;
import io.ipcbridge.ErrnoException;
import io.ipcbridge.HasDescriptor;
import io.ipcbridge.IpcError;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.MessageTooLargeException;
import io.ipcbridge.internal.posix.Deadline;
import io.ipcbridge.internal.posix.Errors;
import io.ipcbridge.internal.posix.SocketCalls;
import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.Channels;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A connected or bound socket, made with socket(2), connect(2), socketpair(2) or accept4(2): AF_UNIX
 * stream, datagram or seqpacket, or TCP/UDP over IPv4 and IPv6. Stream sockets read and write
 * bytes; datagram and seqpacket sockets send and receive whole messages, and a message longer than
 * the buffer is reported ({@link MessageTruncatedException}), never cut silently.
 *
 * <p>AF_UNIX sockets also pass descriptors ({@link #sendDescriptors}, {@link #receiveDescriptors};
 * received ones are close-on-exec) and tell the peer's credentials ({@link #peerCredentials()}) and
 * process ({@link #peerPidfd()}). Every blocking call answers {@link #close()} and
 * {@link Thread#interrupt()} as the JDK's channels do (see {@link Descriptor}), and writes never
 * raise SIGPIPE.
 *
 * <p><b>Non-blocking mode</b> (set through {@link #descriptor()}): a read or receive returns 0 when
 * nothing is there; a stream write writes what fits; a message ({@link #write}, {@link #sendTo},
 * {@link #sendDescriptors} on a datagram or seqpacket socket) goes whole or not at all, and 0 means
 * it did not fit now and nothing was sent, as with {@link java.nio.channels.DatagramChannel#send}.
 * These calls never wait, so, as with the JDK's non-blocking channels, an interrupt neither ends
 * nor closes them (nor a connect or accept with a zero timeout, nor a read with a zero read timeout).
 *
 * <p><b>Empty seqpacket messages.</b> recvmsg(2) returns 0 both for an empty seqpacket message and
 * at end of stream, so sending an empty seqpacket message is refused. On receipt, a 0-byte result
 * is end of stream (-1) only when poll(2) says the peer has shut down writing or closed
 * (POLLRDHUP, POLLHUP), which the kernel marks before it ever returns 0 for that reason; otherwise
 * it is an empty message from another program, read as 0. An empty message still queued when its
 * sender shuts down cannot be told from the end, and reads as end of stream. The same holds for a
 * datagram socket after {@link #shutdownInput()}: recvmsg(2) then returns 0 at once for ever, which
 * reads as end of stream (-1), never as an endless run of empty datagrams.
 *
 * <p>Thread safety: one thread may read while another writes. Writes to a stream socket are
 * serialised with each other, as in the JDK's SocketChannel, so a buffer written (or sent with
 * descriptors) is never interleaved with another thread's; a message goes whole in any case. Reads
 * are not serialised: each takes what one receive gives it, a whole message of a datagram or
 * seqpacket socket.
 */
public final class Socket implements ByteChannel, HasDescriptor {
    /** The socket types. */
    public enum Type {
        /** SOCK_STREAM: a byte stream (AF_UNIX stream, TCP). */
        STREAM(SocketCalls.SOCK_STREAM),
        /** SOCK_DGRAM: datagrams (AF_UNIX datagram, UDP). */
        DATAGRAM(SocketCalls.SOCK_DGRAM),
        /** SOCK_SEQPACKET: connected, reliable, message boundaries kept (AF_UNIX). */
        SEQPACKET(SocketCalls.SOCK_SEQPACKET);

        final int value;

        Type(int value) {
            this.value = value;
        }
    }

    /**
     * The peer's credentials, SO_PEERCRED: as they were when it connected (or made the pair).
     *
     * @param pid its process id
     * @param uid its user id
     * @param gid its group id
     */
    public record Credentials(int pid, int uid, int gid) {
    }

    /** The two connected ends of {@link #pair}. */
    public record Pair(Socket first, Socket second) implements AutoCloseable {
        /** Closes both ends. */
        @Override
        public void close() throws IOException {
            try {
                first.close();
            } finally {
                second.close();
            }
        }
    }

    private static final SocketCalls.Received NOTHING = new SocketCalls.Received();
    /** What a timed receive's call returns when the read timeout passed. */
    private static final int TIMED_OUT = Integer.MIN_VALUE + 1;
    private static final int TEMP_CAPACITY = 65536;
    private static final int[] NO_FDS = {};
    /** The sockaddr of an AF_UNIX bind(2) to a name the kernel picks: the family alone. */
    private static final byte[] AUTOBIND = {Sockaddrs.AF_UNIX, 0};
    private static final ThreadLocal<ByteBuffer> TEMP = ThreadLocal.withInitial(
            () -> ByteBuffer.allocateDirect(TEMP_CAPACITY));

    private final Descriptor fd;
    private final Type type;
    /** AF_UNIX: the only family whose messages can carry descriptors. */
    private final boolean unix;
    private final String name;
    private volatile SocketFile file; // a datagram socket's bound socket file
    private volatile Duration readTimeout;
    /** Held by a stream write while it loops: the kernel, or the copy through a direct buffer, may cut it. */
    private final ReentrantLock writeLock = new ReentrantLock();
    private final Descriptor.BufferCall sendCall = (f, out) -> sendOnce(f, out, null, NO_FDS);
    private final Descriptor.BufferCall receiveCall = (f, into) -> receiveOnce(f, into, false, Deadline.NEVER);
    private final Descriptor.BufferCall receiveFromCall = (f, into) -> receiveOnce(f, into, true, Deadline.NEVER);

    Socket(Descriptor fd, Type type, int domain) {
        this.fd = fd;
        this.type = type;
        this.unix = domain == Sockaddrs.AF_UNIX;
        this.name = fd.name();
    }

    /** Refuses what the kernel would only refuse at socket(2): seqpacket over IP. */
    static void checkType(Address address, Type type) {
        if (address instanceof Address.Inet && type == Type.SEQPACKET) {
            throw new IllegalArgumentException("seqpacket sockets are AF_UNIX only: " + address);
        }
    }

    /** Wraps a raw socket descriptor, closing it if that fails. */
    static Socket adopt(int raw, int domain, Type type, String name) throws IOException {
        try {
            return new Socket(Descriptor.adopt(raw, name), type, domain);
        } catch (RuntimeException | IOException e) {
            Syscalls.close(raw);
            throw e;
        }
    }

    /**
     * Takes ownership of {@code descriptor} as a socket: one inherited from a parent (fd 3 of inetd
     * or systemd's socket activation), or received ({@link #receiveDescriptors}). getsockopt(2)
     * (SO_DOMAIN, SO_TYPE, SO_PROTOCOL, SO_ACCEPTCONN) tells its kind first, and a wrong one is
     * refused (FD-11). Its blocking mode is kept (see the class comment on non-blocking mode), and
     * a socket file it is bound to is never removed: it is not this object's.
     *
     * @throws io.ipcbridge.ErrnoException ENOTSOCK if it is no socket (a pipe, a file), or
     *     getpeername(2)'s ENOTCONN if it is a stream or seqpacket socket not connected (never
     *     connected, still connecting, or a TCP connection already reset); it is closed then
     * @throws io.ipcbridge.IpcSecurityException if it is a listening socket (take it with
     *     {@link ServerSocket#of}), or neither an AF_UNIX stream, datagram or seqpacket socket nor
     *     TCP or UDP; it is closed then
     */
    public static Socket of(Descriptor descriptor) throws IOException {
        Kind kind = Kind.of(descriptor, false);
        return new Socket(descriptor, kind.type(), kind.domain());
    }

    /** What a descriptor given to {@link #of} or {@link ServerSocket#of} turned out to be. */
    record Kind(int domain, Type type) {
        /**
         * The kind of {@code descriptor}, a listening socket or not as {@code listening} says;
         * a refused descriptor is closed.
         */
        static Kind of(Descriptor descriptor, boolean listening) throws IOException {
            String name = descriptor.name();
            try {
                return descriptor.withFd(f -> {
                    int domain = SocketCalls.getInt(f, SocketCalls.SOL_SOCKET, SocketCalls.SO_DOMAIN, name);
                    int type = SocketCalls.getInt(f, SocketCalls.SOL_SOCKET, SocketCalls.SO_TYPE, name);
                    int protocol = SocketCalls.getInt(f, SocketCalls.SOL_SOCKET, SocketCalls.SO_PROTOCOL, name);
                    Type t = Arrays.stream(Type.values()).filter(c -> c.value == type).findFirst().orElse(null);
                    boolean ip = domain == Sockaddrs.AF_INET || domain == Sockaddrs.AF_INET6;
                    if (t == null || !(domain == Sockaddrs.AF_UNIX
                            || ip && t == Type.STREAM && protocol == SocketCalls.IPPROTO_TCP
                            || ip && t == Type.DATAGRAM && protocol == SocketCalls.IPPROTO_UDP)) {
                        throw new IpcSecurityException(name, "is a socket of domain " + domain + ", type " + type
                                + ", protocol " + protocol + ", neither AF_UNIX stream, datagram or seqpacket "
                                + "nor TCP or UDP; refused");
                    }
                    boolean accepting = SocketCalls.getInt(f, SocketCalls.SOL_SOCKET, SocketCalls.SO_ACCEPTCONN,
                            name) != 0;
                    if (accepting != listening) {
                        throw new IpcSecurityException(name, accepting
                                ? "is a listening socket: take it with ServerSocket.of; refused"
                                : "is not a listening socket: take it with Socket.of; refused");
                    }
                    if (!listening && t != Type.DATAGRAM) {
                        SocketCalls.name(f, true, name); // ENOTCONN: no one to talk to, and no way to connect it
                    }
                    return new Kind(domain, t);
                });
            } catch (IOException | RuntimeException e) {
                Syscalls.closeAfter(descriptor, e);
                throw e;
            }
        }
    }

    /**
     * connect(2) to {@code address}, waiting as long as the connect takes. An AF_UNIX datagram
     * socket is first bound to an abstract name the kernel picks (autobind), so that the server
     * can answer it, as a UDP connect picks a port: unbound, it would send as an unnamed socket
     * nobody can reach (Linux autobinds at connect only with SO_PASSCRED).
     */
    public static Socket connect(Address address, Type type) throws IOException {
        return connect(address, type, null, Deadline.NEVER);
    }

    /**
     * connect(2) to {@code address}; a timeout bounds the wait (AF_UNIX: a blocking connect bounded
     * by SO_SNDTIMEO, which waits while the server's backlog is full; IP: a non-blocking connect and
     * a poll). Zero tries once without waiting; a timeout too long to count in nanoseconds from now
     * is no bound. An AF_UNIX datagram socket is autobound first, as {@link #connect(Address, Type)}
     * says.
     *
     * @throws IllegalArgumentException if {@code timeout} is negative (before any call)
     * @throws io.ipcbridge.ConnectionRefusedException when nobody listens: ECONNREFUSED, or ENOENT
     *     for an AF_UNIX path that does not exist
     * @throws SocketTimeoutException when the timeout passes first
     */
    public static Socket connect(Address address, Type type, Duration timeout) throws IOException {
        return connect(address, type, timeout, Deadline.of(Objects.requireNonNull(timeout, "timeout")));
    }

    /**
     * A TCP connection to {@code host}: each address it resolves to is tried in turn, in the order
     * {@link InetAddress#getAllByName} gives them, until one connects, as nc, socat and Python's
     * socket.create_connection do (localhost is 127.0.0.1 and ::1 on many hosts, Java's order
     * 127.0.0.1 first, and a server may listen on ::1 alone). A literal is its one address.
     *
     * @param timeout bounds all the tries together, as {@link #connect(Address, Type, Duration)}
     *     bounds one (zero: each address once, without waiting); null: no bound
     * @throws UnknownHostException if {@code host} does not resolve
     * @throws IllegalArgumentException for a host {@link Address#inet} refuses, or a port outside
     *     0..65535
     * @throws IOException when no address connects: the last one's failure, the earlier ones'
     *     {@linkplain Throwable#getSuppressed() suppressed} in it (create_connection raises the last);
     *     a close, an interrupt or a {@link SocketTimeoutException} ends the tries (but for a zero
     *     timeout's: the next address is tried)
     */
    public static Socket connect(String host, int port, Duration timeout) throws IOException {
        Hosts.checkPort(port);
        long deadline = Deadline.of(timeout);
        boolean once = timeout != null && timeout.isZero();
        List<IOException> failures = new ArrayList<>();
        for (InetAddress a : Hosts.resolve(host)) {
            try {
                return connect(new Address.Inet(a, port), Type.STREAM, timeout, deadline);
            } catch (IOException e) {
                failures.add(e);
                // no failed call: the time is up (a zero timeout's try would only have waited, and the
                // next is tried), or the caller stopped it
                if (!(e instanceof IpcError || once && e instanceof SocketTimeoutException)) {
                    break;
                }
            }
        }
        IOException last = failures.remove(failures.size() - 1);
        failures.forEach(last::addSuppressed);
        throw last;
    }

    /** {@link #connect(Address, Type, Duration)} until {@code deadline} (a {@link Deadline}). */
    private static Socket connect(Address address, Type type, Duration timeout, long deadline) throws IOException {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(type, "type");
        checkType(address, type);
        String object = address.toString();
        Socket s = adopt(SocketCalls.socket(Sockaddrs.domain(address), type.value | SocketCalls.SOCK_NONBLOCK, object),
                Sockaddrs.domain(address), type, object);
        try {
            if (Sockaddrs.domain(address) == Sockaddrs.AF_UNIX) {
                if (type == Type.DATAGRAM) {
                    s.fd.withFd(f -> {
                        SocketCalls.bind(f, AUTOBIND, object);
                        return null;
                    });
                }
                s.connectUnix(address, timeout, deadline);
                return s;
            }
            int r = s.fd.withFd(f -> SocketCalls.connect(f, Sockaddrs.of(address), object));
            if (r == SocketCalls.IN_PROGRESS) {
                if (!s.fd.awaitWritable(deadline == Deadline.NEVER ? null : Duration.ofNanos(Math.max(0,
                        deadline - System.nanoTime())))) {
                    throw new SocketTimeoutException("connect(" + object + "): timed out after " + timeout);
                }
                s.fd.withFd(f -> {
                    SocketCalls.checkConnected(f, object);
                    return null;
                });
            }
            s.fd.setNonBlocking(false);
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /**
     * A blocking AF_UNIX connect: there a non-blocking one fails with EAGAIN when the server's
     * backlog is full, leaving nothing to poll for; the blocking one waits for room, bounded by
     * SO_SNDTIMEO (set for the call only, none for {@link Deadline#NEVER}), and close or interrupt
     * end it.
     */
    private void connectUnix(Address address, Duration timeout, long deadline) throws IOException {
        boolean once = timeout != null && timeout.isZero(); // stays non-blocking: one try
        long micros = deadline == Deadline.NEVER || once ? 0 : remainingMicros(deadline);
        if (!once) {
            fd.setNonBlocking(false);
            fd.withFd(f -> {
                SocketCalls.setSendTimeout(f, micros, name);
                return null;
            });
        }
        Descriptor.BufferCall connect = (f, unused) -> {
            int c = SocketCalls.connect(f, Sockaddrs.of(address), name);
            if (c != Syscalls.INTERRUPTED) {
                return c;
            }
            if (micros != 0 && fd.isOpen()) {
                // a signal ended the wait: the retry gets what is left until the same deadline, not
                // the whole timeout again (an EINTR storm would otherwise keep it waiting for ever)
                if (Deadline.passed(deadline)) {
                    return SocketCalls.IN_PROGRESS;
                }
                SocketCalls.setSendTimeout(f, remainingMicros(deadline), name);
            }
            return Descriptor.RETRY;
        };
        int r = once ? fd.once(null, connect, false) : fd.blocking(null, connect);
        if (r == SocketCalls.IN_PROGRESS) {
            throw new SocketTimeoutException("connect(" + name + "): timed out after " + timeout
                    + " (the server's backlog stayed full)");
        }
        if (once) {
            fd.setNonBlocking(false);
        } else if (micros != 0) {
            fd.withFd(f -> {
                SocketCalls.setSendTimeout(f, 0, name);
                return null;
            });
        }
    }

    /** What is left until {@code deadline}, in microseconds rounded up, at least 1 (0 is no bound). */
    private static long remainingMicros(long deadline) {
        long nanos = Math.max(0, deadline - System.nanoTime());
        return Math.max(1, nanos / 1000 + (nanos % 1000 == 0 ? 0 : 1));
    }

    /** socketpair(2): two connected AF_UNIX sockets, e.g. one to hand to a child on a chosen fd. */
    public static Pair pair(Type type) throws IOException {
        int[] sv = SocketCalls.socketpair(type.value);
        Socket first;
        try {
            first = adopt(sv[0], Sockaddrs.AF_UNIX, type, "socketpair");
        } catch (IOException | RuntimeException e) {
            Syscalls.close(sv[1]);
            throw e;
        }
        try {
            return new Pair(first, adopt(sv[1], Sockaddrs.AF_UNIX, type, "socketpair"));
        } catch (IOException | RuntimeException e) {
            first.close();
            throw e;
        }
    }

    /**
     * A datagram socket bound to {@code address} (UDP, or AF_UNIX datagram), to receive from
     * anyone and send to any address; null binds an AF_UNIX socket to an address the kernel picks
     * (autobind), enough to get replies. A filesystem socket gets mode 0600 and is removed when
     * this socket is closed. An address the kernel chose (port 0, autobind) is the one messages and
     * {@link #toString()} name.
     */
    public static Socket bind(Address address) throws IOException {
        return bind(address, ServerSocket.DEFAULT_MODE);
    }

    /**
     * {@link #bind(Address)}, a filesystem socket getting {@code mode}: bind(2) makes the file with
     * at most {@code mode} (set on the socket first), then it is set exactly through a descriptor of
     * the file just bound, so a symbolic link swapped in for it meanwhile is refused, never followed.
     *
     * @throws IllegalArgumentException if {@code mode} is outside 0777 (before any call)
     * @throws io.ipcbridge.IpcSecurityException if the path no longer holds the socket just bound
     */
    public static Socket bind(Address address, int mode) throws IOException {
        if ((mode & ~0777) != 0) {
            throw new IllegalArgumentException("mode must be within 0777: 0" + Integer.toOctalString(mode));
        }
        String object = address == null ? "autobind" : address.toString();
        int domain = address == null ? Sockaddrs.AF_UNIX : Sockaddrs.domain(address);
        int raw = SocketCalls.socket(domain, SocketCalls.SOCK_DGRAM, object);
        String path = address instanceof Address.Unix unix ? unix.path().toString() : null;
        boolean bound = false;
        boolean handedOver = false;
        try {
            if (path != null) {
                // bind(2) makes the file with the socket's own mode, narrowed by the umask: never
                // more open than mode, even before the chmod (a datagram socket takes messages, and
                // a connect(2), from then on)
                Syscalls.fchmod(raw, mode, object);
            }
            SocketCalls.bind(raw, address == null ? AUTOBIND : Sockaddrs.of(address), object);
            bound = true;
            SocketFile file = path == null ? null : SocketFile.bound(path, mode, object);
            String name = boundName(raw, address, object);
            handedOver = true; // adopt closes it if it fails
            Socket s = adopt(raw, domain, Type.DATAGRAM, name);
            s.file = file;
            return s;
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
     * The name a socket bound to {@code address} goes by in messages: the address, or, when the
     * kernel chose it (port 0, or AF_UNIX autobind for a null address), the one getsockname(2) gives.
     */
    static String boundName(int raw, Address address, String object) throws IOException {
        if (address != null && !(address instanceof Address.Inet inet && inet.port() == 0)) {
            return object;
        }
        byte[] sa = SocketCalls.name(raw, false, object);
        return Sockaddrs.decode(sa, sa.length).toString();
    }

    /** The socket's descriptor, e.g. to place it on a child's fd 3. */
    @Override
    public Descriptor descriptor() {
        return fd;
    }

    /** Its type. */
    public Type type() {
        return type;
    }

    /**
     * Reads bytes (a stream) or one message (datagram, seqpacket).
     *
     * @return bytes read (0 for an empty message, or in non-blocking mode when nothing is there),
     *     -1 at end of stream (for a datagram socket: once it was shut down for reading)
     * @throws SocketTimeoutException if a read timeout is set and passes first
     * @throws MessageTruncatedException if a message was longer than {@code dst} has room for
     *     (also when it carried descriptors: an {@link AncillaryDataTruncatedException} is then
     *     attached, suppressed)
     * @throws AncillaryDataTruncatedException if the peer sent descriptors with the data: the
     *     kernel dropped them, the data is in {@code dst}
     */
    @Override
    public int read(ByteBuffer dst) throws IOException {
        checkWritable(dst);
        if (!dst.hasRemaining()) {
            fd.fd(); // closed: ClosedChannelException
            return 0;
        }
        if (!unix && type == Type.STREAM && readTimeout == null) {
            return fd.read(dst); // an IP stream cannot carry descriptors: read(2), as the JDK does
        }
        return receive(dst, 0, null, null);
    }

    /**
     * Writes all of {@code src} (a stream), or sends it as one message.
     *
     * @return the bytes written; in non-blocking mode what fits of a stream, and for a message all
     *     of it or 0 (it did not fit now, nothing was sent)
     * @throws IllegalArgumentException for an empty seqpacket message (see the class comment)
     * @throws io.ipcbridge.PeerClosedException if the peer has closed (EPIPE)
     * @throws MessageTooLargeException EMSGSIZE: a message larger than the socket sends ({@link
     *     MessageTooLargeException#limit()} says how large a message it sends)
     */
    @Override
    public int write(ByteBuffer src) throws IOException {
        if (type == Type.STREAM) {
            writeLock.lock();
            try {
                return fd.write(src);
            } finally {
                writeLock.unlock();
            }
        }
        return send(src, null, NO_FDS);
    }

    /**
     * Sends {@code message} as one datagram to {@code to} (an unconnected datagram socket).
     *
     * @return the bytes sent: all of them, or 0 in non-blocking mode when it did not fit now
     * @throws UnsupportedOperationException on a stream or seqpacket socket, before any call: Linux
     *     sends a TCP or seqpacket message to the peer whatever the address
     */
    public int sendTo(ByteBuffer message, Address to) throws IOException {
        Objects.requireNonNull(to, "to");
        if (type != Type.DATAGRAM) {
            throw new UnsupportedOperationException("'sendTo' not supported: " + this + " is connected to its peer");
        }
        return send(message, Sockaddrs.of(to), NO_FDS);
    }

    /**
     * Receives one datagram into {@code dst}.
     *
     * @return the sender's address, or null for an unnamed AF_UNIX sender (or one bound to an
     *     address {@link Address} cannot name: the empty abstract name, a path of 108 bytes, a
     *     name that is not UTF-8)
     * @throws java.io.EOFException if this socket was shut down for reading: no datagram will come
     * @throws MessageTruncatedException if the datagram was longer than {@code dst} has room for;
     *     its {@link MessageTruncatedException#sender() sender()} tells who sent it
     * @throws AncillaryDataTruncatedException if descriptors came with it (they were dropped);
     *     with the sender too
     */
    public Address receiveFrom(ByteBuffer dst) throws IOException {
        checkWritable(dst);
        Address[] from = new Address[1];
        if (receive(dst, 0, null, from) < 0) {
            // a null here would read as an unnamed sender, and a loop over receiveFrom would spin
            throw new java.io.EOFException("recvmsg(" + name + "): shut down for reading, no datagram will come");
        }
        return from[0];
    }

    /**
     * sendmsg(2) of {@code data} (at least one byte) with {@code descriptors} as SCM_RIGHTS: the
     * peer receives its own descriptors for the same open files (pipe ends, FIFOs, shared memory or
     * memfd segments, queues, sockets, files).
     *
     * @return the bytes sent: all of {@code data}, or in non-blocking mode what fit; 0 means
     *     nothing fit now and no descriptor was sent either
     * @throws IllegalArgumentException over TCP or UDP (before any call): the kernel ignores
     *     SCM_RIGHTS there and would send the data alone
     */
    public int sendDescriptors(ByteBuffer data, List<Descriptor> descriptors) throws IOException {
        if (!unix) {
            throw new IllegalArgumentException("descriptors travel over AF_UNIX sockets only, not " + name);
        }
        if (!data.hasRemaining()) {
            throw new IllegalArgumentException("descriptors travel with at least one byte of data");
        }
        if (descriptors.isEmpty() || descriptors.size() > SocketCalls.MAX_FDS) {
            throw new IllegalArgumentException("1 to " + SocketCalls.MAX_FDS + " descriptors: " + descriptors.size());
        }
        int start = data.position();
        writeLock.lock();
        try {
            sendHolding(data, descriptors, 0, new int[descriptors.size()]);
        } finally {
            writeLock.unlock();
        }
        return data.position() - start;
    }

    /** Sends while holding every descriptor open, so none is closed and reused meanwhile. */
    private void sendHolding(ByteBuffer data, List<Descriptor> descriptors, int index, int[] fds) throws IOException {
        if (index == descriptors.size()) {
            // a stream may take part of the data: the rest goes plain (non-blocking: what fits)
            int n = send(data, null, fds);
            while (n > 0 && data.hasRemaining()) {
                n = send(data, null, NO_FDS);
            }
            return;
        }
        descriptors.get(index).withFd(f -> {
            fds[index] = f;
            sendHolding(data, descriptors, index + 1, fds);
            return null;
        });
    }

    /**
     * recvmsg(2) of data into {@code data} and of up to {@code maxDescriptors} descriptors, which
     * come back owned and close-on-exec (MSG_CMSG_CLOEXEC).
     *
     * @return the descriptors received (none at end of stream, or with plain data)
     * @throws AncillaryDataTruncatedException if more descriptors came than {@code maxDescriptors}:
     *     those that arrived are closed, the data is kept
     * @throws MessageTruncatedException if a datagram or seqpacket message was longer than
     *     {@code data} has room for: the descriptors it carried are closed (this is thrown, with the
     *     AncillaryDataTruncatedException suppressed, when both happened)
     * @throws IllegalArgumentException if {@code data} is read-only or has no room, before any call
     */
    public List<Descriptor> receiveDescriptors(ByteBuffer data, int maxDescriptors) throws IOException {
        if (maxDescriptors < 1 || maxDescriptors > SocketCalls.MAX_FDS) {
            throw new IllegalArgumentException("room for 1 to " + SocketCalls.MAX_FDS + " descriptors: "
                    + maxDescriptors);
        }
        checkWritable(data);
        if (!data.hasRemaining()) {
            // recvmsg would take a stream's descriptors without their bytes, or cut a message whole
            throw new IllegalArgumentException("descriptors travel with at least one byte of data: "
                    + "the buffer has no room");
        }
        List<Descriptor> received = new ArrayList<>();
        receive(data, maxDescriptors, received, null);
        return received;
    }

    /**
     * Refuses a read-only buffer before any call: the kernel would write into a direct one, and a
     * heap one would fail only after the message, and any descriptors with it, had been taken.
     */
    private static void checkWritable(ByteBuffer dst) {
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("read-only buffer");
        }
    }

    private int send(ByteBuffer message, byte[] to, int[] fds) throws IOException {
        if (type == Type.SEQPACKET && !message.hasRemaining()) {
            throw new IllegalArgumentException("an empty seqpacket message would read as end of stream: "
                    + "recvmsg(2) returns 0 for both");
        }
        ByteBuffer direct = message;
        if (!message.isDirect()) {
            direct = ByteBuffer.allocateDirect(message.remaining());
            direct.put(message.duplicate()).flip();
        }
        int n;
        try {
            n = call(direct, to == null && fds.length == 0 ? sendCall : (f, out) -> sendOnce(f, out, to, fds), false,
                    Deadline.NEVER);
        } catch (ErrnoException e) {
            if (e.errno() != Errors.EMSGSIZE) {
                throw e;
            }
            throw tooLarge(e, direct.remaining());
        }
        if (direct != message) {
            message.position(message.position() + n);
        }
        return n;
    }

    /**
     * The kernel's EMSGSIZE {@code e} for a message of {@code length} bytes, with the limit it applied:
     * an AF_UNIX socket's SO_SNDBUF less 32 bytes, or what one UDP datagram holds over IPv4 or IPv6.
     */
    private MessageTooLargeException tooLarge(ErrnoException e, int length) throws IOException {
        if (unix) {
            return new MessageTooLargeException(e.call(), e.object(), length, sendBufferSize() - 32L,
                    "this socket sends (SO_SNDBUF less 32 bytes)");
        }
        boolean v6 = ((Address.Inet) localAddress()).address() instanceof Inet6Address;
        return new MessageTooLargeException(e.call(), e.object(), length, v6 ? 65_527 : 65_507,
                "a UDP datagram over " + (v6 ? "IPv6" : "IPv4"));
    }

    /**
     * Makes {@code call} through the descriptor: {@link Descriptor#once} when it cannot wait (in
     * non-blocking mode, or with {@code deadline} passed: a zero read timeout), so that, as with the
     * JDK's non-blocking channels, a pending interrupt neither ends it nor closes the socket; else
     * {@link Descriptor#blocking(ByteBuffer, Descriptor.BufferCall, boolean)}.
     */
    private int call(ByteBuffer buffer, Descriptor.BufferCall call, boolean resultIsEffect, long deadline)
            throws IOException {
        return fd.isNonBlocking() || Deadline.passed(deadline) ? fd.once(buffer, call, resultIsEffect)
                : fd.blocking(buffer, call, resultIsEffect);
    }

    private int sendOnce(int f, ByteBuffer out, byte[] to, int[] fds) throws IOException {
        int r = fds.length == 0 ? SocketCalls.sendPlain(f, out, to, name) : SocketCalls.sendmsg(f, out, to, fds, 0, name);
        if (r == Syscalls.AGAIN) {
            if (fd.isNonBlocking()) {
                return 0; // a message that does not fit now: nothing sent
            }
            awaitBlocked(f, Syscalls.POLLOUT);
            if (to != null && unix && type == Type.DATAGRAM) {
                // poll(2) of an unconnected AF_UNIX datagram socket tells of its own send buffer only,
                // never of the receiver's full queue that gave EAGAIN: it says writable at once, and a
                // retry at once would spin. A millisecond in poll with no events between tries (a
                // close's signal, or the dead socket's hangup, ends it at once)
                Syscalls.poll(f, 0, 1, name);
            }
            return Descriptor.RETRY;
        }
        return r == Syscalls.INTERRUPTED ? Descriptor.RETRY : r;
    }

    /**
     * recvmsg(2) with the checks; {@code from[0]} gets the sender's address when asked. A stream or
     * a read asks for no descriptors, so descriptors a peer pushed with the data are reported
     * (MSG_CTRUNC), never dropped as if nothing had come.
     */
    private int receive(ByteBuffer dst, int maxFds, List<Descriptor> fds, Address[] from) throws IOException {
        Duration timeout = readTimeout;
        long deadline = timeout == null ? Deadline.NEVER : Deadline.of(timeout);
        ByteBuffer direct = dst;
        if (!dst.isDirect()) {
            // a stream takes what fits in the per-thread buffer; a message needs all the room
            direct = type == Type.STREAM || dst.remaining() <= TEMP_CAPACITY
                    ? TEMP.get().clear().limit(Math.min(dst.remaining(), TEMP_CAPACITY))
                    : ByteBuffer.allocateDirect(dst.remaining());
        }
        if (maxFds == 0) {
            return receivePlain(dst, direct, from, timeout, deadline);
        }
        int room = direct.remaining();
        int[] again = new int[1];
        int flags = (type == Type.STREAM ? 0 : SocketCalls.MSG_TRUNC) | (timeout == null ? 0 : SocketCalls.MSG_DONTWAIT);
        SocketCalls.Received[] got = new SocketCalls.Received[1];
        boolean[] timedOut = new boolean[1];
        try {
            // a receive that completed as a close or an interrupt came (bytes or descriptors taken:
            // 0, an effect; the dead socket gives neither: -1) returns its result, as a read does; one
            // that did not throws, and what it received is closed
            call(direct, (f, into) -> {
                SocketCalls.Received g = SocketCalls.recvmsg(f, into, maxFds, flags, again, name);
                if (g != null) {
                    got[0] = g;
                    return g.length > 0 || g.fds.length > 0 ? 0 : -1;
                }
                if (again[0] == Syscalls.AGAIN) {
                    if (shutDownForReading(f)) {
                        got[0] = new SocketCalls.Received(); // end of stream: no data, no descriptors
                        return -1;
                    }
                    if (fd.isNonBlocking()) {
                        got[0] = NOTHING;
                        return -1;
                    }
                    if (!awaitReadable(f, deadline)) {
                        timedOut[0] = true;
                        return -1;
                    }
                }
                return Descriptor.RETRY;
            }, true, deadline);
        } catch (IOException | RuntimeException | Error e) {
            if (got[0] != null) {
                for (int raw : got[0].fds) {
                    Syscalls.close(raw);
                }
            }
            throw e;
        }
        if (timedOut[0]) {
            throw timedOut(timeout);
        }
        SocketCalls.Received r = got[0];
        if (r == NOTHING) {
            return 0; // non-blocking (set through the descriptor), and nothing there
        }
        int kept = Math.min(r.length, room);
        List<Descriptor> adopted = adoptAll(r.fds);
        if (direct != dst) {
            dst.put(direct.flip());
        }
        // the control buffer is rounded up to 8 bytes, so one more than asked may fit: refused too
        boolean fdsCut = (r.flags & SocketCalls.MSG_CTRUNC) != 0 || adopted.size() > maxFds;
        boolean cut = (r.flags & SocketCalls.MSG_TRUNC) != 0 || (type != Type.STREAM && r.length > room);
        if (fdsCut || cut) {
            // the exception is all the caller gets: the message's descriptors go with it, closed now
            // rather than left to the garbage collector
            for (Descriptor d : adopted) {
                d.close();
            }
            throw truncated(cut, fdsCut, r.length, kept, room, maxFds, null);
        }
        if (fds != null) {
            fds.addAll(adopted);
        }
        return type == Type.STREAM && r.length == 0 ? -1 : r.length;
    }

    /**
     * What a receive that lost something throws. A message cut to the buffer is a
     * {@link MessageTruncatedException} also when it brought more descriptors than room (the
     * descriptor report is attached, suppressed): an {@link AncillaryDataTruncatedException} alone
     * would say the bytes in the buffer were the data, and the rest of the message would be lost
     * unreported.
     */
    private IOException truncated(boolean cut, boolean fdsCut, int length, int kept, int room, int maxFds,
            Address sender) {
        IOException fds = fdsCut ? new AncillaryDataTruncatedException(name, kept, maxFds, sender) : null;
        if (!cut) {
            return fds;
        }
        MessageTruncatedException e = new MessageTruncatedException(name, length, room, sender);
        if (fds != null) {
            e.addSuppressed(fds);
        }
        return e;
    }

    /** Takes ownership of received descriptors; if that fails, none of them is left open. */
    private List<Descriptor> adoptAll(int[] raw) throws IOException {
        List<Descriptor> adopted = new ArrayList<>(raw.length);
        int i = 0;
        try {
            for (; i < raw.length; i++) {
                adopted.add(Descriptor.adopt(raw[i], "received from " + name));
            }
            return adopted;
        } catch (IOException | RuntimeException | Error e) {
            for (int j = i; j < raw.length; j++) {
                Syscalls.close(raw[j]);
            }
            for (Descriptor d : adopted) {
                try {
                    d.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /** {@link #receive} without room for descriptors: nothing allocated but the sender's address, when asked. */
    private int receivePlain(ByteBuffer dst, ByteBuffer into, Address[] from, Duration timeout, long deadline)
            throws IOException {
        int room = into.remaining();
        boolean withSender = from != null;
        int n = call(into, timeout == null ? withSender ? receiveFromCall : receiveCall
                : (f, in) -> receiveOnce(f, in, withSender, deadline), false, deadline);
        if (n == TIMED_OUT) {
            throw timedOut(timeout);
        }
        if (n == Syscalls.AGAIN) {
            return 0; // non-blocking (set through the descriptor), and nothing there
        }
        if (n == Syscalls.EOF) {
            return -1; // seqpacket: the peer has shut down; datagram: this end was shut down for reading
        }
        int flags = SocketCalls.receivedFlags();
        int kept = Math.min(n, room);
        if (into != dst) {
            dst.put(into.flip());
        }
        boolean fdsCut = (flags & SocketCalls.MSG_CTRUNC) != 0;
        boolean cut = (flags & SocketCalls.MSG_TRUNC) != 0 || (type != Type.STREAM && n > room);
        if (from != null) {
            byte[] sender = SocketCalls.receivedSender();
            from[0] = Sockaddrs.decode(sender, sender.length);
        }
        if (fdsCut || cut) {
            // with the sender, which a server needs to tell it its message was lost
            throw truncated(cut, fdsCut, n, kept, room, 0, from == null ? null : from[0]);
        }
        return type == Type.STREAM && n == 0 ? -1 : n;
    }

    /**
     * One recvmsg(2) of {@link #receivePlain}, made by the descriptor's blocking loop; with a read
     * timeout ({@code deadline} not {@link Deadline#NEVER}) it never blocks in the call, so that a
     * message another reader took after the wait cannot hold it past the deadline.
     */
    private int receiveOnce(int f, ByteBuffer into, boolean sender, long deadline) throws IOException {
        int flags = (type == Type.STREAM ? 0 : SocketCalls.MSG_TRUNC)
                | (deadline == Deadline.NEVER ? 0 : SocketCalls.MSG_DONTWAIT);
        int r = SocketCalls.recvPlain(f, into, flags, sender, name);
        if (r == Syscalls.AGAIN && shutDownForReading(f)) {
            return Syscalls.EOF;
        }
        if (r == Syscalls.AGAIN && !fd.isNonBlocking()) {
            return awaitReadable(f, deadline) ? Descriptor.RETRY : TIMED_OUT;
        }
        if (r == 0 && type != Type.STREAM && peerShutDown(f)) {
            // seqpacket: the peer has shut down or closed; datagram (AF_UNIX or UDP): this end was
            // shut down for reading, and every later recvmsg returns 0 at once, never an empty message
            return Syscalls.EOF;
        }
        return r == Syscalls.INTERRUPTED ? Descriptor.RETRY : r;
    }

    /**
     * After an EAGAIN: whether this is a datagram socket shut down for reading with nothing queued.
     * A blocking recvmsg returns 0 for that, but one that does not wait (MSG_DONTWAIT, O_NONBLOCK)
     * says EAGAIN, while poll(2) says readable (POLLIN|POLLRDHUP): without this look a timed or
     * non-blocking read would poll and retry at once, for ever, past its deadline.
     */
    private boolean shutDownForReading(int f) throws IOException {
        return type == Type.DATAGRAM && peerShutDown(f);
    }

    /**
     * After a 0-byte seqpacket or datagram recvmsg: whether it was end of stream. The kernel sets
     * the shutdown that poll(2) reports as POLLRDHUP (POLLHUP once closed) before recvmsg returns 0
     * for it, and never clears it; without it, the 0 bytes were an empty message.
     */
    private boolean peerShutDown(int f) throws IOException {
        int revents;
        do {
            revents = Syscalls.poll(f, Syscalls.POLLIN | Syscalls.POLLRDHUP, 0, name);
        } while (revents == Syscalls.INTERRUPTED);
        return (revents & (Syscalls.POLLRDHUP | Syscalls.POLLHUP)) != 0;
    }

    /**
     * Inside a call: waits for readiness of a socket made non-blocking through its descriptor. A
     * poll, not {@link Descriptor#awaitReadable}: a nested blocking call would turn an interrupt's
     * ClosedByInterruptException into an AsynchronousCloseException on the way out.
     */
    private void awaitBlocked(int f, int events) throws IOException {
        Syscalls.poll(f, events, -1, name);
    }

    /**
     * SO_PEERCRED: who is at the other end (stream and seqpacket AF_UNIX sockets, and socketpairs),
     * as taken at connect(): the client when it connected, the server when it called listen(2), the
     * process that made a {@link #pair}. They never change: a peer that exits, execs or changes its
     * ids later is still reported as it was, and its pid may by then name another process, so
     * authenticate on uid and gid, never the pid alone; {@link #peerPidfd()} pins the process.
     *
     * @throws SocketException for a socket the kernel keeps no credentials for (TCP, UDP, an
     *     AF_UNIX datagram socket not made by {@link #pair}): it reports uid and gid -1 for those,
     *     which a policy must never read as a user
     */
    public Credentials peerCredentials() throws IOException {
        int[] c = fd.withFd(f -> SocketCalls.peerCredentials(f, name));
        if (c[1] == -1 && c[2] == -1) { // no peer cred; a real one, even another namespace's, is never -1
            throw new SocketException("getsockopt(SO_PEERCRED)(" + name + "): no peer credentials "
                    + "(the kernel has them for connected AF_UNIX stream and seqpacket sockets and socketpairs)");
        }
        return new Credentials(c[0], c[1], c[2]);
    }

    /**
     * getsockopt(SO_PEERPIDFD), Linux 6.5 and later: a pidfd of the process {@link #peerCredentials()}
     * names, taken at the same connect(), close-on-exec and the caller's to close. Unlike that pid,
     * it can never come to mean a later process that reuses the number: it polls readable
     * ({@link Descriptor#awaitReadable}) once the process has ended, and {@link #pidOf} reads its
     * pid, -1 once it is gone.
     *
     * @throws ErrnoException ENOPROTOOPT from a kernel before 6.5 (not an
     *     UnsupportedOperationException: it depends on the kernel met at run time, not on the call,
     *     and a caller that can do without, with uid and gid alone, handles it with the other checked
     *     failures); ENODATA where the kernel keeps no peer process (TCP, UDP, an unconnected socket,
     *     an AF_UNIX datagram socket not made by {@link #pair})
     * @throws java.nio.channels.ClosedChannelException if this socket is closed
     */
    public Descriptor peerPidfd() throws IOException {
        int raw = fd.withFd(f -> SocketCalls.peerPidfd(f, name));
        try {
            return Descriptor.adopt(raw, "pidfd of the peer of " + name);
        } catch (IOException | RuntimeException e) {
            Syscalls.close(raw);
            throw e;
        }
    }

    /**
     * The pid of the process a pidfd ({@link #peerPidfd()}) refers to, from the "Pid:" line of
     * /proc/self/fdinfo: -1 once the process has ended and been reaped, 0 if it is in a pid namespace
     * this one cannot see.
     *
     * @throws IllegalArgumentException if {@code pidfd} is no pidfd
     * @throws java.nio.channels.ClosedChannelException if it is closed
     */
    public static int pidOf(Descriptor pidfd) throws IOException {
        return pidfd.withFd(f -> Syscalls.pidfdPid(f, pidfd.name()));
    }

    /** getsockname(2). */
    public Address localAddress() throws IOException {
        byte[] sa = fd.withFd(f -> SocketCalls.name(f, false, name));
        return Sockaddrs.decode(sa, sa.length);
    }

    /** getpeername(2). */
    public Address remoteAddress() throws IOException {
        byte[] sa = fd.withFd(f -> SocketCalls.name(f, true, name));
        return Sockaddrs.decode(sa, sa.length);
    }

    /** shutdown(SHUT_WR): the peer reads end of stream; this end can still read. */
    public void shutdownOutput() throws IOException {
        shutdown(1);
    }

    /** shutdown(SHUT_RD); a reader waiting meanwhile reads end of stream. */
    public void shutdownInput() throws IOException {
        shutdown(0);
    }

    /**
     * shutdown(2). Of an unconnected UDP socket, Linux applies it (and wakes the readers) but still
     * says ENOTCONN: that is no failure.
     */
    private void shutdown(int how) throws IOException {
        try {
            fd.withFd(f -> Syscalls.shutdown(f, how, name));
        } catch (ErrnoException e) {
            if (unix || type != Type.DATAGRAM || e.errno() != Errors.ENOTCONN) {
                throw e;
            }
        }
    }

    /** SO_RCVBUF. */
    public int receiveBufferSize() throws IOException {
        return fd.withFd(f -> SocketCalls.getInt(f, SocketCalls.SOL_SOCKET, SocketCalls.SO_RCVBUF, name));
    }

    /**
     * Sets SO_RCVBUF (the kernel doubles it for its bookkeeping).
     *
     * @throws IllegalArgumentException if {@code bytes} is not positive (before the call)
     */
    public void setReceiveBufferSize(int bytes) throws IOException {
        setOption(SocketCalls.SOL_SOCKET, SocketCalls.SO_RCVBUF, bufferSize(bytes));
    }

    /** SO_SNDBUF. */
    public int sendBufferSize() throws IOException {
        return fd.withFd(f -> SocketCalls.getInt(f, SocketCalls.SOL_SOCKET, SocketCalls.SO_SNDBUF, name));
    }

    /**
     * Sets SO_SNDBUF.
     *
     * @throws IllegalArgumentException if {@code bytes} is not positive (before the call)
     */
    public void setSendBufferSize(int bytes) throws IOException {
        setOption(SocketCalls.SOL_SOCKET, SocketCalls.SO_SNDBUF, bufferSize(bytes));
    }

    /** The kernel reads a negative size as a huge unsigned one, and takes its maximum. */
    private static int bufferSize(int bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("buffer size must be positive: " + bytes);
        }
        return bytes;
    }

    /**
     * Sets TCP_NODELAY.
     *
     * @throws UnsupportedOperationException on a socket that is not TCP (AF_UNIX, UDP), before any
     *     call, as the JDK's channels refuse an option they do not support
     */
    public void setNoDelay(boolean on) throws IOException {
        if (unix || type != Type.STREAM) {
            throw new UnsupportedOperationException("'TCP_NODELAY' not supported: " + this + " is not a TCP socket");
        }
        setOption(SocketCalls.IPPROTO_TCP, SocketCalls.TCP_NODELAY, on ? 1 : 0);
    }

    private void setOption(int level, int option, int value) throws IOException {
        fd.withFd(f -> {
            SocketCalls.setInt(f, level, option, value, name);
            return null;
        });
    }

    /**
     * A bound on every later blocking read and receive, as {@link java.net.Socket#setSoTimeout}:
     * they wait with poll(2) and receive without blocking, so a message another thread takes first
     * cannot hold them past it ({@link SocketTimeoutException}). Null removes it.
     */
    public void setReadTimeout(Duration timeout) {
        if (timeout != null && timeout.isNegative()) {
            throw new IllegalArgumentException("negative timeout: " + timeout);
        }
        readTimeout = timeout;
    }

    /**
     * Inside a receive: waits until {@code f} is readable or {@code deadline} passes (false); a
     * signal's EINTR waits again for what is left.
     */
    private boolean awaitReadable(int f, long deadline) throws IOException {
        if (deadline == Deadline.NEVER) {
            awaitBlocked(f, Syscalls.POLLIN);
            return true;
        }
        int revents = Syscalls.poll(f, Syscalls.POLLIN, Deadline.remainingMillis(deadline), name);
        return revents != 0 || !Deadline.passed(deadline);
    }

    private SocketTimeoutException timedOut(Duration timeout) {
        return new SocketTimeoutException("read(" + name + "): timed out after " + timeout);
    }

    /**
     * A blocking stream over the socket, also in non-blocking mode (a read then waits for data,
     * bounded by the read timeout as on a blocking socket, where the JDK's stream would take the 0
     * of an empty socket for end of stream; an empty message gives no bytes and is passed over);
     * closing it closes the socket.
     */
    public InputStream inputStream() {
        return Channels.newInputStream(new Waiting());
    }

    /**
     * A blocking stream over the socket, also in non-blocking mode (a write then waits for room,
     * where the JDK's stream would throw RuntimeException("no bytes written")); each write of a
     * datagram or seqpacket socket is one message. Closing it closes the socket.
     */
    public OutputStream outputStream() {
        return Channels.newOutputStream(new Waiting());
    }

    /** The channel under the streams: this socket, read and written as if it were blocking. */
    private final class Waiting implements ByteChannel {
        @Override
        public int read(ByteBuffer dst) throws IOException {
            Duration timeout = readTimeout;
            long deadline = Deadline.of(timeout); // the read timeout bounds a non-blocking socket's wait too
            for (;;) {
                int n = Socket.this.read(dst);
                if (n != 0 || !dst.hasRemaining()) {
                    return n;
                }
                if (fd.isNonBlocking() && !fd.awaitReadable(deadline == Deadline.NEVER ? null
                        : Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))) {
                    throw timedOut(timeout);
                }
            }
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            int start = src.position();
            writeLock.lock(); // a non-blocking socket's write is cut short: the rest must follow it at once
            try {
                while (src.hasRemaining()) {
                    if (Socket.this.write(src) == 0) {
                        fd.awaitWritable(null);
                    }
                }
            } finally {
                writeLock.unlock();
            }
            return src.position() - start;
        }

        @Override
        public boolean isOpen() {
            return Socket.this.isOpen();
        }

        @Override
        public void close() throws IOException {
            Socket.this.close();
        }
    }

    @Override
    public boolean isOpen() {
        return fd.isOpen();
    }

    /** Closes the socket, and removes the socket file of a datagram socket bound to a path. */
    @Override
    public void close() throws IOException {
        try {
            SocketFile bound = file;
            if (bound != null) {
                bound.remove(fd.isOpen()); // first: while this socket is bound, no one takes its file for stale
            }
        } finally {
            fd.close(); // a no-op once closed
        }
    }

    @Override
    public String toString() {
        return "Socket[" + type + " " + name + (isOpen() ? "" : ", closed") + "]";
    }
}
