package io.ipcbridge.bench;

import java.io.IOException;
import java.util.List;

/**
 * One IPC mechanism of the benchmark. Adding one is a subclass (which pairs it has, how a
 * {@link Link} is made for each) and a line in {@link Mechanisms#ALL}; the runs, the repeats and the
 * reports are the same for all.
 */
abstract class Mechanism {
    /** The id on the command line and in the outputs, e.g. {@code unix-stream}. */
    abstract String id();

    /** What goes through it, for the notes under the tables. */
    abstract String description();

    /** The pairs run for {@code workload}, c-c first where there is one; empty when the workload does not apply. */
    abstract List<Pair> pairs(Workload workload);

    /** The size of each send of the throughput workload: 64 KiB unless a mechanism says otherwise. */
    int chunk() {
        return 64 << 10;
    }

    /** A fresh link for one run of {@code workload} by {@code pair}. */
    abstract Link open(Workload workload, Pair pair) throws IOException;
}
