package io.ipcbridge.shm;

import io.ipcbridge.Descriptor;
import io.ipcbridge.HasDescriptor;
import io.ipcbridge.IpcResourceLimitException;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.internal.posix.CreateOrOpen;
import io.ipcbridge.internal.posix.Errors;
import io.ipcbridge.internal.posix.FileInfo;
import io.ipcbridge.internal.posix.Names;
import io.ipcbridge.internal.posix.NewFile;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.internal.posix.UnlinkOnClose;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channel;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A POSIX shared memory object (shm_overview(7)) or a memfd segment, mapped into the JVM so that
 * Java and C processes share its bytes.
 *
 * <p>The object is opened exactly as glibc's shm_open(3) opens it, as {@code /dev/shm/NAME} with
 * O_NOFOLLOW, and mapped with mmap(2) of that descriptor (so a descriptor received from a peer maps
 * as its access mode allows, as in C) into a direct buffer. The JDK guards every access through such
 * a buffer: a peer that truncates the object under the mapping makes an access raise
 * {@link InternalError} ("a fault occurred in an unsafe memory access") instead of killing the JVM
 * with SIGBUS. A mapping is released only when no buffer of it is reachable any more, so nothing
 * handed out ever reads unmapped memory. After {@link #close()} the typed accessors of this
 * object throw {@link IllegalStateException}; buffers obtained before stay valid until unreachable.
 * The size always comes from fstat(2), never from the caller or the peer; creation reserves the
 * space with posix_fallocate(3), so a full /dev/shm fails then, with ENOSPC, not later with SIGBUS.
 * For peers that cannot be trusted, {@link #memfd} segments can be sealed against resizing, and
 * {@link #publish} makes one that no one can change at all.
 *
 * <p>The typed accessors use the platform's byte order, as C does, and their acquire/release,
 * volatile and compare-and-set forms are the same hardware operations as C11 {@code <stdatomic.h>}
 * on the same address, so Java and C can synchronise on shared words. Offsets of atomic accesses
 * must be aligned to the size of the value. A compare-and-set or get-and-add makes an fstat(2) and
 * a fallocate(2) first (a microsecond or two) and is refused past the object's end or where no page
 * can be had for it (a hole in a full /dev/shm), so that a peer's shrink kills the JVM only if it
 * falls in the instant between that check and the update.
 *
 * <p>Thread safety: a handle may be used by any number of threads at once: the accessors take
 * absolute offsets and {@link #buffer()} gives each caller a view of its own; threads, like
 * processes, order their accesses through the acquire/release, volatile and atomic forms.
 *
 * <p>Closing does not remove the name, unless {@link #unlinkOnClose()} asked for it:
 * {@code try (SharedMemory shm = SharedMemory.createExclusively("/x", 4096).unlinkOnClose()) {...}}.
 */
public final class SharedMemory implements Channel, HasDescriptor {
    /** The mode objects are created with unless another is given. */
    public static final int DEFAULT_MODE = 0600;
    /** The longest memfd label memfd_create(2) takes: NAME_MAX less the "memfd:" prefix. */
    public static final int MEMFD_LABEL_MAX = 249;
    private static final String DEV_SHM = "/dev/shm";
    private static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());
    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());

    /**
     * What fstat(2) tells of the object.
     *
     * @param size its size in bytes
     * @param mode its permission bits
     * @param uid its owner, an unsigned uid_t ({@link Integer#toUnsignedLong} gives the number)
     * @param gid its group, an unsigned gid_t
     */
    public record Info(long size, int mode, int uid, int gid) {
    }

    /** A seal of a memfd (fcntl(2) "File sealing"), as {@link #seals()} reports it. */
    public enum Seal {
        /** F_SEAL_SEAL: no more seals can be added. */
        SEAL(0x0001),
        /** F_SEAL_SHRINK: the size cannot decrease. */
        SHRINK(0x0002),
        /** F_SEAL_GROW: the size cannot increase. */
        GROW(0x0004),
        /** F_SEAL_WRITE: the contents cannot change, through any descriptor or mapping. */
        WRITE(0x0008),
        /** F_SEAL_FUTURE_WRITE: no new write or writable mapping; mappings made before still write. */
        FUTURE_WRITE(0x0010),
        /** F_SEAL_EXEC: the execute permission bits cannot change. */
        EXEC(0x0020);

        private final int bit;

        Seal(int bit) {
            this.bit = bit;
        }
    }

    private final String name;
    private final Descriptor fd;
    private final ByteBuffer map;
    private final boolean readOnly;
    /** The object's size as this JVM last set or read it, shared by its handles (see {@link Extents}). */
    private final AtomicLong extent;
    /** The named object as fstat(2) gave it when mapped; null for a memfd or a mapped descriptor. */
    private final FileInfo object;
    private final UnlinkOnClose unlinking;

    private SharedMemory(String name, Descriptor fd, ByteBuffer map, boolean readOnly, AtomicLong extent,
            FileInfo object) {
        this.name = name;
        this.fd = fd;
        this.map = map;
        this.readOnly = readOnly;
        this.extent = extent;
        this.object = object;
        this.unlinking = new UnlinkOnClose(DEV_SHM + name, () -> unlink(name));
    }

    /** Creates object {@code name} of {@code size} bytes, mode 0600; fails if it exists. */
    public static SharedMemory createExclusively(String name, long size) throws IOException {
        return createExclusively(name, size, DEFAULT_MODE);
    }

    /**
     * Creates object {@code name} of {@code size} zero bytes (ftruncate(2), posix_fallocate(3)) with
     * exactly {@code mode}, and maps it read-write; as shm_open(3) with O_CREAT|O_EXCL, it fails if
     * the name exists. No one sees the object before it has its size and mode, and if any step fails,
     * nothing is left behind (see {@link #createExclusively(String, long, int, Consumer)}).
     *
     * @throws FileAlreadyExistsException if the object exists (EEXIST)
     * @throws io.ipcbridge.IpcResourceLimitException if /dev/shm has no room (ENOSPC)
     * @throws IllegalArgumentException for a bad name, a size below 1 or above 2^31 - 1, or a bad mode
     */
    public static SharedMemory createExclusively(String name, long size, int mode) throws IOException {
        return createExclusively(name, size, mode, map -> { });
    }

    /**
     * Creates object {@code name} as {@link #createExclusively(String, long, int)} does, with
     * {@code initializer} writing its first contents into the mapping before anyone can open it: the
     * object is made without a name in /dev/shm (O_TMPFILE), sized, reserved, mapped, initialised and
     * given its mode, and only then linked to its name (linkat(2)), so an opener never sees it
     * half-made (too small, or without the contents a peer checks), and a creator killed half-way
     * leaves nothing behind. A name that exists is told before anything is allocated; one created
     * meanwhile makes the link fail with EEXIST.
     *
     * @throws FileAlreadyExistsException if the object exists (EEXIST)
     */
    public static SharedMemory createExclusively(String name, long size, int mode, Consumer<ByteBuffer> initializer)
            throws IOException {
        String n = checkName(name);
        checkSize(size);
        checkMode(mode);
        Objects.requireNonNull(initializer, "initializer");
        String path = DEV_SHM + n;
        try {
            Syscalls.lstat(path);
            throw Errors.exception("shm_open", n, Errors.EEXIST); // no need to allocate the size first
        } catch (NoSuchFileException free) {
            // created below
        }
        try (NewFile file = NewFile.create(DEV_SHM, "shm_open", n)) {
            Syscalls.ftruncate(file.fd(), size, n);
            reserve(file.fd(), size, n, "/dev/shm");
            SharedMemory shm = mapCopy(n, file.fd(), false, true);
            try {
                initializer.accept(shm.buffer());
                Syscalls.fchmod(file.fd(), mode, n);
                file.link(path);
                return shm;
            } catch (IOException | RuntimeException | Error e) { // an Error too: the initializer is the caller's code
                try {
                    shm.close();
                } catch (IOException again) {
                    e.addSuppressed(again);
                }
                throw e;
            }
        }
    }

    /**
     * Creates object {@code name} as {@link #createExclusively(String, long, int)} does, or opens it
     * read-write if it exists, belongs to this user and its mode grants nothing beyond {@code mode}
     * (anyone may plant a name in /dev/shm, and others may have written into one more open). An
     * existing object keeps its own size and mode.
     *
     * @throws IpcSecurityException if the existing object is another user's or more open than
     *     {@code mode} (SEC-02)
     */
    public static SharedMemory createOrOpen(String name, long size, int mode) throws IOException {
        return CreateOrOpen.run(() -> createExclusively(name, size, mode), () -> openOwn(name, mode));
    }

    /**
     * Opens existing object {@code name} read-write if it belongs to this user and its mode grants
     * nothing beyond {@code mode} (a narrower one is accepted), as {@link #createOrOpen} does.
     *
     * @throws IpcSecurityException if another user owns it or its mode is more open than
     *     {@code mode} (SEC-02): told by fstat(2) before any mapping (SEC-10), whatever its size or kind
     * @throws IllegalArgumentException for a bad mode, before any call
     */
    public static SharedMemory openOwn(String name, int mode) throws IOException {
        checkMode(mode);
        return open(name, false, true, mode);
    }

    /** Opens existing object {@code name} read-write. */
    public static SharedMemory open(String name) throws IOException {
        return open(name, false);
    }

    /**
     * shm_open(3) of an existing object, mapped whole (its size from fstat); read-only mappings
     * refuse writes with {@link java.nio.ReadOnlyBufferException}.
     *
     * @throws java.nio.file.NoSuchFileException if there is no such object (ENOENT)
     * @throws java.nio.file.AccessDeniedException if its mode refuses this user (EACCES)
     * @throws IpcSecurityException if the name is a symbolic link or not a regular file
     * @throws IpcResourceLimitException if the object is larger than 2^31 - 1 bytes (EFBIG)
     */
    public static SharedMemory open(String name, boolean readOnly) throws IOException {
        return open(name, readOnly, false, 07777);
    }

    /**
     * {@link #open(String, boolean)}; with {@code ownOnly}, an object of another user is refused, and
     * one whose mode grants more than {@code mode} (07777: any mode) is too: told by fstat(2) before
     * mmap (SEC-02, SEC-10), whatever its size or kind.
     */
    private static SharedMemory open(String name, boolean readOnly, boolean ownOnly, int mode) throws IOException {
        String n = checkName(name);
        int raw = openExisting(n, readOnly);
        try {
            FileInfo info = Syscalls.fstat(raw, n);
            if (ownOnly && info.uid() != Syscalls.geteuid()) {
                throw new IpcSecurityException(n, "is owned by uid " + Integer.toUnsignedString(info.uid())
                        + ", not by this user; refused");
            }
            CreateOrOpen.checkMode(n, info, mode);
            if ((info.mode() & 0170000) == 0100000) {
                Syscalls.setNonBlocking(raw, false, n); // the descriptor handed out is as shm_open makes it
            }
            return map(n, raw, readOnly, true);
        } catch (IOException | RuntimeException e) {
            Syscalls.close(raw);
            throw e;
        }
    }

    /**
     * fstat(2) of existing object {@code name}, opened read-only and not mapped: also for an object
     * a peer made larger than one mapping can be.
     *
     * @throws java.nio.file.NoSuchFileException if there is no such object (ENOENT)
     * @throws java.nio.file.AccessDeniedException if its mode refuses this user reading (EACCES)
     * @throws IpcSecurityException if the name is a symbolic link or not a regular file
     */
    public static Info info(String name) throws IOException {
        String n = checkName(name);
        int raw = openExisting(n, true);
        try {
            FileInfo i = checkRegular(n, Syscalls.fstat(raw, n));
            return new Info(i.size(), i.permissions(), i.uid(), i.gid());
        } finally {
            Syscalls.close(raw);
        }
    }

    /** shm_open(3) of an existing object, as glibc opens it, and never blocking. */
    private static int openExisting(String n, boolean readOnly) throws IOException {
        try {
            // O_NONBLOCK: a FIFO planted at the name (anyone may mkfifo in /dev/shm) would block a
            // read-only open for ever, waiting for a writer; it is refused as not a regular file
            return Syscalls.openFile("shm_open", DEV_SHM + n,
                    (readOnly ? Syscalls.O_RDONLY : Syscalls.O_RDWR) | Syscalls.O_NOFOLLOW | Syscalls.O_NONBLOCK, 0, n);
        } catch (IOException e) {
            if (e instanceof io.ipcbridge.IpcError err && err.errnoName().equals("ELOOP")) {
                throw new IpcSecurityException(n, "is a symbolic link in /dev/shm; refused");
            }
            throw e;
        }
    }

    /**
     * memfd_create(2): an anonymous segment of {@code size} bytes, to hand to a child on a chosen fd
     * or over a socket. With {@code sealSize}, F_SEAL_SHRINK and F_SEAL_GROW are applied: no one
     * holding it can resize it, so no peer can make an access fault.
     *
     * @param label the name shown in /proc/PID/fd and maps ("memfd:LABEL"), at most
     *     {@value #MEMFD_LABEL_MAX} bytes of UTF-8 and no NUL; it need not be unique
     * @throws IllegalArgumentException if the label or the size is not allowed, before any call
     */
    public static SharedMemory memfd(String label, long size, boolean sealSize) throws IOException {
        checkLabel(label);
        checkSize(size);
        int raw = Syscalls.memfdCreate(label);
        String n = "memfd:" + label;
        try {
            Syscalls.ftruncate(raw, size, n);
            reserve(raw, size, n, "the memfd's tmpfs");
            if (sealSize) {
                Syscalls.sealSize(raw, n);
            }
            return map(n, raw, false, false);
        } catch (IOException | RuntimeException e) {
            Syscalls.close(raw);
            throw e;
        }
    }

    /**
     * A memfd segment holding exactly the remaining bytes of {@code contents} (its position is left
     * as it is), published read-only: the bytes are written with pwrite(2), never through a writable
     * mapping, then F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE and F_SEAL_SEAL are applied, and the
     * segment is mapped read-only. From then on no one holding the descriptor, this JVM, a child or a
     * peer it was sent to, can change a byte or the size, nor lift the seals: a receiver may read it
     * without copying, and check it once ({@link #seals()} or fcntl(F_GET_SEALS) in C) without
     * fearing a later change.
     *
     * @param label as for {@link #memfd(String, long, boolean)}
     * @throws IllegalArgumentException if the label is not allowed or {@code contents} has no bytes
     *     remaining, before any call
     * @throws io.ipcbridge.IpcResourceLimitException if the memfd's tmpfs has no room (ENOSPC)
     */
    public static SharedMemory publish(String label, ByteBuffer contents) throws IOException {
        checkLabel(label);
        ByteBuffer bytes = Objects.requireNonNull(contents, "contents").duplicate();
        if (!bytes.hasRemaining()) {
            throw new IllegalArgumentException("nothing to publish: contents has no bytes remaining");
        }
        int raw = Syscalls.memfdCreate(label);
        String n = "memfd:" + label;
        try {
            Syscalls.ftruncate(raw, bytes.remaining(), n);
            reserve(raw, bytes.remaining(), n, "the memfd's tmpfs");
            byte[] chunk = new byte[Math.min(bytes.remaining(), 1 << 20)];
            for (long offset = 0; bytes.hasRemaining(); offset += chunk.length) {
                if (bytes.remaining() < chunk.length) {
                    chunk = new byte[bytes.remaining()];
                }
                bytes.get(chunk);
                Syscalls.pwriteFully(raw, chunk, offset, n);
            }
            Syscalls.sealAll(raw, n);
            return map(n, raw, true, false);
        } catch (IOException | RuntimeException e) {
            Syscalls.close(raw);
            throw e;
        }
    }

    private static void checkLabel(String label) {
        Objects.requireNonNull(label, "label");
        if (label.indexOf('\0') >= 0 || label.getBytes(StandardCharsets.UTF_8).length > MEMFD_LABEL_MAX) {
            throw new IllegalArgumentException("a memfd label is at most " + MEMFD_LABEL_MAX
                    + " bytes of UTF-8 without NUL: " + label.length() + " characters given");
        }
    }

    /**
     * Maps a segment received as a descriptor (e.g. a memfd from a parent on fd 3), taking
     * ownership of it.
     *
     * @throws java.nio.file.AccessDeniedException if the descriptor's access mode does not allow
     *     the mapping (read-write needs O_RDWR, read-only needs read access; an O_PATH descriptor
     *     has neither), as mmap(2) says EACCES, or if a read-write mapping is asked of a memfd sealed
     *     against writing (EPERM)
     */
    public static SharedMemory map(Descriptor descriptor, boolean readOnly) throws IOException {
        Objects.requireNonNull(descriptor, "descriptor");
        try {
            return descriptor.withFd(f -> {
                if (Syscalls.accessMode(f, descriptor.name()) == Syscalls.O_PATH) {
                    // open, but it can neither read nor write: mmap(2) would say EBADF, as if it were closed
                    throw Errors.exception("mmap", descriptor.name(), Errors.EACCES);
                }
                return mapCopy(descriptor.name(), f, readOnly, false);
            });
        } finally {
            descriptor.close();
        }
    }

    /** Maps the object open on {@code fd} through a duplicate of it, which the segment owns. */
    private static SharedMemory mapCopy(String name, int fd, boolean readOnly, boolean named) throws IOException {
        int dupped = Syscalls.dup(fd, name);
        try {
            return map(name, dupped, readOnly, named);
        } catch (IOException | RuntimeException | Error e) {
            Syscalls.close(dupped);
            throw e;
        }
    }

    /**
     * shm_unlink(3): removes the name; mappings and descriptors already open stay valid.
     *
     * @throws java.nio.file.NoSuchFileException if there is no such object
     */
    public static void unlink(String name) throws IOException {
        String n = checkName(name);
        Syscalls.unlink(DEV_SHM + n, "shm_unlink", n);
    }

    /** posix_fallocate(3), with ENOSPC explained. */
    private static void reserve(int fd, long size, String name, String where) throws IOException {
        reserve(fd, size, name, where, "nothing was created");
    }

    /** posix_fallocate(3), with ENOSPC explained and {@code outcome} told. */
    private static void reserve(int fd, long size, String name, String where, String outcome) throws IOException {
        try {
            Syscalls.fallocate(fd, size, name);
        } catch (IpcResourceLimitException e) {
            if (e.errno() != Errors.ENOSPC) {
                throw e;
            }
            throw new IpcResourceLimitException("posix_fallocate", name, e.errno(), where + " has no room for "
                    + size + " bytes; " + outcome);
        }
    }

    private static String checkName(String name) {
        String n = Names.check(name, Names.NAME_MAX);
        if (n.startsWith("/sem.")) {
            throw new IllegalArgumentException("invalid name \"" + name + "\": /dev/shm/sem.* are semaphores");
        }
        return n;
    }

    private static void checkMode(int mode) {
        if ((mode & ~0777) != 0) {
            throw new IllegalArgumentException("mode must be within 0777: 0" + Integer.toOctalString(mode));
        }
    }

    private static void checkSize(long size) {
        if (size < 1 || size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("size must be 1 to " + Integer.MAX_VALUE + " bytes: " + size);
        }
    }

    /** {@code info}, if it is of a regular file (anyone may plant another kind of file in /dev/shm). */
    private static FileInfo checkRegular(String name, FileInfo info) throws IpcSecurityException {
        if ((info.mode() & 0170000) != 0100000) {
            throw new IpcSecurityException(name, "is a " + info.typeName() + ", not a shared memory object; refused");
        }
        return info;
    }

    /** Maps the object open on {@code raw}; {@code named}: {@code name} is its name in /dev/shm. */
    private static SharedMemory map(String name, int raw, boolean readOnly, boolean named) throws IOException {
        FileInfo info = checkRegular(name, Syscalls.fstat(raw, name));
        if (info.size() > Integer.MAX_VALUE) {
            // the object's size, not the caller's input: a checked failure naming the object
            throw new IpcResourceLimitException("mmap", name, Errors.EFBIG, info.size()
                    + " bytes is larger than one mapping can be (" + Integer.MAX_VALUE + " bytes); nothing was mapped");
        }
        ByteBuffer map = Syscalls.map(raw, !readOnly, info.size(), name).order(ByteOrder.nativeOrder());
        AtomicLong extent = Extents.of(info);
        return new SharedMemory(name, Descriptor.adopt(raw, name), map, readOnly, extent, named ? info : null);
    }

    /** The object's name ("/name"), or "memfd:label". */
    public String name() {
        return name;
    }

    /** The mapped size in bytes (the object's size when it was mapped). */
    public int size() {
        return map.capacity();
    }

    /** Whether the mapping is read-only. */
    public boolean isReadOnly() {
        return readOnly;
    }

    /** The object's descriptor, e.g. to place on a child's fd. */
    @Override
    public Descriptor descriptor() {
        return fd;
    }

    /** fstat(2) of the object now. */
    public Info info() throws IOException {
        FileInfo i = fd.withFd(f -> Syscalls.fstat(f, name));
        return new Info(i.size(), i.permissions(), i.uid(), i.gid());
    }

    /**
     * fcntl(F_GET_SEALS): the seals of the object, e.g. to check a segment a peer sent before
     * trusting it not to change or shrink. An object made by shm_open(3) always has {@link Seal#SEAL}
     * alone; a file whose file system has no sealing (EINVAL) has none.
     */
    public Set<Seal> seals() throws IOException {
        int bits = fd.withFd(f -> Syscalls.seals(f, name));
        Set<Seal> seals = EnumSet.noneOf(Seal.class);
        for (Seal seal : Seal.values()) {
            if ((bits & seal.bit) != 0) {
                seals.add(seal);
            }
        }
        return seals;
    }

    /**
     * ftruncate(2) and posix_fallocate(3) of the object to {@code newSize}. This mapping keeps its
     * size; open the object again to map the new one. After a shrink, this JVM's handles refuse
     * atomic updates past the new end (a plain access there raises {@link InternalError}).
     *
     * @throws io.ipcbridge.IpcResourceLimitException if there is no room for {@code newSize} bytes
     *     (ENOSPC); the object keeps its old size
     * @throws java.nio.channels.NonWritableChannelException if opened read-only (ftruncate would fail
     *     with EINVAL); nothing is called
     */
    public void resize(long newSize) throws IOException {
        checkSize(newSize);
        if (readOnly) {
            throw new java.nio.channels.NonWritableChannelException();
        }
        fd.withFd(f -> {
            extent.set(Math.min(extent.get(), newSize)); // first: no update may reach past the new end
            try {
                long oldSize = Syscalls.fstat(f, name).size();
                Syscalls.ftruncate(f, newSize, name);
                try {
                    reserve(f, newSize, name, "/dev/shm", "the object keeps its " + oldSize + " bytes");
                } catch (IOException | RuntimeException e) {
                    // a grown but unreserved tail would be a SIGBUS at the first write: shrink back
                    if (newSize > oldSize) {
                        try {
                            Syscalls.ftruncate(f, oldSize, name);
                        } catch (IOException again) {
                            e.addSuppressed(again);
                        }
                    }
                    throw e;
                }
                extent.set(newSize);
            } catch (IOException | RuntimeException e) {
                extent.set(Syscalls.fstat(f, name).size()); // whatever the object's size is now
                throw e;
            }
            return null;
        });
    }

    /**
     * The whole mapping as a direct buffer in the platform's byte order (a new view each call:
     * position 0, limit {@link #size()}). It stays valid as long as it is reachable, even after
     * {@link #close()}.
     */
    public ByteBuffer buffer() {
        return map.duplicate().order(ByteOrder.nativeOrder());
    }

    private ByteBuffer view() {
        if (!fd.isOpen()) {
            throw new IllegalStateException(name + " is closed");
        }
        return map;
    }

    /**
     * The mapping for an atomic read-modify-write of the aligned value at {@code offset}. The JDK
     * turns the SIGBUS of a plain or volatile access to an object that shrank under the mapping into
     * {@link InternalError} (SHM-11), but a compare-and-set or get-and-add in the interpreter then
     * kills the JVM (a guarded read first does not help: the interpreter raises its InternalError
     * only later). So the update is refused past the object's end as sized in this JVM (any handle's
     * {@link #resize}) and as fstat(2) gives it now, and where fallocate(2) finds no page for a hole
     * there (a peer cut the object and sized it again, and /dev/shm is full): only a change by
     * another process in the instant between these calls and the update is not covered, as for
     * {@link io.ipcbridge.sem.Semaphore}; against untrusted peers, use a sealed {@link #memfd}.
     *
     * @throws IllegalStateException if the value lies past the object's end or on a hole with no
     *     room for it (ENOSPC), or if this mapping is empty (the object had no size yet when it was
     *     opened)
     */
    private ByteBuffer forUpdate(int offset, int size) {
        ByteBuffer b = view();
        aligned(offset, size);
        if (b.capacity() == 0) {
            throw new IllegalStateException(name + " has no size: it was mapped at 0 bytes, before its creator"
                    + " sized it; open it again once it is sized");
        }
        long end = extent.get();
        if (offset + (long) size > end) {
            throw new IllegalStateException(name + ": offset " + offset + " lies past the object's " + end
                    + " bytes; it was resized under this mapping");
        }
        long now;
        try {
            now = fd.withFd(f -> {
                long s = Syscalls.fstat(f, name).size();
                if (offset + (long) size <= s && !readOnly) {
                    // a hole (a peer cut the object and sized it again) faults a page in: have it now
                    Syscalls.allocate(f, offset, size, name);
                }
                return s;
            });
        } catch (IOException e) {
            throw new IllegalStateException(name + ": before an atomic update: " + e.getMessage(), e);
        }
        if (offset + (long) size > now) {
            extent.set(now);
            throw new IllegalStateException(name + ": offset " + offset + " lies past the object's " + now
                    + " bytes; it was resized under this mapping");
        }
        return b;
    }

    private static int aligned(int offset, int size) {
        if ((offset & (size - 1)) != 0) {
            throw new IllegalArgumentException("offset " + offset + " is not aligned to " + size + " bytes");
        }
        return offset;
    }

    /** A plain read of the int at {@code offset}. */
    public int getInt(int offset) {
        return view().getInt(offset);
    }

    /** A plain write of the int at {@code offset}. */
    public void setInt(int offset, int value) {
        view().putInt(offset, value);
    }

    /** An acquire load (C11 memory_order_acquire) of the aligned int at {@code offset}. */
    public int getIntAcquire(int offset) {
        return (int) INTS.getAcquire(view(), aligned(offset, 4));
    }

    /** A release store (C11 memory_order_release) to the aligned int at {@code offset}. */
    public void setIntRelease(int offset, int value) {
        INTS.setRelease(view(), aligned(offset, 4), value);
    }

    /** A sequentially consistent load (C11 memory_order_seq_cst). */
    public int getIntVolatile(int offset) {
        return (int) INTS.getVolatile(view(), aligned(offset, 4));
    }

    /** A sequentially consistent store (C11 memory_order_seq_cst). */
    public void setIntVolatile(int offset, int value) {
        INTS.setVolatile(view(), aligned(offset, 4), value);
    }

    /** atomic_compare_exchange_strong on the aligned int at {@code offset}. */
    public boolean compareAndSetInt(int offset, int expected, int value) {
        return INTS.compareAndSet(forUpdate(offset, 4), offset, expected, value);
    }

    /** atomic_fetch_add on the aligned int at {@code offset}; returns the previous value. */
    public int getAndAddInt(int offset, int delta) {
        return (int) INTS.getAndAdd(forUpdate(offset, 4), offset, delta);
    }

    /** A plain read of the long at {@code offset}. */
    public long getLong(int offset) {
        return view().getLong(offset);
    }

    /** A plain write of the long at {@code offset}. */
    public void setLong(int offset, long value) {
        view().putLong(offset, value);
    }

    /** An acquire load of the aligned long at {@code offset}. */
    public long getLongAcquire(int offset) {
        return (long) LONGS.getAcquire(view(), aligned(offset, 8));
    }

    /** A release store to the aligned long at {@code offset}. */
    public void setLongRelease(int offset, long value) {
        LONGS.setRelease(view(), aligned(offset, 8), value);
    }

    /** A sequentially consistent load of the aligned long at {@code offset}. */
    public long getLongVolatile(int offset) {
        return (long) LONGS.getVolatile(view(), aligned(offset, 8));
    }

    /** A sequentially consistent store to the aligned long at {@code offset}. */
    public void setLongVolatile(int offset, long value) {
        LONGS.setVolatile(view(), aligned(offset, 8), value);
    }

    /** atomic_compare_exchange_strong on the aligned long at {@code offset}. */
    public boolean compareAndSetLong(int offset, long expected, long value) {
        return LONGS.compareAndSet(forUpdate(offset, 8), offset, expected, value);
    }

    /** atomic_fetch_add on the aligned long at {@code offset}; returns the previous value. */
    public long getAndAddLong(int offset, long delta) {
        return (long) LONGS.getAndAdd(forUpdate(offset, 8), offset, delta);
    }

    @Override
    public boolean isOpen() {
        return fd.isOpen();
    }

    /**
     * Makes {@link #close()} remove the object's name too (shm_unlink(3)), as the JDK's
     * DELETE_ON_CLOSE does for files, so that a process restarted again and again cannot fill
     * /dev/shm (SEC-14; one killed before its close still leaves the name: see
     * {@link io.ipcbridge.Reaper}). Only the first close removes it, and only if the name still
     * names the object this handle opened (lstat(2) finds the device and inode fstat(2) gave then):
     * one another process made under the name since is left alone, and a name already gone is no
     * failure. An object another process unlinks and makes again in the instant between that lstat
     * and the unlink is removed all the same.
     *
     * @return this handle
     * @throws ClosedChannelException if this handle is closed
     * @throws IllegalStateException if the segment has no name (a {@link #memfd} or a mapped descriptor)
     */
    public SharedMemory unlinkOnClose() throws ClosedChannelException {
        if (object == null) {
            throw new IllegalStateException(name + " has no name in /dev/shm to unlink");
        }
        if (!isOpen()) {
            throw new ClosedChannelException();
        }
        unlinking.request(object);
        return this;
    }

    /**
     * Closes the descriptor, then removes the name if {@link #unlinkOnClose()} asked for it; the
     * mapping lives on while buffers from {@link #buffer()} are reachable.
     *
     * @throws IOException if shm_unlink(3) fails, other than for a name already gone; the descriptor
     *     is closed all the same
     */
    @Override
    public void close() throws IOException {
        try {
            fd.close();
        } finally {
            unlinking.close();
        }
    }

    @Override
    public String toString() {
        return "SharedMemory[" + name + ", " + map.capacity() + " bytes" + (isOpen() ? "" : ", closed") + "]";
    }
}
