package io.ipcbridge.bench;

import java.io.IOException;
import java.util.List;

/**
 * One IPC mechanism of the benchmark. Adding one is a subclass (which pairs it has, how a
 * {@link Link} is made for each) and a line in {@link Mechanisms#ALL}; the runs, the repeats and the
 * reports are the same for all.
 */
abstract class Mechanism {
    /**
     * A mechanism of small messages moves 1/16 of the bytes asked for: 64 MiB of 64-byte messages
     * (1,048,576) at the full 1 GiB, so that even the fastest is timed over tens of milliseconds.
     */
    static final int SMALL_SHARE = 16;

    private final String id;
    private final String description;
    private final List<Pair> latency;
    private final List<Pair> throughput;

    /**
     * A mechanism with its id (on the command line and in the outputs, e.g. {@code unix-stream}), a
     * line on what goes through it, and the pairs of each workload (c-c first; empty where the
     * workload does not apply).
     */
    Mechanism(String id, String description, List<Pair> latency, List<Pair> throughput) {
        this.id = id;
        this.description = description;
        this.latency = List.copyOf(latency);
        this.throughput = List.copyOf(throughput);
    }

    /** The id on the command line and in the outputs. */
    final String id() {
        return id;
    }

    /** What goes through it, and the JDK's route: a line under the tables. */
    final String description() {
        return description;
    }

    /** The pairs run for {@code workload}. */
    final List<Pair> pairs(Workload workload) {
        return workload == Workload.LATENCY ? latency : throughput;
    }

    /** The size of each send of the throughput workload: 64 KiB unless a mechanism says otherwise. */
    int chunk() {
        return 64 << 10;
    }

    /**
     * How many of {@code roundTrips} (timed, or warm-up) a latency run makes: all of them unless a
     * mechanism would take too long.
     */
    int roundTrips(int roundTrips) {
        return roundTrips;
    }

    /**
     * The bytes of one throughput run when {@code requested} are asked for: all of them, except that a
     * mechanism of small messages (under 4 KiB) moves 1/{@link #SMALL_SHARE} of them in whole messages
     * (at least two), so that a full run stays within minutes, and one of {@link #wholeChunks()}
     * moves whole chunks.
     */
    final long bytes(long requested) {
        int chunk = chunk();
        if (wholeChunks()) {
            return Math.max(chunk, requested / chunk * chunk);
        }
        return chunk >= 4096 ? requested : Math.max(2L * chunk, requested / SMALL_SHARE / chunk * chunk);
    }

    /**
     * Whether a throughput run must move whole {@link #chunk()}s: a channel of fixed-size records
     * that carry no length (the bounded buffer), whose receiver takes a whole record for a short
     * last send, so that the bytes are rounded down to whole chunks (at least one).
     */
    boolean wholeChunks() {
        return false;
    }

    /** Whether its waits spin rather than sleep, so that its two sides need a CPU each. */
    boolean spins() {
        return false;
    }

    /** A fresh link for one run of {@code workload} by {@code pair}. */
    abstract Link open(Workload workload, Pair pair) throws IOException;
}
