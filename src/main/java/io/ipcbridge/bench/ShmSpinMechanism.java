package io.ipcbridge.bench;

import io.ipcbridge.shm.SharedMemory;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * An atomic spin flag in shared memory, latency only: two 4-byte counters in one segment (offsets 0
 * and 64, one cache line apart), a send storing the next value (release), a receive spinning until
 * the value changes (acquire), with {@link Thread#onSpinWait()} and, after 4096 turns,
 * {@link Thread#yield()}, as bench_peer does, so that two spinners sharing a CPU still progress.
 * ipcbridge's {@link SharedMemory}; the JDK's route: a {@link MappedByteBuffer} of
 * {@code /dev/shm/NAME} with a {@link VarHandle}.
 */
final class ShmSpinMechanism extends Mechanism {
    private static final int FORWARD = 0;
    private static final int BACKWARD = 64;
    private static final int SPIN_YIELD_AFTER = 4096;
    /** A spinner that waits this long has lost its other side: it fails instead of spinning on. */
    private static final long GIVE_UP_NS = 120_000_000_000L;
    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());

    /**
     * The round trips of a run on a single CPU (taskset): there each one waits for a yield to the
     * other side, about 200 us, so 110,000 of them would take most of a full run.
     */
    private static final int ONE_CPU_ROUND_TRIPS = 2_000;

    ShmSpinMechanism() {
        super("shm-spin", "two atomic counters in one shm_open(3) segment, spun on; jdk: MappedByteBuffer of"
                + " /dev/shm + VarHandle; on one CPU at most 2,000 round trips", List.of(Pair.C_C, Pair.JAVA_C, Pair.JAVA_JAVA, Pair.JDK_C, Pair.JDK_JAVA),
                List.of());
    }

    @Override
    boolean spins() {
        return true;
    }

    @Override
    int roundTrips(int roundTrips) {
        return Runtime.getRuntime().availableProcessors() > 1 ? roundTrips : Math.min(roundTrips, ONE_CPU_ROUND_TRIPS);
    }

    @Override
    Link open(Workload workload, Pair pair) throws IOException {
        String name = Links.name("spin", SharedMemory::unlink);
        AutoCloseable remove = Links.removing(name);
        try {
            SharedMemory.createExclusively(name, 4096).close();
        } catch (IOException | RuntimeException e) {
            Links.closeAll(remove);
            throw e;
        }
        return Links.of(role -> {
            int out = role == Link.Role.ACTIVE ? FORWARD : BACKWARD;
            int in = role == Link.Role.ACTIVE ? BACKWARD : FORWARD;
            if (pair.active() == Pair.Side.JDK) {
                MappedByteBuffer map;
                try (FileChannel ch = FileChannel.open(Path.of("/dev/shm", name.substring(1)), StandardOpenOption.READ,
                        StandardOpenOption.WRITE)) {
                    map = ch.map(FileChannel.MapMode.READ_WRITE, 0, 4096);
                }
                return new SpinEnd(name, () -> { }, in, out) {
                    @Override
                    int get(int offset) {
                        return (int) INT.getAcquire(map, offset);
                    }

                    @Override
                    void set(int offset, int value) {
                        INT.setRelease(map, offset, value);
                    }
                };
            }
            SharedMemory segment = SharedMemory.open(name);
            return new SpinEnd(name, segment, in, out) {
                @Override
                int get(int offset) {
                    return segment.getIntAcquire(offset);
                }

                @Override
                void set(int offset, int value) {
                    segment.setIntRelease(offset, value);
                }
            };
        }, role -> role == Link.Role.ACTIVE ? Link.PeerEnd.named(spec(name, BACKWARD), spec(name, FORWARD))
                : Link.PeerEnd.named(spec(name, FORWARD), spec(name, BACKWARD)), remove);
    }

    private static String spec(String name, int offset) {
        return "spin:" + name + ":" + offset;
    }

    /** One side: it stores into the counter at {@code out} and spins on the one at {@code in}. */
    private abstract static class SpinEnd extends End.Signal {
        private final String name;
        private final AutoCloseable resource;
        private final int in;
        private final int out;
        private int sent;
        private int seen;

        SpinEnd(String name, AutoCloseable resource, int in, int out) {
            this.name = name;
            this.resource = resource;
            this.in = in;
            this.out = out;
        }

        abstract int get(int offset);

        abstract void set(int offset, int value);

        @Override
        void signal() {
            set(out, ++sent);
        }

        @Override
        void await() throws IOException {
            long start = 0;
            int v;
            for (int spins = 0; (v = get(in)) == seen; spins++) {
                if (spins < SPIN_YIELD_AFTER) {
                    Thread.onSpinWait();
                    continue;
                }
                Thread.yield();
                if (start == 0) {
                    start = System.nanoTime();
                } else if (spins % 1024 == 0 && System.nanoTime() - start > GIVE_UP_NS) {
                    throw new IOException("spin flag " + name + "+" + in + ": no change for "
                            + GIVE_UP_NS / 1_000_000_000 + " s: the other side is gone");
                }
            }
            seen = v;
        }

        @Override
        public void close() throws IOException {
            Links.closeAll(resource);
        }
    }
}
