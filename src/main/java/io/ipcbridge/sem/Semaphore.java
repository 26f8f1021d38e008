package io.ipcbridge.sem;

import io.ipcbridge.IpcError;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.internal.posix.CreateOrOpen;
import io.ipcbridge.internal.posix.Deadline;
import io.ipcbridge.internal.posix.FileInfo;
import io.ipcbridge.internal.posix.Names;
import io.ipcbridge.internal.posix.NewFile;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.internal.posix.UnlinkOnClose;
import io.ipcbridge.internal.posix.Waits;
import io.ipcbridge.shm.SharedMemory;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A POSIX semaphore shared between processes (sem_overview(7)): a named one, or an unnamed one
 * placed in a {@link SharedMemory} segment at an offset (a {@code sem_t} field of a struct that C
 * code uses too). The operations are glibc's own sem_post/sem_wait/sem_clockwait/sem_getvalue.
 *
 * <p><b>No crash, whatever is in /dev/shm.</b> glibc's sem_open maps {@code /dev/shm/sem.NAME}
 * whatever it holds, and a planted file then kills the process (an empty one with SIGBUS, garbage
 * with abort() on the first futex call). ipcbridge opens and maps the file itself, as glibc does,
 * but first checks it: opened with O_NOFOLLOW (no link), a regular file owned by this user or root,
 * exactly {@code sizeof(sem_t)} = 32 bytes, and a layout that glibc 2.36's {@code struct new_sem} on
 * 64-bit Linux accepts: {@code uint64_t data} (the value in the low 32 bits, at most SEM_VALUE_MAX;
 * the waiter count in the high 32), {@code int private} = 128 (LLL_SHARED, glibc's mark of a
 * process-shared semaphore, whose futex calls then omit FUTEX_PRIVATE_FLAG), {@code int pad}. Creation follows glibc too, without its temporary
 * name: the semaphore is written to a file without a name (O_TMPFILE) that is then linked into
 * place, so no one ever sees it half-made and a creator killed half-way leaves nothing behind. Whoever can
 * write the file can still break every user of it: keep the mode 0600. A semaphore whose file or
 * segment shrinks under the mapping makes the next operation raise {@link InternalError} instead
 * of a SIGBUS in glibc (each first checks the {@code sem_t} through the JDK's guarded access; a
 * shrink in the instant between that check and glibc's access is not covered).
 *
 * <p>A mapping is never unmapped while this object is reachable, and {@link #close()} does not
 * unmap: a closed semaphore throws {@link ClosedChannelException}, and a thread blocked in
 * {@link #acquire()} when it is closed gets {@link java.nio.channels.AsynchronousCloseException}.
 * Blocking acquires answer {@link Thread#interrupt()} with {@link InterruptedException}.
 *
 * <p>Closing does not remove the name, unless {@link #unlinkOnClose()} asked for it.
 *
 * <p>POSIX semaphores are not robust: a process killed while "holding" one leaves the value as it
 * was. Use timed acquires where a holder may die.
 *
 * <p>Thread safety: any number of threads may acquire and release through one handle at once, as
 * through handles of their own.
 */
public final class Semaphore implements AutoCloseable {
    /** SEM_VALUE_MAX on Linux. */
    public static final int VALUE_MAX = Integer.MAX_VALUE;
    /** The mode named semaphores are created with unless another is given. */
    public static final int DEFAULT_MODE = 0600;
    /** sizeof(sem_t) on 64-bit Linux. */
    public static final int SIZE = 32;
    /** The longest name body: NAME_MAX less the "sem." prefix glibc adds. */
    public static final int NAME_MAX = 251;
    private static final String PREFIX = "/dev/shm/sem.";
    /** glibc's struct new_sem.private of a process-shared semaphore. */
    private static final int LLL_SHARED = 128;
    private static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());

    private final String name;
    private final ByteBuffer mapping;
    /** Where the sem_t starts in {@link #mapping}. */
    private final int offset;
    private final long address;
    private final Waits waits = new Waits();
    /** A named semaphore's file as fstat(2) gave it when mapped; null for one in a segment. */
    private final FileInfo file;
    private final UnlinkOnClose unlinking;

    private Semaphore(String name, ByteBuffer mapping, int offset, FileInfo file) {
        this.name = name;
        this.mapping = mapping;
        this.offset = offset;
        this.address = Syscalls.address(mapping) + offset;
        this.file = file;
        this.unlinking = new UnlinkOnClose(PREFIX + name.substring(1), () -> unlink(name));
    }

    /** Creates named semaphore {@code name} with {@code value}, mode 0600; fails if it exists. */
    public static Semaphore createExclusively(String name, int value) throws IOException {
        return createExclusively(name, value, DEFAULT_MODE);
    }

    /**
     * sem_open(3) with O_CREAT|O_EXCL, done as glibc does it but without its temporary name (see the
     * class comment): creates named semaphore {@code name} with {@code value} and exactly {@code mode}.
     *
     * @throws java.nio.file.FileAlreadyExistsException if it exists (EEXIST)
     * @throws IllegalArgumentException for a bad name, a negative value or a bad mode, before any call
     */
    public static Semaphore createExclusively(String name, int value, int mode) throws IOException {
        String n = Names.check(name, NAME_MAX);
        if (value < 0) {
            throw new IllegalArgumentException("initial value must be 0.." + VALUE_MAX + ": " + value);
        }
        if ((mode & ~0777) != 0) {
            throw new IllegalArgumentException("mode must be within 0777: 0" + Integer.toOctalString(mode));
        }
        byte[] image = Syscalls.semImage(value);
        try (NewFile file = NewFile.create("/dev/shm", "sem_open", n)) {
            Syscalls.pwriteFully(file.fd(), image, 0, n);
            // mapped before the link: once linked, the semaphore exists, so nothing may fail after it
            Semaphore s = map(n, file.fd(), Syscalls.fstat(file.fd(), n));
            Syscalls.fchmod(file.fd(), mode, n);
            file.link(PREFIX + n.substring(1));
            return s;
        }
    }

    /**
     * Creates named semaphore {@code name} as {@link #createExclusively(String, int, int)} does, or
     * opens it if it exists (checked as {@link #open(String)} checks; its value is kept), provided its
     * mode grants nothing beyond {@code mode}: whoever else may write it may have corrupted it (SEC-15).
     * A semaphore removed between the create's EEXIST and the open is created again.
     *
     * @throws IpcSecurityException if the existing file is refused by {@link #open(String)}'s checks or
     *     is more open than {@code mode} (SEC-02)
     */
    public static Semaphore createOrOpen(String name, int value, int mode) throws IOException {
        return CreateOrOpen.run(() -> createExclusively(name, value, mode), () -> open(name, mode));
    }

    /**
     * Opens existing named semaphore {@code name}, after checking its file (see above).
     *
     * @throws java.nio.file.NoSuchFileException if there is none (ENOENT)
     * @throws java.nio.file.AccessDeniedException if its mode refuses this user (EACCES)
     * @throws IpcSecurityException if the file is a link, not ours, of the wrong size or layout
     */
    public static Semaphore open(String name) throws IOException {
        return open(name, 07777);
    }

    /** {@link #open(String)}, refusing also a file whose mode grants more than {@code mode} (07777: any mode). */
    private static Semaphore open(String name, int mode) throws IOException {
        String n = Names.check(name, NAME_MAX);
        int fd;
        try {
            fd = Syscalls.openFile("sem_open", PREFIX + n.substring(1), Syscalls.O_RDWR | Syscalls.O_NOFOLLOW, 0, n);
        } catch (IOException e) {
            if (e instanceof IpcError err && err.errnoName().equals("ELOOP")) {
                throw new IpcSecurityException(n, "/dev/shm/sem." + n.substring(1) + " is a symbolic link; refused");
            }
            throw e;
        }
        try {
            FileInfo info = Syscalls.fstat(fd, n);
            String file = PREFIX + n.substring(1);
            if ((info.mode() & 0170000) != 0100000) {
                throw new IpcSecurityException(n, file + " is a " + info.typeName() + "; refused");
            }
            if (info.uid() != Syscalls.geteuid() && info.uid() != 0) {
                throw new IpcSecurityException(n, file + " is owned by uid " + Integer.toUnsignedString(info.uid())
                        + "; refused");
            }
            CreateOrOpen.checkMode(n, info, mode);
            if (info.size() != SIZE) {
                throw new IpcSecurityException(n, file + " has " + info.size() + " bytes, not sizeof(sem_t) = "
                        + SIZE + "; refused");
            }
            return map(n, fd, info);
        } finally {
            Syscalls.close(fd);
        }
    }

    /**
     * sem_unlink(3): removes the name; processes that have it open keep using it.
     *
     * @throws java.nio.file.NoSuchFileException if there is none
     */
    public static void unlink(String name) throws IOException {
        String n = Names.check(name, NAME_MAX);
        Syscalls.unlink(PREFIX + n.substring(1), "sem_unlink", n);
    }

    /**
     * sem_init(3) with pshared = 1: makes the 32 bytes at {@code offset} of {@code segment} a
     * process-shared semaphore of {@code value}, for C code that sees the same segment.
     *
     * @throws IllegalArgumentException if the offset is not 8-aligned or the semaphore does not fit
     * @throws ClosedChannelException if {@code segment} is closed
     */
    public static Semaphore initialize(SharedMemory segment, int offset, int value) throws IOException {
        if (value < 0) {
            throw new IllegalArgumentException("initial value must be 0.." + VALUE_MAX + ": " + value);
        }
        ByteBuffer buffer = inSegment(segment, offset);
        String n = segment.name() + "+" + offset;
        // not sem_init on the mapping: on a segment shrunk under it glibc's write is a SIGBUS that
        // kills the JVM. The same 32 bytes (glibc's own sem_init, into native memory of ours) go in
        // through the JDK's guarded access, and are read back before glibc is ever called on them.
        byte[] image = Syscalls.semImage(value);
        buffer.duplicate().position(offset).put(image);
        Semaphore s = new Semaphore(n, buffer, offset, null);
        s.checkMapped();
        return s;
    }

    /**
     * Uses the semaphore another process initialised at {@code offset} of {@code segment}, after checking it.
     *
     * @throws ClosedChannelException if {@code segment} is closed
     */
    public static Semaphore attach(SharedMemory segment, int offset) throws IOException {
        ByteBuffer buffer = inSegment(segment, offset);
        String n = segment.name() + "+" + offset;
        checkLayout(n, buffer.duplicate().position(offset).slice().order(ByteOrder.nativeOrder()));
        return new Semaphore(n, buffer, offset, null);
    }

    private static ByteBuffer inSegment(SharedMemory segment, int offset) throws ClosedChannelException {
        if (!segment.isOpen()) { // its mapping outlives the close: it would still be used
            throw new ClosedChannelException();
        }
        if (segment.isReadOnly()) {
            throw new IllegalArgumentException(segment.name() + " is mapped read-only");
        }
        if (offset < 0 || (offset & 7) != 0 || offset > segment.size() - SIZE) {
            throw new IllegalArgumentException("a semaphore needs 32 bytes at an 8-aligned offset inside "
                    + segment.name() + " (" + segment.size() + " bytes): " + offset);
        }
        return segment.buffer();
    }

    /** Maps the semaphore file open on {@code fd}, which fstat(2) gave as {@code file}. */
    private static Semaphore map(String name, int fd, FileInfo file) throws IOException {
        ByteBuffer map = Syscalls.map(fd, true, SIZE, name).order(ByteOrder.nativeOrder());
        checkLayout(name, map);
        return new Semaphore(name, map, 0, file);
    }

    /** The layout check against glibc's struct new_sem; see the class comment. */
    private static void checkLayout(String name, ByteBuffer sem) throws IpcSecurityException {
        long data = sem.getLong(0);
        int value = (int) data;
        int futexPrivate = sem.getInt(8);
        if (value < 0 || futexPrivate != LLL_SHARED) {
            throw new IpcSecurityException(name, String.format("is not a valid process-shared semaphore "
                    + "(glibc struct new_sem: value 0x%08x, private %d); refused", value, futexPrivate));
        }
    }

    /** The name, or "SEGMENT+OFFSET" for one inside shared memory. */
    public String name() {
        return name;
    }

    /**
     * sem_wait(3): takes one unit, blocking while the value is 0.
     *
     * @throws InterruptedException if the thread is interrupted while waiting
     * @throws java.nio.channels.AsynchronousCloseException if the semaphore is closed meanwhile
     */
    public void acquire() throws IOException, InterruptedException {
        take(Deadline.NEVER);
    }

    /** sem_trywait(3): takes one unit if the value is above 0; false (value unchanged) if it is 0. */
    public boolean tryAcquire() throws IOException {
        checkOpen();
        try {
            checkMapped();
            return Syscalls.semWait(address, 0, name) == 0;
        } finally {
            Reference.reachabilityFence(mapping);
        }
    }

    /**
     * sem_clockwait(3) on CLOCK_MONOTONIC: takes one unit, waiting at most {@code timeout} (the wall
     * clock may step meanwhile); zero does not wait.
     *
     * @return false if the timeout passed first
     */
    public boolean tryAcquire(Duration timeout) throws IOException, InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        long deadline = Deadline.of(timeout);
        return take(deadline);
    }

    /** Takes a unit, waiting until {@code deadline} (a {@link Deadline}). */
    private boolean take(long deadline) throws IOException, InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException("interrupted before waiting for semaphore " + name);
        }
        if (tryAcquire()) {
            return true; // the common case: no wait to set up
        }
        try {
            Optional<Boolean> taken = waits.await(Deadline.NEVER, () -> {
                long left = deadline == Deadline.NEVER ? -1 : Math.max(0, deadline - System.nanoTime());
                checkMapped();
                int r = Syscalls.semWait(address, left, name);
                if (r == 0) {
                    return true;
                }
                return r == Syscalls.INTERRUPTED ? null : false;
            }, "semaphore " + name);
            return taken.orElse(false);
        } finally {
            Reference.reachabilityFence(mapping);
        }
    }

    /** sem_post(3): adds one unit, waking one waiter. */
    public void release() throws IOException {
        release(1);
    }

    /**
     * Adds {@code count} units (sem_post, {@code count} times).
     *
     * @throws SemaphoreOverflowException if the value would pass {@link #VALUE_MAX}: checked first,
     *     so nothing is released then (unless other processes post at the same moment; the message
     *     then says how many went through)
     */
    public void release(int count) throws IOException {
        if (count < 1) {
            throw new IllegalArgumentException("count must be at least 1: " + count);
        }
        checkOpen();
        try {
            checkMapped();
            if (count == 1) {
                if (!Syscalls.semPost(address, name)) {
                    throw new SemaphoreOverflowException(name, "the value is at SEM_VALUE_MAX (" + VALUE_MAX
                            + "); nothing was released");
                }
                return;
            }
            if (Syscalls.semValue(address, name) > VALUE_MAX - count) {
                throw new SemaphoreOverflowException(name, "releasing " + count + " would pass SEM_VALUE_MAX ("
                        + VALUE_MAX + "); nothing was released");
            }
            for (int i = 0; i < count; i++) {
                if (!Syscalls.semPost(address, name)) {
                    throw new SemaphoreOverflowException(name, "the value reached SEM_VALUE_MAX after " + i + " of "
                            + count + " releases");
                }
            }
        } finally {
            Reference.reachabilityFence(mapping);
        }
    }

    /** sem_getvalue(3): the value now; on Linux never negative (0 while there are waiters). */
    public int value() throws IOException {
        checkOpen();
        try {
            checkMapped();
            return Syscalls.semValue(address, name);
        } finally {
            Reference.reachabilityFence(mapping);
        }
    }

    /**
     * Reads the {@code sem_t}'s {@code private} field (LLL_SHARED) through the mapping before glibc
     * works on it. On an object that shrank under the mapping glibc would die of SIGBUS and take the
     * JVM with it; the JDK's read survives the fault but returns garbage (its own InternalError comes
     * later), so any value but LLL_SHARED stops the operation here (SHM-11).
     */
    private void checkMapped() {
        int p = (int) INTS.getVolatile(mapping, offset + 8);
        if (p != LLL_SHARED) {
            throw new InternalError("semaphore " + name + ": its sem_t no longer reads as a process-shared semaphore"
                    + " (private " + p + "): the object shrank under the mapping or was overwritten; glibc is not"
                    + " called on it");
        }
    }

    private void checkOpen() throws ClosedChannelException {
        waits.check();
    }

    /** Whether {@link #close()} has not been called. */
    public boolean isOpen() {
        return waits.isOpen();
    }

    /**
     * Makes {@link #close()} remove the semaphore's name too (sem_unlink(3)), as the JDK's
     * DELETE_ON_CLOSE does for files, so that a process restarted again and again cannot fill
     * /dev/shm (SEC-14; one killed before its close still leaves the name: see
     * {@link io.ipcbridge.Reaper}). Only the first close removes it, and only if the name still
     * names the semaphore this handle opened (lstat(2) finds the device and inode fstat(2) gave its
     * file then): one another process made under the name since is left alone, and a name already
     * gone is no failure. A semaphore another process unlinks and makes again in the instant between
     * that lstat and the unlink is removed all the same.
     *
     * @return this handle
     * @throws ClosedChannelException if this handle is closed
     * @throws IllegalStateException if this is a semaphore in a segment ({@link #initialize},
     *     {@link #attach}), which has no name: the segment's is unlinked through its own handle
     */
    public Semaphore unlinkOnClose() throws ClosedChannelException {
        if (file == null) {
            throw new IllegalStateException("semaphore " + name + " lies in a segment and has no name to unlink");
        }
        checkOpen();
        unlinking.request(file);
        return this;
    }

    /**
     * Closes this handle (the semaphore itself lives on until {@link #unlink}, unless
     * {@link #unlinkOnClose()} asked for that now); threads waiting in it are woken with
     * {@link java.nio.channels.AsynchronousCloseException}.
     *
     * @throws IOException if sem_unlink(3) fails, other than for a name already gone; the handle is
     *     closed all the same
     */
    @Override
    public void close() throws IOException {
        try {
            waits.close();
        } finally {
            unlinking.close();
        }
    }

    @Override
    public String toString() {
        return "Semaphore[" + name + (isOpen() ? "" : ", closed") + "]";
    }
}
