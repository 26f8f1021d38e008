package io.ipcbridge.ring;

import io.ipcbridge.IpcError;
import io.ipcbridge.internal.posix.Errors;
import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The peers one side of a ring waits for (the consumer for the producers, a producer for the
 * consumer), watched through pidfds by one daemon thread shared by every ring of this JVM: when a
 * watched process ends, the thread counts a death here, then adds one to the side's futex word and
 * wakes it (FUTEX_WAKE), as a waker does. A {@link Ring.WaitStrategy#BLOCK} wait can thus sleep
 * without a timeout (a timed futex wait costs about 0.7 us more per hand-off on the benchmark VM) and
 * still learn of a dead peer at once.
 *
 * <p>The waiting thread calls {@link #follow} before it sleeps; the thread runs only while some ring
 * is watched, and {@link #close()} gives the descriptors back. Where pidfd_open(2) is missing
 * (Linux before 5.3), {@link #available()} turns false and the waiter falls back to waking every
 * 100 ms to look at the pids itself; where a pidfd or the watcher's pipe cannot be had for a while
 * (EMFILE), only until a later {@link #follow} gets them.
 */
final class PeerWatch implements AutoCloseable {
    private static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());
    private static final Object LOCK = new Object();
    /** Guarded by LOCK, as are the watcher's thread and pipe below. */
    private static final List<Entry> ENTRIES = new ArrayList<>();
    private static Thread thread;
    private static int[] pipe;
    /** pidfd_open(2) failed with ENOSYS: no pid is ever watched here. */
    private static volatile boolean missing;

    /** One pid watched for one side: the watcher's unit. */
    private static final class Entry {
        final PeerWatch watch;
        final int pid;
        final int pidfd;

        Entry(PeerWatch watch, int pid, int pidfd) {
            this.watch = watch;
            this.pid = pid;
            this.pidfd = pidfd;
        }
    }

    private final ByteBuffer map;
    private final int futexAt;
    private final long address;
    private final String ring;
    /** The pids last followed, sorted; only the waiting thread reads and replaces it. */
    private int[] followed = new int[0];
    /** Guarded by LOCK. */
    private final List<Entry> mine = new ArrayList<>();
    private final Set<Integer> dead = new HashSet<>();
    private boolean closed;
    private volatile int deaths;
    private volatile boolean available = true;

    /**
     * @param map the ring's mapping, kept reachable (and so mapped) while a pid is watched
     * @param futexAt the index of the futex word in {@code map}
     * @param address the native address of {@code map}
     */
    PeerWatch(ByteBuffer map, int futexAt, long address, String ring) {
        this.map = map;
        this.futexAt = futexAt;
        this.address = address;
        this.ring = ring;
    }

    /** How many watched processes have ended so far; a waiter compares it before and after sleeping. */
    int deaths() {
        return deaths;
    }

    /** False if pidfds are not available: the waiter must then look at the pids itself. */
    boolean available() {
        return available;
    }

    /**
     * Watches exactly the first {@code count} pids of {@code pids} (registered peers, not this
     * process): cheap when they are those followed already. A pid that is gone already counts as a
     * death at once. A pid seen to end that runs again (the kernel reused it) is watched anew, in the
     * process that has it now.
     *
     * @return whether a process once watched here has ended and still holds its slot, i.e. whether
     *     the waiter should check its peers before it sleeps
     */
    boolean follow(int[] pids, int count) throws IOException {
        if (same(pids, count) && (deaths == 0 || !anyDead(followed)) && (available || missing)) {
            return false;
        }
        int[] wanted = Arrays.copyOf(pids, count);
        Arrays.sort(wanted);
        synchronized (LOCK) {
            if (closed) {
                return false;
            }
            available = !missing; // tries again what failed before: descriptors may be free now
            boolean changed = false;
            for (int i = mine.size() - 1; i >= 0; i--) {
                Entry e = mine.get(i);
                if (Arrays.binarySearch(wanted, e.pid) < 0) {
                    mine.remove(i);
                    ENTRIES.remove(e);
                    Syscalls.close(e.pidfd);
                    changed = true;
                }
            }
            dead.retainAll(boxed(wanted));
            dead.removeIf(Syscalls::processRuns);
            for (int pid : wanted) {
                if (dead.contains(pid) || watching(pid)) {
                    continue;
                }
                int pidfd;
                try {
                    pidfd = Syscalls.pidfdOpen(pid);
                } catch (IOException e) {
                    // any errno's type: ENOENT's is a NoSuchObjectException, not an ErrnoException, and it
                    // ended the wait with that exception
                    if (e instanceof IpcError failed && failed.errno() == Errors.ESRCH || !Syscalls.processRuns(pid)) {
                        died(pid); // also a pid that names another process's thread now (ENOENT, EINVAL)
                        continue;
                    }
                    // ENOSYS, EMFILE and the like: the waiter looks itself
                    missing |= e instanceof IpcError failed && failed.errno() == Errors.ENOSYS;
                    available = false;
                    continue;
                }
                Entry e = new Entry(this, pid, pidfd);
                mine.add(e);
                ENTRIES.add(e);
                changed = true;
            }
            if (changed) {
                poke();
            }
            followed = wanted;
            return !dead.isEmpty();
        }
    }

    /** Whether {@code pids} holds the pids followed, in any order; allocates nothing. */
    private boolean same(int[] pids, int count) {
        int[] f = followed;
        if (count != f.length) {
            return false;
        }
        for (int i = 0; i < count; i++) {
            if (Arrays.binarySearch(f, pids[i]) < 0) {
                return false;
            }
        }
        return true;
    }

    private boolean anyDead(int[] pids) {
        synchronized (LOCK) {
            for (int pid : pids) {
                if (dead.contains(pid)) {
                    return true;
                }
            }
            return false;
        }
    }

    private boolean watching(int pid) {
        for (Entry e : mine) {
            if (e.pid == pid) {
                return true;
            }
        }
        return false;
    }

    private static Set<Integer> boxed(int[] pids) {
        Set<Integer> set = new HashSet<>();
        for (int pid : pids) {
            set.add(pid);
        }
        return set;
    }

    /** Under LOCK: counts the death and wakes the side's waiters, as a waker does. */
    private void died(int pid) throws IOException {
        dead.add(pid);
        deaths++;
        wakeWaiters();
    }

    /**
     * Adds one to the futex word and wakes it, unless a peer truncated the object: the add would then
     * kill the JVM (see {@link Ring}), and no waiter can be woken through the word anyway. The mapping
     * is kept reachable through the futex call, which only has its address.
     */
    void wakeWaiters() throws IOException {
        try {
            if (Ring.mapped(map)) {
                INTS.getAndAdd(map, futexAt, 1);
                Syscalls.futexWake(address + futexAt, ring);
            }
        } finally {
            Reference.reachabilityFence(map);
        }
    }

    /** Stops watching; the first call does it. */
    @Override
    public void close() {
        synchronized (LOCK) {
            if (closed) {
                return;
            }
            closed = true;
            for (Entry e : mine) {
                ENTRIES.remove(e);
                Syscalls.close(e.pidfd);
            }
            if (!mine.isEmpty()) {
                poke();
            }
            mine.clear();
        }
    }

    /** Under LOCK: makes the watcher look at ENTRIES again, starting it if it does not run. */
    private static void poke() {
        if (thread == null) {
            if (ENTRIES.isEmpty()) {
                return;
            }
            int[] made = null;
            try {
                made = Syscalls.pipe("ring watcher pipe");
                Syscalls.setNonBlocking(made[0], true, "ring watcher pipe");
                Syscalls.setNonBlocking(made[1], true, "ring watcher pipe");
            } catch (IOException e) {
                // EMFILE and the like: the environment, not a bug. Without a watcher each waiter looks
                // at its peers itself, as when pidfds are not available.
                if (made != null) {
                    Syscalls.close(made[0]);
                    Syscalls.close(made[1]);
                }
                for (Entry entry : ENTRIES) {
                    entry.watch.available = false;
                    entry.watch.mine.remove(entry);
                    Syscalls.close(entry.pidfd);
                }
                ENTRIES.clear();
                return;
            }
            pipe = made;
            thread = new Thread(PeerWatch::watch, "ipcbridge-ring-watcher");
            thread.setDaemon(true);
            thread.start();
            return;
        }
        try {
            Syscalls.write(pipe[1], ByteBuffer.allocateDirect(1), "ring watcher pipe"); // full: a poke is pending anyway
        } catch (IOException e) {
            throw new IllegalStateException("cannot wake the ring peer watcher", e);
        }
    }

    /** The watcher thread: polls the pipe and every entry's pidfd until no entry is left. */
    private static void watch() {
        ByteBuffer drain = ByteBuffer.allocateDirect(64);
        int wake;
        Entry[] polled;
        int[] fds = new int[0];
        for (;;) {
            synchronized (LOCK) {
                if (ENTRIES.isEmpty()) {
                    Syscalls.close(pipe[0]);
                    Syscalls.close(pipe[1]);
                    pipe = null;
                    thread = null;
                    return;
                }
                wake = pipe[0];
                polled = ENTRIES.toArray(new Entry[0]);
            }
            int count = polled.length + 1;
            if (fds.length < 2 * count) {
                fds = new int[2 * count];
            }
            fds[0] = wake;
            fds[1] = Syscalls.POLLIN;
            for (int i = 0; i < polled.length; i++) {
                fds[2 * i + 2] = polled[i].pidfd;
                fds[2 * i + 3] = Syscalls.POLLIN;
            }
            try {
                if (Syscalls.poll(fds, count, -1, "ring peer pidfds") <= 0) {
                    continue; // EINTR
                }
                while (Syscalls.read(wake, drain.clear(), "ring watcher pipe") > 0) {
                    // drained
                }
                synchronized (LOCK) {
                    for (int i = 0; i < polled.length; i++) {
                        Entry e = polled[i];
                        // An entry dropped meanwhile may have lost its number to another descriptor.
                        if ((fds[2 * i + 3] >>> 16) != 0 && ENTRIES.remove(e)) {
                            e.watch.mine.remove(e);
                            Syscalls.close(e.pidfd);
                            e.watch.died(e.pid);
                        }
                    }
                }
            } catch (IOException | RuntimeException | InternalError e) {
                // Not expected (poll and FUTEX_WAKE on live words do not fail; InternalError: a read of a
                // ring a peer truncated): let the waiters look at the pids themselves rather than leave
                // them asleep.
                synchronized (LOCK) {
                    for (Entry entry : ENTRIES) {
                        entry.watch.available = false;
                        Syscalls.close(entry.pidfd);
                        try {
                            entry.watch.wakeWaiters();
                        } catch (IOException | RuntimeException | InternalError ignored) {
                            // nothing more to try
                        }
                    }
                    for (Entry entry : ENTRIES) {
                        entry.watch.mine.clear();
                    }
                    ENTRIES.clear();
                }
            }
        }
    }

    /** Whether the watcher thread runs now; for tests. */
    static boolean running() {
        synchronized (LOCK) {
            return thread != null;
        }
    }

    /** The watcher thread, or null; for tests that wait for it to end. */
    static Thread thread() {
        synchronized (LOCK) {
            return thread;
        }
    }
}
