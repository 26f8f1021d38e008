package io.ipcbridge.bench;

import io.ipcbridge.ring.Ring;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.List;

/**
 * The shared-memory message ring of {@code native-tests/include/ipcbridge_ring.h}, one record per
 * send and receive, with one wait strategy: latency through two rings (one each way), throughput
 * through one ring of 1 MiB whose records are {@link #chunk()} bytes. ipcbridge's {@link Ring} on the
 * Java side, {@code ipcbridge_ring.c} in bench_peer; no JDK route.
 */
final class RingMechanism extends Mechanism {
    private static final int CAPACITY = 1 << 20;
    private static final List<Pair> PAIRS = List.of(Pair.C_C, Pair.JAVA_C, Pair.JAVA_JAVA);

    private final Ring.WaitStrategy strategy;
    private final int chunk;

    /**
     * @param latency whether the latency workload applies
     * @param throughput whether the throughput workload applies
     * @param chunk bytes per record of the throughput workload
     */
    RingMechanism(String id, String description, Ring.WaitStrategy strategy, boolean latency, boolean throughput,
            int chunk) {
        super(id, description, latency ? PAIRS : List.of(), throughput ? PAIRS : List.of());
        this.strategy = strategy;
        this.chunk = chunk;
    }

    @Override
    boolean spins() {
        return strategy != Ring.WaitStrategy.BLOCK;
    }

    @Override
    int chunk() {
        return chunk;
    }

    @Override
    Link open(Workload workload, Pair pair) throws IOException {
        int max = workload == Workload.LATENCY ? 8 : chunk;
        String forward = Links.name("ring", Ring::unlink);
        String backward = Links.name("ring", Ring::unlink);
        AutoCloseable remove = Links.removing(forward, backward);
        try {
            Ring.create(forward, CAPACITY, max, false, Ring.DEFAULT_MODE).close();
            Ring.create(backward, CAPACITY, max, false, Ring.DEFAULT_MODE).close();
        } catch (IOException | RuntimeException e) {
            Links.closeAll(remove);
            throw e;
        }
        String wait = strategy == Ring.WaitStrategy.SPIN ? ":spin" : ":block";
        return Links.of(role -> {
            boolean active = role == Link.Role.ACTIVE;
            Ring out = Ring.open(active ? forward : backward).waitStrategy(strategy);
            Ring in;
            try {
                in = Ring.open(active ? backward : forward).waitStrategy(strategy);
            } catch (IOException | RuntimeException e) {
                out.close();
                throw e;
            }
            return End.of(b -> {
                int n = b.remaining();
                try {
                    out.offer(b, null); // no time limit: true, or an exception (a dead consumer among them)
                } catch (InterruptedException e) {
                    throw interrupted(e);
                }
                return n;
            }, b -> {
                try {
                    return in.poll(b, null);
                } catch (InterruptedException e) {
                    throw interrupted(e);
                }
            }, out, in);
        }, role -> role == Link.Role.ACTIVE ? Link.PeerEnd.named("ring:" + backward + wait, "ring:" + forward + wait)
                : Link.PeerEnd.named("ring:" + forward + wait, "ring:" + backward + wait), remove);
    }

    private static InterruptedIOException interrupted(InterruptedException e) {
        Thread.currentThread().interrupt();
        InterruptedIOException io = new InterruptedIOException("interrupted waiting on a ring");
        io.initCause(e);
        return io;
    }
}
