package io.ipcbridge.cli;

import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;

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
 * Consumer: the mirror image, from tail. One producer, one consumer.
 */
final class BoundedBuffer implements AutoCloseable {
    static final int MAGIC = 0x42424349; // 'I','C','B','B' in memory
    static final int OFF_MAGIC = 0;
    static final int OFF_SLOTS = 4;
    static final int OFF_RECORD_SIZE = 8;
    static final int OFF_RESERVED = 12;
    static final int OFF_EMPTY = 16;
    static final int OFF_FULL = 48;
    static final int OFF_MUTEX = 80;
    static final int OFF_HEAD = 112;
    static final int OFF_TAIL = 120;
    static final int OFF_DATA = 128;
    static final int SEQ_SIZE = 8;

    private final SharedMemory segment;
    private final ByteBuffer view;
    private final int slots;
    private final int recordSize;
    private final Semaphore empty;
    private final Semaphore full;
    private final Semaphore mutex;
    private final byte[] filler;

    private BoundedBuffer(SharedMemory segment, int slots, int recordSize) throws IOException {
        this.segment = segment;
        this.view = segment.buffer();
        this.slots = slots;
        this.recordSize = recordSize;
        this.filler = new byte[recordSize - SEQ_SIZE];
        empty = Semaphore.initialize(segment, OFF_EMPTY, slots);
        full = Semaphore.initialize(segment, OFF_FULL, 0);
        mutex = Semaphore.initialize(segment, OFF_MUTEX, 1);
    }

    /** IPCB_BB_SIZE: the segment size for {@code slots} records of {@code recordSize} bytes. */
    static long size(int slots, int recordSize) {
        return OFF_DATA + (long) slots * recordSize;
    }

    /**
     * Creates segment {@code name} (exclusively, mode 0600) and initialises it as an empty buffer,
     * semaphores included, before any peer may attach. The caller unlinks it.
     */
    static BoundedBuffer create(String name, int slots, int recordSize) throws IOException {
        if (slots < 1 || recordSize < SEQ_SIZE) {
            throw new IllegalArgumentException("a bounded buffer needs slots >= 1 and records >= 8 bytes");
        }
        SharedMemory segment = SharedMemory.createExclusively(name, size(slots, recordSize));
        try {
            segment.setInt(OFF_SLOTS, slots);
            segment.setInt(OFF_RECORD_SIZE, recordSize);
            segment.setInt(OFF_RESERVED, 0);
            segment.setLong(OFF_HEAD, 0);
            segment.setLong(OFF_TAIL, 0);
            BoundedBuffer bb = new BoundedBuffer(segment, slots, recordSize);
            segment.setIntRelease(OFF_MAGIC, MAGIC); // last: a valid magic means a ready buffer
            return bb;
        } catch (IOException | RuntimeException e) {
            segment.close();
            throw e;
        }
    }

    /** The size of a record. */
    int recordSize() {
        return recordSize;
    }

    /**
     * Produces record {@code n} (the n-th since creation).
     *
     * @return false if no slot came free within {@code wait} (the consumer is stuck or gone)
     */
    boolean produce(long n, Duration wait) throws IOException, InterruptedException {
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
     * Consumes the next record and checks that it is record {@code n}.
     *
     * @return null when it was, else what was wrong with it
     * @throws CommandFailure (exit 3) if no record came within {@code wait}
     */
    String consume(long n, Duration wait) throws IOException, InterruptedException, CommandFailure {
        if (!full.tryAcquire(wait)) {
            throw CommandFailure.timedOut("no record " + n + " within " + Durations.format(wait));
        }
        if (!mutex.tryAcquire(wait)) {
            full.release();
            throw CommandFailure.timedOut("the mutex stayed taken for " + Durations.format(wait));
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
        return wrong;
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
