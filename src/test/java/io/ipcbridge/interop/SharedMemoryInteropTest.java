package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.process.ExitStatus;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.cli.BoundedBuffer;
import io.ipcbridge.testing.Names;
import io.ipcbridge.testing.Peers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Java and the C peers shm_peer/sem_peer share memory and synchronise on semaphores and atomics. */
class SharedMemoryInteropTest {
    private static final Duration LIMIT = Duration.ofMinutes(3);
    private static final int RECORDS = 1_000_000;
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static String run(String peer, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(Peers.path(peer)));
        argv.addAll(List.of(args));
        try (Pipe out = Pipe.open(); ChildProcess child = Command.of(argv).stdout(out.sink()).start()) {
            out.sink().close();
            String text = new String(out.source().inputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(child.waitFor().success(), peer + " " + String.join(" ", args) + " succeeded");
            return text;
        }
    }

    @ParameterizedTest(name = "named semaphores: {0}")
    @ValueSource(booleans = {false, true})
    void aMillionRecordsFromACProducerReachAJavaConsumerOnceInOrder(boolean named) throws Exception {
        String name = Names.unique("bb");
        assertTimeoutPreemptively(LIMIT, () -> {
            try (BoundedBuffer bb = BoundedBuffer.create(name, 16, 64, named);
                    ChildProcess producer = Command.of(Peers.path("shm_peer"), "bb-produce", name,
                            Integer.toString(RECORDS), named ? "named" : "unnamed").start()) {
                for (long seq = 0; seq < RECORDS; seq++) {
                    BoundedBuffer.Taken taken = bb.consume(seq, WAIT).orElseThrow(() -> new AssertionError("stuck"));
                    assertTrue(taken.ok(), taken.wrong());
                }
                assertTrue(producer.waitFor().success());
            } finally {
                BoundedBuffer.unlink(name);
            }
        });
    }

    @ParameterizedTest(name = "named semaphores: {0}")
    @ValueSource(booleans = {false, true})
    void aMillionRecordsFromAJavaProducerReachACConsumerOnceInOrder(boolean named) throws Exception {
        String name = Names.unique("bb");
        assertTimeoutPreemptively(LIMIT, () -> {
            try (BoundedBuffer bb = BoundedBuffer.create(name, 16, 64, named); Pipe out = Pipe.open();
                    ChildProcess consumer = Command.of(Peers.path("shm_peer"), "bb-consume", name,
                            Integer.toString(RECORDS), named ? "named" : "unnamed").stdout(out.sink()).start()) {
                out.sink().close();
                for (long seq = 0; seq < RECORDS; seq++) {
                    assertTrue(bb.produce(seq, WAIT), "the consumer takes every record");
                }
                assertEquals("received " + RECORDS, new String(out.source().inputStream().readAllBytes()).trim());
                assertTrue(consumer.waitFor().success());
            } finally {
                BoundedBuffer.unlink(name);
            }
        });
    }

    @Test
    void anAtomicHandshakeWithC11AtomicsNeverLosesATurn() throws Exception {
        // Java release-stores odd values, the C peer answers with the next even one (stdatomic acquire/release)
        String name = Names.unique("spin");
        int rounds = 100_000;
        assertTimeoutPreemptively(LIMIT, () -> {
            try (SharedMemory shm = SharedMemory.createExclusively(name, 4096);
                    ChildProcess pong = Command.of(Peers.path("shm_peer"), "spin-pong", name, "64",
                            Integer.toString(rounds)).start()) {
                for (int i = 0; i < rounds; i++) {
                    shm.setIntRelease(64, 2 * i + 1);
                    while (shm.getIntAcquire(64) != 2 * i + 2) {
                        Thread.onSpinWait();
                    }
                }
                assertTrue(pong.waitFor().success());
                assertEquals(2 * rounds, shm.getIntVolatile(64));
            } finally {
                SharedMemory.unlink(name);
            }
        });
    }

    @Test
    void bytesWrittenByEitherSideAreReadByTheOther() throws Exception {
        String name = Names.unique("rw");
        try (SharedMemory shm = SharedMemory.createExclusively(name, 4096)) {
            shm.buffer().put(100, new byte[] {0, 1, (byte) 0xfe, (byte) 0xff});
            assertEquals("0001feff\n", run("shm_peer", "read", name, "100", "4"));
            run("shm_peer", "write", name, "2000", "c0ffee");
            assertEquals(0xc0, shm.buffer().get(2000) & 0xff);
            assertEquals(0xee, shm.buffer().get(2002) & 0xff);
        } finally {
            SharedMemory.unlink(name);
        }
    }

    @Test
    void aPeerTruncatingTheSegmentUnderOurMappingCannotCrashTheJvm() throws Exception {
        // SHM-11: the access faults; the JVM turns the SIGBUS into an InternalError and lives on. The
        // error may be raised a little after the faulting access (at the thread's next safepoint), so
        // the accesses run on their own thread and the error is caught wherever it surfaces there.
        String name = Names.unique("trunc");
        try (SharedMemory shm = SharedMemory.createExclusively(name, 1 << 20)) {
            shm.setLong(8192, 7);
            assertEquals(7, shm.getLong(8192));
            run("shm_peer", "truncate", name);
            assertEquals(0, shm.info().size());
            java.util.concurrent.atomic.AtomicReference<Throwable> raised = new java.util.concurrent.atomic.AtomicReference<>();
            Thread reader = new Thread(() -> {
                try {
                    long sum = 0;
                    for (int i = 0; i < 1_000; i++) {
                        sum += shm.getLong(8192) + shm.getIntAcquire(65536) + shm.buffer().get(4096);
                    }
                    raised.compareAndSet(null, new AssertionError("no fault after truncation: " + sum));
                } catch (InternalError e) {
                    raised.compareAndSet(null, e);
                }
            });
            reader.setUncaughtExceptionHandler((t, e) -> raised.compareAndSet(null, e));
            reader.start();
            reader.join();
            assertEquals(InternalError.class, raised.get().getClass(), String.valueOf(raised.get()));
            assertTrue(raised.get().getMessage().contains("fault occurred"), raised.get().getMessage());
        } finally {
            SharedMemory.unlink(name);
        }
    }

    @Test
    void namedSemaphoresCarryPostsBetweenJavaAndC() throws Exception {
        // SEM-09 (a post from another process releases a Java waiter)
        String name = Names.unique("sem");
        try (Semaphore s = Semaphore.createExclusively(name, 0)) {
            run("sem_peer", "post", name, "3");
            assertEquals(3, s.value());
            assertTrue(s.tryAcquire(Duration.ofSeconds(5)));
            s.release(5);
            assertEquals("7\n", run("sem_peer", "value", name));
            run("sem_peer", "wait", name);
            assertEquals(6, s.value());
        } finally {
            Semaphore.unlink(name);
        }
    }

    @Test
    void aHolderKilledWhileHoldingLeavesTheSemaphoreTakenAndATimedAcquireReturns() throws Exception {
        // SEM-15: POSIX semaphores are not robust
        String name = Names.unique("sem");
        try (Semaphore s = Semaphore.createExclusively(name, 1)) {
            try (ChildProcess holder = Command.of(Peers.path("sem_peer"), "hold-and-die", name).start()) {
                ExitStatus status = holder.waitFor();
                assertEquals(9, status.signal());
            }
            assertEquals(0, s.value(), "the unit died with its holder");
            long start = System.nanoTime();
            assertFalse(s.tryAcquire(Duration.ofSeconds(1)));
            long elapsed = System.nanoTime() - start;
            assertTrue(elapsed >= 1_000_000_000L && elapsed < 5_000_000_000L, "returned in time: " + elapsed);
        } finally {
            Semaphore.unlink(name);
        }
    }
}
