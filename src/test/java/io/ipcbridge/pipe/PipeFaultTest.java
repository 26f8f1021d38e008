package io.ipcbridge.pipe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.Descriptor;
import io.ipcbridge.IpcResourceLimitException;
import io.ipcbridge.PeerClosedException;
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
}
