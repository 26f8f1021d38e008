package io.ipcbridge.ring;

import static io.ipcbridge.ring.RingLayout.ABANDONED;
import static io.ipcbridge.ring.RingLayout.CAPACITY_AT;
import static io.ipcbridge.ring.RingLayout.CLAIM_AT_AT;
import static io.ipcbridge.ring.RingLayout.CLAIM_END_AT;
import static io.ipcbridge.ring.RingLayout.CONSUMER_PID_AT;
import static io.ipcbridge.ring.RingLayout.CONSUMER_POSITION_AT;
import static io.ipcbridge.ring.RingLayout.DATA_FUTEX_AT;
import static io.ipcbridge.ring.RingLayout.DATA_WAITERS_AT;
import static io.ipcbridge.ring.RingLayout.FLAGS_AT;
import static io.ipcbridge.ring.RingLayout.HEADER_SIZE;
import static io.ipcbridge.ring.RingLayout.HEADER_SIZE_AT;
import static io.ipcbridge.ring.RingLayout.LENGTH_AT;
import static io.ipcbridge.ring.RingLayout.MAGIC;
import static io.ipcbridge.ring.RingLayout.MAGIC_AT;
import static io.ipcbridge.ring.RingLayout.MAX_MESSAGE_AT;
import static io.ipcbridge.ring.RingLayout.MAX_PRODUCERS;
import static io.ipcbridge.ring.RingLayout.MESSAGE;
import static io.ipcbridge.ring.RingLayout.PADDING;
import static io.ipcbridge.ring.RingLayout.PRODUCER_PIDS_AT;
import static io.ipcbridge.ring.RingLayout.PRODUCER_POSITION_AT;
import static io.ipcbridge.ring.RingLayout.RECORD_HEADER;
import static io.ipcbridge.ring.RingLayout.SPACE_FUTEX_AT;
import static io.ipcbridge.ring.RingLayout.SPACE_WAITERS_AT;
import static io.ipcbridge.ring.RingLayout.TYPE_AT;
import static io.ipcbridge.ring.RingLayout.VERSION;
import static io.ipcbridge.ring.RingLayout.VERSION_AT;

import io.ipcbridge.Descriptor;
import io.ipcbridge.HasDescriptor;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.internal.posix.CreateOrOpen;
import io.ipcbridge.internal.posix.Deadline;
import io.ipcbridge.internal.posix.FileInfo;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.internal.posix.Waits;
import io.ipcbridge.shm.SharedMemory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A message ring in a POSIX shared memory object, or in a sealed memfd handed to peers by descriptor
 * ({@link #memfd}): one consumer and one producer (or, in a multi-producer ring, up to
 * {@value RingLayout#MAX_PRODUCERS} producers claiming space with compare-and-set), exchanging
 * length-prefixed messages without a system call per message. C programs join it through
 * {@code native-tests/include/ipcbridge_ring.h}, which documents the layout and the protocol this
 * class follows.
 *
 * <p>A handle may produce and consume; each side is meant for one thread at a time (open more
 * handles for more producer threads of a multi-producer ring). Producing registers this process's pid
 * in the header, consuming registers it as the consumer; a side that waits in vain throws
 * {@link PeerDiedException} when the other side died: at once when it sleeps ({@link WaitStrategy#BLOCK},
 * whose peers one daemon thread watches through pidfds while a ring waits for them), within 100 ms
 * when it spins (checking pids is a hint: the kernel may reuse one). In a multi-producer ring a dead
 * producer ends the consumer's wait when no live producer is left; until then the consumer waits for
 * the live ones, and skips a record the dead one claimed and never committed (each producer announces
 * its claim in the header, so the consumer knows whose a claim is). A record is delivered only when
 * complete, so a producer killed while writing leaves nothing torn behind.
 *
 * <p>Waits follow the handle's {@link WaitStrategy}; they end on {@link Thread#interrupt()} (with
 * {@link InterruptedException}) and on {@link #close()} (with
 * {@link java.nio.channels.AsynchronousCloseException}). Everything read from shared memory is
 * untrusted and checked: a corrupt record raises {@link RingFormatException}, never an access outside
 * the mapping. After {@link #close()} the mapping lives on until no message view handed out is
 * reachable. Closing a handle with a claim not yet committed gives the claim up: in a multi-producer
 * ring it is committed as an abandoned record, which consumers (Java and C) skip, so that the
 * records of other producers still come through. A handle dropped without {@link #close()} gives up
 * its claim and its registrations once the garbage collector finds it unreachable.
 *
 * <p>A peer that truncates the object makes accesses to the mapping fault. The JDK turns the SIGBUS
 * of a read or a write into an {@link InternalError}, raised at once or a little later, but the JVM
 * dies of one in a compare-and-set or get-and-add that the interpreter or C1 runs. A read of the same
 * word just before does not save it: the read's error is raised only at a later transition into the
 * JVM, after the update. So before each such update this class reads the header's magic (the words it
 * updates are all in the header's page) and compares it with the constant: a faulting read yields
 * garbage, and the call throws {@link InternalError} itself instead of reaching the update. A peer
 * that truncates the object between that read and the update, a window of nanoseconds, can still
 * crash the JVM. Only a ring in a segment sealed against shrinking ({@link #memfd}) is safe from that:
 * share a named ring only with peers trusted not to truncate it (its mode, 0600 by default, says who
 * may), and hand others a memfd ring's {@link #descriptor()}.
 */
public final class Ring implements AutoCloseable, HasDescriptor {
    /** The mode rings are created with unless another is given. */
    public static final int DEFAULT_MODE = 0600;

    /** How a producer waits for space and a consumer for messages. */
    public enum WaitStrategy {
        /** Busy-waits (yielding every 64 turns): the lowest latency, one CPU kept busy while waiting. */
        SPIN,
        /** Busy-waits briefly, then yields the CPU between looks. */
        SPIN_THEN_YIELD,
        /**
         * Sleeps on a futex word in the header, without a timeout, until the other side wakes it, after
         * a few busy turns when another CPU is free and one yield of the CPU: a waiting side costs no
         * CPU.
         */
        BLOCK
    }

    /**
     * Receives one message: the bytes between its position and limit, valid only during the call. The
     * message is consumed once handed over: if the handler throws, it is gone all the same (so that a
     * message that always fails cannot stop the ring) and the exception propagates, the messages after
     * it staying for the next poll. A handler may offer to its ring but not poll it (that poll throws
     * {@link IllegalStateException}: it would be handed the same message again).
     */
    @FunctionalInterface
    public interface Handler {
        /** Handles one message. */
        void onMessage(ByteBuffer message) throws IOException;
    }

    /**
     * A snapshot of the header.
     *
     * @param capacity bytes of the data area
     * @param maxMessage the largest message accepted
     * @param multiProducer whether producers claim space with compare-and-set
     * @param producerPosition bytes published (or claimed) so far
     * @param consumerPosition bytes released so far
     * @param consumerPid the registered consumer, 0 if none
     * @param producerPids the registered producers
     */
    public record Info(int capacity, int maxMessage, boolean multiProducer, long producerPosition,
            long consumerPosition, int consumerPid, List<Integer> producerPids) {
        /** Bytes in use: published (or claimed) and not yet released. */
        public long used() {
            return producerPosition - consumerPosition;
        }
    }

    private static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());
    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());
    /** {@link Holdings#claimAt}: handed over atomically between the claiming thread and {@link #close()}. */
    private static final VarHandle CLAIM_AT;
    private static final Cleaner CLEANER = Cleaner.create();

    static {
        try {
            CLAIM_AT = MethodHandles.lookup().findVarHandle(Holdings.class, "claimAt", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * Busy turns of {@link WaitStrategy#BLOCK} before it sleeps, when it may have a CPU of its own to
     * spin on: a stream of messages then flows without a futex wake-up per message (which would keep
     * the consumer starved and asleep); on one CPU it does not spin. Before them it yields the CPU
     * once: a peer that shares the CPU answers meanwhile, and as this side never slept, the peer needs
     * no FUTEX_WAKE and this side no FUTEX_WAIT (a round trip on one CPU then costs two sched_yield
     * calls instead of two wake-ups and two waits); spinning first would only delay that peer. The C
     * side does the same.
     */
    private static final int BLOCK_SPINS = Runtime.getRuntime().availableProcessors() > 1 ? 64 : 0;
    /** Busy turns of {@link WaitStrategy#SPIN_THEN_YIELD} before it yields. */
    private static final int SPINS = 200;
    private static final long CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final int PID = (int) ProcessHandle.current().pid();
    /**
     * No position: positions are unsigned 64-bit byte counts, all of them multiples of 8, so a record
     * at or beyond 2^63 is negative as a long; -1, never a multiple of 8, marks "none".
     */
    private static final long NONE = -1;
    /**
     * The registrations the open handles of this JVM hold, per shared memory object ("dev:ino"):
     * "consumer" and "producer N" (slot N). A pid word holding this process's pid that no handle here
     * holds was left by an earlier process with the same pid (pid reuse, e.g. a container's JVM
     * restarted after a SIGKILL): stale, so taken over. Guarded by itself.
     */
    private static final Map<String, Set<String>> HELD = new HashMap<>();

    private final String name;
    private final SharedMemory segment;
    private final ByteBuffer map;
    private final ByteBuffer view;
    private final long address;
    private final int capacity;
    private final int mask;
    private final int maxMessage;
    private final boolean multi;
    private final Waits waits = new Waits();
    private final Holdings holdings;
    private final Cleaner.Cleanable cleanable;
    private final int[] producerPids = new int[MAX_PRODUCERS];
    private final int[] consumerPids = new int[1];
    private volatile WaitStrategy strategy = WaitStrategy.BLOCK;

    // producer side
    private long consumerSeen;
    // consumer side
    private long head;
    private long producerSeen;
    /** Whether the claim at the head may be a dead producer's: looked at every {@link #CHECK_NANOS}. */
    private boolean suspect;
    /** When each side looks at the other's pids next ({@link #checkPeerWhenDue}), System.nanoTime. */
    private long consumerCheckDue = System.nanoTime();
    private long producerCheckDue = consumerCheckDue;
    /** Whether a handler runs: the head moves past its message only when it returns. */
    private boolean handing;

    /**
     * What a handle holds in the ring and in {@link #HELD}, and the action that gives it back and closes
     * the segment: run by {@link #close()}, or by the Cleaner for a handle dropped without it, so
     * it holds the segment and the mapping, never the Ring. The registrations are written under HELD's
     * lock, and read under it here.
     */
    private static final class Holdings implements Runnable {
        final String name;
        final SharedMemory segment;
        final ByteBuffer map;
        final int capacity;
        final boolean multi;
        final int mask;
        /** The consumer's watch on the producers, and the producers' on the consumer. */
        final PeerWatch dataWatch;
        final PeerWatch spaceWatch;
        /** The object's "dev:ino", the key of {@link #HELD}; null until needed. */
        String identity;
        int producerSlot = -1;
        boolean consumerRegistered;
        /** The position of the record {@link #claim} handed out and not yet committed, or {@link #NONE}. */
        volatile long claimAt = NONE;
        /** Its length; written before {@link #claimAt}, read after it. */
        int claimLength;

        Holdings(String name, SharedMemory segment, ByteBuffer map, long address, int capacity, boolean multi) {
            this.name = name;
            this.segment = segment;
            this.map = map;
            this.capacity = capacity;
            this.multi = multi;
            this.mask = capacity - 1;
            this.dataWatch = new PeerWatch(map, DATA_FUTEX_AT, address, name);
            this.spaceWatch = new PeerWatch(map, SPACE_FUTEX_AT, address, name);
        }

        /** {@link #release()}, with an IOException wrapped in an UncheckedIOException. */
        @Override
        public void run() {
            try {
                release();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Stops watching, gives up a claim not committed, deregisters the pids and closes the segment. */
        private void release() throws IOException {
            try {
                dataWatch.close();
                spaceWatch.close();
                abandonClaim();
                synchronized (HELD) {
                    if (producerSlot >= 0) {
                        hold(identity, "producer " + producerSlot, false);
                        checkMapped();
                        INTS.compareAndSet(map, PRODUCER_PIDS_AT + 4 * producerSlot, PID, 0);
                    }
                    if (consumerRegistered) {
                        hold(identity, "consumer", false);
                        checkMapped();
                        INTS.compareAndSet(map, CONSUMER_PID_AT, PID, 0);
                    }
                }
            } finally {
                segment.close();
            }
        }

        /**
         * Throws {@link InternalError} unless the header's magic reads back, before a compare-and-set or
         * get-and-add, whose fault on a truncated object the JVM does not survive (see the class comment).
         */
        void checkMapped() throws IOException {
            if (mapped(map)) {
                return;
            }
            long size;
            try {
                size = segment.info().size();
            } catch (IOException e) {
                size = -1;
            }
            if (size >= HEADER_SIZE + (long) capacity) {
                throw new RingFormatException(name, "its header's magic no longer reads back (overwritten, or the"
                        + " object was truncated and grown again)");
            }
            throw new InternalError("ring " + name + ": its shared memory object was truncated under the mapping"
                    + (size < 0 ? "" : " (to " + size + " bytes)"));
        }

        /** Gives up the claim {@link #claimAt} holds, if this thread takes it first. */
        void abandonClaim() throws IOException {
            long record = (long) CLAIM_AT.getAndSet(this, NONE);
            if (record != NONE) {
                abandon(record, claimLength);
            }
        }

        /**
         * Gives up a claimed record: a single-producer ring never published it; a multi-producer ring
         * commits it as {@link RingLayout#ABANDONED}, which the consumer skips (and zeroes, as it does
         * every record), so that later records reach it.
         */
        void abandon(long record, int length) throws IOException {
            if (multi) {
                int at = HEADER_SIZE + (int) (record & mask);
                INTS.set(map, at + LENGTH_AT, length);
                INTS.setRelease(map, at + TYPE_AT, ABANDONED);
                dataWatch.wakeWaiters();
            }
        }
    }

    private Ring(String name, SharedMemory segment, ByteBuffer map, int capacity, int maxMessage, boolean multi) {
        this.name = name;
        this.segment = segment;
        this.map = map;
        this.view = map.asReadOnlyBuffer().order(ByteOrder.nativeOrder());
        this.address = Syscalls.address(map);
        this.capacity = capacity;
        this.mask = capacity - 1;
        this.maxMessage = maxMessage;
        this.multi = multi;
        this.holdings = new Holdings(name, segment, map, address, capacity, multi);
        this.cleanable = CLEANER.register(this, holdings);
    }

    /**
     * Creates a single-producer ring of {@code capacity} bytes accepting messages up to the largest
     * size it allows (capacity / 2 - 8), mode 0600; fails if the name exists.
     */
    public static Ring create(String name, int capacity) throws IOException {
        return create(name, capacity, maxMessageLimit(capacity), false, DEFAULT_MODE);
    }

    /**
     * Creates a ring; fails with {@link java.nio.file.FileAlreadyExistsException} if the name exists.
     * The ring is made whole before it has its name (see
     * {@link SharedMemory#createExclusively(String, long, int, java.util.function.Consumer)}): an
     * opener, Java or C, never finds it without its header.
     *
     * @param capacity bytes of the data area: a power of two from 1 KiB to 1 GiB
     * @param maxMessage the largest message, at most capacity / 2 - 8
     * @param multiProducer whether up to eight producers may write at once
     * @param mode the permission bits
     */
    public static Ring create(String name, int capacity, int maxMessage, boolean multiProducer, int mode)
            throws IOException {
        checkGeometry(capacity, maxMessage);
        // the header is written before the object gets its name: an opener never sees half a ring
        SharedMemory segment = SharedMemory.createExclusively(name, (long) HEADER_SIZE + capacity, mode,
                map -> writeHeader(map, capacity, maxMessage, multiProducer));
        try {
            return new Ring(segment.name(), segment, segment.buffer(), capacity, maxMessage, multiProducer);
        } catch (RuntimeException e) {
            segment.close();
            throw e;
        }
    }

    /**
     * Creates a ring in a memfd sealed against shrinking and growing
     * ({@link SharedMemory#memfd(String, long, boolean)}), named "memfd:LABEL", for peers given its
     * {@link #descriptor()} (on a child's fd, or over an AF_UNIX socket), who join it with
     * {@link #map} or {@code ipcb_ring_open_fd}: none of them can truncate it under the mapping.
     *
     * @param label as for {@link SharedMemory#memfd(String, long, boolean)}
     * @param capacity as for {@link #create(String, int, int, boolean, int)}
     * @param maxMessage as for {@link #create(String, int, int, boolean, int)}
     * @param multiProducer as for {@link #create(String, int, int, boolean, int)}
     * @throws IllegalArgumentException if an argument is not allowed, before any call
     */
    public static Ring memfd(String label, int capacity, int maxMessage, boolean multiProducer) throws IOException {
        checkGeometry(capacity, maxMessage);
        SharedMemory segment = SharedMemory.memfd(label, (long) HEADER_SIZE + capacity, true);
        try {
            writeHeader(segment.buffer(), capacity, maxMessage, multiProducer);
        } catch (RuntimeException | Error e) {
            segment.close();
            throw e;
        }
        return open(segment); // checks the header as a peer's open does
    }

    /**
     * Joins the ring in a segment received as a descriptor (a memfd ring's, on fd 3 or over a socket),
     * checking its header as {@link #open(String)} does. Takes ownership of {@code descriptor}: the
     * ring holds a duplicate of it, and nothing is left open if it is refused. Only a segment sealed
     * against shrinking ({@link SharedMemory#seals()} of a {@link #memfd} ring) is safe from a peer
     * that truncates it (see the class comment).
     *
     * @throws RingFormatException if the segment is not such a ring
     */
    public static Ring map(Descriptor descriptor) throws IOException {
        return open(SharedMemory.map(descriptor, false));
    }

    /**
     * Creates a ring as {@link #create(String, int, int, boolean, int)} does, or opens it as
     * {@link #open(String)} does if the name exists, belongs to this user and its mode grants nothing
     * beyond {@code mode} (anyone may plant a name in /dev/shm, and others may have written into one
     * more open); an existing ring keeps its own geometry and mode. Of callers racing on the name
     * (threads, or processes in Java or C), one creates the ring and the others open it, whole.
     *
     * @throws IpcSecurityException if the existing object belongs to another user or is more open
     *     than {@code mode} (SEC-02)
     * @throws RingFormatException if the existing object is not such a ring
     */
    public static Ring createOrOpen(String name, int capacity, int maxMessage, boolean multiProducer, int mode)
            throws IOException {
        // owner and mode are checked before the object is mapped (SEC-10), as SharedMemory.createOrOpen does
        return CreateOrOpen.run(() -> create(name, capacity, maxMessage, multiProducer, mode),
                () -> open(SharedMemory.openOwn(name, mode)));
    }

    /**
     * The largest maximum message a ring of {@code capacity} bytes takes (capacity / 2 - 8): the
     * default of {@link #create(String, int)}.
     *
     * @throws IllegalArgumentException if {@code capacity} is not a power of two from 1 KiB to 1 GiB
     */
    public static int maxMessageLimit(int capacity) {
        return RingLayout.maxMessageLimit(checkCapacity(capacity));
    }

    private static void checkGeometry(int capacity, int maxMessage) {
        checkCapacity(capacity);
        if (maxMessage < 0 || maxMessage > RingLayout.maxMessageLimit(capacity)) {
            throw new IllegalArgumentException("maximum message " + maxMessage + " is not within 0.."
                    + RingLayout.maxMessageLimit(capacity) + " for a ring of " + capacity + " bytes");
        }
    }

    /** Writes the header of a new ring into {@code map}, which is all zero: the magic last, with release. */
    private static void writeHeader(ByteBuffer map, int capacity, int maxMessage, boolean multiProducer) {
        INTS.set(map, VERSION_AT, VERSION);
        INTS.set(map, FLAGS_AT, multiProducer ? RingLayout.MULTI_PRODUCER : 0);
        LONGS.set(map, CAPACITY_AT, (long) capacity);
        INTS.set(map, MAX_MESSAGE_AT, maxMessage);
        INTS.set(map, HEADER_SIZE_AT, HEADER_SIZE);
        LONGS.setRelease(map, MAGIC_AT, MAGIC);
    }

    private static int checkCapacity(int capacity) {
        if (capacity < RingLayout.MIN_CAPACITY || capacity > RingLayout.MAX_CAPACITY || Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("ring capacity " + capacity + " is not a power of two from "
                    + RingLayout.MIN_CAPACITY + " to " + RingLayout.MAX_CAPACITY);
        }
        return capacity;
    }

    /**
     * Opens an existing ring, checking its header against this version's layout; writes nothing.
     *
     * @throws RingFormatException if the object is not such a ring
     */
    public static Ring open(String name) throws IOException {
        return open(SharedMemory.open(name));
    }

    /** Makes a ring of {@code segment}, closing it if it is not such a ring. */
    private static Ring open(SharedMemory segment) throws IOException {
        try {
            ByteBuffer map = segment.buffer();
            Info header = header(segment, map);
            return new Ring(segment.name(), segment, map, header.capacity(), header.maxMessage(), header.multiProducer());
        } catch (IOException | RuntimeException | Error e) { // InternalError: a peer truncated the object
            segment.close();
            throw e;
        }
    }

    /**
     * A snapshot of the header of the ring in {@code segment}, checked as {@link #open(String)} checks
     * it; registers and writes nothing, so a read-only mapping ({@code SharedMemory.open(name, true)})
     * does: reading a ring needs only read access to it.
     *
     * @throws RingFormatException if the object is not such a ring
     * @throws ClosedChannelException if {@code segment} is closed
     */
    public static Info info(SharedMemory segment) throws IOException {
        if (!segment.isOpen()) { // its mapping outlives the close: it would still be read
            throw new ClosedChannelException();
        }
        return header(segment, segment.buffer());
    }

    /** Checks the header in {@code map}, a mapping of {@code segment}, and returns a snapshot of it. */
    private static Info header(SharedMemory segment, ByteBuffer map) throws RingFormatException {
        String n = segment.name();
        if (segment.size() < HEADER_SIZE) {
            throw new RingFormatException(n, "its " + segment.size() + " bytes are too few for a ring header ("
                    + HEADER_SIZE + " bytes)");
        }
        long magic = (long) LONGS.getAcquire(map, MAGIC_AT);
        if (magic != MAGIC) {
            throw new RingFormatException(n, String.format("not a ring (magic 0x%016x, expected 0x%016x)", magic, MAGIC));
        }
        int version = (int) INTS.get(map, VERSION_AT);
        int flags = (int) INTS.get(map, FLAGS_AT);
        long capacity = (long) LONGS.get(map, CAPACITY_AT);
        int maxMessage = (int) INTS.get(map, MAX_MESSAGE_AT);
        int headerSize = (int) INTS.get(map, HEADER_SIZE_AT);
        if (version != VERSION || headerSize != HEADER_SIZE) {
            throw new RingFormatException(n, "layout version " + version + " with a " + headerSize
                    + "-byte header; this is version " + VERSION + " with " + HEADER_SIZE);
        }
        if (capacity < RingLayout.MIN_CAPACITY || capacity > RingLayout.MAX_CAPACITY || Long.bitCount(capacity) != 1
                || (flags & ~RingLayout.MULTI_PRODUCER) != 0 || maxMessage < 0
                || maxMessage > RingLayout.maxMessageLimit((int) capacity)) {
            throw new RingFormatException(n, "inconsistent header (capacity " + capacity + ", max message "
                    + maxMessage + ", flags " + flags + ")");
        }
        if (segment.size() < HEADER_SIZE + capacity) {
            throw new RingFormatException(n, "its " + segment.size() + " bytes are too few for a capacity of "
                    + capacity);
        }
        return snapshot(map, (int) capacity, maxMessage, flags == RingLayout.MULTI_PRODUCER);
    }

    /** Removes the ring's name (shm_unlink); handles that are open keep working. */
    public static void unlink(String name) throws IOException {
        SharedMemory.unlink(name);
    }

    /**
     * The ring's name, with its leading slash; "memfd:LABEL" for a {@link #memfd} ring, and what the
     * descriptor was called for one {@link #map} joined.
     */
    public String name() {
        return name;
    }

    /**
     * The descriptor of the ring's segment, to place on a child's fd
     * ({@link io.ipcbridge.process.Command#fd}) or send over an AF_UNIX socket; closing it closes the
     * segment under this handle (use {@link #close()}).
     */
    @Override
    public Descriptor descriptor() {
        return segment.descriptor();
    }

    /** Bytes of the data area. */
    public int capacity() {
        return capacity;
    }

    /** The largest message accepted. */
    public int maxMessage() {
        return maxMessage;
    }

    /** Whether several producers may write at once. */
    public boolean isMultiProducer() {
        return multi;
    }

    /** Sets how this handle waits; {@link WaitStrategy#BLOCK} unless set. Returns this handle. */
    public Ring waitStrategy(WaitStrategy strategy) {
        this.strategy = Objects.requireNonNull(strategy, "strategy");
        return this;
    }

    /** A snapshot of the header (positions read with acquire loads). */
    public Info info() throws IOException {
        checkOpen();
        return snapshot(map, capacity, maxMessage, multi);
    }

    /** The header's positions and pids in {@code map} (acquire loads), with the geometry given. */
    private static Info snapshot(ByteBuffer map, int capacity, int maxMessage, boolean multi) {
        List<Integer> pids = new ArrayList<>();
        for (int i = 0; i < MAX_PRODUCERS; i++) {
            int pid = (int) INTS.getAcquire(map, PRODUCER_PIDS_AT + 4 * i);
            if (pid != 0) {
                pids.add(pid);
            }
        }
        return new Info(capacity, maxMessage, multi, (long) LONGS.getAcquire(map, PRODUCER_POSITION_AT),
                (long) LONGS.getAcquire(map, CONSUMER_POSITION_AT), (int) INTS.getAcquire(map, CONSUMER_PID_AT),
                List.copyOf(pids));
    }

    // ---- producing --------------------------------------------------------------------------------

    /**
     * Writes the message between {@code message}'s position and limit if there is room now, advancing
     * the position.
     *
     * @return false if the ring is full
     * @throws IllegalArgumentException if the message is longer than {@link #maxMessage()}
     * @throws PeerDiedException if the ring is full and its consumer died (looked at every 100 ms
     *     at most, as a wait does)
     */
    public boolean offer(ByteBuffer message) throws IOException {
        try {
            return offer(message, Duration.ZERO);
        } catch (InterruptedException e) {
            throw new AssertionError(e); // a zero timeout never waits
        }
    }

    /**
     * Writes the message, waiting up to {@code timeout} (null: no limit) for room.
     *
     * @return false if there was no room in time
     * @throws PeerDiedException if the consumer died with the ring full
     * @throws InterruptedException if the thread is interrupted while waiting
     */
    public boolean offer(ByteBuffer message, Duration timeout) throws IOException, InterruptedException {
        int length = message.remaining();
        long record = reserve(length, timeout);
        if (record == NONE) {
            return false;
        }
        try {
            map.put(payloadAt(record), message, message.position(), length);
        } catch (RuntimeException | Error e) {
            try {
                holdings.abandon(record, length); // a multi-producer ring would otherwise stop at it for good
            } catch (IOException | RuntimeException | Error also) {
                e.addSuppressed(also);
            }
            throw e;
        }
        message.position(message.limit());
        publish(record, length);
        return true;
    }

    /**
     * Claims room for a message of {@code length} bytes, waiting up to {@code timeout} (null: no
     * limit): the buffer returned (position 0, limit {@code length}) is the record's payload in shared
     * memory, written in place and published by {@link #commit()}. One claim at a time per handle;
     * {@link #close()} gives it up (the buffer must not be written after that).
     *
     * @return the payload buffer, or null if there was no room in time
     * @throws IllegalArgumentException if {@code length} is negative or above {@link #maxMessage()}
     * @throws java.nio.channels.AsynchronousCloseException if the handle was closed meanwhile (the
     *     claim is given up)
     */
    public ByteBuffer claim(int length, Duration timeout) throws IOException, InterruptedException {
        long record = reserve(length, timeout);
        if (record == NONE) {
            return null;
        }
        holdings.claimLength = length;
        holdings.claimAt = record;
        if (!isOpen()) { // close() may have looked before claimAt was set: one of us gives it up
            holdings.abandonClaim();
            throw new AsynchronousCloseException();
        }
        return map.slice(payloadAt(record), length).order(ByteOrder.nativeOrder());
    }

    /**
     * Claims room for {@code length} bytes, writing the padding before it if any; returns the record's
     * position, or {@link #NONE} if there was no room in time.
     */
    private long reserve(int length, Duration timeout) throws IOException, InterruptedException {
        checkOpen();
        if (length < 0) {
            throw new IllegalArgumentException("ring " + name + ": negative message length: " + length);
        }
        if (length > maxMessage) {
            throw new IllegalArgumentException("a message of " + length + " bytes is longer than ring " + name
                    + "'s maximum of " + maxMessage + " bytes");
        }
        if (holdings.claimAt != NONE) {
            throw new IllegalStateException("ring " + name + ": the previous claim is not committed");
        }
        long deadline = Deadline.of(timeout);
        registerProducer();
        long record = RingLayout.recordSize(length);
        for (;;) {
            long pos = multi ? (long) LONGS.getVolatile(map, PRODUCER_POSITION_AT) : (long) LONGS.get(map, PRODUCER_POSITION_AT);
            checkAligned("producer", pos);
            int offset = (int) (pos & mask);
            int tail = capacity - offset;
            long padding = record > tail ? tail : 0;
            long end = pos + padding + record;
            if (end - consumerSeen > capacity) {
                consumerSeen = (long) LONGS.getAcquire(map, CONSUMER_POSITION_AT);
                if (end - consumerSeen > capacity) {
                    if (multi) {
                        // withdraws an announcement of a claim another producer won: it would keep a
                        // consumer waiting at that claim, were its winner to die, while this one waits
                        // for room (see Claims in the C header)
                        LONGS.setRelease(map, CLAIM_END_AT + 8 * holdings.producerSlot, 0L);
                    }
                    if (!await(() -> end - (long) LONGS.getAcquire(map, CONSUMER_POSITION_AT) <= capacity,
                            SPACE_FUTEX_AT, SPACE_WAITERS_AT, deadline, false)) {
                        return NONE;
                    }
                    continue;
                }
            }
            if (multi) {
                holdings.checkMapped();
                // the announcement (see Claims in the C header), ordered before the claim by its release
                LONGS.setRelease(map, CLAIM_AT_AT + 8 * holdings.producerSlot, pos);
                LONGS.setRelease(map, CLAIM_END_AT + 8 * holdings.producerSlot, end);
                if (!LONGS.compareAndSet(map, PRODUCER_POSITION_AT, pos, end)) {
                    continue;
                }
            }
            if (padding > 0) {
                int at = HEADER_SIZE + offset;
                INTS.set(map, at + LENGTH_AT, tail - RECORD_HEADER);
                INTS.setRelease(map, at + TYPE_AT, PADDING);
            }
            return pos + padding;
        }
    }

    private int payloadAt(long record) {
        return HEADER_SIZE + (int) (record & mask) + RECORD_HEADER;
    }

    /**
     * Publishes the claimed message.
     *
     * @throws ClosedChannelException if the handle is closed (the claim was given up)
     * @throws IllegalStateException if nothing is claimed
     */
    public void commit() throws IOException {
        long record = (long) CLAIM_AT.getAndSet(holdings, NONE);
        if (record == NONE) {
            checkOpen();
            throw new IllegalStateException("ring " + name + ": nothing claimed");
        }
        if (!isOpen()) { // closed while the claim was written, after close() looked
            holdings.abandon(record, holdings.claimLength);
            throw new ClosedChannelException();
        }
        publish(record, holdings.claimLength);
    }

    /** Commits the record at {@code record} as a message of {@code length} bytes. */
    private void publish(long record, int length) throws IOException {
        int at = HEADER_SIZE + (int) (record & mask);
        INTS.set(map, at + LENGTH_AT, length);
        INTS.setRelease(map, at + TYPE_AT, MESSAGE);
        if (!multi) {
            LONGS.setRelease(map, PRODUCER_POSITION_AT, record + RingLayout.recordSize(length));
        }
        wake(DATA_FUTEX_AT, DATA_WAITERS_AT);
    }

    private void registerProducer() throws IOException {
        if (holdings.producerSlot >= 0) {
            return;
        }
        int slots = multi ? MAX_PRODUCERS : 1;
        synchronized (HELD) {
            for (int i = 0; i < slots; i++) {
                int at = PRODUCER_PIDS_AT + 4 * i;
                int pid = (int) INTS.getVolatile(map, at);
                if (free(pid, "producer " + i) && !claimPending(i, pid) && compareAndSetInt(at, pid, PID)) {
                    holdings.producerSlot = i;
                    hold(identity(), "producer " + i, true);
                    consumerSeen = (long) LONGS.getAcquire(map, CONSUMER_POSITION_AT);
                    wake(DATA_FUTEX_AT, DATA_WAITERS_AT); // a sleeping consumer starts watching this pid
                    return;
                }
            }
        }
        throw new IOException("ring " + name + " already has " + (multi ? "its " + slots + " producers" : "a producer")
                + " (pid " + (int) INTS.getVolatile(map, PRODUCER_PIDS_AT) + (multi ? ", ..." : "") + ")"
                + (multi ? ", or dead ones whose last claim is not consumed yet" : ""));
    }

    /**
     * Whether the dead producer {@code pid} of slot {@code slot} may still hold a claim the consumer
     * has not passed: its slot is kept, as the consumer needs its announcement to skip the claim.
     */
    private boolean claimPending(int slot, int pid) {
        if (pid == 0) {
            return false;
        }
        long end = (long) LONGS.getAcquire(map, CLAIM_END_AT + 8 * slot);
        return end != 0 && end - (long) LONGS.getAcquire(map, CONSUMER_POSITION_AT) > 0;
    }

    /**
     * Whether a pid word holding {@code pid} may be taken: nobody's, a process gone, or this process's
     * pid that no handle here holds as {@code role} (stale: see {@link #HELD}). Under HELD's lock.
     */
    private boolean free(int pid, String role) throws IOException {
        if (pid == 0) {
            return true;
        }
        if (pid == PID) {
            Set<String> held = HELD.get(identity());
            return held == null || !held.contains(role);
        }
        return !Syscalls.processRuns(pid);
    }

    /** Under HELD's lock: records (or drops) a handle's registration as {@code role} in object {@code key}. */
    private static void hold(String key, String role, boolean held) {
        Set<String> roles = HELD.computeIfAbsent(key, k -> new HashSet<>());
        if (held) {
            roles.add(role);
        } else {
            roles.remove(role);
            if (roles.isEmpty()) {
                HELD.remove(key);
            }
        }
    }

    /** The object's "dev:ino" (fstat of its descriptor): the key of {@link #HELD}, the same for every handle of it. */
    String identity() throws IOException {
        if (holdings.identity == null) {
            FileInfo file = segment.descriptor().withFd(fd -> Syscalls.fstat(fd, name));
            holdings.identity = file.device() + ":" + file.inode();
        }
        return holdings.identity;
    }

    // ---- consuming --------------------------------------------------------------------------------

    /**
     * Hands every message there is now to {@code handler}, without waiting; a message handed over is
     * consumed even if the handler throws (see {@link Handler}).
     *
     * @return how many messages were handled; a close (by the handler, or another thread) ends the
     *     poll after the message being handled, the rest staying in the ring
     * @throws NullPointerException if {@code handler} is null (nothing is taken)
     * @throws PeerDiedException if the producer died with nothing left to read (looked at every
     *     100 ms at most; a record a dead producer of a multi-producer ring claimed is skipped)
     */
    public int poll(Handler handler) throws IOException {
        Objects.requireNonNull(handler, "handler");
        checkOpen();
        registerConsumer();
        return pollRegistered(handler);
    }

    private int pollRegistered(Handler handler) throws IOException {
        int n = drain(handler);
        if (n == 0) {
            checkPeerWhenDue(true);
            n = drain(handler);
        }
        return n;
    }

    private int drain(Handler handler) throws IOException {
        int n = 0;
        while (next(handler)) {
            n++;
            if (!isOpen()) {
                return n; // what was handed over counts; a closed handle takes no more
            }
        }
        return n;
    }

    /**
     * Waits up to {@code timeout} (null: no limit) for a message, then hands every message there is
     * to {@code handler}; a message handed over is consumed even if the handler throws (see
     * {@link Handler}).
     *
     * @return how many were handled; 0 if none came in time
     * @throws NullPointerException if {@code handler} is null (nothing is taken)
     * @throws PeerDiedException if the producer died with nothing left to read
     * @throws InterruptedException if the thread is interrupted while waiting
     */
    public int poll(Handler handler, Duration timeout) throws IOException, InterruptedException {
        Objects.requireNonNull(handler, "handler");
        long deadline = Deadline.of(timeout);
        int n = poll(handler);
        while (n == 0 && await(this::readable, DATA_FUTEX_AT, DATA_WAITERS_AT, deadline, true)) {
            n = pollRegistered(handler);
        }
        return n;
    }

    /**
     * Takes the next message, waiting up to {@code timeout} (null: no limit).
     *
     * @return a copy of its bytes, or null if none came in time
     * @throws PeerDiedException if the producer died with nothing left to read
     * @throws InterruptedException if the thread is interrupted while waiting
     */
    public byte[] poll(Duration timeout) throws IOException, InterruptedException {
        byte[][] got = new byte[1][];
        return take(m -> {
            got[0] = new byte[m.remaining()];
            m.get(got[0]);
        }, timeout) ? got[0] : null;
    }

    /**
     * Takes the next message into {@code dst} from its position, waiting up to {@code timeout}
     * (null: no limit); nothing is allocated.
     *
     * @return the message's length, or -1 if none came in time
     * @throws IllegalArgumentException if {@code dst} is read-only or has room for less than
     *     {@link #maxMessage()} (nothing is taken)
     * @throws PeerDiedException if the producer died with nothing left to read
     * @throws InterruptedException if the thread is interrupted while waiting
     */
    public int poll(ByteBuffer dst, Duration timeout) throws IOException, InterruptedException {
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("read-only buffer");
        }
        if (dst.remaining() < maxMessage) {
            throw new IllegalArgumentException("a buffer of " + dst.remaining() + " bytes cannot take every message of"
                    + " ring " + name + " (up to " + maxMessage + " bytes)");
        }
        int start = dst.position();
        return take(dst::put, timeout) ? dst.position() - start : -1;
    }

    /** Hands the next message to {@code handler}, waiting until the deadline of {@code timeout}. */
    private boolean take(Handler handler, Duration timeout) throws IOException, InterruptedException {
        checkOpen();
        long deadline = Deadline.of(timeout);
        registerConsumer();
        for (;;) {
            if (next(handler)) {
                return true;
            }
            if (!await(this::readable, DATA_FUTEX_AT, DATA_WAITERS_AT, deadline, true)) {
                return false;
            }
        }
    }

    private void registerConsumer() throws IOException {
        if (holdings.consumerRegistered) {
            return;
        }
        long position;
        synchronized (HELD) {
            int pid = (int) INTS.getVolatile(map, CONSUMER_PID_AT);
            if (!free(pid, "consumer")) {
                throw new IOException("ring " + name + " already has a consumer (pid " + pid + ")");
            }
            if (!compareAndSetInt(CONSUMER_PID_AT, pid, PID)) {
                throw new IOException("ring " + name + " already has a consumer (pid "
                        + (int) INTS.getVolatile(map, CONSUMER_PID_AT) + ")");
            }
            position = (long) LONGS.getAcquire(map, CONSUMER_POSITION_AT);
            try {
                checkAligned("consumer", position);
            } catch (RingFormatException e) {
                compareAndSetInt(CONSUMER_PID_AT, PID, 0);
                throw e;
            }
            hold(identity(), "consumer", true);
            holdings.consumerRegistered = true;
        }
        head = position;
        producerSeen = head;
        wake(SPACE_FUTEX_AT, SPACE_WAITERS_AT); // sleeping producers start watching this pid
    }

    /**
     * Refuses a position read from the header that is not a multiple of 8 (SEC-13): records are 8-byte
     * aligned, and one at such a position would be read or written misaligned or across the end of the
     * mapping. The C side refuses it too (EPROTO).
     */
    private void checkAligned(String which, long position) throws RingFormatException {
        if ((position & (RingLayout.ALIGNMENT - 1)) != 0) {
            throw new RingFormatException(name, which + " position " + Long.toUnsignedString(position)
                    + " is not a multiple of 8");
        }
    }

    /** Whether a committed record (or padding) waits at the head. */
    private boolean readable() {
        if (multi) {
            return (int) INTS.getAcquire(map, HEADER_SIZE + (int) (head & mask) + TYPE_AT) != 0;
        }
        return (long) LONGS.getAcquire(map, PRODUCER_POSITION_AT) != head;
    }

    /**
     * Delivers the record at the head, skipping padding and abandoned records; false if there is none.
     * Releases what it consumed before it returns or throws, record by record rather than once per
     * poll: a consumer killed in a handler must leave the messages handled before gone (a
     * multi-producer ring zeroed them already: kept unreleased, they stopped the next consumer for
     * ever) and the ones after it in place.
     */
    private boolean next(Handler handler) throws IOException {
        if (handing) { // the head still is at the message handed over: it would come again
            throw new IllegalStateException("ring " + name + ": a poll from inside the handler of a poll");
        }
        waits.checkWaiting(); // closed since the call began: AsynchronousCloseException
        long start = head;
        try {
            return nextRecord(handler);
        } finally {
            if (head != start) {
                release();
            }
        }
    }

    private boolean nextRecord(Handler handler) throws IOException {
        for (;;) {
            int offset = (int) (head & mask);
            int at = HEADER_SIZE + offset;
            int type;
            if (multi) {
                type = (int) INTS.getAcquire(map, at + TYPE_AT);
                if (type == 0) {
                    return false;
                }
            } else {
                if (head == producerSeen) {
                    producerSeen = (long) LONGS.getAcquire(map, PRODUCER_POSITION_AT);
                    if (head == producerSeen) {
                        return false;
                    }
                    if (Long.compareUnsigned(producerSeen - head, capacity) > 0) { // unsigned: behind is far ahead
                        throw new RingFormatException(name, "producer position " + producerSeen
                                + " is not within a capacity of consumer position " + head);
                    }
                }
                type = (int) INTS.get(map, at + TYPE_AT);
            }
            int length = (int) INTS.get(map, at + LENGTH_AT);
            int tail = capacity - offset;
            if (type == PADDING) {
                if (length != tail - RECORD_HEADER) {
                    throw new RingFormatException(name, "padding of " + length + " bytes at offset " + offset
                            + " does not reach the end of the ring");
                }
                checkPublished(offset, tail);
                if (multi) {
                    LONGS.set(map, at, 0L);
                }
                head += tail;
                continue;
            }
            if ((type != MESSAGE && type != ABANDONED) || length < 0 || length > maxMessage
                    || RingLayout.recordSize(length) > tail) {
                throw new RingFormatException(name, "corrupt record at offset " + offset + " (type " + type
                        + ", length " + length + ")");
            }
            checkPublished(offset, RingLayout.recordSize(length));
            if (type == ABANDONED) {
                if (multi) {
                    clear(at, (int) RingLayout.recordSize(length)); // its producer may have written some of it
                }
                head += RingLayout.recordSize(length);
                continue;
            }
            int payload = at + RECORD_HEADER;
            view.limit(payload + length).position(payload);
            try {
                handing = true;
                handler.onMessage(view);
            } finally {
                handing = false;
                view.clear();
                long size = RingLayout.recordSize(length);
                if (multi) {
                    // abandoned before it is zeroed: a consumer killed while zeroing it leaves a record the
                    // next one skips, not a message torn by the zeroes (as in the C header)
                    INTS.set(map, at + TYPE_AT, ABANDONED);
                    VarHandle.storeStoreFence();
                    clear(at, (int) size);
                }
                head += size;
            }
            return true;
        }
    }

    /**
     * A single producer's record, padding included, must end within what it published: read further,
     * the consumer would take the previous lap's records for new ones (SEC-13).
     */
    private void checkPublished(int offset, long size) throws RingFormatException {
        if (!multi && head + size - producerSeen > 0) {
            throw new RingFormatException(name, "record at offset " + offset + " (" + size + " bytes) reaches past "
                    + "the producer position " + producerSeen);
        }
    }

    private void clear(int at, int size) {
        for (int i = RECORD_HEADER; i < size; i += 8) {
            LONGS.set(map, at + i, 0L);
        }
        LONGS.set(map, at, 0L); // the header last, though the consumer position is what publishes
    }

    private void release() throws IOException {
        LONGS.setRelease(map, CONSUMER_POSITION_AT, head);
        wake(SPACE_FUTEX_AT, SPACE_WAITERS_AT);
    }

    // ---- waiting ----------------------------------------------------------------------------------

    /**
     * The waker's half of the header's event count: after the store that publishes. The mapping is
     * kept reachable through the futex call, which only has its address.
     */
    private void wake(int futex, int waitersAt) throws IOException {
        VarHandle.fullFence();
        try {
            if ((int) INTS.getVolatile(map, waitersAt) != 0) {
                getAndAddInt(futex, 1);
                Syscalls.futexWake(address + futex, name);
            }
        } finally {
            Reference.reachabilityFence(map);
        }
    }

    // ---- updates of mapped words ------------------------------------------------------------------

    /** Whether the header's magic reads back: false once a peer truncated the object (see the class comment). */
    static boolean mapped(ByteBuffer map) {
        return (long) LONGS.getVolatile(map, MAGIC_AT) == MAGIC;
    }

    private boolean compareAndSetInt(int at, int expected, int value) throws IOException {
        holdings.checkMapped();
        return INTS.compareAndSet(map, at, expected, value);
    }

    private void getAndAddInt(int at, int delta) throws IOException {
        holdings.checkMapped();
        INTS.getAndAdd(map, at, delta);
    }

    /**
     * Waits until {@code ready}, the deadline, an interrupt, a close or the death of the other side.
     *
     * @return false at the deadline
     */
    private boolean await(BooleanSupplier ready, int futex, int waitersAt, long deadline, boolean consumer)
            throws IOException, InterruptedException {
        if (ready.getAsBoolean()) {
            return true;
        }
        if (deadline != Deadline.NEVER && Deadline.passed(deadline)) { // a call that does not wait: no interrupt
            checkPeerWhenDue(consumer);
            return ready.getAsBoolean();
        }
        if (Thread.interrupted()) {
            throw new InterruptedException("interrupted before waiting on ring " + name);
        }
        WaitStrategy how = strategy;
        for (int spins = 0;; spins++) {
            if (ready.getAsBoolean()) {
                return true;
            }
            if (how == WaitStrategy.BLOCK) {
                if (spins == 0) {
                    Thread.yield();
                    continue;
                }
                if (spins > BLOCK_SPINS) {
                    return sleep(ready, futex, waitersAt, deadline, consumer);
                }
            }
            if (how == WaitStrategy.SPIN_THEN_YIELD && spins >= SPINS) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
            if ((spins & 63) == 63) {
                Thread.yield(); // a spinner sharing its CPU with the other side lets it run, as the C side does
            }
            if ((spins & 255) == 255) {
                waits.checkWaiting();
                if (Thread.interrupted()) {
                    throw new InterruptedException("interrupted while waiting on ring " + name);
                }
                checkPeerWhenDue(consumer);
                if (deadline != Deadline.NEVER && Deadline.passed(deadline)) {
                    return ready.getAsBoolean();
                }
            }
        }
    }

    /**
     * The futex half of {@link WaitStrategy#BLOCK}: sleeps without a timeout (or until the deadline)
     * while the side's {@link PeerWatch} watches the peers, which wakes it if one dies.
     */
    private boolean sleep(BooleanSupplier ready, int futex, int waitersAt, long deadline, boolean consumer)
            throws IOException, InterruptedException {
        PeerWatch watch = consumer ? holdings.dataWatch : holdings.spaceWatch;
        int[] peers = consumer ? producerPids : consumerPids;
        try {
            for (;;) {
                int deaths = watch.deaths();
                if (watch.follow(peers, peers(consumer, peers)) || !watch.available() || leftOverBySamePid(consumer)) {
                    checkPeer(consumer);
                } else if (consumer) {
                    suspect = false; // no producer is dead
                }
                // a claim a dead producer may hold is looked at again every CHECK_NANOS (see checkPeer)
                long cap = watch.available() && !(consumer && suspect) ? Long.MAX_VALUE : CHECK_NANOS;
                Optional<Boolean> woken = waits.await(Deadline.NEVER, () -> {
                    int seq = (int) INTS.getVolatile(map, futex);
                    getAndAddInt(waitersAt, 1);
                    try {
                        if (ready.getAsBoolean()) {
                            return true;
                        }
                        if (watch.deaths() != deaths) {
                            return false;
                        }
                        long left = deadline == Deadline.NEVER ? cap : Math.max(0, deadline - System.nanoTime());
                        int r = Syscalls.futexWait(address + futex, seq, left == Long.MAX_VALUE ? -1 : Math.min(left, cap),
                                name);
                        return r == Syscalls.INTERRUPTED ? null : ready.getAsBoolean();
                    } finally {
                        getAndAddInt(waitersAt, -1);
                    }
                }, "ring " + name);
                if (woken.orElse(false)) {
                    return true;
                }
                if (deadline != Deadline.NEVER && Deadline.passed(deadline)) {
                    return ready.getAsBoolean();
                }
            }
        } finally {
            Reference.reachabilityFence(map);
        }
    }

    /** Puts the registered pids of the other side, but this process's, in {@code into}; returns how many. */
    private int peers(boolean consumer, int[] into) {
        int n = 0;
        int slots = consumer ? (multi ? MAX_PRODUCERS : 1) : 1;
        for (int i = 0; i < slots; i++) {
            int pid = (int) INTS.getVolatile(map, consumer ? PRODUCER_PIDS_AT + 4 * i : CONSUMER_PID_AT);
            if (pid != 0 && pid != PID) {
                into[n++] = pid;
            }
        }
        return n;
    }

    /** Throws {@link PeerDiedException} if the side this one waits for died. */
    private void checkPeer(boolean consumer) throws IOException {
        if (!consumer) {
            int pid = (int) INTS.getVolatile(map, CONSUMER_PID_AT);
            if (pid != 0 && gone(CONSUMER_PID_AT, "consumer", pid)) {
                throw new PeerDiedException(name, "consumer", pid);
            }
            return;
        }
        int registered = 0;
        int dead = 0;
        int deadPid = 0;
        for (int i = 0; i < (multi ? MAX_PRODUCERS : 1); i++) {
            int pid = (int) INTS.getVolatile(map, PRODUCER_PIDS_AT + 4 * i);
            if (pid != 0) {
                registered++; // a producer handle of this process counts too: it lives, and may still write
                if (gone(PRODUCER_PIDS_AT + 4 * i, "producer " + i, pid)) {
                    dead++;
                    deadPid = pid;
                }
            }
        }
        suspect = false;
        if (dead == 0) {
            return;
        }
        if (multi) {
            // records a dead producer claimed and never committed are skipped, one after the other; a
            // claim a live one holds is waited for, and looked at again every CHECK_NANOS
            long published = (long) LONGS.getAcquire(map, PRODUCER_POSITION_AT);
            while (head != published && !readable()) {
                int pid = skipDeadClaim(published);
                if (pid > 0) {
                    suspect = true; // dead claimers disagree: reported at every look
                    throw new PeerDiedException(name, "producer", pid);
                }
                if (pid == 0) {
                    suspect = true;
                    break;
                }
            }
            if (dead < registered) {
                return; // live producers to wait for
            }
        }
        if (!readable()) { // what it published before it died is read first
            throw new PeerDiedException(name, "producer", deadPid);
        }
    }

    /**
     * {@link #checkPeer} when {@link #CHECK_NANOS} have passed since this side's last look, for the
     * waits and polls that end before the spin loop would look (C keeps the same time in its handle).
     */
    private void checkPeerWhenDue(boolean consumer) throws IOException {
        long now = System.nanoTime();
        if (now - (consumer ? consumerCheckDue : producerCheckDue) >= 0) {
            if (consumer) {
                consumerCheckDue = now + CHECK_NANOS;
            } else {
                producerCheckDue = now + CHECK_NANOS;
            }
            checkPeer(consumer);
        }
    }

    /**
     * Whether the peer registered as {@code pid} in {@code role} ("consumer", "producer N", the pid
     * word at {@code wordAt}) has ended: a process gone, or this process's pid that no handle here
     * holds (left by an earlier process with the same pid).
     */
    private boolean gone(int wordAt, String role, int pid) throws IOException {
        if (pid != PID) {
            return !Syscalls.processRuns(pid);
        }
        synchronized (HELD) {
            // read again under the lock: a handle of this process closing meanwhile clears the word and
            // drops its role together, and its offer may still commit
            return (int) INTS.getVolatile(map, wordAt) == pid && free(pid, role);
        }
    }

    /**
     * Whether a registration of the other side holds this process's pid without a handle here holding
     * it: left by an earlier process with the same pid, which the watcher, watching other processes
     * only, never reports.
     */
    private boolean leftOverBySamePid(boolean consumer) throws IOException {
        int slots = consumer ? (multi ? MAX_PRODUCERS : 1) : 1;
        for (int i = 0; i < slots; i++) {
            int pid = (int) INTS.getVolatile(map, consumer ? PRODUCER_PIDS_AT + 4 * i : CONSUMER_PID_AT);
            if (pid == PID && gone(consumer ? PRODUCER_PIDS_AT + 4 * i : CONSUMER_PID_AT,
                    consumer ? "producer " + i : "consumer", pid)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The consumer of a multi-producer ring at a record not committed: finds who claimed it from the
     * producers' announcements (see Claims in the C header). If every claimer is dead and they agree,
     * the claim will never be committed: it is zeroed and released, and this returns -1. 0: a claimer
     * lives (or none is known), wait. A pid: dead claimers disagree, and this is one of them.
     */
    private int skipDeadClaim(long published) throws IOException {
        long at = NONE;
        long end = 0;
        for (int i = 0; i < MAX_PRODUCERS; i++) {
            int pid = (int) INTS.getVolatile(map, PRODUCER_PIDS_AT + 4 * i);
            long e = (long) LONGS.getAcquire(map, CLAIM_END_AT + 8 * i);
            long a = (long) LONGS.getAcquire(map, CLAIM_AT_AT + 8 * i);
            if (!claimStartsHead(a, e, published)) {
                continue;
            }
            if (pid == 0 || !gone(PRODUCER_PIDS_AT + 4 * i, "producer " + i, pid)) {
                return 0; // a live claimer; or a handle closed while its offer still commits
            }
            if (at != NONE && (a != at || e != end)) {
                return pid;
            }
            at = a;
            end = e;
        }
        // a live claimer that committed meanwhile and announced its next claim is not among them: its
        // announcements come after its commit, which the acquire loads above make visible now
        if (at == NONE || readable()) {
            return 0;
        }
        int room = capacity - (int) (at & mask);
        if (at == head && end - at > room) { // its padding was never committed
            clear(HEADER_SIZE + (int) (at & mask), room);
            clear(HEADER_SIZE, (int) (end - at - room));
        } else {
            clear(HEADER_SIZE + (int) (head & mask), (int) (end - head));
        }
        head = end;
        release();
        return -1;
    }

    /**
     * Whether the claim announced as [at, end) starts at the head: at the head itself, or before the
     * padding that ends at the start of the data area where the head is; and whether the ring could
     * hold it (aligned, no larger than a record of the maximum after its padding, within the producer
     * position): the announcement is untrusted, and the consumer zeroes what it covers.
     */
    private boolean claimStartsHead(long at, long end, long published) {
        int room = capacity - (int) (at & mask);
        if (((at | end) & (RingLayout.ALIGNMENT - 1)) != 0 || end - head <= 0 || published - end < 0) {
            return false;
        }
        if (at != head && !((head & mask) == 0 && head - at == room)) {
            return false;
        }
        return (end - at > room ? end - at - room : end - at) <= RingLayout.recordSize(maxMessage);
    }

    private void checkOpen() throws ClosedChannelException {
        waits.check();
    }

    /** Whether {@link #close()} has not been called. */
    public boolean isOpen() {
        return waits.isOpen();
    }

    /**
     * Makes {@link #close()} remove the ring's name too, as {@link SharedMemory#unlinkOnClose()} does
     * for a segment (SEC-14): once, and only while the name still names this ring. A handle dropped
     * without a close does it when the garbage collector releases it.
     *
     * @return this handle
     * @throws ClosedChannelException if this handle is closed
     * @throws IllegalStateException for a {@link #memfd} ring or one {@link #map} joined, which has no name
     */
    public Ring unlinkOnClose() throws ClosedChannelException {
        checkOpen();
        segment.unlinkOnClose();
        return this;
    }

    /**
     * Gives up a claim not committed (see the class comment), deregisters this handle's pids, ends the
     * waits of other threads on it and closes the segment's descriptor; the first call does it, later
     * ones do nothing.
     */
    @Override
    public void close() throws IOException {
        if (!waits.close()) {
            return;
        }
        try {
            cleanable.clean(); // Holdings.run, here once: the Cleaner then never runs it
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    @Override
    public String toString() {
        return "Ring[" + name + ", " + capacity + " bytes" + (multi ? ", multi-producer" : "") + (isOpen() ? "" : ", closed") + "]";
    }
}
