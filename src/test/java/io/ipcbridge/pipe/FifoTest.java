package io.ipcbridge.pipe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.Descriptor;
import io.ipcbridge.IpcError;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.PeerClosedException;
import io.ipcbridge.internal.posix.NativeThread;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Fds;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** FIFOs: create with an exact mode, safe open, timeouts, interrupts, and no leaks. */
class FifoTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void createGivesMode0600ByDefaultAndExactlyTheModeAskedFor() throws Exception {
        // FIFO-10, SEC-01: umask only narrows, so the mode is set again after mkfifo
        Path a = dir.resolve("a");
        Fifo.create(a);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(a)));
        Path b = dir.resolve("b");
        Fifo.create(b, 0666);
        assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(b)));
        assertTrue(Files.readAttributes(a, java.nio.file.attribute.BasicFileAttributes.class,
                java.nio.file.LinkOption.NOFOLLOW_LINKS).isOther(), "a FIFO, not a regular file");
        assertThrows(IllegalArgumentException.class, () -> Fifo.create(dir.resolve("c"), 01777));
    }

    @Test
    void createOnAnyExistingEntryFailsWithEexistAndReplacesNothing() throws Exception {
        // FIFO-01: a regular file, a FIFO and a symlink all give EEXIST
        Path file = Files.writeString(dir.resolve("file"), "keep");
        Path fifo = dir.resolve("fifo");
        Fifo.create(fifo);
        Path link = Files.createSymbolicLink(dir.resolve("link"), file);
        for (Path p : new Path[] {file, fifo, link}) {
            FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class, () -> Fifo.create(p));
            assertEquals("mkfifo(" + p + "): EEXIST (File exists)", e.getMessage());
            assertEquals(17, ((IpcError) e).errno());
        }
        assertEquals("keep", Files.readString(file));
    }

    @Test
    void createInAMissingDirectoryFailsWithEnoent() {
        Path p = dir.resolve("missing/fifo");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Fifo.create(p));
        assertEquals("mkfifo(" + p + "): ENOENT (No such file or directory)", e.getMessage());
        assertEquals("ENOENT", ((IpcError) e).errnoName());
    }

    @Test
    void aRegularFileAtThePathIsRefusedAndNotWritten() throws Exception {
        // FIFO-07
        Path file = Files.writeString(dir.resolve("planted"), "original");
        IpcSecurityException e = assertThrows(IpcSecurityException.class,
                () -> Fifo.openWriter(file, Duration.ofSeconds(1)));
        assertTrue(e.getMessage().contains("regular file, not a FIFO"), e.getMessage());
        assertThrows(IpcSecurityException.class, () -> Fifo.openReader(file, Duration.ofSeconds(1)));
        assertEquals("original", Files.readString(file));
    }

    @Test
    void aSymbolicLinkAtThePathIsRefusedEvenWhenItPointsToAFifo() throws Exception {
        // FIFO-06
        Path fifo = dir.resolve("real");
        Fifo.create(fifo);
        Path link = Files.createSymbolicLink(dir.resolve("link"), fifo);
        IpcSecurityException e = assertThrows(IpcSecurityException.class, () -> Fifo.openWriter(link, Duration.ZERO));
        assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
        Path target = Files.writeString(dir.resolve("passwd"), "root:x:0:0");
        Path link2 = Files.createSymbolicLink(dir.resolve("link2"), target);
        assertThrows(IpcSecurityException.class, () -> Fifo.openWriter(link2, Duration.ZERO));
        assertEquals("root:x:0:0", Files.readString(target));
    }

    @Test
    void aFifoWithASecondHardLinkIsRefused() throws Exception {
        // FIFO-07, SEC-03: fstat must show st_nlink = 1; a hard link is how a FIFO of someone else
        // (root's /run/initctl, say) is planted at our path where fs.protected_hardlinks is 0
        Path fifo = dir.resolve("real");
        Fifo.create(fifo);
        Path link = Files.createLink(dir.resolve("hardlink"), fifo);
        IpcSecurityException e = assertThrows(IpcSecurityException.class, () -> Fifo.openReadWrite(link));
        assertTrue(e.getMessage().contains("2 hard links"), e.getMessage());
        assertThrows(IpcSecurityException.class, () -> Fifo.openWriter(fifo, Duration.ZERO), "either name");
        assertThrows(IpcSecurityException.class, () -> Fifo.createIfAbsent(fifo, Fifo.DEFAULT_MODE));
        Files.delete(link);
        Fifo.openReadWrite(fifo).close();
    }

    @Test
    void aFifoRemovedAsItIsOpenedIsMissingNotRefusedAsHardLinked() throws Exception {
        // FIFO-07, FIFO-02: a script's rm (here python3 making and removing the FIFO in a loop) can
        // remove it between the O_PATH open and the fstat, which then shows st_nlink 0: a FIFO gone,
        // not a second name planted. The name is looked up again, so the open fails as when the rm
        // comes a moment earlier (ENOENT), or finds the next FIFO; it was refused with
        // IpcSecurityException ("0 hard links, not 1"), a false alarm
        Path f = dir.resolve("f");
        String churn = "import os, sys\nwhile True:\n    try:\n        os.mkfifo(sys.argv[1], 0o600)\n"
                + "    except FileExistsError:\n        pass\n    os.unlink(sys.argv[1])\n";
        try (io.ipcbridge.process.ChildProcess python =
                io.ipcbridge.process.Command.of("python3", "-c", churn, f.toString()).start()) {
            boolean seen = false;
            for (int round = 0; round < 20_000 || !seen; round++) { // once python3 has made it at least once
                try {
                    assertEquals(Optional.empty(), Fifo.openWriter(f, Duration.ZERO), "no reader ever opens it");
                    seen = true;
                } catch (NoSuchFileException e) {
                    assertEquals("open(" + f + "): ENOENT (No such file or directory)", e.getMessage());
                }
            }
        }
    }

    @Test
    void aFifoReplacedByRenameAsItIsOpenedIsLookedUpAgainNeverMissing() throws Exception {
        // FIFO-07, FIFO-02: scripts replace a file atomically (mkfifo tmp && mv tmp PATH), so a FIFO is
        // at PATH all the time, but the one the O_PATH open found may be unlinked by the rename before
        // the fstat (st_nlink 0). That is no planted link and no missing FIFO: the name is looked up
        // again. It failed with ENOENT (before that, IpcSecurityException "0 hard links, not 1")
        Path f = dir.resolve("f");
        Fifo.create(f);
        String churn = "import os, sys\nwhile True:\n    os.mkfifo(sys.argv[1] + '.tmp', 0o600)\n"
                + "    os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n";
        try (io.ipcbridge.process.ChildProcess python =
                io.ipcbridge.process.Command.of("python3", "-c", churn, f.toString()).start()) {
            for (int round = 0; round < 20_000; round++) {
                assertEquals(Optional.empty(), Fifo.openWriter(f, Duration.ZERO), "a FIFO, with no reader");
                assertFalse(Fifo.createIfAbsent(f, Fifo.DEFAULT_MODE), "a FIFO was there");
            }
        }
    }

    @Test
    void createIfAbsentMakesTheFifoAgainWhenTheOneThatWasThereIsRemovedBeforeItsCheck() throws Exception {
        // FIFO-01, CLI-06 ("fifo create --exist-ok"): python3 makes and removes its own FIFO in a loop,
        // so the FIFO for which mkfifo said EEXIST may be gone at the check that follows. The name is
        // then free, and the mkfifo is made again (a bounded number of times), as the open path looks
        // the name up again; it failed with ENOENT. A FIFO this call made is removed here, as python3
        // removes only its own. python3 works a while between its calls, as a script does: a remover
        // looping as fast as the retries can fall into step with them (each mkfifo just after its
        // mkfifo, each check just after its unlink), which no bounded number of retries outlasts
        Path f = dir.resolve("f");
        String churn = "import os, sys\nwhile True:\n    try:\n        os.mkfifo(sys.argv[1], 0o600)\n"
                + "    except FileExistsError:\n        continue\n    sum(range(20000))\n    os.unlink(sys.argv[1])\n"
                + "    sum(range(20000))\n";
        try (io.ipcbridge.process.ChildProcess python =
                io.ipcbridge.process.Command.of("python3", "-c", churn, f.toString()).start()) {
            boolean found = false;
            for (int round = 0; round < 20_000 || !found; round++) { // once python3's FIFO was there at least once
                if (Fifo.createIfAbsent(f, Fifo.DEFAULT_MODE)) {
                    Files.delete(f);
                } else {
                    found = true;
                }
            }
        }
    }

    @Test
    void anEmptyPathIsRefusedBeforeAnyCall() {
        // Path.of("") is the current directory to the JDK, and "" to mkfifo/open/lstat: ENOENT naming
        // nothing ("mkfifo(): ENOENT"); it is bad input, told as such before any call
        Path empty = Path.of("");
        for (org.junit.jupiter.api.function.Executable call : List.<org.junit.jupiter.api.function.Executable>of(
                () -> Fifo.create(empty), () -> Fifo.createIfAbsent(empty, 0600), () -> Fifo.delete(empty),
                () -> Fifo.openReader(empty, Duration.ZERO), () -> Fifo.openWriter(empty, Duration.ZERO),
                () -> Fifo.openReadWrite(empty))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
            assertEquals("an empty path names no FIFO", e.getMessage());
        }
    }

    @Test
    void openingAMissingPathFailsWithNoSuchFile() {
        Path p = dir.resolve("none");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Fifo.openReader(p, Duration.ZERO));
        assertEquals("open(" + p + "): ENOENT (No such file or directory)", e.getMessage());
    }

    @Test
    void aNonBlockingOpenForWritingWithNoReaderIsEmpty() throws Exception {
        // FIFO-02: ENXIO is a value, not an exception
        Path p = dir.resolve("f");
        Fifo.create(p);
        assertEquals(Optional.empty(), Fifo.openWriter(p, Duration.ZERO));
    }

    @Test
    void timedOpensReturnEmptyInTimeWhenNobodyComes() throws Exception {
        // FIFO-03
        Path p = dir.resolve("f");
        Fifo.create(p);
        assertTimeoutPreemptively(LIMIT, () -> {
            long start = System.nanoTime();
            assertEquals(Optional.empty(), Fifo.openReader(p, Duration.ofMillis(200)));
            long elapsed = System.nanoTime() - start;
            assertTrue(elapsed >= 200_000_000L, "waited the full timeout: " + elapsed);
            assertTrue(elapsed < 5_000_000_000L, "returned in time: " + elapsed);
            assertEquals(Optional.empty(), Fifo.openWriter(p, Duration.ofMillis(200)));
            assertEquals(Optional.empty(), Fifo.openReader(p, Duration.ZERO));
        });
    }

    @ParameterizedTest(name = "writer={0} timed={1}")
    @CsvSource({"false,false", "false,true", "true,false", "true,true"})
    void aBlockedOpenEndsWithClosedByInterruptException(boolean writer, boolean timed) throws Exception {
        // FIFO-09, FIFO-03, X-06: for either end, with a timeout or without; the wait opens nothing
        Path p = dir.resolve("f");
        Fifo.create(p);
        var before = Fds.snapshot();
        assertTimeoutPreemptively(LIMIT, () -> {
            Blocked.Call<Object> call = Blocked.start(() -> writer
                    ? timed ? Fifo.openWriter(p, Duration.ofHours(1)) : Fifo.openWriter(p)
                    : timed ? Fifo.openReader(p, Duration.ofHours(1)) : Fifo.openReader(p), Blocked.OPENAT);
            call.thread().interrupt();
            ExecutionException e = assertThrows(ExecutionException.class, () -> call.result().get(5, TimeUnit.SECONDS));
            assertEquals(ClosedByInterruptException.class, e.getCause().getClass());
            call.thread().join();
        });
        Fds.assertNoneAdded(before);
    }

    @Test
    void openingWithoutWaitingTakesNoPendingInterrupt() throws Exception {
        // openReadWrite never waits (the descriptor is its own peer), as openWriter(ZERO)
        // never does, yet it went through the interruptible wait and threw ClosedByInterruptException
        // on a thread with an interrupt pending (a cancelled task setting up its keep-alive); as
        // FileChannel.open, an open that does not wait now opens, and the interrupt stays set
        Path p = dir.resolve("f");
        Fifo.create(p);
        assertTimeoutPreemptively(LIMIT, () -> {
            Thread.currentThread().interrupt();
            try (Descriptor keepAlive = Fifo.openReadWrite(p)) {
                Optional<PipeSink> writer = Fifo.openWriter(p, Duration.ZERO);
                assertTrue(Thread.interrupted(), "the interrupt is kept");
                assertTrue(keepAlive.isOpen());
                writer.orElseThrow().close();
            }
        });
    }

    @Test
    void aReaderCheckWithoutWaitingOnAnInterruptedThreadOpensOrIsEmpty() throws Exception {
        // X-06, FIFO-03: openReader(ZERO) is a check, not a wait, yet it threw ClosedByInterruptException
        // on a thread with an interrupt pending; it now opens when a writer is there, is empty when
        // none is, and leaves the interrupt set both times
        Path p = dir.resolve("f");
        Fifo.create(p);
        assertTimeoutPreemptively(LIMIT, () -> {
            Thread.currentThread().interrupt();
            assertEquals(Optional.empty(), Fifo.openReader(p, Duration.ZERO), "no writer");
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt is kept");
            try (Descriptor writer = Fifo.openReadWrite(p);
                    PipeSource reader = Fifo.openReader(p, Duration.ZERO).orElseThrow()) {
                assertTrue(Thread.interrupted(), "the interrupt is kept");
                writer.write(ByteBuffer.wrap(new byte[] {7}));
                ByteBuffer got = ByteBuffer.allocate(1);
                assertEquals(1, reader.read(got));
                assertEquals(7, got.get(0));
            }
        });
    }

    @ParameterizedTest(name = "timed={0}")
    @ValueSource(booleans = {false, true})
    void signalsToABlockedOpenAndReadAreRetriedNotSurfaced(boolean timed) throws Exception {
        // FIFO-09, X-05: the JDK's wake-up signal has no SA_RESTART, so each one makes the blocked
        // open(2), and then read(2), return EINTR; the library retries (a timed open keeps its
        // deadline) and the caller sees neither an error nor an early end of file
        Path p = dir.resolve("f");
        Fifo.create(p);
        assertTimeoutPreemptively(LIMIT, () -> {
            AtomicLong thread = new AtomicLong();
            Blocked.Call<byte[]> reader = Blocked.start(() -> {
                thread.set(NativeThread.current());
                try (PipeSource in = timed ? Fifo.openReader(p, Duration.ofMinutes(5)).orElseThrow()
                        : Fifo.openReader(p)) {
                    return in.inputStream().readAllBytes();
                }
            }, Blocked.OPENAT);
            for (int i = 0; i < 1_000; i++) {
                NativeThread.signal(thread.get());
            }
            try (PipeSink writer = Fifo.openWriter(p)) {
                for (Integer in = Blocked.sleepingIn(reader.tid()); !reader.result().isDone()
                        && (in == null || in != Blocked.READ && in != Blocked.POLL); in = Blocked.sleepingIn(reader.tid())) {
                    Thread.onSpinWait();
                }
                for (int i = 0; i < 1_000; i++) {
                    NativeThread.signal(thread.get());
                }
                writer.write(ByteBuffer.wrap("after the signals".getBytes(StandardCharsets.US_ASCII)));
            }
            assertEquals("after the signals", new String(reader.result().get(5, TimeUnit.SECONDS),
                    StandardCharsets.US_ASCII));
        });
    }

    @Test
    void aReaderOpenedBeforeTheWriterGetsTheDataNotAnEarlyEndOfFile() throws Exception {
        // FIFO-04
        Path p = dir.resolve("f");
        Fifo.create(p);
        assertTimeoutPreemptively(LIMIT, () -> {
            Blocked.Call<byte[]> reader = Blocked.start(() -> {
                try (InputStream in = Fifo.openReader(p).inputStream()) {
                    return in.readAllBytes();
                }
            }, Blocked.OPENAT);
            try (OutputStream out = Fifo.openWriter(p).outputStream()) {
                out.write("late writer".getBytes(StandardCharsets.US_ASCII));
            }
            assertEquals("late writer", new String(reader.result().get(), StandardCharsets.US_ASCII));
        });
    }

    @Test
    void writingAfterTheReaderLeftThrowsPeerClosed() throws Exception {
        // FIFO-05
        Path p = dir.resolve("f");
        Fifo.create(p);
        Descriptor keepAlive = Fifo.openReadWrite(p);
        PipeSource reader = Fifo.openReader(p);
        try (PipeSink writer = Fifo.openWriter(p, Duration.ZERO).orElseThrow()) {
            keepAlive.close();
            reader.close();
            PeerClosedException e = assertThrows(PeerClosedException.class,
                    () -> writer.write(ByteBuffer.wrap(new byte[1])));
            assertEquals("EPIPE", e.errnoName());
            assertTrue(e.getMessage().startsWith("write(" + p + "): EPIPE (Broken pipe)"), e.getMessage());
        }
    }

    @Test
    void catReadsWhatJavaWritesAndJavaReadsWhatCatWrites() throws Exception {
        Path p = dir.resolve("f");
        Fifo.create(p);
        byte[] data = new byte[256 * 1024];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) i;
        }
        Path out = dir.resolve("out");
        assertTimeoutPreemptively(LIMIT, () -> {
            Process cat = new ProcessBuilder("cat", p.toString()).redirectOutput(out.toFile()).start();
            try (PipeSink w = Fifo.openWriter(p)) {
                w.write(ByteBuffer.wrap(data));
            }
            assertEquals(0, cat.waitFor());
            assertArrayEquals(data, Files.readAllBytes(out));

            // the shell opens the FIFO in the child (ProcessBuilder would open it in the JVM, and block)
            Process writer = new ProcessBuilder("sh", "-c", "cat \"$1\" > \"$2\"", "sh", out.toString(), p.toString())
                    .start();
            try (InputStream in = Fifo.openReader(p).inputStream()) {
                assertArrayEquals(data, in.readAllBytes());
            }
            assertEquals(0, writer.waitFor());
        });
    }

    @Test
    void deleteRemovesAFifoAndRefusesAnythingElse() throws Exception {
        Path p = dir.resolve("f");
        Fifo.create(p);
        Fifo.delete(p);
        assertFalse(Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertThrows(NoSuchFileException.class, () -> Fifo.delete(p));
        Path file = Files.writeString(dir.resolve("file"), "x");
        assertThrows(IpcSecurityException.class, () -> Fifo.delete(file));
        assertTrue(Files.exists(file));
    }

    @Test
    void tenThousandOpenCloseCyclesLeaveNoDescriptorBehind() throws Exception {
        // leak check of the foundation issue; the O_RDWR keep-alive lets both opens proceed at once
        Path p = dir.resolve("f");
        Fifo.create(p);
        var before = Fds.snapshot();
        try (Descriptor keepAlive = Fifo.openReadWrite(p)) {
            for (int i = 0; i < 10_000; i++) {
                Fifo.openReader(p).close();
                Fifo.openWriter(p, Duration.ZERO).orElseThrow().close();
            }
        }
        Fds.assertNoneAdded(before);
    }

    @Test
    void createIfAbsentAcceptsOurFifoAndRefusesAnythingElseUntouched() throws Exception {
        // CLI-06 underneath: "fifo create --exist-ok"
        Path p = dir.resolve("f");
        assertTrue(Fifo.createIfAbsent(p, 0600));
        assertFalse(Fifo.createIfAbsent(p, 0600));
        Path file = Files.writeString(dir.resolve("file"), "keep");
        Path link = Files.createSymbolicLink(dir.resolve("link"), file);
        assertThrows(IpcSecurityException.class, () -> Fifo.createIfAbsent(file, 0600));
        assertThrows(IpcSecurityException.class, () -> Fifo.createIfAbsent(link, 0600));
        assertEquals("keep", Files.readString(file));
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Fifo.delete(dir.resolve("none")));
        assertEquals("unlink", ((IpcError) e).call());
    }
}
