package io.ipcbridge.socket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One stream socket used by several threads at once, held to the contract of the JDK's
 * SocketChannel: a write of a buffer is never interleaved with another thread's write.
 */
class SocketThreadsTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final int RECORD = 1 << 20;
    private static final int RECORDS = 8;
    private static final int WRITERS = 2;

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
}
