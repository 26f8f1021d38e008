package io.ipcbridge.socket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.Descriptor;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.testing.Blocked;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One socket used by several threads at once, held to the contract its class comment states, that
 * of the JDK's SocketChannel: a write of a buffer is never interleaved with another thread's write,
 * readers each take whole messages, accepting threads each take their own connections.
 */
class SocketThreadsTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final int RECORD = 1 << 20;
    private static final int RECORDS = 8;
    private static final int WRITERS = 2;

    @TempDir
    Path dir;

    /** Record {@code seq} of {@code writer}: every byte the same, one value per record. */
    private static byte mark(int writer, int seq) {
        return (byte) (1 + writer * RECORDS + seq);
    }

    /** How a writer puts a record on the socket. */
    enum How {
        HEAP, DIRECT, WITH_A_DESCRIPTOR, OUTPUT_STREAM
    }

    @ParameterizedTest
    @EnumSource(How.class)
    void largeWritesFromTwoThreadsArriveWhole(How how) {
        assertTimeoutPreemptively(LIMIT, () -> {
            ExecutorService pool = Executors.newFixedThreadPool(WRITERS + 1);
            try (Socket.Pair p = Socket.pair(Socket.Type.STREAM)) {
                // the stream waits for room itself, between the writes that fit
                p.first().descriptor().setNonBlocking(how == How.OUTPUT_STREAM);
                CompletableFuture<List<Byte>> read = CompletableFuture.supplyAsync(() -> {
                    List<Byte> marks = new ArrayList<>();
                    ByteBuffer record = ByteBuffer.allocateDirect(RECORD);
                    try {
                        for (int r = 0; r < WRITERS * RECORDS; r++) {
                            record.clear();
                            while (record.hasRemaining()) {
                                int before = record.position();
                                for (Descriptor d : p.second().receiveDescriptors(record, 1)) {
                                    d.close();
                                }
                                if (record.position() == before) {
                                    throw new AssertionError("end of stream after " + r + " records");
                                }
                            }
                            byte first = record.get(0);
                            for (int i = 1; i < RECORD; i++) {
                                if (record.get(i) != first) {
                                    throw new AssertionError("record " + r + " (begun by mark " + first
                                            + ") holds another write's bytes from byte " + i + " on: mark "
                                            + record.get(i));
                                }
                            }
                            marks.add(first);
                        }
                        return marks;
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }, pool);
                List<CompletableFuture<Void>> writes = new ArrayList<>();
                for (int w = 0; w < WRITERS; w++) {
                    int writer = w;
                    writes.add(CompletableFuture.runAsync(() -> {
                        ByteBuffer b = how == How.HEAP || how == How.OUTPUT_STREAM ? ByteBuffer.allocate(RECORD)
                                : ByteBuffer.allocateDirect(RECORD);
                        try (Pipe pipe = Pipe.open()) {
                            OutputStream out = p.first().outputStream();
                            for (int seq = 0; seq < RECORDS; seq++) {
                                b.clear();
                                while (b.hasRemaining()) {
                                    b.put(mark(writer, seq));
                                }
                                b.flip();
                                switch (how) {
                                    case WITH_A_DESCRIPTOR -> p.first().sendDescriptors(b,
                                            List.of(pipe.sink().descriptor()));
                                    case OUTPUT_STREAM -> out.write(b.array(), b.arrayOffset(), RECORD);
                                    default -> assertEquals(RECORD, p.first().write(b),
                                            "a blocking write takes the whole buffer");
                                }
                            }
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }, pool));
                }
                List<Byte> marks = read.join(); // first: a reader that failed leaves the writers blocked
                writes.forEach(CompletableFuture::join);
                for (int w = 0; w < WRITERS; w++) {
                    int writer = w;
                    byte[] expected = new byte[RECORDS];
                    for (int seq = 0; seq < RECORDS; seq++) {
                        expected[seq] = mark(writer, seq);
                    }
                    byte[] got = marks.stream().filter(m -> (m - 1) / RECORDS == writer)
                            .collect(ByteArrayOutputStream::new, ByteArrayOutputStream::write,
                                    (a, b) -> a.writeBytes(b.toByteArray())).toByteArray();
                    assertArrayEquals(expected, got, "every record of writer " + writer + " arrives whole, in order");
                }
            } finally {
                pool.shutdownNow();
            }
        });
    }

    @Test
    void closeEndsAWriteBlockedInTheKernelAndOneWaitingForItsTurn() {
        // X-02 with the write lock: the writer the peer does not read is blocked in write(2), the
        // second waits for its turn; a close from a third thread ends both, and nothing of the second goes out
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair p = Socket.pair(Socket.Type.STREAM)) {
                ByteBuffer more = ByteBuffer.allocateDirect(16 * RECORD); // than the socket holds
                Blocked.Call<Integer> first = Blocked.start(() -> p.first().write(more), Blocked.WRITE);
                CompletableFuture<Integer> second = new CompletableFuture<>();
                Thread waiting = new Thread(() -> {
                    try {
                        second.complete(p.first().write(ByteBuffer.wrap(new byte[] {1})));
                    } catch (Throwable e) {
                        second.completeExceptionally(e);
                    }
                });
                waiting.start();
                while (waiting.getState() != Thread.State.WAITING && !second.isDone()) {
                    Thread.onSpinWait(); // until it parks on the lock the first write holds
                }
                p.first().close();
                ExecutionException blocked = assertThrows(ExecutionException.class, () -> first.result().get());
                assertInstanceOf(AsynchronousCloseException.class, blocked.getCause(), "the write in the kernel ends");
                ExecutionException turn = assertThrows(ExecutionException.class, second::get);
                assertInstanceOf(ClosedChannelException.class, turn.getCause(), "the waiting write ends, unmade");
            }
        });
    }

    @ParameterizedTest
    @EnumSource(value = Socket.Type.class, names = {"DATAGRAM", "SEQPACKET"})
    void messagesReadByFourThreadsFromOneSocketArriveEachOnceAndWhole(Socket.Type type) {
        int messages = 20_000;
        assertTimeoutPreemptively(LIMIT, () -> {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try (Socket.Pair p = Socket.pair(type)) {
                List<CompletableFuture<List<Integer>>> readers = new ArrayList<>();
                for (int r = 0; r < 4; r++) {
                    readers.add(CompletableFuture.supplyAsync(() -> {
                        List<Integer> got = new ArrayList<>();
                        ByteBuffer b = ByteBuffer.allocate(4 + 300); // a heap buffer: through a per-thread copy
                        try {
                            for (;;) {
                                b.clear();
                                int n = p.second().read(b);
                                if (n == 4 && b.getInt(0) == -1) {
                                    return got; // this reader's end
                                }
                                int i = b.getInt(0);
                                assertEquals(4 + i % 300, n, "message " + i + " whole");
                                for (int k = 4; k < n; k++) {
                                    assertEquals((byte) i, b.get(k), "message " + i + " holds its own bytes");
                                }
                                got.add(i);
                            }
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }, pool));
                }
                ByteBuffer m = ByteBuffer.allocateDirect(4 + 300);
                for (int i = 0; i < messages; i++) {
                    m.clear().putInt(i);
                    while (m.position() < 4 + i % 300) {
                        m.put((byte) i);
                    }
                    p.first().write(m.flip());
                }
                for (int r = 0; r < 4; r++) {
                    p.first().write(m.clear().putInt(-1).flip());
                }
                assertEachTakenOnce(readers, messages, "message", "read");
            } finally {
                pool.shutdownNow();
            }
        });
    }

    @Test
    void twoThreadsAcceptingOnOneServerTakeEachClientOnce() {
        // one accept untimed (blocking in accept4), one timed (which makes the socket non-blocking under it)
        int clients = 200;
        Address address = Address.unix(dir.resolve("s.sock"));
        assertTimeoutPreemptively(LIMIT, () -> {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try (ServerSocket server = ServerSocket.listen(address, Socket.Type.STREAM)) {
                List<CompletableFuture<List<Integer>>> acceptors = new ArrayList<>();
                for (int a = 0; a < 2; a++) {
                    boolean timed = a == 1;
                    acceptors.add(CompletableFuture.supplyAsync(() -> {
                        List<Integer> got = new ArrayList<>();
                        try {
                            for (;;) {
                                Socket s = timed ? server.accept(Duration.ofSeconds(30)).orElseThrow()
                                        : server.accept();
                                try (s) {
                                    ByteBuffer b = ByteBuffer.allocate(4);
                                    while (b.hasRemaining() && s.read(b) >= 0) {
                                        // the client's number
                                    }
                                    int i = b.getInt(0);
                                    if (i < 0) {
                                        return got;
                                    }
                                    got.add(i);
                                }
                            }
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }, pool));
                }
                for (int i = 0; i < clients + 2; i++) {
                    try (Socket c = Socket.connect(address, Socket.Type.STREAM)) {
                        c.write(ByteBuffer.allocate(4).putInt(i < clients ? i : -1).flip());
                    }
                }
                assertEachTakenOnce(acceptors, clients, "client", "accepted");
            } finally {
                pool.shutdownNow();
            }
        });
    }

    /** That the numbers 0 .. {@code count - 1} were taken by {@code takers}, each by one of them, once. */
    private static void assertEachTakenOnce(List<CompletableFuture<List<Integer>>> takers, int count, String what,
            String taken) {
        boolean[] seen = new boolean[count];
        for (CompletableFuture<List<Integer>> taker : takers) {
            for (int i : taker.join()) {
                assertFalse(seen[i], what + " " + i + " " + taken + " twice");
                seen[i] = true;
            }
        }
        for (int i = 0; i < count; i++) {
            assertTrue(seen[i], what + " " + i + " " + taken);
        }
    }
}
