package io.ipcbridge.internal.posix;

import io.ipcbridge.AddressInUseException;
import io.ipcbridge.AddressNotAvailableException;
import io.ipcbridge.ConnectTimedOutException;
import io.ipcbridge.ConnectionRefusedException;
import io.ipcbridge.ConnectionResetException;
import io.ipcbridge.ErrnoException;
import io.ipcbridge.HostUnreachableException;
import io.ipcbridge.IpcResourceLimitException;
import io.ipcbridge.NoSuchObjectException;
import io.ipcbridge.ObjectExistsException;
import io.ipcbridge.PeerClosedException;
import io.ipcbridge.PermissionDeniedException;
import java.io.IOException;

/**
 * The one mapping from errno to exceptions, for the whole project. Names and texts come from glibc
 * itself ({@code strerrorname_np}, {@code strerrordesc_np}), so they read exactly as a C peer's.
 */
public final class Errors {
    /** Linux x86-64 errno numbers used by the mapping and the wrappers. */
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    public static final int EINTR = 4;
    public static final int ENXIO = 6;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EEXIST = 17;
    public static final int EINVAL = 22;
    public static final int ENFILE = 23;
    public static final int EFBIG = 27;
    public static final int EMFILE = 24;
    public static final int ENOSPC = 28;
    public static final int EPIPE = 32;
    public static final int ENOSYS = 38;
    public static final int ENOTSOCK = 88;
    public static final int EMSGSIZE = 90;
    public static final int EOPNOTSUPP = 95;
    public static final int EADDRINUSE = 98;
    public static final int EADDRNOTAVAIL = 99;
    public static final int ENETUNREACH = 101;
    public static final int ECONNRESET = 104;
    public static final int ENOTCONN = 107;
    public static final int ETOOMANYREFS = 109;
    public static final int ETIMEDOUT = 110;
    public static final int ECONNREFUSED = 111;
    public static final int EHOSTUNREACH = 113;
    public static final int EINPROGRESS = 115;

    private static final int TABLE_SIZE = 256;
    private static final String[] NAMES = new String[TABLE_SIZE];
    private static final String[] TEXTS = new String[TABLE_SIZE];

    static {
        for (int e = 0; e < TABLE_SIZE; e++) {
            NAMES[e] = NativeCalls.strerrorname_np(e);
            TEXTS[e] = NativeCalls.strerrordesc_np(e);
        }
    }

    private Errors() {
    }

    /** The symbol of {@code errno}, e.g. {@code "EEXIST"}, or {@code "errno N"} if glibc has none. */
    public static String name(int errno) {
        String name = errno >= 0 && errno < TABLE_SIZE ? NAMES[errno] : null;
        return name != null ? name : "errno " + errno;
    }

    /** glibc's untranslated text for {@code errno}, e.g. {@code "File exists"}. */
    public static String text(int errno) {
        String text = errno >= 0 && errno < TABLE_SIZE ? TEXTS[errno] : null;
        return text != null ? text : "Unknown error " + errno;
    }

    /** The standard message: {@code call(object): ENAME (text)}, then {@code : detail} if any. */
    public static String message(String call, String object, int errno, String detail) {
        String base = call + "(" + object + "): " + name(errno) + " (" + text(errno) + ")";
        return detail == null ? base : base + ": " + detail;
    }

    /**
     * The exception for {@code call} on {@code object} failing with {@code errno}: the JDK's own types
     * where they exist, ipcbridge's otherwise. The socket errors get the types the JDK's channels give
     * them (sun.nio.ch.Net): EADDRINUSE and EADDRNOTAVAIL a BindException, ECONNREFUSED and, from
     * connect, ENOENT and ETIMEDOUT a ConnectException, EHOSTUNREACH a NoRouteToHostException; ENETUNREACH,
     * which they leave a plain SocketException, is a NoRouteToHostException too (a SocketException).
     *
     * @throws IllegalStateException for EBADF: ipcbridge never calls on a descriptor it has closed,
     *     so EBADF on one it owns is a bug in ipcbridge, not a condition to handle
     */
    public static IOException exception(String call, String object, int errno) {
        switch (errno) {
            case ENOENT:
                // from connect: an AF_UNIX path with no file, so nobody listens there (RELIABILITY.md UDS-01)
                return call.equals("connect") ? new ConnectionRefusedException(call, object, errno)
                        : new NoSuchObjectException(call, object, errno);
            case EEXIST:
                return new ObjectExistsException(call, object, errno);
            case EACCES:
            case EPERM:
                return new PermissionDeniedException(call, object, errno);
            case EPIPE:
                return new PeerClosedException(call, object, errno);
            case ECONNREFUSED:
                return new ConnectionRefusedException(call, object, errno);
            case EADDRINUSE:
                return new AddressInUseException(call, object, errno);
            case EADDRNOTAVAIL:
                return new AddressNotAvailableException(call, object, errno);
            case EHOSTUNREACH:
            case ENETUNREACH:
                return new HostUnreachableException(call, object, errno);
            case ETIMEDOUT:
                // the kernel's own connect timeout; elsewhere (a TCP read after keepalive gave up) it
                // is no connect failure, and the JDK's channels too throw a plain IOException
                return call.equals("connect") ? new ConnectTimedOutException(call, object, errno)
                        : new ErrnoException(call, object, errno, null);
            case ECONNRESET:
                return new ConnectionResetException(call, object, errno);
            case EMFILE:
                return new IpcResourceLimitException(call, object, errno,
                        "the per-process limit on open descriptors (RLIMIT_NOFILE, ulimit -n)");
            case ENFILE:
                return new IpcResourceLimitException(call, object, errno,
                        "the system-wide limit on open files (/proc/sys/fs/file-max)");
            case ENOSPC:
                return new IpcResourceLimitException(call, object, errno, "no space left for the object");
            case ENOMEM:
                return new IpcResourceLimitException(call, object, errno, "out of kernel memory");
            case ETOOMANYREFS:
                return new IpcResourceLimitException(call, object, errno,
                        "descriptors in flight over sockets, counted against the sender's RLIMIT_NOFILE");
            case EBADF:
                throw new IllegalStateException("internal: " + message(call, object, errno, null));
            default:
                return new ErrnoException(call, object, errno, null);
        }
    }
}
