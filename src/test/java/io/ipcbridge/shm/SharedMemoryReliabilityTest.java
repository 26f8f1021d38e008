package io.ipcbridge.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.cli.BoundedBuffer;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.ExclusiveRace;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Names;
import io.ipcbridge.testing.Peers;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Shared memory under races, foreign peers and hostile contents: RELIABILITY.md §3.3. */
class SharedMemoryReliabilityTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private final Created created = new Created("shmrel", SharedMemory::unlink);

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    private static Path file(String name) {
        return Path.of("/dev/shm" + name);
    }

    /** Waits (on the kernel's state, /proc/PID/maps) until process {@code pid} has {@code name} mapped. */
    private static void awaitMapped(long pid, String name) throws Exception {
        Path maps = Path.of("/proc/" + pid + "/maps");
        while (!Files.readString(maps).contains("/dev/shm" + name)) {
            Thread.onSpinWait();
        }
    }

    @Test
    void exactlyOneOfThreeProcessesCreatesEachNameExclusively() throws Exception {
        // SHM-03: Java and 2 C racers, 1000 names, each created exactly once
        String prefix = Names.unique("shmrace");
        assertTimeoutPreemptively(LIMIT, () -> ExclusiveRace.run("shm", prefix, 2, 1000, name -> {
            try (SharedMemory s = SharedMemory.createExclusively(name, 4096)) {
                return s.isOpen();
            } catch (FileAlreadyExistsException lost) {
                return false;
            }
        }, SharedMemory::unlink));
    }

    @Test
    void anObjectNotYetSizedMapsToAnEmptyViewThatRefusesEveryAccess() throws Exception {
        // SHM-05: a C creator's object has size 0 until its ftruncate. The catalogue asks for an
        // IllegalStateException at map time; here FileChannel.map makes no mmap call for 0 bytes, so
        // opening succeeds (the handle reports its info, and resize() can size the object for the
        // next open) with an empty view on which every access is refused before touching memory
        String n = Names.unique("shm0");
        created.add(n + "-0");
        assertTimeoutPreemptively(LIMIT, () -> ExclusiveRace.run("shm", n, 1, 1, ignored -> false, ignored -> {
        }));
        try (SharedMemory s = SharedMemory.open(n + "-0")) {
            assertEquals(0, s.size());
            assertEquals(0, s.info().size());
            assertThrows(IndexOutOfBoundsException.class, () -> s.getInt(0));
            assertThrows(java.nio.BufferUnderflowException.class, () -> s.buffer().get());
            s.resize(4096);
            try (SharedMemory again = SharedMemory.open(n + "-0")) {
                again.setInt(0, 42);
                assertEquals(42, again.getInt(0), "sized through the first handle, the object maps whole");
            }
        }
    }

    @Test
    void anAtomicUpdateOfAnObjectNotYetSizedSaysSoBeforeAndAfterItIsSized() throws Exception {
        // SHM-05: a compare-and-set or get-and-add on a handle mapped at 0 bytes is refused without
        // touching memory, naming the object and saying it has no size (not that it "was resized"),
        // also once the object was sized meanwhile: this mapping stays empty, only a new open maps it
        String n = Names.unique("shm0");
        String name = n + "-0";
        created.add(name);
        assertTimeoutPreemptively(LIMIT, () -> ExclusiveRace.run("shm", n, 1, 1, ignored -> false, ignored -> {
        }));
        try (SharedMemory s = SharedMemory.open(name)) {
            for (int round = 0; round < 2; round++) {
                for (var update : java.util.List.<org.junit.jupiter.api.function.Executable>of(
                        () -> s.compareAndSetInt(0, 0, 1), () -> s.getAndAddInt(0, 1),
                        () -> s.compareAndSetLong(0, 0, 1), () -> s.getAndAddLong(0, 1))) {
                    String m = assertThrows(IllegalStateException.class, update).getMessage();
                    assertTrue(m.startsWith(name + " ") && m.contains("no size") && !m.contains("resized"), m);
                }
                s.resize(4096);
            }
            try (SharedMemory again = SharedMemory.open(name)) {
                assertTrue(again.compareAndSetInt(0, 0, 7), "opened again after sizing, the update works");
            }
        }
    }

    @Test
    void resizingKeepsModeAndOwnerAndAReadOnlyHandleCannotTruncate() throws Exception {
        // SHM-08: there is no O_TRUNC open in this API (so the Linux O_RDONLY|O_TRUNC trap cannot be
        // reached); the truncating operation is resize(), which keeps mode and owner
        String n = created.name();
        try (SharedMemory s = SharedMemory.createExclusively(n, 8192, 0640)) {
            SharedMemory.Info before = s.info();
            s.resize(1);
            SharedMemory.Info after = s.info();
            assertEquals(1, after.size());
            assertEquals(before.mode(), after.mode());
            assertEquals(before.uid(), after.uid());
            assertEquals(before.gid(), after.gid());
            try (SharedMemory ro = SharedMemory.open(n, true)) { // SHM-07: refused before ftruncate's EINVAL
                assertEquals(1, ro.size());
                assertThrows(java.nio.channels.NonWritableChannelException.class, () -> ro.resize(4096));
            }
            assertEquals(1, s.info().size(), "a refused resize changes nothing");
        }
    }

    @Test
    void aDescriptorOfAnotherKindIsRefusedBeforeMapping() throws Exception {
        // SHM-13: a pipe end handed to map() is refused after fstat, before mmap, and nothing leaks
        var fds = Fds.snapshot();
        try (Pipe p = Pipe.open()) {
            IpcSecurityException e = assertThrows(IpcSecurityException.class,
                    () -> SharedMemory.map(p.source().descriptor(), false));
            assertTrue(e.getMessage().contains("not a shared memory object"), e.getMessage());
        }
        Fds.assertNoneAdded(fds);
    }

    @Test
    void processesThatAttachAndEndNormallyOrKilledNeverRemoveTheObject() throws Exception {
        // SHM-14: attach is not own. A C peer attached and SIGKILLed, a Java child that opens and exits,
        // and this process opening and closing: the object stays until its explicit unlink
        String n = created.name();
        assertTimeoutPreemptively(LIMIT, () -> {
            try (BoundedBuffer bb = BoundedBuffer.create(n, 4, 16, false)) {
                try (ChildProcess consumer = Command.of(Peers.path("shm_peer"), "bb-consume", n, "1", "unnamed")
                        .start()) {
                    awaitMapped(consumer.pid(), n);
                    consumer.kill();
                    assertEquals(9, consumer.waitFor().signal());
                }
                assertTrue(Files.exists(file(n)), "still there after the attached C peer was killed");
                String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
                Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                        System.getProperty("java.class.path"), "io.ipcbridge.testing.OpenAs", "shm", "open", n)
                        .redirectErrorStream(true).start();
                assertEquals("ok", new String(child.getInputStream().readAllBytes()).trim());
                assertEquals(0, child.waitFor());
                assertTrue(Files.exists(file(n)), "still there after a Java child opened it and exited");
                SharedMemory.open(n).close();
                assertTrue(Files.exists(file(n)), "still there after this process opened and closed it");
            }
            assertTrue(Files.exists(file(n)), "closing the creator does not unlink either");
            SharedMemory.unlink(n);
            assertFalse(Files.exists(file(n)));
        });
    }

    @Test
    void aKilledCreatorLeavesItsNameForAnExplicitUnlink() throws Exception {
        // SHM-15 (part): kernel persistence; a creator SIGKILLed after creating leaves the name until an
        // explicit unlink, or until io.ipcbridge.Reaper removes it (interop.ReaperTest)
        String prefix = Names.unique("shmcrash");
        String n = prefix + "-0";
        created.add(n);
        try (Pipe in = Pipe.open(); Pipe out = Pipe.open();
                ChildProcess creator = Command.of(Peers.path("excl_race"), "shm", prefix, "2")
                        .stdin(in.source()).stdout(out.sink()).start()) {
            in.source().close();
            out.sink().close();
            var answers = new java.io.BufferedReader(new java.io.InputStreamReader(out.source().inputStream()));
            assertEquals("ready", answers.readLine());
            in.sink().outputStream().write('\n');
            assertEquals("won", answers.readLine());
            creator.kill();
            assertEquals(9, creator.waitFor().signal());
        }
        assertTrue(Files.exists(file(n)), "the name outlives its killed creator");
        SharedMemory.unlink(n);
        assertFalse(Files.exists(file(n)));
    }

    @Test
    void unalignedAtomicsAndOutOfRangeOffsetsAreRefusedBeforeAnyAccess() throws Exception {
        // SHM-20: this API maps whole objects (no offset or length to give mmap); the equivalent misuse
        // is an unaligned atomic or an offset past the end, refused without touching memory
        try (SharedMemory s = SharedMemory.createExclusively(created.name(), 4096)) {
            assertThrows(IllegalArgumentException.class, () -> s.getIntAcquire(1));
            assertThrows(IllegalArgumentException.class, () -> s.compareAndSetLong(4, 0, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> s.getInt(4094));
            assertThrows(IndexOutOfBoundsException.class, () -> s.getLong(Integer.MAX_VALUE - 3));
            assertThrows(IndexOutOfBoundsException.class, () -> s.setInt(-4, 1));
            assertThrows(IllegalArgumentException.class, () -> SharedMemory.createExclusively(created.name(), 0));
        }
    }

    @Test
    void hostileIndicesInTheSegmentNeverLeadOutsideIt() throws Exception {
        // SHM-21, SEC-13: a peer overwrites the bounded buffer's tail with 0x7fffffff and with
        // Long.MIN_VALUE + 3; the reader stays inside the mapping and reports a wrong record (the
        // bounded buffer's Taken.wrong stands in for the catalogue's IpcProtocolException). Slot count
        // and record size are never read back from the segment.
        String n = created.name();
        assertTimeoutPreemptively(LIMIT, () -> {
            try (BoundedBuffer bb = BoundedBuffer.create(n, 16, 16, false); SharedMemory peer = SharedMemory.open(n)) {
                for (long seq = 0; seq < 16; seq++) {
                    assertTrue(bb.produce(seq, LIMIT));
                }
                peer.setLong(BoundedBuffer.OFF_TAIL, 0x7fffffffL);
                Optional<BoundedBuffer.Taken> taken = bb.consume(0, LIMIT);
                assertTrue(taken.isPresent());
                assertEquals("expected record 0, got record 15", taken.get().wrong());
                peer.setLong(BoundedBuffer.OFF_TAIL, Long.MIN_VALUE + 3);
                taken = bb.consume(1, LIMIT);
                assertFalse(taken.orElseThrow().ok(), "a wrong record is reported, not read out of bounds");
            }
        });
    }
}
