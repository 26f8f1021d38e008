package io.ipcbridge.internal.posix;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.StringArray;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import jnr.posix.util.DefaultPOSIXHandler;

/**
 * Every foreign-function declaration of the project, in one place.
 *
 * <p>jnr-posix serves the POSIX calls it covers, through its raw {@link jnr.posix.LibC} (which
 * returns -1 and leaves errno in jnr-ffi's per-thread copy, saved in the call stub). JNA direct
 * mapping serves what jnr-posix lacks; JNA saves errno in the call stub too, read with
 * {@link Native#getLastError()}. Interface mapping is never used (about 5x slower per call).
 */
final class NativeCalls {
    static {
        NativeSetUp.loadLibraries(); // first, and where the caller's interrupt cannot spoil it
    }

    /** jnr-posix, loaded once. */
    static final POSIX POSIX = POSIXFactory.getNativePOSIX(new DefaultPOSIXHandler());
    /** The raw libc view of jnr-posix: read, write, open, close, dup2, fcntl, fstat, waitpid... */
    static final jnr.posix.LibC LIBC = POSIX.libc();

    /** The hot calls, through jnr-ffi: 5 ns a call against JNA's 60. */
    static final Threads THREADS = jnr.ffi.LibraryLoader.create(Threads.class).load("c");
    private static final jnr.ffi.Runtime THREADS_RUNTIME = jnr.ffi.Runtime.getRuntime(THREADS);

    /** errno saved by the last jnr-ffi call of {@link #THREADS} on this thread. */
    static int errno() {
        return jnr.ffi.LastError.getLastError(THREADS_RUNTIME);
    }

    /**
     * The encoding of every String given to C through JNA (names, paths, a child's arguments and
     * environment): UTF-8, whatever the locale. JNA's default follows the locale, which with LANG unset
     * is ASCII, and every other character became '?': another name, another argument.
     */
    private static final String ENCODING = "UTF-8";

    private static final NativeLibrary C =
            NativeLibrary.getInstance("c", Map.of(Library.OPTION_STRING_ENCODING, ENCODING));

    static {
        Native.register(NativeCalls.class, C);
    }

    private NativeCalls() {
    }

    /** pipe2(2): a pipe whose ends get {@code flags} (O_CLOEXEC, O_NONBLOCK) atomically. */
    static native int pipe2(int[] fds, int flags);

    /** poll(2) on {@code nfds} entries packed as int pairs: fd, then events | revents &lt;&lt; 16. */
    static native int poll(int[] fds, long nfds, int timeoutMillis);

    /** The highest real-time signal number (SIGRTMAX) of this glibc. */
    static native int __libc_current_sigrtmax();

    /** sigaction(2), used only to read a disposition ({@code act} is NULL). */
    static native int sigaction(int sig, Pointer act, Pointer oldact);

    /** socketpair(2). */
    static native int socketpair(int domain, int type, int protocol, int[] sv);

    /** shutdown(2). */
    static native int shutdown(int fd, int how);

    /** dup3(2): dup2 that sets O_CLOEXEC on the copy. */
    static native int dup3(int oldfd, int newfd, int flags);

    /** syscall(2) for calls glibc 2.36 has no wrapper for (pidfd_open, pidfd_send_signal). */
    static native long syscall(long number, long a1, long a2, long a3, long a4);

    /** strerrorname_np(3): "EEXIST" for 17; glibc 2.32+. */
    static native String strerrorname_np(int errnum);

    /** strerrordesc_np(3): "File exists" for 17, untranslated; glibc 2.32+. */
    static native String strerrordesc_np(int errnum);

    /** posix_spawn_file_actions_init(3). */
    static native int posix_spawn_file_actions_init(Pointer actions);

    /** posix_spawn_file_actions_destroy(3). */
    static native int posix_spawn_file_actions_destroy(Pointer actions);

    /** posix_spawn_file_actions_adddup2(3): dup2 in the child; clears FD_CLOEXEC on the copy. */
    static native int posix_spawn_file_actions_adddup2(Pointer actions, int fd, int newfd);

    /** posix_spawn_file_actions_addclose(3). */
    static native int posix_spawn_file_actions_addclose(Pointer actions, int fd);

    /** posix_spawn_file_actions_addclosefrom_np(3): closes every fd from {@code from} up; glibc 2.34+. */
    static native int posix_spawn_file_actions_addclosefrom_np(Pointer actions, int from);

    /** posix_spawn_file_actions_addchdir_np(3): chdir in the child; glibc 2.29+. */
    static native int posix_spawn_file_actions_addchdir_np(Pointer actions, String path);

    /** posix_spawnattr_init(3). */
    static native int posix_spawnattr_init(Pointer attr);

    /** posix_spawnattr_destroy(3). */
    static native int posix_spawnattr_destroy(Pointer attr);

    /** posix_spawnattr_setflags(3). */
    static native int posix_spawnattr_setflags(Pointer attr, short flags);

    /** posix_spawnattr_setsigmask(3). */
    static native int posix_spawnattr_setsigmask(Pointer attr, Pointer sigset);

    /** posix_spawnattr_setsigdefault(3). */
    static native int posix_spawnattr_setsigdefault(Pointer attr, Pointer sigset);

    /** sigemptyset(3). */
    static native int sigemptyset(Pointer sigset);

    /** sigfillset(3). */
    static native int sigfillset(Pointer sigset);

    /** sched_getaffinity(2) of a thread (0: the calling one) into a CPU mask of {@code size} bytes. */
    static native int sched_getaffinity(int tid, long size, long[] mask);

    /** sched_setaffinity(2) of a thread (0: the calling one). */
    static native int sched_setaffinity(int tid, long size, long[] mask);

    /** clock_gettime(2) into {tv_sec, tv_nsec}. */
    static native int clock_gettime(int clock, long[] timespec);

    /** getrlimit(2) into {rlim_cur, rlim_max}. */
    static native int getrlimit(int resource, long[] rlimit);

    /** mq_open(3); {@code attr} is a struct mq_attr as 8 longs, or null for the system defaults. */
    static native int mq_open(String name, int oflag, int mode, long[] attr);

    /** mq_getattr(3) into a struct mq_attr as 8 longs. */
    static native int mq_getattr(int mqd, long[] attr);

    /** mq_setattr(3): only mq_flags (O_NONBLOCK) is settable. */
    static native int mq_setattr(int mqd, long[] newAttr, long[] oldAttr);

    /** mq_notify(3) with a struct sigevent as 16 ints, or null to unregister. */
    static native int mq_notify(int mqd, int[] sigevent);

    /** mq_unlink(3). */
    static native int mq_unlink(String name);

    /** posix_fallocate(3): returns an errno, never sets it. */
    static native int posix_fallocate(int fd, long offset, long length);

    /** fallocate(2). */
    static native int fallocate(int fd, int mode, long offset, long length);

    /** mmap(2): the address, or -1 (MAP_FAILED). */
    static native long mmap(long address, long length, int prot, int flags, int fd, long offset);

    /** munmap(2). */
    static native int munmap(long address, long length);

    /** linkat(2). */
    static native int linkat(int oldDirFd, String oldPath, int newDirFd, String newPath, int flags);

    /** memfd_create(2). */
    static native int memfd_create(String name, int flags);

    /** sem_init(3) at a native address. */
    static native int sem_init(long sem, int pshared, int value);

    /** sem_clockwait(3): sem_timedwait on a chosen clock; glibc 2.30+. */
    static native int sem_clockwait(long sem, int clock, long[] absTimeout);

    /** sem_getvalue(3). */
    static native int sem_getvalue(long sem, int[] value);

    /** socket(2). */
    static native int socket(int domain, int type, int protocol);

    /** bind(2) of a sockaddr given as bytes. */
    static native int bind(int fd, byte[] addr, int length);

    /** listen(2). */
    static native int listen(int fd, int backlog);

    /** accept4(2); {@code length[0]} is in/out. */
    static native int accept4(int fd, byte[] addr, int[] length, int flags);

    /** connect(2) to a sockaddr given as bytes. */
    static native int connect(int fd, byte[] addr, int length);

    /** sendmsg(2) of a struct msghdr in native memory. */
    static native long sendmsg(int fd, Pointer msg, int flags);

    /** recvmsg(2) into a struct msghdr in native memory. */
    static native long recvmsg(int fd, Pointer msg, int flags);

    /** getsockopt(2) of int-sized fields ({@code value} has room for the option). */
    static native int getsockopt(int fd, int level, int name, int[] value, int[] length);

    /** setsockopt(2) of an option of int-sized fields ({@code length} bytes of {@code value}). */
    static native int setsockopt(int fd, int level, int name, int[] value, int length);

    /** getsockname(2). */
    static native int getsockname(int fd, byte[] addr, int[] length);

    /** getpeername(2). */
    static native int getpeername(int fd, byte[] addr, int[] length);

    /** {@code strings} as a NULL-terminated {@code char *[]}, each in {@link #ENCODING}. */
    static StringArray strings(List<String> strings) {
        return new StringArray(strings.toArray(new String[0]), ENCODING);
    }

    /** {@code entries} as a NULL-terminated {@code char *[]} of their bytes as they are, in one block. */
    static Memory byteStrings(List<byte[]> entries) {
        long table = (long) (entries.size() + 1) * Native.POINTER_SIZE;
        long size = table;
        for (byte[] entry : entries) {
            size += entry.length + 1;
        }
        Memory block = new Memory(size);
        block.clear(); // each string's NUL and the table's closing NULL
        long offset = table;
        for (int i = 0; i < entries.size(); i++) {
            byte[] entry = entries.get(i);
            block.write(offset, entry, 0, entry.length);
            block.setPointer((long) i * Native.POINTER_SIZE, block.share(offset));
            offset += entry.length + 1;
        }
        return block;
    }

    /** The JVM's current environment block, {@code environ}. */
    static Pointer environ() {
        return C.getGlobalVariableAddress("environ").getPointer(0);
    }

    /** The entries of {@link #environ()}, "NAME=value", each as its bytes. */
    static List<byte[]> environEntries() {
        List<byte[]> entries = new ArrayList<>();
        for (Pointer entry : environ().getPointerArray(0)) {
            entries.add(entry.getByteArray(0, (int) entry.indexOf(0, (byte) 0)));
        }
        return entries;
    }

    /** posix_spawnp(3): returns an errno, never sets it; {@code pid[0]} receives the child's pid. */
    static native int posix_spawnp(int[] pid, String file, Pointer actions, Pointer attr,
            Pointer argv, Pointer envp);

    /**
     * The calls made on every read, write, blocking call or semaphore operation, through jnr-ffi
     * (about 5 ns of overhead against JNA's 60-80). errno is saved by jnr-ffi's stub and read with
     * {@link #errno()}.
     */
    public interface Threads {
        /** read(2) into native address {@code buffer}: pipes, FIFOs and every descriptor's read. */
        long read(int fd, long buffer, long length);

        /** write(2) from native address {@code buffer}. */
        long write(int fd, long buffer, long length);

        /** sem_post(3) at a native address. */
        int sem_post(long sem);

        /** sem_wait(3) at a native address. */
        int sem_wait(long sem);

        /** sem_trywait(3) at a native address. */
        int sem_trywait(long sem);

        /** recvmsg(2) of a struct msghdr at a native address: the read path of sockets. */
        long recvmsg(int fd, long msg, int flags);

        /** sendto(2) of {@code length} bytes at native address {@code buffer}; a null address for a connected socket. */
        long sendto(int fd, long buffer, long length, int flags, @jnr.ffi.annotations.In byte[] addr, int addrLength);

        /** syscall(2) with four arguments, for futex(2) on the ring's hot path. */
        long syscall(long number, long a1, long a2, long a3, long a4);

        /** pthread_self(3): the calling thread's handle; no syscall, cannot fail. */
        @jnr.ffi.annotations.IgnoreError
        long pthread_self();

        /** pthread_kill(3): sends a signal to one thread of this process; returns an errno. */
        @jnr.ffi.annotations.IgnoreError
        int pthread_kill(long thread, int sig);

        /** mq_timedsend(3) of {@code length} bytes at native address {@code message}; 0 timeout blocks. */
        int mq_timedsend(int mqd, long message, long length, int priority, long absTimeout);

        /** mq_timedreceive(3) into native address {@code buffer}; the priority goes to the uint at {@code priority}. */
        long mq_timedreceive(int mqd, long buffer, long length, long priority, long absTimeout);
    }
}
