package io.ipcbridge.pipe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.IpcError;
import io.ipcbridge.cli.PatternStream;
import io.ipcbridge.PeerClosedException;
import io.ipcbridge.PermissionDeniedException;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.OwnThreads;
import io.ipcbridge.testing.Peers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Anonymous pipes: transfers, end of file, EPIPE, non-blocking mode, capacity, PIPE_BUF atomicity. */
class PipeTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);

    @ParameterizedTest(name = "direct={0}")
    @ValueSource(booleans = {true, false})
    void bytesWrittenAreReadBackThroughHeapAndDirectBuffers(boolean direct) throws Exception {
        try (Pipe pipe = Pipe.open()) {
            byte[] data = "hello, pipe".getBytes(StandardCharsets.US_ASCII);
            ByteBuffer src = direct ? ByteBuffer.allocateDirect(data.length) : ByteBuffer.allocate(data.length);
            src.put(data).flip();
            assertEquals(data.length, pipe.sink().write(src));
            assertEquals(0, src.remaining(), "the buffer is consumed");
            ByteBuffer dst = direct ? ByteBuffer.allocateDirect(64) : ByteBuffer.allocate(64);
            dst.position(3);
            assertEquals(data.length, pipe.source().read(dst));
            assertEquals(3 + data.length, dst.position(), "read lands at the buffer's position");
            byte[] got = new byte[data.length];
            dst.flip().position(3);
            dst.get(got);
            assertArrayEquals(data, got);
        }
    }

    @Test
    void aBlockingWriteLargerThanThePipeIsWrittenInFull() throws Exception {
        // PIPE-05 (blocking side): the kernel takes part of the buffer at a time; the write loops
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe pipe = Pipe.open()) {
                byte[] data = new byte[1 << 20];
                for (int i = 0; i < data.length; i++) {
                    data[i] = (byte) (i * 31);
                }
                CompletableFuture<byte[]> reader = CompletableFuture.supplyAsync(() -> {
                    try (InputStream in = pipe.source().inputStream()) {
                        return in.readAllBytes();
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }, OwnThreads.EACH);
                assertEquals(data.length, pipe.sink().write(ByteBuffer.wrap(data)));
                pipe.sink().close();
                assertArrayEquals(data, reader.get());
            }
        });
    }

    @ParameterizedTest(name = "direct={0}, nonBlocking={1}")
    @CsvSource({"true,false", "false,false", "true,true", "false,true"})
    void writesLargerThanThePipeReachASlowReaderWholeAndInOrder(boolean direct, boolean nonBlocking) throws Exception {
        // PIPE-05: a reader taking 1 to 4,097 bytes at a time keeps a 4 KiB pipe nearly full, so each
        // write(2) takes part of the buffer (and a heap buffer goes out through 64 KiB temporaries):
        // blocking writes loop inside; non-blocking ones return what went out and the caller goes
        // on from the buffer's position. Every byte arrives once, in order.
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe pipe = Pipe.open()) {
                pipe.sink().setCapacity(4096);
                byte[] data = new PatternStream(5).bytes((1 << 20) + 3);
                CompletableFuture<byte[]> reader = CompletableFuture.supplyAsync(() -> {
                    ByteArrayOutputStream got = new ByteArrayOutputStream();
                    ByteBuffer b = ByteBuffer.allocateDirect(4097);
                    try {
                        for (int i = 0, n; (n = pipe.source().read(b.clear().limit(i % 4097 + 1))) >= 0; i++) {
                            byte[] chunk = new byte[n];
                            b.flip().get(chunk);
                            got.write(chunk);
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    return got.toByteArray();
                }, OwnThreads.EACH);
                ByteBuffer src = direct ? ByteBuffer.allocateDirect(data.length) : ByteBuffer.allocate(data.length);
                src.put(data).flip();
                if (nonBlocking) {
                    pipe.sink().setNonBlocking(true);
                    int partial = 0;
                    while (src.hasRemaining()) {
                        int before = src.position();
                        int n = pipe.sink().write(src);
                        assertEquals(before + n, src.position(), "the position counts what went out");
                        if (n > 0 && src.hasRemaining()) {
                            partial++;
                        }
                        if (n == 0) {
                            assertTrue(pipe.sink().await(Duration.ofSeconds(30)), "the reader makes room");
                        }
                    }
                    assertTrue(partial > 0, "the first write, into an empty 4 KiB pipe, is partial");
                } else {
                    assertEquals(data.length, pipe.sink().write(src));
                }
                pipe.sink().close();
                assertArrayEquals(data, reader.get());
            }
        });
    }

    @ParameterizedTest(name = "direct={0}, readerCloses={1}")
    @org.junit.jupiter.params.provider.CsvSource({"true,true", "false,true", "true,false", "false,false"})
    void aBlockingWriteCutShortLeavesThePositionAtWhatWentOut(boolean direct, boolean readerCloses) throws Exception {
        // a write cut short (EPIPE, or a close from another thread) throws, and its buffer's
        // position must tell how much went out, heap buffers (copied through a temporary) included
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe pipe = Pipe.open()) {
                int capacity = pipe.sink().setCapacity(4096);
                ByteBuffer src = direct ? ByteBuffer.allocateDirect(10_000) : ByteBuffer.allocate(10_000);
                Blocked.Call<Integer> call = Blocked.start(() -> pipe.sink().write(src), Blocked.WRITE);
                if (readerCloses) {
                    ByteBuffer inPipe = ByteBuffer.allocateDirect(capacity);
                    pipe.source().setNonBlocking(true);
                    assertEquals(capacity, pipe.source().read(inPipe), "the pipe is full");
                    pipe.source().close();
                } else {
                    pipe.sink().close();
                }
                java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                        () -> call.result().get(5, TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof java.io.IOException, e.getCause().toString());
                assertTrue(src.position() >= capacity && src.position() < src.limit(),
                        "the position counts the bytes that went out: " + src.position() + ", " + e.getCause());
            }
        });
    }

    @Test
    void endOfFileIsReportedAgainOnEveryRead() throws Exception {
        // PIPE-02
        try (Pipe pipe = Pipe.open()) {
            pipe.sink().close();
            for (int i = 0; i < 3; i++) {
                assertEquals(-1, pipe.source().read(ByteBuffer.allocate(8)));
            }
        }
    }

    @Test
    void writingAfterTheReaderClosedThrowsPeerClosedAndTheJvmSurvives() throws Exception {
        // PIPE-01: EPIPE, never SIGPIPE
        try (Pipe pipe = Pipe.open()) {
            pipe.source().close();
            PeerClosedException e = assertThrows(PeerClosedException.class,
                    () -> pipe.sink().write(ByteBuffer.wrap(new byte[10])));
            assertEquals("EPIPE", e.errnoName());
            assertEquals("write", e.call());
            assertTrue(e.getMessage().startsWith("write(pipe write end): EPIPE (Broken pipe)"), e.getMessage());
        }
    }

    @Test
    void nonBlockingReadOfAnEmptyPipeReturnsZeroNotEndOfFile() throws Exception {
        // PIPE-12
        try (Pipe pipe = Pipe.open()) {
            pipe.source().setNonBlocking(true);
            assertEquals(0, pipe.source().read(ByteBuffer.allocate(8)));
            pipe.sink().write(ByteBuffer.wrap(new byte[] {7}));
            assertEquals(1, pipe.source().read(ByteBuffer.allocate(8)));
        }
    }

    @Test
    void callsThatCannotWaitTakeNoPendingInterruptAndLeaveTheEndsOpenAsTheJdksPipeDoes() throws Exception {
        // X-06, PIPE-12: a non-blocking read or write, or an await(ZERO), never waits, so there is no
        // blocked call for an interrupt to end: as with the JDK's non-blocking Pipe channels (and
        // ChildProcess.waitFor(ZERO) here), the call is made, the ends stay open and the interrupt
        // stays set. They threw ClosedByInterruptException and closed the end, so a thread with a
        // stray interrupt lost its pipe (and the peer got EPIPE or end of file)
        java.nio.channels.Pipe jdk = java.nio.channels.Pipe.open();
        try (Pipe pipe = Pipe.open(); var jdkSource = jdk.source(); var jdkSink = jdk.sink()) {
            jdkSource.configureBlocking(false);
            jdkSink.configureBlocking(false);
            pipe.source().setNonBlocking(true);
            pipe.sink().setNonBlocking(true);
            Thread.currentThread().interrupt();
            try {
                assertEquals(0, jdkSource.read(ByteBuffer.allocate(8)), "the JDK: empty");
                assertEquals(3, jdkSink.write(ByteBuffer.wrap(new byte[] {1, 2, 3})), "the JDK: written");
                assertTrue(jdkSource.isOpen() && jdkSink.isOpen(), "the JDK keeps both ends open");

                assertEquals(0, pipe.source().read(ByteBuffer.allocateDirect(8)), "empty, not end of file");
                assertEquals(false, pipe.source().await(Duration.ZERO), "nothing to read yet");
                assertEquals(3, pipe.sink().write(ByteBuffer.wrap(new byte[] {1, 2, 3})));
                assertTrue(pipe.sink().await(Duration.ZERO), "room");
                assertTrue(pipe.source().await(Duration.ZERO), "data");
                ByteBuffer got = ByteBuffer.allocate(8);
                assertEquals(3, pipe.source().read(got));
                assertArrayEquals(new byte[] {1, 2, 3}, java.util.Arrays.copyOf(got.array(), 3));
                assertTrue(Thread.currentThread().isInterrupted(), "the interrupt is kept");
            } finally {
                Thread.interrupted();
            }
            assertTrue(pipe.source().isOpen() && pipe.sink().isOpen(), "both ends stay open");
            pipe.source().setNonBlocking(false);
            Thread.currentThread().interrupt();
            try {
                assertEquals(false, pipe.source().await(Duration.ZERO), "a check on a blocking end too");
                assertTrue(pipe.source().isOpen());
            } finally {
                Thread.interrupted();
            }
        }
    }

    @Test
    void nonBlockingWritesAreAllOrNothingUpToPipeBufAndPartialAbove() throws Exception {
        // PIPE-04 and PIPE-05
        try (Pipe pipe = Pipe.open()) {
            int capacity = pipe.sink().capacity();
            pipe.sink().setNonBlocking(true);
            assertEquals(capacity, pipe.sink().write(ByteBuffer.allocateDirect(capacity)), "fills the pipe");
            ByteBuffer drained = ByteBuffer.allocateDirect(100);
            assertEquals(100, pipe.source().read(drained));
            ByteBuffer small = ByteBuffer.allocateDirect(Pipe.PIPE_BUF);
            assertEquals(0, pipe.sink().write(small), "no partial write of <= PIPE_BUF bytes");
            assertEquals(Pipe.PIPE_BUF, small.remaining(), "nothing consumed");
            ByteBuffer five = ByteBuffer.allocateDirect(5 * 1024);
            assertEquals(5 * 1024, pipe.source().read(five), "free about 5 KB");
            ByteBuffer big = ByteBuffer.allocateDirect(64 * 1024);
            int n = pipe.sink().write(big);
            assertTrue(n > 0 && n < big.capacity(), "a partial write above PIPE_BUF: " + n);
            assertEquals(n, big.position());
        }
    }

    @Test
    void capacityCanBeReadAndChanged() throws Exception {
        // PIPE-07
        try (Pipe pipe = Pipe.open()) {
            assertEquals(65536, pipe.source().capacity());
            assertTrue(pipe.sink().setCapacity(1 << 20) >= 1 << 20);
            assertEquals(1 << 20, pipe.source().capacity());
            pipe.sink().write(ByteBuffer.allocateDirect(8192));
            IpcError busy = (IpcError) assertThrows(java.io.IOException.class, () -> pipe.sink().setCapacity(4096));
            assertEquals("EBUSY", busy.errnoName(), "cannot shrink below the bytes in the pipe");
            assertThrows(IllegalArgumentException.class, () -> pipe.sink().setCapacity(0));
        }
    }

    @Test
    void capacityAboveTheSystemMaximumIsRefused() throws Exception {
        // PIPE-07: EPERM above /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE; root may pass
        long max = Long.parseLong(java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/sys/fs/pipe-max-size")).get(0).trim());
        try (Pipe pipe = Pipe.open()) {
            try {
                int got = pipe.sink().setCapacity((int) Math.min(Integer.MAX_VALUE / 2 + 1, max * 2));
                assertTrue(got > max, "only a privileged process gets past the maximum");
            } catch (PermissionDeniedException e) {
                assertEquals("EPERM", e.errnoName());
                assertTrue(e.getMessage().startsWith("fcntl(F_SETPIPE_SZ)(pipe write end): EPERM"), e.getMessage());
                assertEquals(65536, pipe.source().capacity(), "a refused change leaves the capacity");
            }
        }
    }

    @Test
    void allBlockedReadersWakeWhenTheLastWriterCloses() throws Exception {
        // PIPE-08
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe pipe = Pipe.open()) {
                List<Blocked.Call<Integer>> readers = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    readers.add(Blocked.start(() -> pipe.source().read(ByteBuffer.allocateDirect(8)), Blocked.READ));
                }
                pipe.sink().close();
                for (Blocked.Call<Integer> r : readers) {
                    assertEquals(-1, r.result().get(5, TimeUnit.SECONDS));
                }
            }
        });
    }

    @ParameterizedTest(name = "fifo={0}")
    @ValueSource(booleans = {false, true})
    void recordsOfPipeBufBytesFromEightConcurrentWritersNeverInterleave(boolean fifo, @TempDir Path dir)
            throws Exception {
        // PIPE-06, NL-06: 4 Java threads and 4 C processes, records of exactly 4096 bytes, through a
        // pipe and through a FIFO
        String writer = Peers.path("pipe_atomic");
        int records = 20_000;
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            PipeSource source;
            PipeSink sink;
            if (fifo) {
                Path f = dir.resolve("f");
                Fifo.create(f);
                CompletableFuture<PipeSource> reader = CompletableFuture.supplyAsync(() -> {
                    try {
                        return Fifo.openReader(f);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }, OwnThreads.EACH);
                sink = Fifo.openWriter(f);
                source = reader.join();
            } else {
                Pipe pipe = Pipe.open();
                source = pipe.source();
                sink = pipe.sink();
            }
            try (source; sink) {
                List<ChildProcess> children = new ArrayList<>();
                for (int w = 4; w < 8; w++) {
                    children.add(Command.of(writer, "3", Integer.toString(w), Integer.toString(records),
                            Integer.toString(Pipe.PIPE_BUF)).fd(3, sink).start());
                }
                List<CompletableFuture<Void>> javaWriters = new ArrayList<>();
                for (int w = 0; w < 4; w++) {
                    int id = w;
                    javaWriters.add(CompletableFuture.runAsync(() -> writeRecords(sink, id, records), OwnThreads.EACH));
                }
                CompletableFuture<Void> closer = CompletableFuture.allOf(javaWriters.toArray(new CompletableFuture<?>[0]))
                        .thenRun(() -> {
                            try {
                                sink.close();
                            } catch (Exception e) {
                                throw new RuntimeException(e);
                            }
                        });
                long[] next = new long[8];
                ByteBuffer record = ByteBuffer.allocateDirect(Pipe.PIPE_BUF).order(ByteOrder.LITTLE_ENDIAN);
                long total = 0;
                for (;;) {
                    record.clear();
                    while (record.hasRemaining()) {
                        if (source.read(record) < 0) {
                            break;
                        }
                    }
                    if (record.position() == 0) {
                        break;
                    }
                    assertEquals(Pipe.PIPE_BUF, record.position(), "a whole number of records");
                    int id = record.getInt(0);
                    long seq = record.getLong(4);
                    for (int i = 12; i < Pipe.PIPE_BUF; i++) {
                        if (record.get(i) != (byte) id) {
                            throw new AssertionError("record " + seq + " of writer " + id + " interleaved at byte " + i);
                        }
                    }
                    assertEquals(next[id]++, seq, "writer " + id + " in order");
                    total++;
                }
                closer.get();
                for (ChildProcess c : children) {
                    assertTrue(c.waitFor().success(), "C writer succeeded");
                    c.close();
                }
                assertEquals(8L * records, total);
            }
        });
    }

    private static void writeRecords(PipeSink sink, int id, int records) {
        ByteBuffer record = ByteBuffer.allocateDirect(Pipe.PIPE_BUF).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 12; i < Pipe.PIPE_BUF; i++) {
            record.put(i, (byte) id);
        }
        try {
            for (long seq = 0; seq < records; seq++) {
                record.clear();
                record.putInt(0, id).putLong(4, seq);
                sink.write(record);
            }
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    @Test
    void bothEndsAreCloseOnExecSoAChildSeesOnlyItsPlacedDescriptors() throws Exception {
        // PIPE-11, X-10: both ends carry FD_CLOEXEC from pipe2 on (the spawn closes everything above
        // the placed descriptors anyway, so the child's listing alone cannot show it), and a C child
        // lists /proc/self/fd
        String fdList = Peers.path("fd_list");
        try (Pipe out = Pipe.open(); Pipe unrelated = Pipe.open()) {
            unrelated.sink().setNonBlocking(true);
            for (PipeEnd end : List.of(unrelated.source(), unrelated.sink(), out.source(), out.sink())) {
                assertTrue(Fds.closeOnExec(end.descriptor().fd()), end + " is close-on-exec");
            }
            try (ChildProcess child = Command.of(fdList).stdout(out.sink()).start()) {
                out.sink().close();
                String listing = new String(out.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII);
                assertTrue(child.waitFor().success());
                List<String> fds = listing.lines().filter(l -> l.matches("\\d+")).toList();
                assertEquals(List.of("0", "1", "2"), fds, "only stdin, stdout and stderr: " + listing);
            }
            assertTrue(unrelated.sink().isOpen());
        }
    }

    @Test
    void streamsStayBlockingWhenTheEndIsNonBlocking() throws Exception {
        // "a blocking stream over this end": with O_NONBLOCK set, InputStream.read() on an empty
        // pipe returned -1, an end of file while the writer was still there, and OutputStream.write
        // on a full pipe threw RuntimeException("no bytes written")
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe pipe = Pipe.open()) {
                pipe.source().setNonBlocking(true);
                pipe.sink().setNonBlocking(true);
                InputStream in = pipe.source().inputStream();
                Blocked.Call<Integer> read = Blocked.start(in::read, Blocked.POLL, Blocked.READ);
                assertTrue(!read.result().isDone(), "the stream waits for data: " + read.result());
                pipe.sink().write(ByteBuffer.wrap(new byte[] {7}));
                assertEquals(7, read.result().get(5, TimeUnit.SECONDS));

                int capacity = pipe.sink().capacity();
                assertEquals(capacity, pipe.sink().write(ByteBuffer.allocateDirect(capacity)), "fills the pipe");
                OutputStream out = pipe.sink().outputStream();
                Blocked.Call<Boolean> write = Blocked.start(() -> {
                    out.write(new byte[] {1, 2, 3});
                    return true;
                }, Blocked.POLL, Blocked.WRITE);
                assertTrue(!write.result().isDone(), "the stream waits for room: " + write.result());
                byte[] drained = new byte[capacity];
                assertEquals(capacity, in.readNBytes(drained, 0, capacity));
                assertTrue(write.result().get(5, TimeUnit.SECONDS));
                assertEquals(1, in.read());
                pipe.sink().close();
                assertEquals(2, in.read());
                assertEquals(3, in.read());
                assertEquals(-1, in.read(), "end of file once the writer has gone");
            }
        });
    }

    @Test
    void streamsCarryBytesBothWays() throws Exception {
        try (Pipe pipe = Pipe.open()) {
            try (OutputStream out = pipe.sink().outputStream()) {
                out.write(new byte[] {1, 2, 3});
                out.write(4);
            }
            try (InputStream in = pipe.source().inputStream()) {
                assertArrayEquals(new byte[] {1, 2, 3, 4}, in.readAllBytes());
            }
        }
    }
}
