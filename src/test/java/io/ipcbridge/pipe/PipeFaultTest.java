package io.ipcbridge.pipe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.Descriptor;
import io.ipcbridge.IpcResourceLimitException;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Limits;
import io.ipcbridge.testing.PeerDeath;
import io.ipcbridge.testing.PeerState;
import io.ipcbridge.testing.Peers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pipes and FIFOs when the peer dies, the wrong end is used or descriptors run out (§3.4, §3.5, FAULT-01). */
class PipeFaultTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    /** Far more than any test reads: the writer is always mid-transfer when killed. */
    private static final String ENDLESS = Long.toString(1L << 40);

    @TempDir
    Path dir;

    @Test
    void aPipeWriterKilledMidTransferIsEndOfFile() throws Exception {
        // FAULT-01 (pipe, writer killed)
        try (Pipe p = Pipe.open();
                ChildProcess writer = Command.of(Peers.path("pipe_peer"), "source", "3", ENDLESS, "1")
                        .fd(3, p.sink()).start()) {
            p.sink().close();
            PeerDeath.writerKilledMidTransferSurfacesAsEndOfFile(p.source(), writer);
        }
    }

    @Test
    void aPipeReaderKilledMidTransferIsPeerClosed() throws Exception {
        // FAULT-01 (pipe, reader killed)
        try (Pipe p = Pipe.open();
                ChildProcess reader = Command.of(Peers.path("pipe_peer"), "sink", "3").fd(3, p.source()).start()) {
            p.source().close();
            PeerDeath.readerKilledMidTransferSurfacesAsPeerClosed(p.sink(), reader);
        }
    }

    @Test
    void aFifoWriterKilledMidTransferIsEndOfFile() throws Exception {
        // FAULT-01 (FIFO, writer killed)
        Path f = dir.resolve("f");
        Fifo.create(f);
        try (ChildProcess writer = Command.of(Peers.path("fifo_peer"), "source", f.toString(), ENDLESS, "1").start();
                PipeSource in = Fifo.openReader(f)) {
            PeerDeath.writerKilledMidTransferSurfacesAsEndOfFile(in, writer);
        }
    }

    @Test
    void aFifoReaderKilledMidTransferIsPeerClosed() throws Exception {
        // FAULT-01 (FIFO, reader killed)
        Path f = dir.resolve("f");
        Fifo.create(f);
        try (ChildProcess reader = Command.of(Peers.path("fifo_peer"), "sink", f.toString()).start();
                PipeSink out = Fifo.openWriter(f)) {
            PeerDeath.readerKilledMidTransferSurfacesAsPeerClosed(out, reader);
        }
    }

    @Test
    void aWriterBlockedOnAFullPipeStaysKillableAndTheReaderDrainsThenSeesEndOfFile() throws Exception {
        // PIPE-09: the C writer fills the pipe and sleeps in write(2); SIGKILL ends it; what it had
        // written arrives intact, then end of file
        try (Pipe p = Pipe.open();
                ChildProcess writer = Command.of(Peers.path("pipe_peer"), "source", "3", ENDLESS, "1")
                        .fd(3, p.sink()).start()) {
            p.sink().close();
            int capacity = p.source().capacity();
            assertTrue(PeerState.awaitInSyscall(writer.pid(), Blocked.WRITE), "the writer blocks on the full pipe");
            writer.kill();
            assertEquals(9, writer.waitFor().signal(), "killed while blocked");
            byte[] got = assertTimeoutPreemptively(LIMIT, () -> PeerDeath.drain(p.source()));
            assertEquals(capacity, got.length, "exactly what filled the pipe");
            assertArrayEquals(new io.ipcbridge.cli.PatternStream(1).bytes(capacity), got, "intact, in order");
        }
    }

    @Test
    void theWrongEndCannotBeWrittenOrReadAndTheRawDescriptorIsRefusedByTheKernel() throws Exception {
        // PIPE-03: the types have no such methods; the descriptor of the read end, written to, gets
        // EBADF, reported as the internal error it would be, and nothing reaches the pipe
        assertFalse(WritableByteChannel.class.isAssignableFrom(PipeSource.class));
        assertFalse(ReadableByteChannel.class.isAssignableFrom(PipeSink.class));
        try (Pipe p = Pipe.open()) {
            Descriptor readEnd = p.source().descriptor();
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> readEnd.write(ByteBuffer.allocateDirect(1)));
            assertTrue(e.getMessage().contains("EBADF"), e.getMessage());
            Descriptor writeEnd = p.sink().descriptor();
            IllegalStateException r = assertThrows(IllegalStateException.class,
                    () -> writeEnd.read(ByteBuffer.allocateDirect(1)));
            assertTrue(r.getMessage().contains("EBADF"), r.getMessage());
            assertEquals(1, p.sink().write(ByteBuffer.wrap(new byte[] {5})), "both ends still work");
            ByteBuffer one = ByteBuffer.allocate(1);
            assertEquals(1, p.source().read(one));
            assertEquals(5, one.get(0));
        }
    }

    @Test
    void runningOutOfDescriptorsIsAResourceLimitAndLeavesNoHalfPipe() throws Exception {
        // PIPE-10, LOAD-07 (RLIMIT_NOFILE): with the soft limit just above what is open, pipes are
        // opened until EMFILE; then, with exactly one descriptor free, pipe2 fails without taking it
        // (no orphan end: the free one can still be opened); once the limit is raised again, the same
        // process opens pipes as before
        List<Pipe> pipes = new ArrayList<>();
        List<java.nio.channels.FileChannel> singles = new ArrayList<>();
        Map<Integer, String> before = Fds.snapshot();
        int highest = before.keySet().stream().mapToInt(Integer::intValue).max().orElse(2);
        IpcResourceLimitException full;
        IpcResourceLimitException oneFree;
        try (Limits lowered = Limits.lower(Limits.NOFILE, highest + 12)) {
            full = assertThrows(IpcResourceLimitException.class, () -> {
                for (;;) {
                    pipes.add(Pipe.open());
                }
            });
            try {
                for (;;) {
                    singles.add(java.nio.channels.FileChannel.open(dir));
                }
            } catch (IOException noneLeft) {
                // every descriptor below the limit is taken
            }
            if (singles.isEmpty()) {
                pipes.get(pipes.size() - 1).sink().close();
            } else {
                singles.remove(singles.size() - 1).close();
            }
            oneFree = assertThrows(IpcResourceLimitException.class, Pipe::open);
            singles.add(java.nio.channels.FileChannel.open(dir)); // the free descriptor is still free
            assertThrows(IOException.class, () -> singles.add(java.nio.channels.FileChannel.open(dir)),
                    "and it was the only one");
        } finally {
            for (java.nio.channels.FileChannel c : singles) {
                c.close();
            }
            for (Pipe p : pipes) {
                p.close();
            }
        }
        assertEquals("EMFILE", full.errnoName());
        assertEquals("EMFILE", oneFree.errnoName());
        assertTrue(full.getMessage().contains("RLIMIT_NOFILE"), full.getMessage());
        assertEquals("pipe", full.object(), "X-09: the message names what failed: " + full.getMessage());
        assertTrue(full.getMessage().startsWith("pipe2(pipe): EMFILE (Too many open files)"), full.getMessage());
        assertFalse(pipes.isEmpty());
        try (Pipe again = Pipe.open()) {
            assertTrue(again.source().isOpen(), "recovered without a restart");
        }
        Fds.assertNoneAdded(before);
    }

    @Test
    void aReadWriteOpenOfAFifoNeedsNoPeerAndKeepsReadersFromEndOfFile() throws Exception {
        // FIFO-08: O_RDWR on a FIFO with no peers opens at once on Linux (POSIX leaves it undefined);
        // ipcbridge offers it only as a keep-alive: while it is open, a writer that leaves does not
        // end the readers' stream
        Path f = dir.resolve("f");
        Fifo.create(f);
        try (Descriptor keepAlive = assertTimeoutPreemptively(LIMIT, () -> Fifo.openReadWrite(f));
                PipeSource in = Fifo.openReader(f, Duration.ZERO).orElseThrow()) {
            try (PipeSink out = Fifo.openWriter(f, Duration.ZERO).orElseThrow()) {
                out.write(ByteBuffer.wrap("a".getBytes(StandardCharsets.US_ASCII)));
            }
            ByteBuffer b = ByteBuffer.allocate(8);
            assertEquals(1, in.read(b));
            assertFalse(in.await(Duration.ZERO), "the writer left, but no end of file while the keep-alive is open");
            keepAlive.close();
            assertTrue(in.await(Duration.ZERO), "the last writer gone: end of file is ready");
            assertEquals(-1, in.read(b.clear()));
        }
    }
    @Test
    void anOPathDescriptorOfAFifoIsNoPipeEndAndIsRefused() throws Exception {
        // FD-11, SEC-07: an O_PATH descriptor (one a peer can send with SCM_RIGHTS) of a FIFO passes
        // fstat's S_ISFIFO, and F_GETFL & O_ACCMODE reads 0 = O_RDONLY, yet nothing can be read
        // through it: read(2) gives EBADF, which ipcbridge reports as an internal error of its own
        Path f = dir.resolve("f");
        Fifo.create(f);
        int fd = io.ipcbridge.internal.posix.Syscalls.open(f.toString(),
                io.ipcbridge.internal.posix.Syscalls.O_PATH | io.ipcbridge.internal.posix.Syscalls.O_NOFOLLOW, 0, "test");
        Descriptor d = Descriptor.adopt(fd, "fd from a peer");
        io.ipcbridge.IpcSecurityException e = assertThrows(io.ipcbridge.IpcSecurityException.class,
                () -> PipeSource.of(d).read(ByteBuffer.allocate(1)), "an O_PATH descriptor is no read end");
        assertTrue(e.getMessage().endsWith("; refused"), e.getMessage());
        assertFalse(d.isOpen(), "the refused descriptor is closed");
    }
    @Test
    void theFirstPipeOfAJvmAtTheDescriptorLimitFailsCleanlyAndLaterPipesWork() throws Exception {
        // PIPE-10, LOAD-07: the first pipe a JVM makes also sets up what every descriptor needs (the
        // dead socket that a close puts under a blocked call, the JDK's wake-up signal). At
        // RLIMIT_NOFILE that set-up must fail as the call does, with IpcResourceLimitException (EMFILE)
        // and no descriptor left behind, and once descriptors are free again pipes must work. Before,
        // it threw ExceptionInInitializerError, leaked the pipe's two ends, and every later pipe of the
        // JVM threw NoClassDefFoundError. Each try runs in a fresh JVM, where nothing is set up yet.
        assertTimeoutPreemptively(LIMIT, () -> {
            Path fifo = dir.resolve("f.fifo");
            Fifo.create(fifo);
            for (int free = 1; free <= 12; free++) {
                // odd: Pipe.open; even: Fifo.openReadWrite
                Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                        FirstPipeAtTheLimit.class.getName(), Integer.toString((free + 1) / 2),
                        free % 2 == 0 ? fifo.toString() : "")
                        .redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals(0, p.waitFor(), out);
                assertTrue(out.matches("(?s)first: (ok|IpcResourceLimitException .*EMFILE.*)\\nleaked pipe ends: 0\\nlater: ok\\n"),
                        (free + 1) / 2 + " free descriptors, " + (free % 2 == 0 ? "FIFO" : "pipe") + ": " + out);
            }
        });
    }

    /** Makes its first pipe (or opens FIFO argv[1]) with argv[0] descriptors free, then a pipe with the limit restored. */
    public static final class FirstPipeAtTheLimit {
        public static void main(String[] args) throws Exception {
            // class files in a directory take a descriptor to load: load them all now, initialising none
            for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
                Path root = Path.of(entry);
                if (Files.isDirectory(root)) {
                    try (var files = Files.walk(root)) {
                        for (Path f : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                            String name = root.relativize(f).toString().replace('/', '.');
                            Class.forName(name.substring(0, name.length() - ".class".length()), false,
                                    FirstPipeAtTheLimit.class.getClassLoader());
                        }
                    }
                }
            }
            // the native libraries are loaded (and what they keep open, opened) before counting
            io.ipcbridge.internal.posix.Syscalls.geteuid();
            io.ipcbridge.internal.posix.Errors.name(1);
            jnr.posix.POSIX posix = jnr.posix.POSIXFactory.getNativePOSIX();
            jnr.posix.RLimit limit = posix.getrlimit(Limits.NOFILE);
            int before = pipes();
            posix.setrlimit(Limits.NOFILE, new java.io.File("/proc/self/fd").list().length + 64, limit.rlimMax());
            List<Integer> filler = new ArrayList<>();
            for (int fd = posix.dup(0); fd >= 0; fd = posix.dup(0)) {
                filler.add(fd);
            }
            for (int i = 0; i < Integer.parseInt(args[0]); i++) {
                posix.close(filler.remove(filler.size() - 1));
            }
            String first;
            try (Pipe pipe = args[1].isEmpty() ? Pipe.open() : null;
                    Descriptor fifo = args[1].isEmpty() ? null : Fifo.openReadWrite(Path.of(args[1]))) {
                Descriptor out = pipe != null ? pipe.sink().descriptor() : fifo;
                Descriptor in = pipe != null ? pipe.source().descriptor() : fifo;
                out.write(ByteBuffer.wrap(new byte[] {1}));
                in.read(ByteBuffer.allocate(1));
                first = "ok";
            } catch (Throwable e) {
                first = e.getClass().getSimpleName() + " " + e.getMessage();
            }
            for (int fd : filler) {
                posix.close(fd);
            }
            posix.setrlimit(Limits.NOFILE, limit.rlimCur(), limit.rlimMax());
            System.out.println("first: " + first);
            System.out.println("leaked pipe ends: " + (pipes() - before));
            String later;
            try (Pipe pipe = Pipe.open()) {
                pipe.sink().write(ByteBuffer.wrap(new byte[] {1}));
                pipe.source().read(ByteBuffer.allocate(1));
                later = "ok";
            } catch (Throwable e) {
                later = e.toString();
            }
            System.out.println("later: " + later);
        }

        /** The pipe and FIFO ends open in this process (the dead socket kept for closes is no leak). */
        private static int pipes() throws IOException {
            int n = 0;
            for (String fd : new java.io.File("/proc/self/fd").list()) {
                try {
                    String to = Files.readSymbolicLink(Path.of("/proc/self/fd", fd)).toString();
                    n += to.startsWith("pipe:") || to.endsWith("f.fifo") ? 1 : 0;
                } catch (java.nio.file.NoSuchFileException gone) {
                    // the directory's own descriptor
                }
            }
            return n;
        }
    }
}
