package io.ipcbridge.sem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.internal.posix.NativeThread;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.process.ExitStatus;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.PeerState;
import io.ipcbridge.testing.Peers;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Semaphores under contention, signal storms and dying holders: SEM-16, NL-10, FAULT-02. */
class SemaphoreReliabilityTest {
    private static final Duration LIMIT = Duration.ofMinutes(2);
    private static final int FUTEX = 202;
    private static final int SIGUSR1 = 10;
    private final Created sems = new Created("semrel", Semaphore::unlink);
    private final Created segments = new Created("semrel", SharedMemory::unlink);

    @TempDir
    Path dir;

    @AfterEach
    void unlinkAll() {
        sems.unlinkAll();
        segments.unlinkAll();
    }

    @Test
    void theValueIsZeroNotMinusTheWaitersWhileThreadsAndProcessesWait() throws Exception {
        // SEM-16: POSIX allows a negative count of waiters; Linux reports 0 (documented on value())
        String n = sems.name();
        try (Semaphore s = Semaphore.createExclusively(n, 0)) {
            Blocked.Call<Boolean> w1 = Blocked.start(() -> s.tryAcquire(LIMIT), FUTEX);
            Blocked.Call<Boolean> w2 = Blocked.start(() -> s.tryAcquire(LIMIT), FUTEX);
            try (ChildProcess c = Command.of(Peers.path("sem_peer"), "wait", n).start()) {
                assertTrue(PeerState.awaitInSyscall(c.pid(), FUTEX), "the C waiter sleeps in sem_wait");
                assertEquals(0, s.value(), "three waiters, value 0");
                s.release(3);
                assertTrue(c.waitFor().success());
            }
            assertTrue(w1.result().get(30, TimeUnit.SECONDS) && w2.result().get(30, TimeUnit.SECONDS));
            assertEquals(0, s.value());
        }
    }

    @Test
    void fourJavaThreadsAndFourCProcessesUnderASignalStormConserveTheSemaphore() throws Exception {
        // NL-10: 4 + 4 x 1,000,000 rounds of a plain read-modify-write of a shared counter inside acquire/release, while every thread and
        // process is signalled without SA_RESTART; the final value is the initial one and no
        // increment is lost
        int rounds = 1_000_000;
        String n = sems.name();
        String shm = segments.name();
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Semaphore s = Semaphore.createExclusively(n, 1);
                    SharedMemory counter = SharedMemory.createExclusively(shm, 4096)) {
                List<ChildProcess> children = new ArrayList<>();
                List<Pipe> pipes = new ArrayList<>();
                ConcurrentLinkedQueue<Long> javaThreads = new ConcurrentLinkedQueue<>();
                List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
                AtomicBoolean done = new AtomicBoolean();
                try {
                    for (int i = 0; i < 4; i++) {
                        Pipe out = Pipe.open();
                        pipes.add(out);
                        children.add(Command.of(Peers.path("sem_peer"), "count", n, shm, Integer.toString(rounds))
                                .stdout(out.sink()).start());
                        out.sink().close();
                        assertEquals("ready", new BufferedReader(new InputStreamReader(out.source().inputStream()))
                                .readLine(), "its handler is installed");
                    }
                    List<Thread> threads = new ArrayList<>();
                    for (int t = 0; t < 4; t++) {
                        Thread th = new Thread(() -> {
                            javaThreads.add(NativeThread.current());
                            try {
                                for (int i = 0; i < rounds; i++) {
                                    s.acquire();
                                    counter.setLong(0, counter.getLong(0) + 1);
                                    s.release();
                                }
                            } catch (Throwable e) {
                                errors.add(e);
                            }
                        }, "counter");
                        th.start();
                        threads.add(th);
                    }
                    long signals = 0;
                    while (threads.stream().anyMatch(Thread::isAlive)
                            || children.stream().anyMatch(c -> isRunning(c))) {
                        for (long t : javaThreads) {
                            NativeThread.signal(t);
                            signals++;
                        }
                        for (ChildProcess c : children) {
                            c.signal(SIGUSR1);
                            signals++;
                        }
                        LockSupport.parkNanos(500_000);
                    }
                    done.set(true);
                    for (ChildProcess c : children) {
                        ExitStatus status = c.waitFor();
                        assertTrue(status.success(), "C counter: " + status);
                    }
                    assertEquals(List.of(), errors, "no spurious exception");
                    assertEquals(8L * rounds, counter.getLong(0), "no increment lost: mutual exclusion held");
                    assertEquals(1, s.value(), "the semaphore's value is the initial one");
                    assertTrue(signals > 1000, "signals sent: " + signals);
                } finally {
                    for (ChildProcess c : children) {
                        c.close();
                    }
                    for (Pipe p : pipes) {
                        p.close();
                    }
                }
            }
        });
    }

    private static boolean isRunning(ChildProcess c) {
        try {
            return c.exitStatus().isEmpty();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aKilledHolderLeavesTheSemaphoreTakenWhileAnOfdLockIsReleasedByTheKernel() throws Exception {
        // FAULT-02: POSIX semaphores are not robust (SEM-15, Semaphore's Javadoc): the unit a killed
        // holder took is gone and a timed acquire returns false in time. The robust alternative for
        // mutual exclusion between processes is a lock the kernel drops with its holder: python3
        // takes an OFD lock (F_OFD_SETLK) and is SIGKILLed, and the lock is free at once. (A robust
        // pthread mutex's EOWNERDEAD is C-only: nothing in this Java API maps a pthread_mutex_t.)
        String n = sems.name();
        try (Semaphore s = Semaphore.createExclusively(n, 1)) {
            try (ChildProcess holder = Command.of(Peers.path("sem_peer"), "hold-and-die", n).start()) {
                assertEquals(9, holder.waitFor().signal());
            }
            long start = System.nanoTime();
            assertFalse(s.tryAcquire(Duration.ofSeconds(1)), "the dead holder's unit is not given back");
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(ms >= 1000, "waited the whole second: " + ms);
        }
        Path lockFile = Files.createFile(dir.resolve("lock"));
        String script = "import fcntl, os, struct, sys\n"
                + "fd = os.open(sys.argv[1], os.O_RDWR)\n"
                + "fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack('hhqqi', fcntl.F_WRLCK, 0, 0, 0, 0))\n"
                + "print('locked', flush=True)\n"
                + "sys.stdin.read()\n";
        Process py = new ProcessBuilder("python3", "-c", script, lockFile.toString()).start();
        try (RandomAccessFile f = new RandomAccessFile(lockFile.toFile(), "rw")) {
            assertEquals("locked", new BufferedReader(new InputStreamReader(py.getInputStream())).readLine());
            assertEquals(null, f.getChannel().tryLock(), "held by the other process");
            py.destroyForcibly();
            assertTrue(py.waitFor(30, TimeUnit.SECONDS));
            try (FileLock lock = f.getChannel().tryLock()) {
                assertTrue(lock != null && lock.isValid(), "the kernel released the killed holder's lock");
            }
        } finally {
            py.destroyForcibly();
        }
    }
}
