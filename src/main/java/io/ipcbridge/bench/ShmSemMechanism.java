package io.ipcbridge.bench;

import static io.ipcbridge.cli.BoundedBuffer.OFF_DATA;
import static io.ipcbridge.cli.BoundedBuffer.OFF_EMPTY;
import static io.ipcbridge.cli.BoundedBuffer.OFF_FULL;
import static io.ipcbridge.cli.BoundedBuffer.OFF_HEAD;
import static io.ipcbridge.cli.BoundedBuffer.OFF_MUTEX;
import static io.ipcbridge.cli.BoundedBuffer.OFF_TAIL;

import io.ipcbridge.cli.BoundedBuffer;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Shared memory and semaphores. Latency: two named semaphores, a post answered by a post (no data
 * moves). Throughput: the bounded buffer of {@code native-tests/include/ipcb_bounded.h} (16 records of
 * 64 KiB, its unnamed semaphores in the segment), each send copying 64 KiB in and each receive
 * copying it out. Each side opens the objects by name; no JDK route.
 */
final class ShmSemMechanism extends Mechanism {
    private static final int SLOTS = 16;
    private static final List<Pair> PAIRS = List.of(Pair.C_C, Pair.JAVA_C, Pair.JAVA_JAVA);

    ShmSemMechanism() {
        super("shm-sem", "latency: sem_post/sem_wait on two named semaphores; throughput: the bounded buffer of"
                + " ipcb_bounded.h, 16 x 64 KiB records copied in and out (whole records: the bytes rounded down"
                + " to 64 KiB)", PAIRS, PAIRS);
    }

    /** The bounded buffer's records carry no length: a receive takes a whole record, so whole records are sent. */
    @Override
    boolean wholeChunks() {
        return true;
    }

    @Override
    Link open(Workload workload, Pair pair) throws IOException {
        return workload == Workload.LATENCY ? semaphores() : boundedBuffer();
    }

    private static Link semaphores() throws IOException {
        String ping = Links.name("ping", Semaphore::unlink);
        String pong = Links.name("pong", Semaphore::unlink);
        AutoCloseable remove = Links.removing(ping, pong);
        try {
            Semaphore.createExclusively(ping, 0).close();
            Semaphore.createExclusively(pong, 0).close();
        } catch (IOException | RuntimeException e) {
            Links.closeAll(remove);
            throw e;
        }
        return Links.of(role -> {
            boolean active = role == Link.Role.ACTIVE;
            Semaphore out = Semaphore.open(active ? ping : pong);
            Semaphore in;
            try {
                in = Semaphore.open(active ? pong : ping);
            } catch (IOException | RuntimeException e) {
                out.close();
                throw e;
            }
            return new End.Signal() {
                @Override
                void signal() throws IOException {
                    out.release();
                }

                @Override
                void await() throws IOException {
                    acquire(in);
                }

                @Override
                public void close() throws IOException {
                    Links.closeAll(out, in);
                }
            };
        }, role -> role == Link.Role.ACTIVE ? Link.PeerEnd.named("sem:" + pong, "sem:" + ping)
                : Link.PeerEnd.named("sem:" + ping, "sem:" + pong), remove);
    }

    private static Link boundedBuffer() throws IOException {
        String name = Links.name("bb", BoundedBuffer::unlink);
        AutoCloseable remove = Links.removing(name);
        try {
            BoundedBuffer.create(name, SLOTS, 64 << 10, false).close();
        } catch (IOException | RuntimeException e) {
            Links.closeAll(remove);
            throw e;
        }
        Link.PeerEnd peer = Link.PeerEnd.named("bb:" + name, "bb:" + name);
        return Links.of(role -> new BufferEnd(SharedMemory.open(name)), role -> peer, remove);
    }

    private static void acquire(Semaphore s) throws IOException {
        try {
            s.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted in sem_wait(" + s.name() + ")");
        }
    }

    /** One side's view of the bounded buffer: a send puts a record in, a receive takes one out. */
    private static final class BufferEnd implements End {
        private final SharedMemory segment;
        private final ByteBuffer view;
        private final Semaphore empty;
        private final Semaphore full;
        private final Semaphore mutex;
        private final int record;

        BufferEnd(SharedMemory segment) throws IOException {
            this.segment = segment;
            try {
                view = segment.buffer();
                empty = Semaphore.attach(segment, OFF_EMPTY);
                full = Semaphore.attach(segment, OFF_FULL);
                mutex = Semaphore.attach(segment, OFF_MUTEX);
                record = (segment.size() - OFF_DATA) / SLOTS;
            } catch (IOException | RuntimeException e) {
                segment.close();
                throw e;
            }
        }

        @Override
        public void send(ByteBuffer buffer) throws IOException {
            int n = buffer.remaining();
            acquire(empty);
            acquire(mutex);
            long head = segment.getLong(OFF_HEAD);
            view.put(OFF_DATA + (int) (head % SLOTS) * record, buffer, buffer.position(), n);
            segment.setLong(OFF_HEAD, head + 1);
            mutex.release();
            full.release();
            buffer.position(buffer.limit());
        }

        @Override
        public int receive(ByteBuffer buffer) throws IOException {
            int n = Math.min(buffer.remaining(), record);
            acquire(full);
            acquire(mutex);
            long tail = segment.getLong(OFF_TAIL);
            buffer.put(buffer.position(), view, OFF_DATA + (int) (tail % SLOTS) * record, n);
            segment.setLong(OFF_TAIL, tail + 1);
            mutex.release();
            empty.release();
            buffer.position(buffer.position() + n);
            return n;
        }

        @Override
        public void close() throws IOException {
            Links.closeAll(empty, full, mutex, segment);
        }
    }
}
