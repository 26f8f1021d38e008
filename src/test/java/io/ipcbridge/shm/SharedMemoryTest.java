package io.ipcbridge.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.IpcError;
import io.ipcbridge.IpcResourceLimitException;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Peers;
import io.ipcbridge.testing.SmallDevShm;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Shared memory through the library: the cases of RELIABILITY.md §3.3 one process can show. */
class SharedMemoryTest {
    private final Created created = new Created("shm", SharedMemory::unlink);

    private String name() {
        return created.name();
    }

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    @Test
    void openingAMissingObjectIsNoSuchFileNamingShmOpen() {
        // SHM-01
        String n = name();
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> SharedMemory.open(n));
        assertEquals("shm_open(" + n + "): ENOENT (No such file or directory)", e.getMessage());
        NoSuchFileException u = assertThrows(NoSuchFileException.class, () -> SharedMemory.unlink(n));
        assertEquals("shm_unlink", ((IpcError) u).call());
    }

    @Test
    void creatingAnExistingObjectIsFileAlreadyExists() throws Exception {
        // SHM-02
        String n = name();
        try (SharedMemory a = SharedMemory.createExclusively(n, 4096)) {
            FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                    () -> SharedMemory.createExclusively(n, 4096));
            assertEquals("shm_open(" + n + "): EEXIST (File exists)", e.getMessage());
        }
    }

    @Test
    void anObjectBeingMadeHasNoNameInDevShmUntilItIsWhole() throws Exception {
        // SHM-03, SHM-15: while the initializer writes the new object, no file in /dev/shm holds what
        // it writes, so a creator killed then leaves nothing behind (with a temporary name, as glibc's
        // sem_open makes, it left a whole object no reaper knows); once created, the name holds it.
        String n = name();
        byte[] marker = new byte[16];
        new java.security.SecureRandom().nextBytes(marker);
        int size = 3 * 4096;
        List<Path> holding = new java.util.ArrayList<>();
        try (SharedMemory shm = SharedMemory.createExclusively(n, size, 0600, map -> {
            map.put(0, marker);
            holding.addAll(filesHolding(size, marker));
        })) {
            assertEquals(List.of(), holding, "files in /dev/shm holding the object being made");
            assertEquals(List.of(Path.of("/dev/shm" + n)), filesHolding(size, marker));
        }
    }

    @Test
    void anInitializerThatFailsWithAnErrorLeavesNoDescriptorAndNoObject() throws Exception {
        // FAULT-06, SHM-03: the initializer is the caller's code, and may fail with an Error (a failed
        // assert, an OutOfMemoryError) as well as an exception. Its object is mapped through a copy of
        // the unnamed file's descriptor: that copy was closed for an exception only, so an Error left
        // it open, and with it the unnamed object and the room it reserved in /dev/shm, until a GC
        String n = name();
        var fds = Fds.snapshot();
        AssertionError e = assertThrows(AssertionError.class, () -> SharedMemory.createExclusively(n, 1 << 20, 0600,
                map -> {
                    throw new AssertionError("the caller's check failed");
                }));
        assertEquals("the caller's check failed", e.getMessage());
        Fds.assertNoneAdded(fds);
        assertFalse(Files.exists(Path.of("/dev/shm" + n), java.nio.file.LinkOption.NOFOLLOW_LINKS), "no object");
    }

    /** The regular files of {@code size} bytes in /dev/shm that begin with {@code marker}. */
    private static List<Path> filesHolding(int size, byte[] marker) {
        try (Stream<Path> entries = Files.list(Path.of("/dev/shm"))) {
            return entries.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).filter(p -> {
                try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "r")) {
                    byte[] head = new byte[marker.length];
                    return f.length() == size && f.read(head) == head.length && java.util.Arrays.equals(head, marker);
                } catch (IOException gone) {
                    return false; // removed meanwhile, or not ours to read
                }
            }).toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aPendingInterruptFailsNoMappingAndIsKept() throws Exception {
        // mapping does not block, so an interrupt pending is no reason to fail it (the JDK's map
        // says ClosedByInterruptException); it is kept for the next call that blocks
        String n = name();
        Thread.currentThread().interrupt();
        try (SharedMemory created = SharedMemory.createExclusively(n, 4096);
                SharedMemory rw = SharedMemory.open(n);
                SharedMemory ro = SharedMemory.open(n, true);
                SharedMemory again = SharedMemory.createOrOpen(n, 4096, 0600);
                SharedMemory memfd = SharedMemory.memfd("interrupted", 4096, true);
                SharedMemory received = SharedMemory.map(memfd.descriptor(), false)) {
            rw.setInt(0, 42);
            assertEquals(42, ro.getInt(0) + again.getInt(4) + received.getInt(0));
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt is still pending");
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void badSizesAndNamesAreRefusedBeforeAnyCall() {
        // SHM-04, SHM-16, SEC-09
        assertThrows(IllegalArgumentException.class, () -> SharedMemory.createExclusively(name(), 0));
        assertThrows(IllegalArgumentException.class, () -> SharedMemory.createExclusively(name(), -1));
        assertThrows(IllegalArgumentException.class, () -> SharedMemory.createExclusively(name(), 1L << 40));
        for (String bad : new String[] {"", "/", "/a/b", "//x", "/..", "/sem.x", "/" + "a".repeat(256)}) {
            assertThrows(IllegalArgumentException.class, () -> SharedMemory.open(bad), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> SharedMemory.createExclusively(name(), 4096, 01000));
    }

    @Test
    void aNullInitializerIsRefusedBeforeAnyCall() throws Exception {
        // FAULT-07: told before the name is looked up (here it exists: EEXIST would come first) or any space is reserved
        String n = name();
        try (SharedMemory existing = SharedMemory.createExclusively(n, 4096)) {
            NullPointerException e = assertThrows(NullPointerException.class,
                    () -> SharedMemory.createExclusively(n, 4096, 0600, null), "the null initializer, not EEXIST");
            assertEquals("initializer", e.getMessage());
        }
    }

    @Test
    void theMappingSizeComesFromFstatAndAccessPastItIsRefused() throws Exception {
        // SHM-06, SHM-10: the view is clamped to st_size
        String n = name();
        try (SharedMemory a = SharedMemory.createExclusively(n, 5000); SharedMemory b = SharedMemory.open(n)) {
            assertEquals(5000, b.size());
            assertEquals(5000, b.info().size());
            assertThrows(IndexOutOfBoundsException.class, () -> b.getInt(4998));
            assertThrows(IndexOutOfBoundsException.class, () -> b.getLong(5000));
            a.setLong(4992, 42);
            assertEquals(42, b.getLong(4992));
            // an attach that asks for 20 times the size maps what fstat says, and leaves the object alone
            try (SharedMemory c = SharedMemory.createOrOpen(n, 20 * 5000, 0600)) {
                assertEquals(5000, c.size());
                assertEquals(42, c.getLong(4992));
                assertThrows(IndexOutOfBoundsException.class, () -> c.getInt(4998));
            }
            assertEquals(5000, SharedMemory.info(n).size(), "the object keeps its own size");
        }
    }

    @Test
    void aReadOnlyMappingRefusesWrites() throws Exception {
        // SHM-07
        String n = name();
        try (SharedMemory a = SharedMemory.createExclusively(n, 4096); SharedMemory r = SharedMemory.open(n, true)) {
            a.setInt(0, 7);
            assertEquals(7, r.getInt(0));
            assertTrue(r.isReadOnly());
            assertThrows(ReadOnlyBufferException.class, () -> r.setInt(0, 1));
            assertThrows(ReadOnlyBufferException.class, () -> r.setIntRelease(0, 1));
            assertThrows(ReadOnlyBufferException.class, () -> r.buffer().put(0, (byte) 1));
        }
    }

    @Test
    void dataPersistsUntilUnlinkAndAMappingOutlivesIt() throws Exception {
        // SHM-09
        String n = name();
        try (SharedMemory a = SharedMemory.createExclusively(n, 4096)) {
            a.buffer().put(100, "persist".getBytes(StandardCharsets.US_ASCII));
        }
        try (SharedMemory again = SharedMemory.open(n)) {
            byte[] got = new byte[7];
            again.buffer().get(100, got);
            assertEquals("persist", new String(got, StandardCharsets.US_ASCII));
            SharedMemory.unlink(n);
            again.setInt(0, 5);
            assertEquals(5, again.getInt(0), "the mapping survives unlink");
            assertThrows(NoSuchFileException.class, () -> SharedMemory.unlink(n));
        }
    }

    @Test
    void objectsAreCreatedWithMode0600OrExactlyTheModeAskedForAndOwnedByUs() throws Exception {
        // SHM-18, SEC-01
        try (SharedMemory a = SharedMemory.createExclusively(name(), 4096)) {
            assertEquals(0600, a.info().mode());
        }
        try (SharedMemory b = SharedMemory.createExclusively(name(), 4096, 0664)) {
            assertEquals(0664, b.info().mode());
            assertEquals(Integer.parseInt(new String(new ProcessBuilder("id", "-u").start().getInputStream()
                    .readAllBytes()).trim()), b.info().uid());
            assertEquals(Integer.parseInt(new String(new ProcessBuilder("id", "-g").start().getInputStream()
                    .readAllBytes()).trim()), b.info().gid(), "owned by the effective group too");
        }
    }

    @Test
    void aSymbolicLinkOrADirectoryPlantedInDevShmIsRefused() throws Exception {
        String n = name();
        Path target = Files.createTempFile("ipcb", ".target");
        Path link = Path.of("/dev/shm" + n);
        Files.createSymbolicLink(link, target);
        try {
            assertThrows(IpcSecurityException.class, () -> SharedMemory.open(n));
        } finally {
            Files.delete(link);
            Files.delete(target);
        }
    }

    @Test
    void atomicAccessesRequireAlignmentAndWork() throws Exception {
        try (SharedMemory a = SharedMemory.createExclusively(name(), 4096)) {
            assertTrue(a.compareAndSetInt(8, 0, 5));
            assertFalse(a.compareAndSetInt(8, 0, 6));
            assertEquals(5, a.getAndAddInt(8, 2));
            assertEquals(7, a.getIntAcquire(8));
            a.setLongRelease(16, Long.MAX_VALUE);
            assertEquals(Long.MAX_VALUE, a.getLongVolatile(16));
            assertTrue(a.compareAndSetLong(16, Long.MAX_VALUE, 1));
            assertEquals(1, a.getAndAddLong(16, 1));
            assertThrows(IllegalArgumentException.class, () -> a.getIntAcquire(2));
            assertThrows(IllegalArgumentException.class, () -> a.compareAndSetLong(12, 0, 1));
        }
    }

    @Test
    void afterCloseTheAccessorsThrowButHandedOutBuffersStayValid() throws Exception {
        // no read of unmapped memory, ever: the mapping lives while a buffer of it is reachable
        SharedMemory a = SharedMemory.createExclusively(name(), 4096);
        ByteBuffer kept = a.buffer();
        a.setInt(0, 99);
        a.close();
        a.close();
        assertThrows(IllegalStateException.class, () -> a.getInt(0));
        assertThrows(IllegalStateException.class, () -> a.compareAndSetInt(0, 99, 1));
        assertEquals(99, kept.getInt(0));
    }

    @Test
    void aMemfdSegmentSealedAgainstResizingCannotBeShrunk() throws Exception {
        // SEC-13
        try (SharedMemory m = SharedMemory.memfd("ring", 8192, true)) {
            m.setInt(0, 1);
            IOException e = assertThrows(IOException.class, () -> m.resize(4096));
            assertEquals("EPERM", ((IpcError) e).errnoName());
            assertEquals(8192, m.info().size());
            assertTrue(m.compareAndSetInt(8000, 0, 1), "a refused shrink leaves the whole object usable");
        }
    }

    @Test
    void anAtomicUpdatePastTheEndOfAShrunkObjectIsRefusedNotACrash() throws Exception {
        // SHM-11, FAULT-07: the JDK does not guard compare-and-set against SIGBUS; this JVM knows the
        // size any of its handles set, whichever handle updates
        String n = name();
        try (SharedMemory a = SharedMemory.createExclusively(n, 65536); SharedMemory b = SharedMemory.open(n)) {
            assertTrue(a.compareAndSetInt(8192, 0, 1));
            b.resize(4096);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.compareAndSetInt(8192, 1, 2));
            assertTrue(e.getMessage().contains("past the object's 4096 bytes"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> b.getAndAddLong(4096, 1));
            assertEquals(0, a.getAndAddInt(4092, 5), "below the new end it works");
            a.resize(65536);
            assertTrue(b.compareAndSetInt(8192, 0, 7), "grown again: the page is back, zeroed");
        }
    }

    @Test
    void aMemfdLabelIsCheckedBeforeTheCall() throws Exception {
        assertEquals("label", assertThrows(NullPointerException.class, () -> SharedMemory.memfd(null, 4096, true))
                .getMessage());
        assertThrows(IllegalArgumentException.class, () -> SharedMemory.memfd("a\0b", 4096, true));
        assertThrows(IllegalArgumentException.class,
                () -> SharedMemory.memfd("é".repeat(SharedMemory.MEMFD_LABEL_MAX / 2 + 1), 4096, true));
        try (SharedMemory m = SharedMemory.memfd("x".repeat(SharedMemory.MEMFD_LABEL_MAX), 4096, true)) {
            assertEquals(4096, m.size(), "the longest label memfd_create takes");
        }
    }

    @Test
    void theDescriptorIsCloseOnExecAndAMemfdCanBeHandedToAChild() throws Exception {
        // SHM-17, X-10: FD_CLOEXEC from shm_open and memfd_create on (the spawn closes what it does
        // not place anyway, so the child's listing alone cannot show it)
        try (SharedMemory m = SharedMemory.memfd("child", 4096, true); Pipe out = Pipe.open();
                SharedMemory named = SharedMemory.createExclusively(created.name(), 4096);
                ChildProcess child = Command.of(Peers.path("fd_list")).fd(3, m.descriptor()).stdout(out.sink())
                        .start()) {
            assertTrue(Fds.closeOnExec(m.descriptor().fd()), "the memfd is close-on-exec");
            assertTrue(Fds.closeOnExec(named.descriptor().fd()), "the shm descriptor is close-on-exec");
            out.sink().close();
            String listing = new String(out.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(child.waitFor().success());
            assertEquals(List.of("0", "1", "2", "3"), listing.lines().filter(l -> l.matches("\\d+")).toList());
        }
    }

    /**
     * This process's mappings of /dev/shm files. A created segment is mapped through its file made
     * without a name, which /proc/self/maps shows as "/dev/shm/#INODE (deleted)", never by its name.
     */
    private static long devShmMappings() throws IOException {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.filter(l -> l.contains(" /dev/shm/")).count();
        }
    }

    @Test
    void tenThousandCreateMapCloseUnlinkCyclesLeaveNothingBehind() throws Exception {
        // fds at once; mappings once the buffers are unreachable (they are released by the GC, by design)
        var fds = Fds.snapshot();
        long mapped = devShmMappings();
        // its own unique name: a run in another JVM at the same time makes and removes its own
        String n = name();
        for (int i = 0; i < 10_000; i++) {
            try (SharedMemory s = SharedMemory.createExclusively(n, 4096)) {
                s.setInt(0, i);
            } finally {
                SharedMemory.unlink(n);
            }
        }
        Fds.assertNoneAdded(fds);
        assertFalse(Files.exists(Path.of("/dev/shm" + n), java.nio.file.LinkOption.NOFOLLOW_LINKS), "no object left");
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (devShmMappings() > mapped && System.nanoTime() < deadline) {
            System.gc();
        }
        long left = devShmMappings();
        assertTrue(left <= mapped, left + " mappings of /dev/shm files, " + mapped + " before: every mapping released");
    }

    @Test
    void aFullDevShmFailsAtCreateWithEnospcAndLeavesNothing() throws Exception {
        // SHM-12: in a mount namespace whose /dev/shm is a 1 MiB tmpfs, a 4 MiB segment is refused at
        // create time by posix_fallocate (instead of a SIGBUS at the first write), and removed again
        String out = SmallDevShm.run("\"$0\" --enable-native-access=ALL-UNNAMED -cp \"$1\" "
                + "io.ipcbridge.testing.CreateSegment /big 4194304\necho \"exit $?\"; ls -A /dev/shm");
        assertEquals("IpcResourceLimitException: posix_fallocate(/big): ENOSPC (No space left on device): "
                + "/dev/shm has no room for 4194304 bytes; nothing was created\nexit 1\n", out);
    }

    @Test
    void aResizeThatFindsDevShmFullLeavesTheObjectAsItWas() throws Exception {
        // SHM-12 for resize: ftruncate grows the object sparsely, then posix_fallocate finds no room.
        // The object must keep its old size, not stay grown over pages that were never reserved (a
        // write there is a SIGBUS: in a C peer, or in this JVM through a compare-and-set)
        String out = SmallDevShm.run("\"$0\" --enable-native-access=ALL-UNNAMED -cp \"$1\" "
                + "io.ipcbridge.testing.ResizeSegment /grow 65536 4194304");
        assertTrue(out.startsWith("IpcResourceLimitException: posix_fallocate(/grow): ENOSPC"), out);
        assertTrue(out.endsWith("size 65536\n"), "the failed resize left the object at its old size: " + out);
    }

    @Test
    void anAtomicUpdateOfAHoleInAFullDevShmIsRefusedNotACrash() throws Exception {
        // SHM-11, SHM-12: a peer that cuts the object and sizes it again leaves holes under the
        // mapping, and fstat the size as before; with /dev/shm full, the page a compare-and-set
        // faults in cannot be had: in the interpreter (-Xint) that SIGBUS killed the JVM
        String out = SmallDevShm.run("\"$0\" -Xint -XX:ErrorFile=/dev/null --enable-native-access=ALL-UNNAMED "
                + "-cp \"$1\" io.ipcbridge.testing.HoleUnderAtomic /hole\necho \"exit $?\"");
        assertTrue(out.startsWith("full\nrefused: /hole: ") && out.contains("ENOSPC") && out.endsWith("exit 0\n"),
                out);
    }

    @Test
    void aMapThatFindsNoRoomHasUnreachableMappingsUnmappedFirst() throws Exception {
        // X-07, LOAD-07: a mapping is unmapped only once the GC finds it unreachable; FileChannel.map
        // collected and mapped again when mmap said ENOMEM, and so must the map. A child JVM whose
        // RLIMIT_AS leaves room for three mappings of a 1 GiB object (sparse: no memory) maps it 16
        // times, dropping each: mmap's ENOMEM failed the fourth, with no collection in sight (and
        // was told as "out of kernel memory")
        String n = name();
        try (RandomAccessFile f = new RandomAccessFile("/dev/shm" + n, "rw")) {
            f.setLength(1L << 30);
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "io.ipcbridge.testing.UnreachableMappings", n)
                .redirectErrorStream(true).start();
        try {
            String out = assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            assertTrue(out.startsWith("mapped 16\n"), "the unreachable mappings were unmapped to make room: " + out);
            // held mappings do fill it: a checked failure naming the call, the object and what ran out
            assertEquals("mapped 16\nIpcResourceLimitException: mmap(" + n + "): ENOMEM (Cannot allocate memory): "
                    + "no room for a mapping of 1073741824 bytes: the address space (RLIMIT_AS) or the count of "
                    + "mappings (vm.max_map_count) is used up\n", out);
            assertEquals(0, p.waitFor(), out);
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void anObjectLargerThanOneMappingIsACheckedFailureNamingItAndLeaksNothing() throws Exception {
        // a peer may size an object past 2 GiB (sparse, so this costs no memory): that is the object's
        // property, not bad input, so open fails with an IOException naming it, and closes its fd
        String n = name();
        try (SharedMemory s = SharedMemory.createExclusively(n, 4096)) {
            try (RandomAccessFile f = new RandomAccessFile("/dev/shm" + n, "rw")) {
                f.setLength(3L << 30);
            }
            var fds = io.ipcbridge.testing.Fds.snapshot();
            IpcResourceLimitException e = assertThrows(IpcResourceLimitException.class, () -> SharedMemory.open(n));
            assertTrue(e.getMessage().startsWith("mmap(" + n + "): EFBIG"), e.getMessage());
            io.ipcbridge.testing.Fds.assertNoneAdded(fds);
        }
    }
}
