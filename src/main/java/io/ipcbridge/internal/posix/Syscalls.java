package io.ipcbridge.internal.posix;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.StringArray;
import io.ipcbridge.IpcResourceLimitException;
import java.io.IOException;
import java.lang.ref.Cleaner;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import jnr.posix.FileStat;

/**
 * Checked wrappers of the system calls, the only door to {@link NativeCalls}. Each reads errno right
 * after its call and turns a failure into the exception of {@link Errors}. Outcomes a caller acts
 * on (end of file, EAGAIN, EINTR, ENXIO) come back as the negative sentinels below, never as errno.
 */
public final class Syscalls {
    /** End of file. */
    public static final int EOF = -1;
    /** EAGAIN / EWOULDBLOCK: a non-blocking call found nothing to do. */
    public static final int AGAIN = -2;
    /** EINTR: a signal ended the call; the caller checks why (close, interrupt, deadline) and retries. */
    public static final int INTERRUPTED = -3;
    /** ENXIO: a non-blocking open of a FIFO for writing found no reader. */
    public static final int NO_PEER = -4;

    /** ETIMEDOUT: a timed call reached its deadline. */
    public static final int TIMED_OUT = -5;
    /** EBUSY: the object is held by someone else (mq_notify). */
    public static final int BUSY = -6;

    public static final int O_RDONLY = 0;
    public static final int O_CREAT = 0x40;
    public static final int O_EXCL = 0x80;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_NOFOLLOW = 0x20000;
    public static final int O_CLOEXEC = 0x80000;
    public static final int O_PATH = 0x200000;
    /** open(2): an unnamed regular file in the directory given as the path (with O_DIRECTORY's bit). */
    public static final int O_TMPFILE = 0x410000;
    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_FOLLOW = 0x400;
    public static final int POLLIN = 0x1;
    public static final int POLLOUT = 0x4;
    public static final int POLLERR = 0x8;
    public static final int POLLHUP = 0x10;
    /** The peer has shut down writing, or closed (Linux; asked for in {@code events}). */
    public static final int POLLRDHUP = 0x2000;
    public static final int SIGKILL = 9;

    private static final int O_DIRECTORY = 0x10000;
    private static final int LOCK_EX = 2;
    private static final int LOCK_NB = 4;
    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final int F_DUPFD_CLOEXEC = 1030;
    private static final int F_SETPIPE_SZ = 1031;
    private static final int F_GETPIPE_SZ = 1032;
    private static final int WNOHANG = 1;
    private static final int RLIMIT_NOFILE = 7;
    private static final long RLIM_INFINITY = -1;
    private static final long SYS_PIDFD_SEND_SIGNAL = 424;
    private static final long SYS_PIDFD_OPEN = 434;
    private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    /** The sigset_t bits of SIGCANCEL (32) and SIGSETXID (33). */
    private static final long GLIBC_INTERNAL_SIGNALS = (1L << 31) | (1L << 32);
    /** Larger than glibc's posix_spawn_file_actions_t (80), posix_spawnattr_t (336) and sigset_t (128). */
    private static final long OPAQUE_SIZE = 512;

    private Syscalls() {
    }

    private static int jnrErrno() {
        return NativeCalls.POSIX.errno();
    }

    private static int jnaErrno() {
        return Native.getLastError();
    }

    // ---- descriptors -------------------------------------------------------------------------

    /** pipe2(O_CLOEXEC): {read end, write end}; failures name {@code object}, what the pipe is for. */
    public static int[] pipe(String object) throws IOException {
        int[] fds = new int[2];
        if (NativeCalls.pipe2(fds, O_CLOEXEC) != 0) {
            throw Errors.exception("pipe2", object, jnaErrno());
        }
        return fds;
    }

    /**
     * read(2) into {@code dst} from its position, advancing it.
     *
     * @return bytes read, {@link #EOF}, {@link #AGAIN} or {@link #INTERRUPTED}
     */
    public static int read(int fd, ByteBuffer dst, String object) throws IOException {
        long n = NativeCalls.THREADS.read(fd, address(dst), dst.remaining());
        if (n > 0) {
            dst.position(dst.position() + (int) n);
            return (int) n;
        }
        if (n == 0) {
            return EOF;
        }
        return transferFailure("read", object, NativeCalls.errno());
    }

    /**
     * write(2) from {@code src} at its position, advancing it.
     *
     * @return bytes written, {@link #AGAIN} or {@link #INTERRUPTED}
     */
    public static int write(int fd, ByteBuffer src, String object) throws IOException {
        long n = NativeCalls.THREADS.write(fd, address(src), src.remaining());
        if (n >= 0) {
            src.position(src.position() + (int) n);
            return (int) n;
        }
        return transferFailure("write", object, NativeCalls.errno());
    }

    private static int transferFailure(String call, String object, int errno) throws IOException {
        if (errno == Errors.EAGAIN) {
            return AGAIN;
        }
        if (errno == Errors.EINTR) {
            return INTERRUPTED;
        }
        throw Errors.exception(call, object, errno);
    }

    /**
     * poll(2) on one descriptor.
     *
     * @return the revents (0 when the timeout passed), or {@link #INTERRUPTED}
     */
    public static int poll(int fd, int events, int timeoutMillis, String object) throws IOException {
        int[] entry = {fd, events};
        int n = NativeCalls.poll(entry, 1, timeoutMillis);
        if (n >= 0) {
            return n == 0 ? 0 : entry[1] >>> 16;
        }
        int errno = jnaErrno();
        if (errno == Errors.EINTR) {
            return INTERRUPTED;
        }
        throw Errors.exception("poll", object, errno);
    }

    /**
     * poll(2) on {@code count} descriptors packed as int pairs in {@code entries}: the fd, then the
     * events; on return each pair's second int holds events | revents &lt;&lt; 16.
     *
     * @param timeoutMillis -1 waits for ever
     * @return how many descriptors are ready (0 when the timeout passed), or {@link #INTERRUPTED}
     */
    public static int poll(int[] entries, int count, int timeoutMillis, String object) throws IOException {
        int n = NativeCalls.poll(entries, count, timeoutMillis);
        if (n >= 0) {
            return n;
        }
        int errno = jnaErrno();
        if (errno == Errors.EINTR) {
            return INTERRUPTED;
        }
        throw Errors.exception("poll", object, errno);
    }

    /** close(2); Linux releases the number whatever close reports, so failures are not retried. */
    public static void close(int fd) {
        NativeCalls.LIBC.close(fd);
    }

    /**
     * Closes {@code owner} after {@code failure}, which gets a failure of the close as suppressed:
     * a descriptor refused by a check is not left open.
     */
    public static void closeAfter(java.io.Closeable owner, Exception failure) {
        try {
            owner.close();
        } catch (IOException | RuntimeException suppressed) {
            failure.addSuppressed(suppressed);
        }
    }

    /**
     * Opens directory {@code dir} and takes flock(2) LOCK_EX on it, trying again (LOCK_NB, a
     * millisecond apart) until {@code timeout} has passed: a lock anyone who may read the directory
     * can take and keep must never hold the caller for ever. Closing the returned descriptor
     * releases the lock.
     *
     * @return the descriptor, or -1 if the lock stayed taken for {@code timeout}
     */
    public static int lockDirectory(String dir, Duration timeout, String object) throws IOException {
        int fd = openFile("open", dir, O_RDONLY | O_DIRECTORY, 0, object);
        long deadline = Deadline.of(timeout);
        while (NativeCalls.LIBC.flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int errno = jnrErrno();
            if (errno == Errors.EAGAIN && !Deadline.passed(deadline)) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            } else if (errno != Errors.EINTR) {
                close(fd);
                if (errno == Errors.EAGAIN) {
                    return -1;
                }
                throw Errors.exception("flock", object, errno);
            }
        }
        return fd;
    }

    /** dup3(2) with O_CLOEXEC: makes {@code newfd} a copy of {@code oldfd}. */
    public static void dup3(int oldfd, int newfd, String object) throws IOException {
        if (NativeCalls.dup3(oldfd, newfd, O_CLOEXEC) < 0) {
            throw Errors.exception("dup3", object, jnaErrno());
        }
    }

    /** shutdown(2): {@code how} 0 SHUT_RD, 1 SHUT_WR, 2 SHUT_RDWR. */
    public static Void shutdown(int fd, int how, String object) throws IOException {
        if (NativeCalls.shutdown(fd, how) != 0) {
            throw Errors.exception("shutdown", object, jnaErrno());
        }
        return null;
    }

    /** A connected AF_UNIX stream socket whose peer is closed and which is shut down both ways. */
    public static int deadSocket() throws IOException {
        int[] sv = SocketCalls.socketpair(SocketCalls.SOCK_STREAM);
        NativeCalls.shutdown(sv[0], 2);
        close(sv[1]);
        return sv[0];
    }

    /** fcntl(F_DUPFD_CLOEXEC): a second descriptor for the same open file. */
    public static int dup(int fd, String object) throws IOException {
        return fcntl(fd, F_DUPFD_CLOEXEC, 3, "fcntl(F_DUPFD_CLOEXEC)", object);
    }

    /** fcntl(F_GETFL/F_SETFL): sets or clears O_NONBLOCK. */
    public static void setNonBlocking(int fd, boolean on, String object) throws IOException {
        int flags = fcntl(fd, F_GETFL, 0, "fcntl(F_GETFL)", object);
        int wanted = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
        if (wanted != flags) {
            fcntl(fd, F_SETFL, wanted, "fcntl(F_SETFL)", object);
        }
    }

    /**
     * fcntl(F_GETFL) masked with O_ACCMODE: {@link #O_RDONLY}, {@link #O_WRONLY} or {@link #O_RDWR};
     * or {@link #O_PATH} for a descriptor that names a file but can neither read nor write it (its
     * O_ACCMODE bits read as O_RDONLY).
     */
    public static int accessMode(int fd, String object) throws IOException {
        int flags = fcntl(fd, F_GETFL, 0, "fcntl(F_GETFL)", object);
        return (flags & O_PATH) != 0 ? O_PATH : flags & 3;
    }

    /** fcntl(F_GETFL) tested for O_NONBLOCK. */
    public static boolean isNonBlocking(int fd, String object) throws IOException {
        return (fcntl(fd, F_GETFL, 0, "fcntl(F_GETFL)", object) & O_NONBLOCK) != 0;
    }

    /** fcntl(F_GETPIPE_SZ). */
    public static int pipeSize(int fd, String object) throws IOException {
        return fcntl(fd, F_GETPIPE_SZ, 0, "fcntl(F_GETPIPE_SZ)", object);
    }

    /** fcntl(F_SETPIPE_SZ): returns the capacity the kernel chose (at least {@code bytes}). */
    public static int setPipeSize(int fd, int bytes, String object) throws IOException {
        return fcntl(fd, F_SETPIPE_SZ, bytes, "fcntl(F_SETPIPE_SZ)", object);
    }

    private static int fcntl(int fd, int cmd, int arg, String call, String object) throws IOException {
        int r = NativeCalls.LIBC.fcntl(fd, cmd, arg);
        if (r < 0) {
            throw Errors.exception(call, object, jnrErrno());
        }
        return r;
    }

    // ---- paths ---------------------------------------------------------------------------------

    /** mkfifo(3). */
    public static void mkfifo(String path, int mode) throws IOException {
        if (NativeCalls.POSIX.mkfifo(path, mode) != 0) {
            throw Errors.exception("mkfifo", path, jnrErrno());
        }
    }

    /** fchmod(2): sets the mode exactly (umask only narrows the mode at creation). */
    public static void fchmod(int fd, int mode, String object) throws IOException {
        if (NativeCalls.LIBC.fchmod(fd, mode) != 0) {
            throw Errors.exception("fchmod", object, jnrErrno());
        }
    }

    /** chmod(2). */
    public static void chmod(String path, int mode, String object) throws IOException {
        if (NativeCalls.LIBC.chmod(path, mode) != 0) {
            throw Errors.exception("chmod", object, jnrErrno());
        }
    }

    /** lstat(2). */
    public static FileInfo lstat(String path) throws IOException {
        FileStat stat = NativeCalls.POSIX.allocateStat();
        if (NativeCalls.LIBC.lstat(path, stat) != 0) {
            throw Errors.exception("lstat", path, jnrErrno());
        }
        return info(stat);
    }

    /** unlink(2). */
    public static void unlink(String path) throws IOException {
        unlink(path, "unlink", path);
    }

    /** unlink(2) of {@code path}, whose failures name {@code call} and {@code object} (e.g. shm_unlink). */
    public static void unlink(String path, String call, String object) throws IOException {
        if (NativeCalls.LIBC.unlink(path) != 0) {
            throw Errors.exception(call, object, jnrErrno());
        }
    }

    /**
     * open(2) of {@code path} with {@code flags} (O_CLOEXEC is always added).
     *
     * @return the descriptor, {@link #INTERRUPTED} or, for a FIFO opened O_WRONLY|O_NONBLOCK with no
     *     reader, {@link #NO_PEER}
     */
    public static int open(String path, int flags, int mode, String object) throws IOException {
        return open("open", path, flags, mode, object);
    }

    /** {@link #open(String, int, int, String)} whose failures name {@code call} (e.g. shm_open). */
    public static int open(String call, String path, int flags, int mode, String object) throws IOException {
        int fd = NativeCalls.LIBC.open(path, flags | O_CLOEXEC, mode);
        if (fd >= 0) {
            return fd;
        }
        int errno = jnrErrno();
        if (errno == Errors.EINTR) {
            return INTERRUPTED;
        }
        if (errno == Errors.ENXIO) {
            return NO_PEER;
        }
        throw Errors.exception(call, object, errno);
    }

    /**
     * open(2) of a file that is to be a regular file (a shared memory object, a semaphore's file),
     * never a FIFO or socket: whatever is found at {@code path} gives a descriptor or an exception,
     * never a sentinel. ENXIO (a socket, or a device without its driver, planted at the path: anyone
     * can bind a socket in /dev/shm) is an exception naming {@code call} and {@code object}, and EINTR
     * is retried.
     */
    public static int openFile(String call, String path, int flags, int mode, String object) throws IOException {
        for (;;) {
            int fd = open(call, path, flags, mode, object);
            if (fd >= 0) {
                return fd;
            }
            if (fd == NO_PEER) {
                throw Errors.exception(call, object, Errors.ENXIO);
            }
            // INTERRUPTED: a signal came during the open; make it again
        }
    }

    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int MAP_SHARED = 1;
    private static final long MAP_FAILED = -1;
    /** Unmaps a mapping once no buffer of it is reachable. */
    private static final Cleaner MAPPINGS = Cleaner.create();
    /** How long a map that found no room waits for {@link #MAPPINGS} to unmap one more mapping. */
    private static final long UNMAP_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** Guards {@link #unmapped}, and is notified at each unmap. */
    private static final Object UNMAPS = new Object();
    /** How many mappings {@link #MAPPINGS} has unmapped. */
    private static long unmapped;

    /**
     * mmap(2), shared, of the first {@code size} bytes of the file open on {@code fd}, read-write or
     * read-only (a read-only buffer), as a direct buffer. mmap checks the descriptor, as in C: a
     * read-write mapping needs O_RDWR (EACCES), a memfd sealed against writing refuses it (EPERM).
     * The mapping is removed by munmap(2) once neither the buffer nor any view of it (duplicate,
     * slice, read-only view) is reachable, so no buffer handed out ever reads unmapped memory. An
     * empty file maps to an empty buffer (mmap refuses a length of 0). A map that finds no room
     * (ENOMEM) collects the heap, as FileChannel.map does, and is made again each time that unmaps
     * more; it then fails with {@link IpcResourceLimitException}.
     */
    public static ByteBuffer map(int fd, boolean write, long size, String object) throws IOException {
        if (size < 0 || size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a mapping is 0 to " + Integer.MAX_VALUE + " bytes: " + size);
        }
        if (size == 0) {
            ByteBuffer empty = ByteBuffer.allocateDirect(0);
            return write ? empty : empty.asReadOnlyBuffer();
        }
        int prot = write ? PROT_READ | PROT_WRITE : PROT_READ;
        long seen = unmapped();
        long address = NativeCalls.mmap(0, size, prot, MAP_SHARED, fd, 0);
        int errno = address == MAP_FAILED ? jnaErrno() : 0;
        if (errno == Errors.ENOMEM) {
            // the room may be held by mappings no longer reachable that no collection has found yet
            System.gc();
            while (errno == Errors.ENOMEM && (seen = awaitUnmapPast(seen)) >= 0) {
                address = NativeCalls.mmap(0, size, prot, MAP_SHARED, fd, 0);
                errno = address == MAP_FAILED ? jnaErrno() : 0;
            }
        }
        if (errno == Errors.ENOMEM) {
            throw new IpcResourceLimitException("mmap", object, errno, "no room for a mapping of "
                    + size + " bytes: the address space (RLIMIT_AS) or the count of mappings (vm.max_map_count)"
                    + " is used up");
        }
        if (address == MAP_FAILED) {
            throw Errors.exception("mmap", object, errno);
        }
        ByteBuffer buffer;
        try {
            buffer = new Pointer(address).getByteBuffer(0, size);
        } catch (RuntimeException | Error e) {
            NativeCalls.munmap(address, size);
            throw e;
        }
        MAPPINGS.register(buffer, new Unmap(address, size));
        // a write through a buffer of a read-only mapping would be a SIGSEGV, which kills the JVM
        return write ? buffer : buffer.asReadOnlyBuffer();
    }

    /** The Cleaner's action: holds the address and length only, never the buffer. */
    private record Unmap(long address, long length) implements Runnable {
        @Override
        public void run() {
            NativeCalls.munmap(address, length);
            synchronized (UNMAPS) {
                unmapped++;
                UNMAPS.notifyAll();
            }
        }
    }

    private static long unmapped() {
        synchronized (UNMAPS) {
            return unmapped;
        }
    }

    /**
     * Waits until more than {@code seen} mappings are unmapped, at most {@link #UNMAP_WAIT_NANOS} and
     * uninterruptibly (an interrupt is kept); their count then, or -1 if none was meanwhile.
     */
    private static long awaitUnmapPast(long seen) {
        boolean interrupted = false;
        long deadline = System.nanoTime() + UNMAP_WAIT_NANOS;
        try {
            synchronized (UNMAPS) {
                while (unmapped <= seen) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return -1;
                    }
                    try {
                        TimeUnit.NANOSECONDS.timedWait(UNMAPS, left);
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                return unmapped;
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * The exception for a JDK operation on directory {@code dir} that failed with {@code jdk}, which
     * carries no errno (e.g. "Mount point not found" or "/dev/shm: Too many open files" at
     * RLIMIT_NOFILE): the directory is opened with open(2), and if that fails too, its exception
     * (e.g. {@code opendir(/dev/shm): EMFILE (Too many open files)}) is returned, with {@code jdk}
     * suppressed; else {@code jdk} itself.
     */
    public static IOException explainDirectory(String dir, IOException jdk) {
        try {
            int fd = open("opendir", dir, O_RDONLY | O_DIRECTORY, 0, dir);
            if (fd >= 0) {
                close(fd);
            }
            return jdk;
        } catch (IOException failure) {
            failure.addSuppressed(jdk);
            return failure;
        }
    }

    /**
     * Whether the mqueue filesystem is mounted at {@code dir} (listing queues needs it; queues work
     * without it); a failure to look is explained as {@link #explainDirectory} does.
     */
    public static boolean mqueueMounted(Path dir) throws IOException {
        try {
            return Files.isDirectory(dir) && "mqueue".equals(Files.getFileStore(dir).type());
        } catch (IOException e) {
            throw explainDirectory(dir.toString(), e);
        }
    }

    /** fstat(2). */
    public static FileInfo fstat(int fd, String object) throws IOException {
        FileStat stat = NativeCalls.POSIX.allocateStat();
        if (NativeCalls.LIBC.fstat(fd, stat) != 0) {
            throw Errors.exception("fstat", object, jnrErrno());
        }
        return info(stat);
    }

    private static FileInfo info(FileStat stat) {
        return new FileInfo(stat.mode(), stat.uid(), stat.gid(), stat.nlink(), stat.st_size(), stat.dev(), stat.ino());
    }

    /** geteuid(2). */
    public static int geteuid() {
        return NativeCalls.LIBC.geteuid();
    }

    // ---- processes -----------------------------------------------------------------------------

    /**
     * getrlimit(RLIMIT_MSGQUEUE), for messages: "soft/hard S H bytes" ("unlimited" for no limit), as
     * /proc/self/limits words it but read without a descriptor, which a process out of them lacks.
     */
    public static String messageQueueLimit() {
        final int rlimitMsgqueue = 12;
        long[] rlimit = new long[2];
        if (NativeCalls.getrlimit(rlimitMsgqueue, rlimit) != 0) {
            return "unknown";
        }
        return "soft/hard " + limitText(rlimit[0]) + " " + limitText(rlimit[1]) + " bytes";
    }

    private static String limitText(long limit) {
        return limit == RLIM_INFINITY ? "unlimited" : Long.toUnsignedString(limit);
    }

    /** getrlimit(RLIMIT_NOFILE): the soft limit, one above the highest descriptor number a process may have. */
    public static long openFilesLimit() throws IOException {
        long[] rlimit = new long[2];
        if (NativeCalls.getrlimit(RLIMIT_NOFILE, rlimit) != 0) {
            throw Errors.exception("getrlimit", "RLIMIT_NOFILE", jnaErrno());
        }
        return rlimit[0] == RLIM_INFINITY ? Long.MAX_VALUE : rlimit[0];
    }

    /**
     * The process's environment ({@code environ}), "NAME=value" entries as their bytes: the
     * environment the JVM started with, what {@link System#getenv()} shows decoded, unless native
     * code has changed it since.
     */
    public static List<byte[]> environment() {
        return NativeCalls.environEntries();
    }

    /**
     * posix_spawnp(3) of {@code argv} with {@code sources[i]} placed on fd {@code targets[i]} in the
     * child and every other descriptor above 2 closed (the JVM's own included, close-on-exec or not),
     * default signal dispositions and an empty signal mask.
     *
     * <p>The placement is collision-free, so placing fd 4 on 3 and fd 3 on 4 works, and takes a few
     * file actions per placed descriptor, however high its target: each source is first copied onto
     * a number no source has ({@link #stagingFds}); the copies for targets above 2 are packed onto
     * fds 3, 4, ... in target order, and closefrom(2) closes everything above the pack; then each
     * moves onto its target, highest first, so that none lands on a copy still to move. Only then,
     * with {@code stderrToStdout}, is fd 1 copied onto fd 2, so fd 2 gets the placed fd 1 or the JVM's.
     *
     * @param targets the child's fd numbers, ascending
     * @param env "NAME=value" entries, as bytes, or null to inherit the JVM's environment
     * @param directory the child's working directory, or null; if the child cannot enter it, the
     *     exception names chdir and the directory. If the program is a path (with a slash) to a script
     *     whose #! interpreter is missing, the exception names that interpreter too
     * @return the child's pid
     */
    public static int spawn(List<String> argv, List<byte[]> env, String directory, int[] targets,
            int[] sources, boolean stderrToStdout) throws IOException {
        String program = argv.get(0);
        int[] staging = stagingFds(targets, sources);
        Memory actions = new Memory(OPAQUE_SIZE);
        Memory attr = new Memory(OPAQUE_SIZE);
        Memory sigset = new Memory(OPAQUE_SIZE);
        check("posix_spawn_file_actions_init", program, NativeCalls.posix_spawn_file_actions_init(actions));
        try {
            check("posix_spawnattr_init", program, NativeCalls.posix_spawnattr_init(attr));
            try {
                for (int i = 0; i < targets.length; i++) {
                    addDup2(actions, sources[i], staging[i], program);
                }
                int pack = 3;
                for (int i = 0; i < targets.length; i++) {
                    addDup2(actions, staging[i], targets[i] > 2 ? pack++ : targets[i], program);
                }
                check("posix_spawn_file_actions_addclosefrom_np", program,
                        NativeCalls.posix_spawn_file_actions_addclosefrom_np(actions, pack));
                for (int i = targets.length - 1; i >= 0 && targets[i] > 2; i--) {
                    int copy = --pack; // targets[i] >= copy: 3 + the number of lower targets above 2
                    if (copy != targets[i]) {
                        addDup2(actions, copy, targets[i], program);
                        if (!contains(targets, copy)) { // else a lower target's move overwrites it
                            check("posix_spawn_file_actions_addclose", program,
                                    NativeCalls.posix_spawn_file_actions_addclose(actions, copy));
                        }
                    }
                }
                if (stderrToStdout) {
                    addDup2(actions, 1, 2, program);
                }
                if (directory != null) {
                    check("posix_spawn_file_actions_addchdir_np", directory,
                            NativeCalls.posix_spawn_file_actions_addchdir_np(actions, directory));
                }
                NativeCalls.sigemptyset(sigset);
                check("posix_spawnattr_setsigmask", program, NativeCalls.posix_spawnattr_setsigmask(attr, sigset));
                NativeCalls.sigfillset(sigset);
                // sigfillset leaves out glibc's internal signals 32 and 33, and posix_spawn then sets
                // them to SIG_IGN in the child, which exec keeps: set their bits so they start at SIG_DFL
                // too. (Only the parent's threads can be sent them, never the new process.)
                sigset.setLong(0, sigset.getLong(0) | GLIBC_INTERNAL_SIGNALS);
                check("posix_spawnattr_setsigdefault", program,
                        NativeCalls.posix_spawnattr_setsigdefault(attr, sigset));
                check("posix_spawnattr_setflags", program, NativeCalls.posix_spawnattr_setflags(attr,
                        (short) (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)));
                int[] pid = new int[1];
                StringArray args = NativeCalls.strings(argv);
                Memory envp = env == null ? null : NativeCalls.byteStrings(env);
                int rc = NativeCalls.posix_spawnp(pid, program, actions, attr, args,
                        envp != null ? envp : NativeCalls.environ());
                if (rc != 0 && directory != null && !enterable(directory)) {
                    // the child's chdir failed before any exec: name the directory, not the program
                    throw Errors.exception("chdir", directory, rc);
                }
                String interpreter = rc == Errors.ENOENT ? missingInterpreter(program, directory) : null;
                if (interpreter != null) {
                    // the script exists: execve(2) says ENOENT of the interpreter its #! line names
                    throw Errors.exception("posix_spawnp", program + ": #!" + interpreter.replace("\r", "\\r"), rc);
                }
                check("posix_spawnp", program, rc);
                return pid[0];
            } finally {
                NativeCalls.posix_spawnattr_destroy(attr);
            }
        } finally {
            NativeCalls.posix_spawn_file_actions_destroy(actions);
        }
    }

    /**
     * Where {@link #spawn} stages each placed descriptor before packing it: the lowest numbers above
     * the pack (fds 3, 4, ..., one for each target above 2, so the closefrom(2) closes them) that are
     * no source (so no source is overwritten before it is staged). Neither a high source nor a high
     * target pushes them up.
     */
    public static int[] stagingFds(int[] targets, int[] sources) {
        int next = 2;
        for (int t : targets) {
            if (t > 2) {
                next++;
            }
        }
        int[] staging = new int[targets.length];
        for (int i = 0; i < staging.length; i++) {
            do {
                next++;
            } while (contains(sources, next));
            staging[i] = next;
        }
        return staging;
    }

    private static void addDup2(Memory actions, int fd, int newfd, String program) throws IOException {
        check("posix_spawn_file_actions_adddup2", program,
                NativeCalls.posix_spawn_file_actions_adddup2(actions, fd, newfd));
    }

    private static boolean contains(int[] values, int value) {
        for (int v : values) {
            if (v == value) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code directory} is a directory this process may enter (what chdir(2) needs). */
    private static boolean enterable(String directory) {
        Path dir = Path.of(directory);
        return Files.isDirectory(dir) && Files.isExecutable(dir);
    }

    /**
     * The interpreter on the #! line of {@code program} (a path, relative to {@code directory} or
     * the current one) if it is a script and the interpreter (relative to the same) is missing;
     * else null. Read as the kernel reads it: up to a blank or the line's end, so a CRLF line
     * gives "/bin/sh\r".
     */
    private static String missingInterpreter(String program, String directory) {
        if (program.indexOf('/') < 0) {
            return null;
        }
        Path base = Path.of(directory == null ? "" : directory);
        byte[] head = new byte[256]; // BINPRM_BUF_SIZE: what the kernel reads of the #! line
        try (var in = Files.newInputStream(base.resolve(program))) {
            int n = in.readNBytes(head, 0, head.length);
            String line = new String(head, 0, n, StandardCharsets.UTF_8).split("\n", -1)[0];
            if (!line.startsWith("#!")) {
                return null;
            }
            String interpreter = line.substring(2).replaceFirst("^[ \t]+", "").split("[ \t]", 2)[0];
            return interpreter.isEmpty() || Files.exists(base.resolve(interpreter)) ? null : interpreter;
        } catch (IOException | RuntimeException e) { // unreadable, or no path (a NUL): nothing to add
            return null;
        }
    }

    /** For the functions that return an errno instead of setting it. */
    private static void check(String call, String object, int rc) throws IOException {
        if (rc != 0) {
            throw Errors.exception(call, object, rc);
        }
    }

    /** sched_getaffinity(2) of the calling thread: its CPU mask, 64 CPUs a long. */
    public static long[] cpuAffinity() throws IOException {
        long[] mask = new long[16];
        if (NativeCalls.sched_getaffinity(0, mask.length * 8L, mask) < 0) {
            throw Errors.exception("sched_getaffinity", "this thread", jnaErrno());
        }
        return mask;
    }

    /**
     * sched_setaffinity(2) of the calling thread; the threads it starts and the processes it spawns
     * inherit the mask.
     */
    public static void setCpuAffinity(long[] mask) throws IOException {
        if (NativeCalls.sched_setaffinity(0, mask.length * 8L, mask) < 0) {
            throw Errors.exception("sched_setaffinity", "this thread", jnaErrno());
        }
    }

    /** pidfd_open(2): a descriptor that becomes readable when the process ends. */
    public static int pidfdOpen(int pid) throws IOException {
        long fd = NativeCalls.syscall(SYS_PIDFD_OPEN, pid, 0, 0, 0);
        if (fd < 0) {
            throw Errors.exception("pidfd_open", Integer.toString(pid), jnaErrno());
        }
        return (int) fd; // close-on-exec: pidfd_open(2) sets it
    }

    /** pidfd_send_signal(2): signals the process the pidfd refers to, never a reused pid. */
    public static void pidfdSignal(int pidfd, int signal, String object) throws IOException {
        if (NativeCalls.syscall(SYS_PIDFD_SEND_SIGNAL, pidfd, signal, 0, 0) < 0) {
            int errno = jnaErrno();
            if (errno != Errors.ESRCH) { // ended already: nothing to signal
                throw Errors.exception("pidfd_send_signal", object, errno);
            }
        }
    }

    /**
     * The pid of the process pidfd {@code fd} refers to, from the "Pid:" line of /proc/self/fdinfo:
     * -1 once the process has been reaped, 0 if it is outside the pid namespace of /proc.
     *
     * @throws IllegalArgumentException if {@code fd} is no pidfd (no "Pid:" line)
     */
    public static int pidfdPid(int fd, String object) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
            if (line.startsWith("Pid:")) {
                return Integer.parseInt(line.substring(4).trim());
            }
        }
        throw new IllegalArgumentException(object + " is no pidfd: /proc/self/fdinfo/" + fd + " has no Pid line");
    }

    /**
     * waitpid(2) with WNOHANG.
     *
     * @return the raw wait status, or -1 if the child is still running
     */
    public static int reap(int pid) throws IOException {
        int[] status = new int[1];
        for (;;) {
            int r = NativeCalls.LIBC.waitpid(pid, status, WNOHANG);
            if (r == pid) {
                return status[0];
            }
            if (r == 0) {
                return -1;
            }
            int errno = jnrErrno();
            if (errno != Errors.EINTR) {
                throw Errors.exception("waitpid", Integer.toString(pid), errno);
            }
        }
    }

    /**
     * kill(2) with SIGKILL, then a blocking waitpid(2): ends and reaps a child of this process that
     * nothing else holds yet (no pidfd). Its pid cannot have been reused, as it is not reaped; this
     * is for error paths, so it reports nothing.
     */
    public static void killAndReap(int pid) {
        NativeCalls.LIBC.kill(pid, SIGKILL);
        awaitAndReap(pid);
    }

    /** A blocking waitpid(2): waits for child {@code pid} to end and reaps it; reports nothing. */
    public static void awaitAndReap(int pid) {
        int[] status = new int[1];
        while (NativeCalls.LIBC.waitpid(pid, status, 0) < 0 && jnrErrno() == Errors.EINTR) {
            // a signal came: wait again
        }
    }

    // ---- message queues ------------------------------------------------------------------------

    private static final int EBUSY = 16;
    private static final int MQ_ATTR_LONGS = 8;
    private static final int SIGEV_NONE = 1;

    /**
     * The native address of a direct buffer's position. The base addresses of the last two buffers
     * asked about on this thread are kept (a direct buffer never moves), so a loop that sends from
     * one buffer and receives into another makes no JNI call.
     */
    public static long address(ByteBuffer buffer) {
        LastBuffers last = LAST_BUFFERS.get();
        if (last.first.get() == buffer) {
            return last.firstBase + buffer.position();
        }
        if (last.second.get() != buffer) {
            last.second = new WeakReference<>(buffer);
            last.secondBase = Pointer.nativeValue(Native.getDirectBufferPointer(buffer));
        }
        // the buffer just used goes first
        WeakReference<ByteBuffer> b = last.second;
        long base = last.secondBase;
        last.second = last.first;
        last.secondBase = last.firstBase;
        last.first = b;
        last.firstBase = base;
        return base + buffer.position();
    }

    /** The last two direct buffers of {@link #address} on a thread (not kept alive by this) and their base addresses. */
    private static final class LastBuffers {
        WeakReference<ByteBuffer> first = new WeakReference<>(null);
        long firstBase;
        WeakReference<ByteBuffer> second = new WeakReference<>(null);
        long secondBase;
    }

    private static final ThreadLocal<LastBuffers> LAST_BUFFERS = ThreadLocal.withInitial(LastBuffers::new);

    /** Per thread: the struct timespec of the mq_timed* calls (at 0, always the epoch) and the received priority (at 16). */
    private static final ThreadLocal<MqScratch> MQ_SCRATCH = ThreadLocal.withInitial(MqScratch::new);
    private static final int MQ_PRIORITY = 16;

    private static final class MqScratch {
        final ByteBuffer buffer = ByteBuffer.allocateDirect(24).order(java.nio.ByteOrder.nativeOrder());
        final long address = Pointer.nativeValue(Native.getDirectBufferPointer(buffer));
    }

    /**
     * The abs_timeout of an mq_timed* call: NULL (no timeout) when it may {@code wait}, else the
     * epoch, an absolute CLOCK_REALTIME time long past, so that the call never waits, whatever the
     * wall clock does (a timed wait is a poll(2) by the monotonic clock instead: X-08).
     */
    private static long timeout(MqScratch scratch, boolean wait) {
        return wait ? 0 : scratch.address;
    }

    /**
     * mq_open(3).
     *
     * @param attr {maxmsg, msgsize} for a creation, or null for the system defaults
     * @return the queue descriptor
     */
    public static int mqOpen(String name, int flags, int mode, long[] attr) throws IOException {
        long[] mqAttr = null;
        if (attr != null) {
            mqAttr = new long[MQ_ATTR_LONGS];
            mqAttr[1] = attr[0];
            mqAttr[2] = attr[1];
        }
        int mqd = NativeCalls.mq_open(name, flags | O_CLOEXEC, mode, mqAttr);
        if (mqd < 0) {
            throw Errors.exception("mq_open", name, jnaErrno());
        }
        return mqd;
    }

    /**
     * mq_timedsend(3) of {@code message} (direct) from its position to its limit, advancing it.
     *
     * @param wait whether the kernel may wait for room; if not, a full queue is {@link #TIMED_OUT}
     *     ({@link #AGAIN} in non-blocking mode)
     * @return 0, {@link #AGAIN}, {@link #TIMED_OUT} or {@link #INTERRUPTED} (also for EBADF: a close is under way)
     */
    public static int mqSend(int mqd, ByteBuffer message, int priority, boolean wait, String name)
            throws IOException {
        MqScratch scratch = MQ_SCRATCH.get();
        long timeout = timeout(scratch, wait);
        if (NativeCalls.THREADS.mq_timedsend(mqd, address(message), message.remaining(), priority,
                timeout) == 0) {
            message.position(message.limit());
            return 0;
        }
        return mqFailure("mq_timedsend", name, NativeCalls.errno());
    }

    /**
     * mq_timedreceive(3) into {@code buffer} (direct, with room for the queue's message size),
     * advancing it; the message's priority is then {@link #mqPriority()}.
     *
     * @param wait whether the kernel may wait for a message; if not, an empty queue is
     *     {@link #TIMED_OUT} ({@link #AGAIN} in non-blocking mode)
     * @return the message length, or {@link #AGAIN}, {@link #TIMED_OUT} or {@link #INTERRUPTED}
     */
    public static int mqReceive(int mqd, ByteBuffer buffer, boolean wait, String name) throws IOException {
        MqScratch scratch = MQ_SCRATCH.get();
        long timeout = timeout(scratch, wait);
        long n = NativeCalls.THREADS.mq_timedreceive(mqd, address(buffer), buffer.remaining(),
                scratch.address + MQ_PRIORITY, timeout);
        if (n >= 0) {
            buffer.position(buffer.position() + (int) n);
            return (int) n;
        }
        return mqFailure("mq_timedreceive", name, NativeCalls.errno());
    }

    /** The priority of the message this thread last received with {@link #mqReceive}. */
    public static int mqPriority() {
        return MQ_SCRATCH.get().buffer.getInt(MQ_PRIORITY);
    }

    private static int mqFailure(String call, String name, int errno) throws IOException {
        switch (errno) {
            case Errors.EAGAIN:
                return AGAIN;
            case Errors.ETIMEDOUT:
                return TIMED_OUT;
            case Errors.EINTR:
            case Errors.EBADF:
                return INTERRUPTED;
            default:
                throw Errors.exception(call, name, errno);
        }
    }

    /** mq_getattr(3): {flags, maxmsg, msgsize, curmsgs}. */
    public static long[] mqGetattr(int mqd, String name) throws IOException {
        long[] attr = new long[MQ_ATTR_LONGS];
        if (NativeCalls.mq_getattr(mqd, attr) != 0) {
            throw Errors.exception("mq_getattr", name, jnaErrno());
        }
        return attr;
    }

    /** mq_setattr(3) of O_NONBLOCK. */
    public static void mqSetNonBlocking(int mqd, boolean on, String name) throws IOException {
        long[] attr = new long[MQ_ATTR_LONGS];
        attr[0] = on ? O_NONBLOCK : 0;
        if (NativeCalls.mq_setattr(mqd, attr, null) != 0) {
            throw Errors.exception("mq_setattr", name, jnaErrno());
        }
    }

    /**
     * mq_notify(3): registers with SIGEV_NONE (the slot is taken, no signal or thread is ever
     * involved), or unregisters.
     *
     * @return 0, or {@link #BUSY} when a registration exists already
     */
    public static int mqNotify(int mqd, boolean register, String name) throws IOException {
        int[] sigevent = null;
        if (register) {
            sigevent = new int[16];
            sigevent[3] = SIGEV_NONE;
        }
        if (NativeCalls.mq_notify(mqd, sigevent) == 0) {
            return 0;
        }
        int errno = jnaErrno();
        if (errno == EBUSY) {
            return BUSY;
        }
        throw Errors.exception("mq_notify", name, errno);
    }

    /**
     * The pid of the process that holds the queue's mq_notify registration, 0 when none does: the
     * NOTIFY_PID of the status line that reading the queue (mq_overview(7), as /dev/mqueue shows
     * it) gives; pread(2) at 0, so that no file position moves. The descriptor must be open for reading.
     */
    public static long mqNotifyPid(int mqd, String name) throws IOException {
        byte[] line = new byte[128];
        long n = NativeCalls.LIBC.pread(mqd, line, (long) line.length, 0L);
        if (n < 0) {
            throw Errors.exception("pread", name, jnrErrno());
        }
        String status = new String(line, 0, (int) n, StandardCharsets.US_ASCII);
        int at = status.indexOf("NOTIFY_PID:");
        try {
            if (at >= 0) {
                return Long.parseLong(status.substring(at + "NOTIFY_PID:".length()).trim());
            }
        } catch (NumberFormatException e) {
            // not the status line mq_overview(7) documents: below
        }
        throw new IOException("pread(" + name + "): no NOTIFY_PID in the queue's status line \"" + status.trim() + "\"");
    }

    /** mq_unlink(3). */
    public static void mqUnlink(String name) throws IOException {
        if (NativeCalls.mq_unlink(name) != 0) {
            throw Errors.exception("mq_unlink", name, jnaErrno());
        }
    }

    // ---- shared memory and semaphores ----------------------------------------------------------

    private static final int MFD_CLOEXEC = 1;
    private static final int MFD_ALLOW_SEALING = 2;
    private static final int FALLOC_FL_KEEP_SIZE = 1;
    private static final int F_ADD_SEALS = 1033;
    private static final int F_GET_SEALS = 1034;
    private static final int F_SEAL_SEAL = 0x0001;
    private static final int F_SEAL_WRITE = 0x0008;
    /** F_SEAL_SHRINK | F_SEAL_GROW: the size can no longer change, so no peer can cause SIGBUS. */
    private static final int SEAL_SIZE = 0x0002 | 0x0004;
    private static final int CLOCK_MONOTONIC = 1;
    private static final int EOVERFLOW = 75;

    /** ftruncate(2). */
    public static void ftruncate(int fd, long size, String object) throws IOException {
        if (NativeCalls.LIBC.ftruncate(fd, size) != 0) {
            throw Errors.exception("ftruncate", object, jnrErrno());
        }
    }

    /**
     * posix_fallocate(3): reserves the space now, so a full tmpfs fails here with ENOSPC, not later
     * with SIGBUS. A signal (EINTR, which glibc passes on from fallocate(2)) makes the call again.
     */
    public static void fallocate(int fd, long size, String object) throws IOException {
        int rc;
        while ((rc = NativeCalls.posix_fallocate(fd, 0, size)) == Errors.EINTR) {
            // the space reserved so far stays reserved; the call reserves the rest
        }
        if (rc != 0) {
            throw Errors.exception("posix_fallocate", object, rc);
        }
    }

    /**
     * fallocate(2) with FALLOC_FL_KEEP_SIZE: memory (or blocks) now for the {@code length} bytes at
     * {@code offset}, holes included, the size unchanged, so that a full tmpfs fails here with
     * ENOSPC, not at an access with SIGBUS. A file system without fallocate (EOPNOTSUPP) is left as
     * it is; a signal (EINTR) makes the call again.
     */
    public static void allocate(int fd, long offset, long length, String object) throws IOException {
        while (NativeCalls.fallocate(fd, FALLOC_FL_KEEP_SIZE, offset, length) != 0) {
            int errno = jnaErrno();
            if (errno == Errors.EOPNOTSUPP) {
                return;
            }
            if (errno != Errors.EINTR) {
                throw Errors.exception("fallocate", object, errno);
            }
        }
    }

    /** memfd_create(2) with MFD_CLOEXEC | MFD_ALLOW_SEALING. */
    public static int memfdCreate(String label) throws IOException {
        int fd = NativeCalls.memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) {
            throw Errors.exception("memfd_create", label, jnaErrno());
        }
        return fd;
    }

    /** fcntl(F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW). */
    public static void sealSize(int fd, String object) throws IOException {
        fcntl(fd, F_ADD_SEALS, SEAL_SIZE, "fcntl(F_ADD_SEALS)", object);
    }

    /**
     * fcntl(F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL): the contents and
     * the size are fixed for good. EBUSY while a writable shared mapping of the file exists.
     */
    public static void sealAll(int fd, String object) throws IOException {
        fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | SEAL_SIZE | F_SEAL_WRITE, "fcntl(F_ADD_SEALS)", object);
    }

    /** fcntl(F_GET_SEALS): the F_SEAL_* bits; 0 for a file system without sealing (EINVAL). */
    public static int seals(int fd, String object) throws IOException {
        int seals = NativeCalls.LIBC.fcntl(fd, F_GET_SEALS, 0);
        if (seals < 0) {
            int errno = jnrErrno();
            if (errno == Errors.EINVAL) {
                return 0;
            }
            throw Errors.exception("fcntl(F_GET_SEALS)", object, errno);
        }
        return seals;
    }

    /**
     * linkat(2) of the file open on {@code fd} (one made with {@link #O_TMPFILE}) to {@code path},
     * through /proc/self/fd: AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH.
     */
    public static void linkUnnamed(int fd, String path, String call, String object) throws IOException {
        if (NativeCalls.linkat(AT_FDCWD, "/proc/self/fd/" + fd, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0) {
            throw Errors.exception(call, object, jnaErrno());
        }
    }

    /** pwrite(2) of all of {@code data} at {@code offset}. */
    public static void pwriteFully(int fd, byte[] data, long offset, String object) throws IOException {
        long n = NativeCalls.LIBC.pwrite(fd, data, (long) data.length, offset);
        if (n != data.length) {
            throw Errors.exception("pwrite", object, n < 0 ? jnrErrno() : Errors.ENOSPC);
        }
    }

    /** The 32 bytes glibc's sem_init(3) (pshared = 1) gives a process-shared semaphore of {@code value}. */
    public static byte[] semImage(int value) throws IOException {
        Memory m = new Memory(32);
        m.clear();
        if (NativeCalls.sem_init(Pointer.nativeValue(m), 1, value) != 0) {
            throw Errors.exception("sem_init", "image", jnaErrno());
        }
        return m.getByteArray(0, 32);
    }

    /** sem_post(3); false on EOVERFLOW (the value is at SEM_VALUE_MAX and stays there). */
    public static boolean semPost(long sem, String object) throws IOException {
        if (NativeCalls.THREADS.sem_post(sem) == 0) {
            return true;
        }
        int errno = NativeCalls.errno();
        if (errno == EOVERFLOW) {
            return false;
        }
        throw Errors.exception("sem_post", object, errno);
    }

    /**
     * sem_wait(3), sem_trywait(3) or sem_clockwait(3) on CLOCK_MONOTONIC.
     *
     * @param nanos -1 to wait forever, 0 to try, else how long to wait (monotonic)
     * @return 0 when taken, {@link #AGAIN} or {@link #TIMED_OUT} when not, {@link #INTERRUPTED} on EINTR
     */
    public static int semWait(long sem, long nanos, String object) throws IOException {
        int r;
        int errno = 0;
        String call;
        if (nanos < 0) {
            call = "sem_wait";
            r = NativeCalls.THREADS.sem_wait(sem);
            errno = r == 0 ? 0 : NativeCalls.errno();
        } else if (nanos == 0) {
            call = "sem_trywait";
            r = NativeCalls.THREADS.sem_trywait(sem);
            errno = r == 0 ? 0 : NativeCalls.errno();
        } else {
            call = "sem_clockwait";
            long[] ts = new long[2];
            NativeCalls.clock_gettime(CLOCK_MONOTONIC, ts);
            long sec = ts[0] + nanos / 1_000_000_000L;
            long nsec = ts[1] + nanos % 1_000_000_000L;
            if (nsec >= 1_000_000_000L) {
                sec++;
                nsec -= 1_000_000_000L;
            }
            ts[0] = sec;
            ts[1] = nsec;
            r = NativeCalls.sem_clockwait(sem, CLOCK_MONOTONIC, ts);
            errno = r == 0 ? 0 : jnaErrno();
        }
        return r == 0 ? 0 : waitFailure(call, object, errno);
    }

    /** A failed wait's errno as {@link #AGAIN}, {@link #TIMED_OUT} or {@link #INTERRUPTED}; any other is thrown. */
    private static int waitFailure(String call, String object, int errno) throws IOException {
        switch (errno) {
            case Errors.EAGAIN:
                return AGAIN;
            case Errors.ETIMEDOUT:
                return TIMED_OUT;
            case Errors.EINTR:
                return INTERRUPTED;
            default:
                throw Errors.exception(call, object, errno);
        }
    }

    /** sem_getvalue(3): never negative on Linux (waiters show as 0). */
    public static int semValue(long sem, String object) throws IOException {
        int[] value = new int[1];
        if (NativeCalls.sem_getvalue(sem, value) != 0) {
            throw Errors.exception("sem_getvalue", object, jnaErrno());
        }
        return value[0];
    }

    // ---- futexes and processes -----------------------------------------------------------------

    private static final long SYS_FUTEX = 202;
    private static final int FUTEX_WAIT = 0;
    private static final int FUTEX_WAKE = 1;
    /** A struct timespec per thread, for FUTEX_WAIT, and its address. */
    private static final ThreadLocal<Timespec> TIMESPEC = ThreadLocal.withInitial(Timespec::new);

    private static final class Timespec {
        final ByteBuffer buffer = ByteBuffer.allocateDirect(16).order(java.nio.ByteOrder.nativeOrder());
        final long address = address(buffer);
    }

    /**
     * futex(2) FUTEX_WAIT on a word shared between processes: sleeps while the int at {@code address}
     * equals {@code expected}, for at most {@code nanos} (negative: no limit).
     *
     * @return 0 when woken, {@link #AGAIN} if the word had changed, {@link #TIMED_OUT} or
     *         {@link #INTERRUPTED}
     */
    public static int futexWait(long address, int expected, long nanos, String object) throws IOException {
        long timeout = 0;
        if (nanos >= 0) {
            Timespec ts = TIMESPEC.get();
            ts.buffer.putLong(0, nanos / 1_000_000_000L).putLong(8, nanos % 1_000_000_000L);
            timeout = ts.address;
        }
        if (NativeCalls.THREADS.syscall(SYS_FUTEX, address, FUTEX_WAIT, expected, timeout) == 0) {
            return 0;
        }
        return waitFailure("futex_wait", object, NativeCalls.errno());
    }

    /** futex(2) FUTEX_WAKE of every waiter on the shared word at {@code address}. */
    public static void futexWake(long address, String object) throws IOException {
        if (NativeCalls.THREADS.syscall(SYS_FUTEX, address, FUTEX_WAKE, Integer.MAX_VALUE, 0) < 0) {
            throw Errors.exception("futex_wake", object, NativeCalls.errno());
        }
    }

    /**
     * kill(2) with signal 0: whether process {@code pid} exists, a zombie or one /proc hides
     * (hidepid) included; false only for ESRCH.
     */
    public static boolean processExists(int pid) {
        return NativeCalls.LIBC.kill(pid, 0) == 0 || jnrErrno() != Errors.ESRCH;
    }

    /**
     * Whether process {@code pid} still runs: kill(2) with signal 0 finds it, and it is not a zombie
     * (a killed child that its parent has not reaped yet is gone for every purpose but its pid). A
     * process whose main thread ended while others run shows as a zombie too, and runs. A pidfd
     * tells: it polls readable once every thread has ended, and needs no /proc, which may hide
     * another user's processes (hidepid); without one, /proc/PID/stat does. A pid that now names a
     * thread not leading its process (pidfd_open fails with ENOENT, EINVAL before Linux 6.9, where
     * kill(2) and /proc/PID still find the thread) was reused: the process has ended.
     */
    public static boolean processRuns(int pid) {
        if (!processExists(pid)) {
            return false;
        }
        long pidfd = NativeCalls.syscall(SYS_PIDFD_OPEN, pid, 0, 0, 0);
        if (pidfd >= 0) {
            try {
                int revents = poll((int) pidfd, POLLIN, 0, "pidfd " + pid); // pidfd_open sets O_CLOEXEC
                return revents == 0 || revents == INTERRUPTED;
            } catch (IOException e) {
                return true; // cannot tell: taken to run, as below
            } finally {
                close((int) pidfd);
            }
        }
        int errno = jnaErrno();
        if (errno == Errors.ESRCH || (errno == Errors.ENOENT || errno == Errors.EINVAL) && !leadsItsProcess(pid)) {
            return false;
        }
        try {
            String stat = Files.readAllLines(Path.of("/proc", Integer.toString(pid), "stat")).get(0);
            // fields 3 (the state) to 20 (num_threads, which counts the zombie main thread too)
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ", 19);
            char state = fields[0].charAt(0);
            return state != 'Z' && state != 'X' || state == 'Z' && Integer.parseInt(fields[17]) > 1;
        } catch (java.nio.file.NoSuchFileException | RuntimeException e) {
            return false; // gone between the two looks
        } catch (IOException e) {
            // read(2) fails with ESRCH when the process was reaped after the open, and kill(2) then no
            // longer finds it. Any other failure (EMFILE at RLIMIT_NOFILE, ENOMEM...) says nothing of
            // the process, which kill(2) still finds: it is taken to run, not reported dead.
            return processExists(pid);
        }
    }

    /**
     * Whether {@code pid} names a thread-group leader (a process), per the Tgid line of
     * /proc/PID/status; true when that cannot be read (a /proc that hides the process).
     */
    private static boolean leadsItsProcess(int pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"))) {
                if (line.startsWith("Tgid:")) {
                    return Integer.parseInt(line.substring(5).trim()) == pid;
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone meanwhile, or hidden: the caller's other looks decide
        }
        return true;
    }
}
