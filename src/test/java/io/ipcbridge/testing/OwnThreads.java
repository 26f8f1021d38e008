package io.ipcbridge.testing;

import java.util.concurrent.Executor;

/**
 * Runs each task on a thread of its own (a daemon): for the blocking tasks of a test, which must
 * never wait for a pool thread that another blocked task holds. CompletableFuture's default pool
 * is the common ForkJoinPool, of one thread on a 2-CPU machine from JDK 25 on (JDK 17 started a
 * thread per task there), where a receiver blocked in its call kept the senders from ever running.
 */
public final class OwnThreads {
    /** A new daemon thread per task. */
    public static final Executor EACH = task -> {
        Thread t = new Thread(task, "test-task");
        t.setDaemon(true);
        t.start();
    };

    private OwnThreads() {
    }
}
