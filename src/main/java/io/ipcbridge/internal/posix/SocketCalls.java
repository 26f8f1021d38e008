package io.ipcbridge.internal.posix;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Checked wrappers of the socket calls, next to {@link Syscalls} and with its sentinels. Messages
 * go through sendmsg(2)/recvmsg(2) with a per-thread block of native memory holding the msghdr, the
 * iovec, the address and the control buffer, so no call allocates native memory.
 */
public final class SocketCalls {
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_SEQPACKET = 5;
    public static final int SOCK_NONBLOCK = 0x800;
    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_TYPE = 3;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;
    public static final int SO_ACCEPTCONN = 30;
    public static final int SO_PROTOCOL = 38;
    public static final int SO_DOMAIN = 39;
    private static final int SO_ERROR = 4;
    private static final int SO_PEERCRED = 17;
    private static final int SO_SNDTIMEO = 21;
    private static final int SO_PEERPIDFD = 77;
    public static final int IPPROTO_TCP = 6;
    public static final int TCP_NODELAY = 1;
    public static final int IPPROTO_UDP = 17;
    public static final int MSG_CTRUNC = 0x8;
    public static final int MSG_TRUNC = 0x20;
    public static final int MSG_DONTWAIT = 0x40;
    /** EINPROGRESS of a non-blocking connect. */
    public static final int IN_PROGRESS = -7;
    /** The most descriptors one message may carry (SCM_MAX_FD). */
    public static final int MAX_FDS = 253;
    /** Room for any sockaddr this project reads (sockaddr_un is 110 bytes, sockaddr_in6 28). */
    private static final int SOCKADDR_SIZE = 128;

    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int MSG_NOSIGNAL = 0x4000;
    private static final int MSG_CMSG_CLOEXEC = 0x40000000;
    private static final int SCM_RIGHTS = 1;
    private static final int MSGHDR = 0;
    private static final int IOVEC = 64;
    private static final int NAME = 128;
    private static final int CONTROL = 256;
    private static final int CONTROL_SIZE = 16 + MAX_FDS * 4 + 4;
    private static final ThreadLocal<Memory> SCRATCH = ThreadLocal.withInitial(() -> new Memory(CONTROL + CONTROL_SIZE));
    private static final ThreadLocal<PlainHeader> PLAIN = ThreadLocal.withInitial(PlainHeader::new);

    /**
     * A per-thread msghdr for {@link #recvPlain}: one iovec, a name buffer when asked for, no control
     * buffer. It is written through a direct buffer, so a call makes no JNI call but recvmsg's own.
     */
    private static final class PlainHeader {
        final ByteBuffer header = ByteBuffer.allocateDirect(NAME + SOCKADDR_SIZE).order(java.nio.ByteOrder.nativeOrder());
        final long address = Syscalls.address(header);

        PlainHeader() {
            header.putLong(MSGHDR + 16, address + IOVEC);
            header.putLong(MSGHDR + 24, 1);
        }
    }

    private SocketCalls() {
    }

    /** What recvmsg(2) returned besides the data. */
    public static final class Received {
        /** Bytes received (the real length of a datagram or seqpacket message, even when truncated). */
        public int length;
        /** msg_flags: MSG_TRUNC, MSG_CTRUNC. */
        public int flags;
        /** Descriptors received with SCM_RIGHTS (close-on-exec). */
        public int[] fds = new int[0];
    }

    private static int errno() {
        return Native.getLastError();
    }

    /** socket(2) with SOCK_CLOEXEC. */
    public static int socket(int domain, int type, String object) throws IOException {
        int fd = NativeCalls.socket(domain, type | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw Errors.exception("socket", object, errno());
        }
        return fd;
    }

    /** socketpair(2) with SOCK_CLOEXEC. */
    public static int[] socketpair(int type) throws IOException {
        int[] sv = new int[2];
        if (NativeCalls.socketpair(1, type | SOCK_CLOEXEC, 0, sv) != 0) {
            throw Errors.exception("socketpair", "AF_UNIX", errno());
        }
        return sv;
    }

    /** bind(2). */
    public static void bind(int fd, byte[] sockaddr, String object) throws IOException {
        if (NativeCalls.bind(fd, sockaddr, sockaddr.length) != 0) {
            throw Errors.exception("bind", object, errno());
        }
    }

    /** listen(2). */
    public static void listen(int fd, int backlog, String object) throws IOException {
        if (NativeCalls.listen(fd, backlog) != 0) {
            throw Errors.exception("listen", object, errno());
        }
    }

    /**
     * accept4(2) with SOCK_CLOEXEC. A connection that failed before it was taken (ECONNABORTED, and
     * the network errors Linux passes on from a new TCP connection, which accept(2) says to treat as
     * EAGAIN) is no failure of the listener: the caller waits for the next.
     *
     * @return the new descriptor, {@link Syscalls#AGAIN} or {@link Syscalls#INTERRUPTED}
     */
    public static int accept(int fd, String object) throws IOException {
        int[] length = {SOCKADDR_SIZE};
        int r = NativeCalls.accept4(fd, new byte[SOCKADDR_SIZE], length, SOCK_CLOEXEC);
        if (r >= 0) {
            return r;
        }
        int errno = errno();
        switch (errno) {
            case Errors.EAGAIN:
            case 103: // ECONNABORTED: the client left before we took it; wait for the next
            case 64: // ENONET
            case 71: // EPROTO
            case 92: // ENOPROTOOPT
            case 100: // ENETDOWN
            case Errors.ENETUNREACH:
            case 112: // EHOSTDOWN
            case Errors.EHOSTUNREACH:
                return Syscalls.AGAIN;
            case Errors.EINTR:
            case Errors.EBADF:
                return Syscalls.INTERRUPTED;
            default:
                throw Errors.exception("accept4", object, errno);
        }
    }

    /**
     * connect(2).
     *
     * @return 0, {@link #IN_PROGRESS} (non-blocking) or {@link Syscalls#INTERRUPTED}
     */
    public static int connect(int fd, byte[] sockaddr, String object) throws IOException {
        if (NativeCalls.connect(fd, sockaddr, sockaddr.length) == 0) {
            return 0;
        }
        int errno = errno();
        if (errno == Errors.EINPROGRESS || errno == Errors.EAGAIN) {
            return IN_PROGRESS;
        }
        if (errno == Errors.EINTR) {
            return Syscalls.INTERRUPTED;
        }
        throw Errors.exception("connect", object, errno);
    }

    /** getsockopt(SO_ERROR), turned into the exception of a failed connect. */
    public static void checkConnected(int fd, String object) throws IOException {
        int error = getInt(fd, SOL_SOCKET, SO_ERROR, object);
        if (error != 0) {
            throw Errors.exception("connect", object, error);
        }
    }

    /** getsockopt(2) of an int option. */
    public static int getInt(int fd, int level, int name, String object) throws IOException {
        int[] value = new int[1];
        if (NativeCalls.getsockopt(fd, level, name, value, new int[] {4}) != 0) {
            throw Errors.exception("getsockopt", object, errno());
        }
        return value[0];
    }

    /** getsockopt(SO_TYPE): the type of socket {@code fd} is, or -1 if it is no socket (ENOTSOCK). */
    public static int typeOrNone(int fd, String object) throws IOException {
        int[] value = new int[1];
        if (NativeCalls.getsockopt(fd, SOL_SOCKET, SO_TYPE, value, new int[] {4}) != 0) {
            int e = errno();
            if (e == Errors.ENOTSOCK) {
                return -1;
            }
            throw Errors.exception("getsockopt", object, e);
        }
        return value[0];
    }

    /** setsockopt(2) of an int option. */
    public static void setInt(int fd, int level, int name, int value, String object) throws IOException {
        if (NativeCalls.setsockopt(fd, level, name, new int[] {value}, 4) != 0) {
            throw Errors.exception("setsockopt", object, errno());
        }
    }

    /**
     * setsockopt(SO_SNDTIMEO): bounds blocking sends, and a blocking AF_UNIX connect that waits
     * for room in a full backlog; 0 removes the bound.
     */
    public static void setSendTimeout(int fd, long micros, String object) throws IOException {
        long sec = micros / 1_000_000;
        long usec = micros % 1_000_000;
        int[] timeval = {(int) sec, (int) (sec >>> 32), (int) usec, 0};
        if (NativeCalls.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, timeval, 16) != 0) {
            throw Errors.exception("setsockopt(SO_SNDTIMEO)", object, errno());
        }
    }

    /** getsockopt(SO_PEERCRED): {pid, uid, gid}. */
    public static int[] peerCredentials(int fd, String object) throws IOException {
        int[] ucred = new int[3];
        if (NativeCalls.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ucred, new int[] {12}) != 0) {
            throw Errors.exception("getsockopt(SO_PEERCRED)", object, errno());
        }
        return ucred;
    }

    /** getsockopt(SO_PEERPIDFD), Linux 6.5 and later: a pidfd of the peer, close-on-exec (the kernel sets it). */
    public static int peerPidfd(int fd, String object) throws IOException {
        int[] pidfd = new int[1];
        if (NativeCalls.getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, pidfd, new int[] {4}) != 0) {
            throw Errors.exception("getsockopt(SO_PEERPIDFD)", object, errno());
        }
        return pidfd[0];
    }

    /** getsockname(2) or getpeername(2): the sockaddr bytes, trimmed to their length. */
    public static byte[] name(int fd, boolean peer, String object) throws IOException {
        byte[] sa = new byte[SOCKADDR_SIZE];
        int[] length = {SOCKADDR_SIZE};
        int r = peer ? NativeCalls.getpeername(fd, sa, length) : NativeCalls.getsockname(fd, sa, length);
        if (r != 0) {
            throw Errors.exception(peer ? "getpeername" : "getsockname", object, errno());
        }
        return Arrays.copyOf(sa, length[0]);
    }

    /**
     * sendmsg(2) of {@code data} (direct), to {@code sockaddr} if not null, with {@code fds} as
     * SCM_RIGHTS if not empty; never raises SIGPIPE.
     *
     * @return bytes sent (advancing {@code data}), {@link Syscalls#AGAIN} or {@link Syscalls#INTERRUPTED}
     */
    public static int sendmsg(int fd, ByteBuffer data, byte[] sockaddr, int[] fds, int flags, String object)
            throws IOException {
        Memory m = SCRATCH.get();
        long base = Pointer.nativeValue(m);
        m.setLong(IOVEC, Syscalls.address(data));
        m.setLong(IOVEC + 8, data.remaining());
        m.setLong(MSGHDR, sockaddr == null ? 0 : base + NAME);
        m.setInt(MSGHDR + 8, sockaddr == null ? 0 : sockaddr.length);
        if (sockaddr != null) {
            m.write(NAME, sockaddr, 0, sockaddr.length);
        }
        m.setLong(MSGHDR + 16, base + IOVEC);
        m.setLong(MSGHDR + 24, 1);
        if (fds.length == 0) {
            m.setLong(MSGHDR + 32, 0);
            m.setLong(MSGHDR + 40, 0);
        } else {
            int length = 16 + 4 * fds.length;
            m.setLong(CONTROL, length);
            m.setInt(CONTROL + 8, SOL_SOCKET);
            m.setInt(CONTROL + 12, SCM_RIGHTS);
            m.write(CONTROL + 16, fds, 0, fds.length);
            m.setLong(MSGHDR + 32, base + CONTROL);
            m.setLong(MSGHDR + 40, (length + 7) & ~7);
        }
        m.setInt(MSGHDR + 48, 0);
        long n = NativeCalls.sendmsg(fd, m, flags | MSG_NOSIGNAL);
        if (n >= 0) {
            data.position(data.position() + (int) n);
            return (int) n;
        }
        return failure("sendmsg", object, errno());
    }

    /**
     * recvmsg(2) into {@code data} (direct) with room for {@code maxFds} descriptors (received
     * close-on-exec); with {@code flags} MSG_TRUNC the real length of a message is reported.
     *
     * @return what arrived (with {@code length} 0 at end of stream), or null on EAGAIN or EINTR
     *     (then {@code again[0]} tells which: {@link Syscalls#AGAIN} or {@link Syscalls#INTERRUPTED})
     */
    public static Received recvmsg(int fd, ByteBuffer data, int maxFds, int flags, int[] again, String object)
            throws IOException {
        Memory m = SCRATCH.get();
        long base = Pointer.nativeValue(m);
        m.setLong(IOVEC, Syscalls.address(data));
        m.setLong(IOVEC + 8, data.remaining());
        m.setLong(MSGHDR, 0);
        m.setInt(MSGHDR + 8, 0);
        m.setLong(MSGHDR + 16, base + IOVEC);
        m.setLong(MSGHDR + 24, 1);
        int controlLength = maxFds == 0 ? 0 : 16 + ((4 * Math.min(maxFds, MAX_FDS) + 7) & ~7);
        m.setLong(MSGHDR + 32, controlLength == 0 ? 0 : base + CONTROL);
        m.setLong(MSGHDR + 40, controlLength);
        m.setInt(MSGHDR + 48, 0);
        long n = NativeCalls.recvmsg(fd, m, flags | MSG_CMSG_CLOEXEC);
        if (n < 0) {
            again[0] = failure("recvmsg", object, errno());
            return null;
        }
        Received r = new Received();
        r.length = (int) n;
        r.flags = m.getInt(MSGHDR + 48);
        long control = m.getLong(MSGHDR + 40);
        for (long off = 0; off + 16 <= control; ) {
            long length = m.getLong(CONTROL + off);
            if (length < 16) {
                break;
            }
            if (m.getInt(CONTROL + off + 8) == SOL_SOCKET && m.getInt(CONTROL + off + 12) == SCM_RIGHTS) {
                int count = (int) (length - 16) / 4;
                int[] more = new int[count];
                m.read(CONTROL + off + 16, more, 0, count);
                int[] all = Arrays.copyOf(r.fds, r.fds.length + count);
                System.arraycopy(more, 0, all, r.fds.length, count);
                r.fds = all;
            }
            off += (length + 7) & ~7;
        }
        data.position(data.position() + (int) Math.min(n, data.remaining()));
        return r;
    }

    /**
     * recvmsg(2) into {@code data} (direct) with no room for descriptors: a read that, unlike
     * read(2) or recvfrom(2), learns that the peer sent descriptors (the kernel drops them and sets
     * MSG_CTRUNC). Nothing is allocated: the thread's last call leaves msg_flags for
     * {@link #receivedFlags()} and, when {@code sender} is asked for, the sender's sockaddr for
     * {@link #receivedSender()}.
     *
     * @param flags MSG_TRUNC to learn the real length of a longer datagram or seqpacket message
     * @return what recvmsg returned (0 at end of stream or for an empty message; with MSG_TRUNC
     *     possibly more than {@code data} took; {@code data} advances by what it took),
     *     {@link Syscalls#AGAIN} or {@link Syscalls#INTERRUPTED}
     */
    public static int recvPlain(int fd, ByteBuffer data, int flags, boolean sender, String object)
            throws IOException {
        PlainHeader h = PLAIN.get();
        ByteBuffer m = h.header;
        m.putLong(IOVEC, Syscalls.address(data)).putLong(IOVEC + 8, data.remaining()).putInt(MSGHDR + 48, 0)
                .putLong(MSGHDR, sender ? h.address + NAME : 0).putInt(MSGHDR + 8, sender ? SOCKADDR_SIZE : 0);
        long n = NativeCalls.THREADS.recvmsg(fd, h.address, flags | MSG_CMSG_CLOEXEC);
        if (n < 0) {
            return failure("recvmsg", object, NativeCalls.errno());
        }
        data.position(data.position() + (int) Math.min(n, data.remaining()));
        return (int) n;
    }

    /** The msg_flags of this thread's last {@link #recvPlain}: MSG_TRUNC, MSG_CTRUNC. */
    public static int receivedFlags() {
        return PLAIN.get().header.getInt(MSGHDR + 48);
    }

    /** The sender's sockaddr from this thread's last {@link #recvPlain} that asked for it. */
    public static byte[] receivedSender() {
        ByteBuffer m = PLAIN.get().header;
        byte[] sockaddr = new byte[Math.min(SOCKADDR_SIZE, m.getInt(MSGHDR + 8))];
        m.get(NAME, sockaddr);
        return sockaddr;
    }

    /**
     * sendto(2) of {@code data} (direct), to {@code sockaddr} if not null, without descriptors;
     * never raises SIGPIPE.
     *
     * @return bytes sent (advancing {@code data}), {@link Syscalls#AGAIN} or {@link Syscalls#INTERRUPTED}
     */
    public static int sendPlain(int fd, ByteBuffer data, byte[] sockaddr, String object) throws IOException {
        long n = NativeCalls.THREADS.sendto(fd, Syscalls.address(data), data.remaining(), MSG_NOSIGNAL, sockaddr,
                sockaddr == null ? 0 : sockaddr.length);
        if (n < 0) {
            return failure("sendto", object, NativeCalls.errno());
        }
        data.position(data.position() + (int) n);
        return (int) n;
    }

    private static int failure(String call, String object, int errno) throws IOException {
        switch (errno) {
            case Errors.EAGAIN:
                return Syscalls.AGAIN;
            case Errors.EINTR:
            case Errors.EBADF:
                return Syscalls.INTERRUPTED;
            default:
                throw Errors.exception(call, object, errno);
        }
    }
}
