package io.ipcbridge.cli;

import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;

/**
 * The bounded buffer ("BB") of native-tests/include/ipcb_bounded.h, the one definition of its layout,
 * which this class mirrors byte for byte (native byte order, little-endian on x86-64), with the
 * unnamed process-shared semaphores in the header:
 * <pre>
 *   +--------+--------+-------------+----------+
 *   | magic  | slots  | record_size | reserved |   0 .. 15
 *   +--------+--------+-------------+----------+
 *   | sem_t empty                 (32 bytes)   |  16 .. 47
 *   | sem_t full                  (32 bytes)   |  48 .. 79
 *   | sem_t mutex                 (32 bytes)   |  80 .. 111
 *   +---------------------+--------------------+
 *   | uint64 head         | uint64 tail        | 112 .. 127
 *   +---------------------+--------------------+
 *   | record 0 | record 1 | ... | record slots-1 | 128 ..
 *   +------------------------------------------+
 * </pre>
 * Record n: n as 8 little-endian bytes, then {@code record_size - 8} bytes of {@code n & 0xff}.
 * Producer: wait(empty); wait(mutex); write the record at head; head++; post(mutex); post(full).
 * Consumer: the mirror image, from tail. One producer, one consumer. The semaphores are the
 * {@code sem_t} fields of the segment, or, in named mode, the named semaphores
 * {@code NAME-empty}, {@code NAME-full} and {@code NAME-mutex}. Used by the demo and the tests.
 */
public final class BoundedBuffer implements AutoCloseable {
    public static final int MAGIC = 0x42424349; // 'I','C','B','B' in memory
    public static final int OFF_MAGIC = 0;
    public static final int OFF_SLOTS = 4;
    public static final int OFF_RECORD_SIZE = 8;
    public static final int OFF_RESERVED = 12;
    public static final int OFF_EMPTY = 16;
    public static final int OFF_FULL = 48;
    public static final int OFF_MUTEX = 80;
    public static final int OFF_HEAD = 112;
    public static final int OFF_TAIL = 120;
    public static final int OFF_DATA = 128;
    static final int SEQ_SIZE = 8;
    private static final String[] SUFFIXES = {"-empty", "-full", "-mutex"};
    private static final int[] OFFSETS = {OFF_EMPTY, OFF_FULL, OFF_MUTEX};

    private final SharedMemory segment;
    private final ByteBuffer view;
    private final int slots;
    private final int recordSize;
    private final Semaphore empty;
    private final Semaphore full;
    private final Semaphore mutex;
    private final byte[] filler;

    private BoundedBuffer(SharedMemory segment, int slots, int recordSize, Semaphore[] sems) {
        this.segment = segment;
        this.view = segment.buffer();
        this.slots = slots;
        this.recordSize = recordSize;
        this.filler = new byte[recordSize - SEQ_SIZE];
        empty = sems[0];
        full = sems[1];
        mutex = sems[2];
    }

    /**
     * Creates the named semaphores {@code NAME-empty}, {@code NAME-full} and {@code NAME-mutex}
     * (exclusively) with {@code values}; if one fails, those made so far are closed and removed.
     */
    private static Semaphore[] createNamed(String name, int[] values) throws IOException {
        Semaphore[] sems = new Semaphore[3];
        try {
            for (int i = 0; i < sems.length; i++) {
                sems[i] = Semaphore.createExclusively(name + SUFFIXES[i], values[i]);
            }
            return sems;
        } catch (IOException | RuntimeException e) {
            closeAll(e, name, sems);
            throw e;
        }
    }

    /** After {@code failure}: closes {@code sems} and, when {@code name} is given, removes them. */
    private static void closeAll(Exception failure, String name, Semaphore[] sems) {
        for (int i = 0; i < sems.length && sems[i] != null; i++) {
            if (name != null) {
                String n = name + SUFFIXES[i];
                Undo.after(failure, () -> Semaphore.unlink(n));
            }
            Undo.after(failure, sems[i]::close);
        }
    }

    /** IPCB_BB_SIZE: the segment size for {@code slots} records of {@code recordSize} bytes. */
    static long size(int slots, int recordSize) {
        return OFF_DATA + (long) slots * recordSize;
    }

    /**
     * Creates segment {@code name} (exclusively, mode 0600) as an empty buffer: its header and, in
     * unnamed mode, its semaphores are written before it has its name, and the named semaphores are
     * made before it, so a peer that opens the name finds a whole buffer. The caller unlinks it. A
     * create that fails leaves nothing it made behind (segment, named semaphores) and touches no
     * object in its way.
     */
    public static BoundedBuffer create(String name, int slots, int recordSize, boolean namedSemaphores)
            throws IOException {
        if (slots < 1 || recordSize < SEQ_SIZE) {
            throw new IllegalArgumentException("a bounded buffer needs slots >= 1 and records >= 8 bytes");
        }
        int[] values = {slots, 0, 1}; // empty, full, mutex
        // sem_init(3)'s images of the unnamed semaphores, written into the segment before its link
        byte[][] images = {Syscalls.semImage(values[0]), Syscalls.semImage(values[1]), Syscalls.semImage(values[2])};
        Semaphore[] named = namedSemaphores ? createNamed(name, values) : null;
        SharedMemory segment;
        try {
            segment = SharedMemory.createExclusively(name, size(slots, recordSize), SharedMemory.DEFAULT_MODE, map -> {
                map.putInt(OFF_SLOTS, slots).putInt(OFF_RECORD_SIZE, recordSize);
                if (!namedSemaphores) {
                    map.put(OFF_EMPTY, images[0]).put(OFF_FULL, images[1]).put(OFF_MUTEX, images[2]);
                }
                map.putInt(OFF_MAGIC, MAGIC);
            });
        } catch (IOException | RuntimeException e) {
            if (named != null) {
                closeAll(e, name, named);
            }
            throw e;
        }
        Semaphore[] sems = named;
        try {
            if (sems == null) {
                sems = new Semaphore[3];
                for (int i = 0; i < sems.length; i++) {
                    sems[i] = Semaphore.attach(segment, OFFSETS[i]);
                }
            }
            return new BoundedBuffer(segment, slots, recordSize, sems);
        } catch (IOException | RuntimeException e) {
            // the segment is ours (created exclusively): a failed create leaves nothing behind
            closeAll(e, namedSemaphores ? name : null, sems);
            Undo.after(e, () -> SharedMemory.unlink(name));
            Undo.after(e, segment::close);
            throw e;
        }
    }

    /** Removes segment {@code name} and the named semaphores of named mode, where they exist. */
    public static void unlink(String name) {
        for (String suffix : SUFFIXES) {
            try {
                Semaphore.unlink(name + suffix);
            } catch (IOException absent) {
                // unnamed mode, or removed already
            }
        }
        try {
            SharedMemory.unlink(name);
        } catch (IOException absent) {
            // removed already
        }
    }

    /** The size of a record. */
    public int recordSize() {
        return recordSize;
    }

    /**
     * Produces record {@code n} (the n-th since creation).
     *
     * @return false if no slot came free within {@code wait} (the consumer is stuck or gone)
     */
    public boolean produce(long n, Duration wait) throws IOException, InterruptedException {
        if (!empty.tryAcquire(wait)) {
            return false;
        }
        if (!mutex.tryAcquire(wait)) {
            empty.release();
            return false;
        }
        try {
            long head = segment.getLong(OFF_HEAD);
            int at = recordOffset(head);
            view.duplicate().order(ByteOrder.LITTLE_ENDIAN).putLong(at, n);
            Arrays.fill(filler, (byte) n);
            view.put(at + SEQ_SIZE, filler);
            segment.setLong(OFF_HEAD, head + 1);
        } finally {
            mutex.release();
        }
        full.release();
        return true;
    }

    /**
     * A record {@link #consume} took.
     *
     * @param wrong what was wrong with it, or null when it was the one expected
     */
    public record Taken(String wrong) {
        /** Whether the record was the one expected. */
        public boolean ok() {
            return wrong == null;
        }
    }

    /**
     * Consumes the next record and checks that it is record {@code n}.
     *
     * @return empty if no record came within {@code wait} (or the mutex stayed taken)
     */
    public Optional<Taken> consume(long n, Duration wait) throws IOException, InterruptedException {
        if (!full.tryAcquire(wait)) {
            return Optional.empty();
        }
        if (!mutex.tryAcquire(wait)) {
            full.release();
            return Optional.empty();
        }
        String wrong;
        try {
            long tail = segment.getLong(OFF_TAIL);
            int at = recordOffset(tail);
            wrong = check(at, n);
            segment.setLong(OFF_TAIL, tail + 1);
        } finally {
            mutex.release();
        }
        empty.release();
        return Optional.of(new Taken(wrong));
    }

    private String check(int at, long n) {
        long seq = view.duplicate().order(ByteOrder.LITTLE_ENDIAN).getLong(at);
        if (seq != n) {
            return "expected record " + n + ", got record " + seq;
        }
        Arrays.fill(filler, (byte) n);
        int bad = view.slice(at + SEQ_SIZE, filler.length).mismatch(ByteBuffer.wrap(filler));
        return bad < 0 ? null : String.format("record %d: byte %d is 0x%02x, expected 0x%02x", n, SEQ_SIZE + bad,
                view.get(at + SEQ_SIZE + bad) & 0xff, n & 0xff);
    }

    private int recordOffset(long i) {
        return Math.toIntExact(OFF_DATA + Math.floorMod(i, (long) slots) * recordSize);
    }

    /** Closes the semaphores and the segment; the segment's name stays until unlinked. */
    @Override
    public void close() throws IOException {
        try {
            mutex.close();
            full.close();
            empty.close();
        } finally {
            segment.close();
        }
    }
}
