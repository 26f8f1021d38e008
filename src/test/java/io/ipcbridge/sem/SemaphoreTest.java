package io.ipcbridge.sem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.IpcError;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.internal.posix.NativeThread;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Names;
import io.ipcbridge.testing.PeerState;
import io.ipcbridge.testing.Peers;
import java.io.IOException;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Semaphores through the library: the cases of RELIABILITY.md §3.2 one process can show. */
class SemaphoreTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final int SEM_WAIT = 202; // futex(2): where sem_wait sleeps
    private final Created created = new Created("sem", Semaphore::unlink);

    private String name() {
        return created.name();
    }

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    private static Path file(String name) {
        return Path.of("/dev/shm/sem." + name.substring(1));
    }

    @Test
    void openingAMissingSemaphoreIsNoSuchFile() {
        // SEM-01, SEM-12
        String n = name();
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Semaphore.open(n));
        assertEquals("sem_open(" + n + "): ENOENT (No such file or directory)", e.getMessage());
        NoSuchFileException u = assertThrows(NoSuchFileException.class, () -> Semaphore.unlink(n));
        assertEquals("sem_unlink(" + n + "): ENOENT (No such file or directory)", u.getMessage());
    }

    @Test
    void creatingAnExistingOneExclusivelyIsFileAlreadyExistsAndLeavesNoTemporaryBehind() throws Exception {
        // SEM-02
        // the new semaphore is made in a file without a name (O_TMPFILE) that lives on only while a
        // descriptor holds it: the refused create must keep none
        String n = name();
        try (Semaphore s = Semaphore.createExclusively(n, 3)) {
            var fds = Fds.snapshot();
            FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                    () -> Semaphore.createExclusively(n, 0));
            assertEquals("sem_open(" + n + "): EEXIST (File exists)", e.getMessage());
            Fds.assertNoneAdded(fds);
            assertEquals(3, s.value(), "the first one is untouched");
        }
    }

    @Test
    void aCreateThatFailsLeavesNoSemaphoreBehind() throws Exception {
        // SEM-02: a failure after the file is made (here its mapping, which the JDK refuses to a
        // thread with an interrupt pending) must leave the name free, as nothing was created
        String n = name();
        boolean made = false;
        Thread.currentThread().interrupt();
        try (Semaphore s = Semaphore.createExclusively(n, 1)) {
            made = true;
        } catch (java.nio.channels.ClosedByInterruptException failed) {
            // what the create said; the name must then be free
        } finally {
            Thread.interrupted();
        }
        assertEquals(made, Files.exists(file(n)), "created exactly when the create said so");
    }

    @Test
    void aPendingInterruptFailsNoCreateOrOpenAndIsKept() throws Exception {
        // neither blocks, so an interrupt pending is kept for the next call that does
        String n = name();
        Thread.currentThread().interrupt();
        try (Semaphore created = Semaphore.createExclusively(n, 1); Semaphore opened = Semaphore.open(n)) {
            assertTrue(opened.tryAcquire());
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt is still pending");
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void badValuesAndNamesAreRefusedBeforeAnyCall() {
        // SEM-03, SEM-04
        assertThrows(IllegalArgumentException.class, () -> Semaphore.createExclusively(name(), -1));
        String ok = "/" + "s".repeat(251);
        created.add(ok);
        assertThrows(IllegalArgumentException.class, () -> Semaphore.open("/" + "s".repeat(252)));
        assertThrows(IllegalArgumentException.class, () -> Semaphore.open("/a/b"));
        assertThrows(NoSuchFileException.class, () -> Semaphore.open(ok), "251 bytes is a valid name");
    }

    @Test
    void tryAcquireAtZeroIsFalseAndLeavesTheValue() throws Exception {
        // SEM-06, SEM-07
        try (Semaphore s = Semaphore.createExclusively(name(), 0)) {
            assertFalse(s.tryAcquire());
            assertFalse(s.tryAcquire(Duration.ZERO));
            long start = System.nanoTime();
            assertFalse(s.tryAcquire(Duration.ofMillis(100)));
            assertTrue(System.nanoTime() - start >= 100_000_000L);
            assertEquals(0, s.value());
            s.release(2);
            assertTrue(s.tryAcquire());
            assertTrue(s.tryAcquire(Duration.ofSeconds(1)));
            assertEquals(0, s.value());
            assertThrows(IllegalArgumentException.class, () -> s.tryAcquire(Duration.ofMillis(-1)));
        }
    }

    @Test
    void aWaitWithAHugeTimeoutWaitsAndTakesAPost() throws Exception {
        // SEM-07: a timeout of centuries (and one past what nanoseconds count) is a valid deadline for
        // sem_clockwait, never an EINVAL or an early false: the waits sleep until a post comes
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Semaphore s = Semaphore.createExclusively(name(), 0)) {
                for (Duration huge : new Duration[] {Duration.ofDays(365L * 200), Duration.ofSeconds(Long.MAX_VALUE)}) {
                    Blocked.Call<Boolean> waiter = Blocked.start(() -> s.tryAcquire(huge), SEM_WAIT);
                    assertFalse(waiter.result().isDone(), huge + ": asleep in the kernel, not failed");
                    s.release();
                    assertTrue(waiter.result().get(5, TimeUnit.SECONDS), huge + ": the post was taken");
                    assertEquals(0, s.value());
                }
            }
        });
    }

    @Test
    void releasePastTheMaximumIsOverflowAndChangesNothing() throws Exception {
        // SEM-08
        try (Semaphore s = Semaphore.createExclusively(name(), Semaphore.VALUE_MAX)) {
            SemaphoreOverflowException e = assertThrows(SemaphoreOverflowException.class, s::release);
            assertEquals("EOVERFLOW", e.errnoName());
            assertEquals(Semaphore.VALUE_MAX, s.value());
        }
        try (Semaphore s = Semaphore.createExclusively(name(), Semaphore.VALUE_MAX - 1)) {
            assertThrows(SemaphoreOverflowException.class, () -> s.release(2));
            assertEquals(Semaphore.VALUE_MAX - 1, s.value(), "nothing released");
        }
    }

    @Test
    void aSignalStormDuringAWaitLosesNothing() throws Exception {
        // SEM-10, X-05: EINTR is retried with the same deadline, the value is conserved
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Semaphore s = Semaphore.createExclusively(name(), 0)) {
                AtomicLong thread = new AtomicLong();
                Blocked.Call<Boolean> waiter = Blocked.start(() -> {
                    thread.set(NativeThread.current());
                    s.acquire();
                    return true;
                }, SEM_WAIT);
                for (int i = 0; i < 5_000; i++) {
                    NativeThread.signal(thread.get());
                }
                s.release();
                assertTrue(waiter.result().get(5, TimeUnit.SECONDS));
                assertEquals(0, s.value());
            }
        });
    }

    @Test
    void aPostFromAnotherProcessEndsABlockedAcquire() throws Exception {
        // SEM-09: this thread sleeps in acquire(); a C process's sem_post wakes it with the unit
        String n = name();
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Semaphore s = Semaphore.createExclusively(n, 0)) {
                Blocked.Call<Boolean> waiter = Blocked.start(() -> {
                    s.acquire();
                    return true;
                }, SEM_WAIT);
                try (ChildProcess post = Command.of(Peers.path("sem_peer"), "post", n).start()) {
                    assertTrue(post.waitFor().success(), "sem_peer post");
                }
                assertTrue(waiter.result().get(5, TimeUnit.SECONDS));
                assertEquals(0, s.value(), "the waiter took the posted unit");
            }
        });
    }

    @Test
    void anInterruptEndsABlockedAcquireWithInterruptedExceptionPromptly() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Semaphore s = Semaphore.createExclusively(name(), 0)) {
                Blocked.Call<Boolean> waiter = Blocked.start(() -> {
                    s.acquire();
                    return true;
                }, SEM_WAIT);
                long start = System.nanoTime();
                waiter.thread().interrupt();
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> waiter.result().get(5, TimeUnit.SECONDS));
                long elapsed = System.nanoTime() - start;
                assertEquals(InterruptedException.class, e.getCause().getClass());
                assertTrue(elapsed < 1_000_000_000L, "ended promptly: " + elapsed / 1_000_000 + " ms");
                assertTrue(s.isOpen(), "an interrupt does not close the semaphore");
                s.release();
                assertTrue(s.tryAcquire(), "the unit is still there: the interrupted wait took nothing");
            }
        });
    }

    @Test
    void closeWakesAWaiterAndLaterUseIsClosedChannel() throws Exception {
        // SEM-13: no use after close, no unmap under a waiter
        assertTimeoutPreemptively(LIMIT, () -> {
            Semaphore s = Semaphore.createExclusively(name(), 0);
            Blocked.Call<Boolean> waiter = Blocked.start(() -> {
                s.acquire();
                return true;
            }, SEM_WAIT);
            s.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> waiter.result().get(5, TimeUnit.SECONDS));
            assertEquals(AsynchronousCloseException.class, e.getCause().getClass());
            s.close();
            assertThrows(ClosedChannelException.class, s::release);
            assertThrows(ClosedChannelException.class, s::tryAcquire);
            assertThrows(ClosedChannelException.class, s::value);
        });
    }

    @Test
    void plantedFilesAreRefusedInsteadOfCrashingTheJvm() throws Exception {
        // SEM-14, SEC-10: empty, garbage, wrong size, a symlink; each refusal names the semaphore and
        // leaves no descriptor (nor the mapping it would have been made for) behind
        String n = name();
        Path f = file(n);
        var fds = Fds.snapshot();
        Files.write(f, new byte[0]);
        assertRefused(n, "0 bytes");
        byte[] garbage = new byte[32];
        java.util.Arrays.fill(garbage, (byte) 0xff);
        Files.write(f, garbage);
        assertRefused(n, "not a valid process-shared semaphore");
        Files.write(f, new byte[64]);
        assertRefused(n, "64 bytes");
        Files.delete(f);
        Path target = Files.createTempFile("ipcb", ".sem");
        Files.write(target, new byte[32]);
        Files.createSymbolicLink(f, target);
        try {
            assertRefused(n, "symbolic link");
        } finally {
            Files.delete(f);
            Files.delete(target);
        }
        Fds.assertNoneAdded(fds);
    }

    private static void assertRefused(String name, String why) {
        String message = assertThrows(IpcSecurityException.class, () -> Semaphore.open(name)).getMessage();
        assertTrue(message.contains(name) && message.contains(why), message);
    }

    @Test
    void namedSemaphoresGetMode0600OrExactlyTheModeAskedFor() throws Exception {
        // SEM-17
        String a = name();
        String b = name();
        Semaphore.createExclusively(a, 0).close();
        Semaphore.createExclusively(b, 0, 0666).close();
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file(a))));
        assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(file(b))),
                "0666 exactly, not narrowed by the umask (022 gives sem_open 0644)");
    }

    @Test
    void unlinkLeavesOpenHandlesWorkingAndARecreateIsANewSemaphore() throws Exception {
        // SEM-11: unlinked while a C process waits on it, the semaphore neither wakes that waiter nor
        // stops a post from reaching it; the name is gone, and a new one under it is another semaphore
        String n = name();
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Semaphore s = Semaphore.createExclusively(n, 0);
                    ChildProcess waiter = Command.of(Peers.path("sem_peer"), "wait", n).start()) {
                assertTrue(PeerState.awaitInSyscall(waiter.pid(), SEM_WAIT), "the C waiter sleeps in sem_wait");
                Semaphore.unlink(n);
                assertThrows(NoSuchFileException.class, () -> Semaphore.open(n));
                assertTrue(PeerState.awaitInSyscall(waiter.pid(), SEM_WAIT), "the unlink did not wake it");
                assertEquals(Optional.empty(), waiter.exitStatus(), "the unlink did not end its wait");
                try (Semaphore fresh = Semaphore.createExclusively(n, 0)) {
                    fresh.release();
                    s.release();
                    assertTrue(waiter.waitFor().success(), "a post through the open handle reached the waiter");
                    assertEquals(0, s.value(), "the waiter took the unit");
                    assertEquals(1, fresh.value(), "the new semaphore is another one");
                    s.release(2);
                    assertEquals(2, s.value());
                    assertEquals(1, fresh.value());
                }
            }
        });
    }

    @Test
    void aSemaphoreInsideSharedMemoryWorksFromTwoMappings() throws Exception {
        String shm = Names.unique("semseg");
        try (SharedMemory seg = SharedMemory.createExclusively(shm, 4096); SharedMemory other = SharedMemory.open(shm)) {
            Semaphore s = Semaphore.initialize(seg, 64, 2);
            Semaphore t = Semaphore.attach(other, 64);
            assertTrue(t.tryAcquire());
            assertEquals(1, s.value());
            s.release(3);
            assertEquals(4, t.value());
            assertThrows(IllegalArgumentException.class, () -> Semaphore.initialize(seg, 12, 0), "8-aligned");
            assertThrows(IllegalArgumentException.class, () -> Semaphore.initialize(seg, 4072, 0), "must fit");
            seg.setLong(128, -1L);
            assertThrows(IpcSecurityException.class, () -> Semaphore.attach(other, 128));
        } finally {
            SharedMemory.unlink(shm);
        }
    }

    @Test
    void aClosedSegmentIsRefusedAsClosedChannel() throws Exception {
        // RELIABILITY.md FAULT-07: a closed handle is refused, never used through the mapping it leaves behind
        String shm = Names.unique("semseg");
        SharedMemory seg = SharedMemory.createExclusively(shm, 4096);
        try {
            Semaphore.initialize(seg, 0, 1).close();
            seg.close();
            assertThrows(ClosedChannelException.class, () -> Semaphore.initialize(seg, 64, 0),
                    "no semaphore is made in a closed segment");
            assertThrows(ClosedChannelException.class, () -> Semaphore.attach(seg, 0),
                    "no semaphore is attached in a closed segment");
        } finally {
            seg.close();
            SharedMemory.unlink(shm);
        }
    }

    @Test
    void errorsCarryTheCallAndErrno() {
        String n = name();
        IOException e = assertThrows(IOException.class, () -> Semaphore.open(n));
        assertEquals("sem_open", ((IpcError) e).call());
        assertEquals(2, ((IpcError) e).errno());
    }
}
