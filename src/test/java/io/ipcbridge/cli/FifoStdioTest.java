package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.PeerClosedException;
import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.pipe.PipeSink;
import io.ipcbridge.pipe.PipeSource;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.OwnThreads;
import io.ipcbridge.testing.PeerState;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code ipcbridge fifo read|write} as real commands in child JVMs, with raw stdin and stdout:
 * binary safety, end of file, a closed stdout, a reader that leaves.
 */
class FifoStdioTest {
    private static final Duration BOUND = Duration.ofSeconds(60);
    private static final Duration OPEN_WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void writeThenReadCarriesEveryByteValue() throws Exception {
        // CLI-03 (binary safety, here through a FIFO): all 256 byte values, NUL and \n included,
        // more than a pipe's capacity, byte-identical through two CLI processes.
        Path fifo = dir.resolve("f");
        assertEquals(0, Cli.run("fifo", "create", fifo.toString()).status());
        byte[] data = new byte[256 * 1024 + 7];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 7 + i / 256);
        }
        for (int v = 0; v < 256; v++) {
            data[v] = (byte) v;
        }
        Path in = Files.write(dir.resolve("in.bin"), data);
        Path out = dir.resolve("out.bin");
        Path readErr = dir.resolve("read.err");
        Path writeErr = dir.resolve("write.err");
        Process reader = null;
        Process writer = null;
        try {
            reader = Cli.command(readErr, "fifo", "read", fifo.toString(), "--timeout", "30s")
                    .redirectOutput(out.toFile()).start();
            writer = Cli.command(writeErr, "fifo", "write", fifo.toString(), "--timeout", "30s")
                    .redirectInput(in.toFile()).start();
            assertTrue(writer.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "the writer ends");
            assertTrue(reader.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "the reader ends");
            assertEquals(0, writer.exitValue(), () -> "writer: " + read(writeErr));
            assertEquals(0, reader.exitValue(), () -> "reader: " + read(readErr));
            assertArrayEquals(data, Files.readAllBytes(out), "stdout of read = stdin of write");
            assertEquals("", read(readErr) + read(writeErr), "no diagnostics");
        } finally {
            Cli.destroy(reader);
            Cli.destroy(writer);
        }
    }

    @Test
    void writeWithEmptyStdinStillOpensSoTheReaderSeesEndOfFile() throws Exception {
        // CLI.md: "empty stdin still opens and waits"; FIFO-04: the reader sees EOF only after a writer came.
        Path fifo = dir.resolve("f");
        Fifo.create(fifo);
        Path empty = Files.createFile(dir.resolve("empty"));
        Path err = dir.resolve("write.err");
        Process writer = Cli.command(err, "fifo", "write", fifo.toString(), "--timeout", "30s")
                .redirectInput(empty.toFile()).start();
        try {
            assertTimeoutPreemptively(BOUND, () -> {
                try (PipeSource source = Fifo.openReader(fifo, OPEN_WAIT).orElseThrow()) {
                    assertEquals(-1, source.read(ByteBuffer.allocate(16)), "end of file, no data");
                }
                assertEquals(0, writer.waitFor(), () -> read(err));
            });
        } finally {
            Cli.destroy(writer);
        }
    }

    @Test
    void readStopsQuietlyWhenStdoutIsClosed() throws Exception {
        // CLI-04 for a FIFO (`ipcbridge fifo read f | head -c 10`): exits quietly (0 or 141), no stack
        // trace, and stops reading: the writer then gets EPIPE (FIFO-05).
        Path fifo = dir.resolve("f");
        Fifo.create(fifo);
        Path err = dir.resolve("read.err");
        Process reader = Cli.command(err, "fifo", "read", fifo.toString(), "--timeout", "30s").start();
        try {
            assertTimeoutPreemptively(BOUND, () -> {
                CompletableFuture<Long> written = CompletableFuture.supplyAsync(() -> writeUntilRefused(fifo), OwnThreads.EACH);
                byte[] head;
                try (InputStream stdout = reader.getInputStream()) {
                    head = stdout.readNBytes(10);
                }
                assertEquals(10, head.length);
                int status = reader.waitFor();
                assertTrue(status == 0 || status == 141, "exit 0 or 141, got " + status + ": " + read(err));
                assertEquals("", read(err), "nothing on stderr");
                assertTrue(written.get() >= 10, "the writer was refused once the reader had gone");
            });
        } finally {
            Cli.destroy(reader);
        }
    }

    @Test
    void readWaitingForDataEndsWhenStdoutCloses() throws Exception {
        // CLI-04: stdout's reader goes while fifo read waits for more (asleep in read(2), as /proc shows;
        // its writer still there): it ends at once, quietly (141), and takes nothing more: the writer's
        // next write is refused (FIFO-05). Before, it waited for the next bytes, took them and lost them
        // on EPIPE.
        Path fifo = dir.resolve("f");
        Fifo.create(fifo);
        Path err = dir.resolve("read.err");
        Process reader = Cli.command(err, "fifo", "read", fifo.toString(), "--timeout", "30s").start();
        try {
            assertTimeoutPreemptively(BOUND, () -> {
                try (PipeSink sink = Fifo.openWriter(fifo, OPEN_WAIT).orElseThrow()) {
                    sink.write(ByteBuffer.wrap("0123456789".getBytes(StandardCharsets.US_ASCII)));
                    try (InputStream stdout = reader.getInputStream()) {
                        assertEquals("0123456789", new String(stdout.readNBytes(10), StandardCharsets.US_ASCII));
                        assertTrue(PeerState.awaitAnyThreadInSyscall(reader.pid(), Blocked.READ),
                                () -> "fifo read waits in read(2) for more: " + read(err));
                    }
                    assertEquals(141, reader.waitFor(), () -> read(err));
                    assertEquals("", read(err), "nothing on stderr");
                    assertThrows(PeerClosedException.class, () -> sink.write(ByteBuffer.wrap(new byte[] {1})),
                            "the reader has gone without taking more");
                }
            });
        } finally {
            Cli.destroy(reader);
        }
    }

    @Test
    void readWhoseStdoutIsAlreadyClosedTakesNothingOutOfTheFifo() throws Exception {
        // CLI-04: stdout's reader has gone before fifo read even starts, and data is waiting in the
        // FIFO (a keep-alive writer holds it open): the command must end quietly (141) and leave the
        // data for the next reader. Before, its first read took up to 64 KiB out of the FIFO and lost
        // it on EPIPE, since the watch on stdout only interrupts a read that is still blocked.
        Path fifo = dir.resolve("f");
        Fifo.create(fifo);
        byte[] data = "waiting in the FIFO".getBytes(StandardCharsets.US_ASCII);
        try (io.ipcbridge.Descriptor keepAlive = Fifo.openReadWrite(fifo)) {
            for (int run = 0; run < 3; run++) {
                assertEquals(data.length, keepAlive.write(ByteBuffer.wrap(data)));
                Path err = dir.resolve("read.err");
                Process reader = Cli.command(err, "fifo", "read", fifo.toString(), "--timeout", "30s").start();
                try {
                    reader.getInputStream().close(); // long before the child JVM has started
                    assertTimeoutPreemptively(BOUND, () -> {
                        assertEquals(141, reader.waitFor(), () -> read(err));
                    });
                    assertEquals("", read(err), "nothing on stderr");
                    keepAlive.setNonBlocking(true);
                    ByteBuffer left = ByteBuffer.allocate(4096);
                    keepAlive.read(left);
                    keepAlive.setNonBlocking(false);
                    assertEquals(data.length, left.position(), "run " + run + ": the data is still in the FIFO");
                } finally {
                    Cli.destroy(reader);
                }
            }
        }
    }

    @Test
    void readWaitingForAWriterEndsWhenStdoutCloses() throws Exception {
        // CLI-04 and the README ("stops as soon as stdout's reader goes, even while it waits"): stdout's
        // reader goes while fifo read still waits for a writer (asleep in open(2), as /proc shows: not a
        // stdout closed before it started). It ends at once, quietly (141), and holds the FIFO no longer.
        // Before, it waited on (for ever, without --timeout), then took the first writer's bytes, which
        // were lost on EPIPE while the writer saw success.
        Path fifo = dir.resolve("f");
        Fifo.create(fifo);
        Path err = dir.resolve("read.err");
        Process reader = Cli.command(err, "fifo", "read", fifo.toString()).start();
        try {
            assertTimeoutPreemptively(BOUND, () -> {
                assertTrue(PeerState.awaitAnyThreadInSyscall(reader.pid(), Blocked.OPENAT),
                        () -> "fifo read waits in open(2) for a writer: " + read(err));
                reader.getInputStream().close(); // `| true`: stdout's reader is gone before any writer came
                assertTrue(reader.waitFor(OPEN_WAIT.toSeconds(), TimeUnit.SECONDS),
                        "fifo read ends without a writer once stdout's reader has gone");
                assertEquals(141, reader.exitValue(), () -> read(err));
                assertEquals("", read(err), "nothing on stderr");
                assertTrue(Fifo.openWriter(fifo, Duration.ZERO).isEmpty(), "no reader holds the FIFO any more");
            });
        } finally {
            Cli.destroy(reader);
        }
    }

    @Test
    void writeReportsEpipeWhenTheReaderLeaves() throws Exception {
        // FIFO-05: the reader closes mid-stream -> `fifo write` exits 1 with one EPIPE line.
        Path fifo = dir.resolve("f");
        Fifo.create(fifo);
        Path in = Files.write(dir.resolve("in.bin"), new byte[4 << 20]);
        Path err = dir.resolve("write.err");
        Process writer = Cli.command(err, "fifo", "write", fifo.toString(), "--timeout", "30s")
                .redirectInput(in.toFile()).start();
        try {
            assertTimeoutPreemptively(BOUND, () -> {
                try (PipeSource source = Fifo.openReader(fifo, OPEN_WAIT).orElseThrow()) {
                    assertTrue(source.read(ByteBuffer.allocate(10)) > 0, "some data came");
                }
                assertEquals(1, writer.waitFor(), () -> read(err));
                assertEquals("ipcbridge: write(" + fifo + "): EPIPE (Broken pipe): the reading end has been closed"
                        + System.lineSeparator(), read(err));
            });
        } finally {
            Cli.destroy(writer);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"create", "rm", "read --timeout 0", "write --timeout 0"})
    void aPathThatIsNotUtf8IsAUsageErrorNotAnotherFifo(String command) throws Exception {
        // CLI.md exit 2, "binary-safe": in a UTF-8 locale the JVM decodes argv's 0xff as U+FFFD, and
        // the command worked on f-U+FFFD (bytes ef bf bd), another FIFO: rm removed it, create said
        // EEXIST, read and write opened it. Neither it nor the directory may change.
        Path other = dir.resolve("f-\uFFFD");
        Fifo.create(other);
        Path err = dir.resolve("cli.err");
        List<String> argv = new ArrayList<>(List.of("sh", "-c", "exec \"$@\" \"$0$(printf '\\377')\"",
                dir.resolve("f-").toString()));
        argv.addAll(Cli.command(err, "fifo").command());
        argv.addAll(List.of(command.split(" ")));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("LC_ALL", "C.UTF-8");
        Process cli = pb.start();
        try {
            assertTimeoutPreemptively(BOUND, () -> {
                assertEquals(0, cli.getInputStream().readAllBytes().length, "nothing on stdout");
                assertEquals(2, cli.waitFor(), () -> read(err));
            });
            assertTrue(read(err).startsWith("ipcbridge: ") && read(err).contains("not UTF-8"), read(err));
            try (var entries = Files.list(dir)) {
                assertEquals(List.of(other), entries.filter(f -> f.getFileName().toString().startsWith("f-"))
                        .toList(), "the FIFO at the other name is left alone and nothing else is made");
            }
            assertTrue(Files.readAttributes(other, BasicFileAttributes.class).isOther(), "still a FIFO");
        } finally {
            Cli.destroy(cli);
        }
    }

    /** Writes zeros into {@code fifo} until the reader has gone (EPIPE); returns how much went in. */
    private static long writeUntilRefused(Path fifo) {
        try (PipeSink sink = Fifo.openWriter(fifo, OPEN_WAIT).orElseThrow()) {
            ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
            long total = 0;
            try {
                for (;;) {
                    total += sink.write(chunk.clear());
                }
            } catch (PeerClosedException expected) {
                return total;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "(" + e + ")";
        }
    }
}
