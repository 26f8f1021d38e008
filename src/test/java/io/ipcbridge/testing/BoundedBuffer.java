package io.ipcbridge.testing;

import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The Java side of the bounded buffer of native-tests/include/ipcb_bounded.h (the one definition of
 * the layout; {@code BoundedBufferLayoutTest} checks these offsets against it): a segment holding a
 * header, three semaphores (in the segment, or named after it) and {@code slots} records.
 */
public final class BoundedBuffer implements AutoCloseable {
    public static final int MAGIC = 0x42424349;
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

    private final SharedMemory shm;
    private final ByteBuffer data;
    private final int slots;
    private final int recordSize;
    private final Semaphore empty;
    private final Semaphore full;
    private final Semaphore mutex;
    private final boolean named;

    private BoundedBuffer(SharedMemory shm, int slots, int recordSize, Semaphore empty, Semaphore full,
            Semaphore mutex, boolean named) {
        this.shm = shm;
        this.data = shm.buffer().order(ByteOrder.LITTLE_ENDIAN);
        this.slots = slots;
        this.recordSize = recordSize;
        this.empty = empty;
        this.full = full;
        this.mutex = mutex;
        this.named = named;
    }

    /** Creates segment {@code name} laid out as the header says, with named or in-segment semaphores. */
    public static BoundedBuffer create(String name, int slots, int recordSize, boolean namedSemaphores)
            throws IOException {
        SharedMemory shm = SharedMemory.createExclusively(name, OFF_DATA + (long) slots * recordSize);
        shm.setInt(OFF_MAGIC, MAGIC);
        shm.setInt(OFF_SLOTS, slots);
        shm.setInt(OFF_RECORD_SIZE, recordSize);
        if (namedSemaphores) {
            return new BoundedBuffer(shm, slots, recordSize, Semaphore.createExclusively(name + "-empty", slots),
                    Semaphore.createExclusively(name + "-full", 0), Semaphore.createExclusively(name + "-mutex", 1),
                    true);
        }
        return new BoundedBuffer(shm, slots, recordSize, Semaphore.initialize(shm, OFF_EMPTY, slots),
                Semaphore.initialize(shm, OFF_FULL, 0), Semaphore.initialize(shm, OFF_MUTEX, 1), false);
    }

    /** Produces record {@code seq}: its number, then its low byte repeated. */
    public void produce(long seq) throws IOException, InterruptedException {
        empty.acquire();
        mutex.acquire();
        long head = shm.getLong(OFF_HEAD);
        int at = OFF_DATA + (int) (head % slots) * recordSize;
        data.putLong(at, seq);
        for (int i = 8; i < recordSize; i++) {
            data.put(at + i, (byte) seq);
        }
        shm.setLong(OFF_HEAD, head + 1);
        mutex.release();
        full.release();
    }

    /** Consumes the next record and returns its number, after checking its filler. */
    public long consume() throws IOException, InterruptedException {
        full.acquire();
        mutex.acquire();
        long tail = shm.getLong(OFF_TAIL);
        int at = OFF_DATA + (int) (tail % slots) * recordSize;
        long seq = data.getLong(at);
        for (int i = 8; i < recordSize; i++) {
            if (data.get(at + i) != (byte) seq) {
                throw new AssertionError("record " + seq + " torn at byte " + i);
            }
        }
        shm.setLong(OFF_TAIL, tail + 1);
        mutex.release();
        empty.release();
        return seq;
    }

    /** Closes everything and unlinks the segment (and the named semaphores). */
    @Override
    public void close() throws IOException {
        String name = shm.name();
        empty.close();
        full.close();
        mutex.close();
        shm.close();
        SharedMemory.unlink(name);
        if (named) {
            Semaphore.unlink(name + "-empty");
            Semaphore.unlink(name + "-full");
            Semaphore.unlink(name + "-mutex");
        }
    }
}
