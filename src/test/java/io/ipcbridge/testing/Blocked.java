package io.ipcbridge.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

/**
 * Starts a call on a thread and waits until that thread sleeps inside the expected system call,
 * read from /proc/self/task/TID/syscall: synchronisation on the kernel's own state, never a sleep.
 * A futex(2) sleep counts only on a word in shared memory (a /dev/shm or memfd mapping): the JVM
 * parks threads in futex on its own words too, e.g. at a safepoint on the way to the call.
 */
public final class Blocked {
    public static final int READ = 0;
    public static final int WRITE = 1;
    public static final int POLL = 7;
    public static final int OPENAT = 257;
    public static final int FUTEX = 202;
    public static final int ACCEPT4 = 288;
    public static final int MQ_TIMEDSEND = 242;
    public static final int MQ_TIMEDRECEIVE = 243;

    private Blocked() {
    }

    /** A call started on its own thread, blocked in the kernel when {@link #start} returns. */
    public record Call<T>(Thread thread, int tid, CompletableFuture<T> result) {
    }

    /** Runs {@code call} on a new thread and returns once it is blocked in one of {@code syscalls}. */
    public static <T> Call<T> start(Callable<T> call, int... syscalls) throws InterruptedException {
        CountDownLatch started = new CountDownLatch(1);
        int[] tid = new int[1];
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            tid[0] = currentTid();
            started.countDown();
            try {
                result.complete(call.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, "blocked-call");
        t.start();
        started.await();
        awaitInSyscall(tid[0], result, syscalls);
        return new Call<>(t, tid[0], result);
    }

    /** The calling thread's kernel thread id. */
    public static int currentTid() {
        try {
            return Integer.parseInt(Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void awaitInSyscall(int tid, CompletableFuture<?> result, int... syscalls) {
        Path task = Path.of("/proc/self/task/" + tid);
        while (!result.isDone()) {
            String state = PeerState.read(task.resolve("stat"));
            String syscall = PeerState.read(task.resolve("syscall"));
            if (state == null || syscall == null) {
                return;
            }
            if (state.charAt(state.lastIndexOf(')') + 2) == 'S') {
                String[] call = syscall.trim().split(" ");
                for (int expected : syscalls) {
                    if (call[0].equals(Integer.toString(expected))
                            && (expected != FUTEX || inSharedMemory(Long.parseUnsignedLong(call[1].substring(2), 16)))) {
                        return;
                    }
                }
            }
            Thread.onSpinWait();
        }
    }

    /**
     * The system call thread {@code tid} of this process sleeps in now (-1: asleep outside any, as a
     * suspended thread), or null if it runs or has ended: read from /proc/self/task/TID.
     */
    public static Integer sleepingIn(int tid) {
        Path task = Path.of("/proc/self/task/" + tid);
        String stat = PeerState.read(task.resolve("stat"));
        String syscall = PeerState.read(task.resolve("syscall"));
        if (stat == null || syscall == null) {
            return null;
        }
        String call = syscall.trim().split(" ")[0];
        return stat.charAt(stat.lastIndexOf(')') + 2) == 'S' && !call.equals("running") ? Integer.valueOf(call) : null;
    }

    /** Whether {@code address} lies in a mapping of a /dev/shm file or a memfd. */
    private static boolean inSharedMemory(long address) {
        for (String line : PeerState.read(Path.of("/proc/self/maps")).split("\n")) {
            int path = line.indexOf('/');
            if (path > 0 && (line.startsWith("/dev/shm/", path) || line.startsWith("/memfd:", path))) {
                int dash = line.indexOf('-');
                long start = Long.parseUnsignedLong(line, 0, dash, 16);
                long end = Long.parseUnsignedLong(line, dash + 1, line.indexOf(' '), 16);
                if (address >= start && address < end) {
                    return true;
                }
            }
        }
        return false;
    }
}
