package io.ipcbridge.bench;

/** The two measurements made of every mechanism. */
public enum Workload {
    /** Round trips of a small message (8 bytes), timed one by one: median, p99 and mean. */
    LATENCY("latency"),
    /** One-way bytes, in large writes or messages, timed by the receiver: MB/s. */
    THROUGHPUT("throughput");

    private final String id;

    Workload(String id) {
        this.id = id;
    }

    /** {@code latency} or {@code throughput}. */
    public String id() {
        return id;
    }
}
