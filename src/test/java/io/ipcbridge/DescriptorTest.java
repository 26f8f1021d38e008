package io.ipcbridge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.internal.posix.NativeThread;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.OwnThreads;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The owned descriptor: close once, no use after close, blocked calls woken by close and interrupt. */
class DescriptorTest {
    private static final Duration LIMIT = Duration.ofSeconds(20);

    /** Starts a thread blocked in read on {@code d}, returning once it sleeps in read(2). */
    private static CompletableFuture<Integer> blockedRead(Descriptor d, AtomicLong nativeThread) throws Exception {
        return Blocked.start(() -> {
            nativeThread.set(NativeThread.current());
            return d.read(ByteBuffer.allocateDirect(16));
        }, Blocked.READ).result();
    }

    @Test
    void useAfterCloseThrowsClosedChannelExceptionAndDoubleCloseIsANoOp() throws Exception {
        // X-04, MQ-19 pattern: no syscall after close, double close is not EBADF
        Pipe pipe = Pipe.open();
        Descriptor d = pipe.source().descriptor();
        pipe.close();
        pipe.close();
        assertThrows(ClosedChannelException.class, () -> d.read(ByteBuffer.allocateDirect(1)));
        assertThrows(ClosedChannelException.class, () -> pipe.sink().write(ByteBuffer.wrap(new byte[1])));
        assertThrows(ClosedChannelException.class, () -> d.awaitReadable(Duration.ZERO));
        assertThrows(ClosedChannelException.class, d::fd);
        assertFalse(d.isOpen());
    }

    @Test
    void closeWakesABlockedReaderWithAsynchronousCloseException() throws Exception {
        //
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe pipe = Pipe.open()) {
                CompletableFuture<Integer> read = blockedRead(pipe.source().descriptor(), new AtomicLong());
                pipe.source().close();
                ExecutionException e = assertThrows(ExecutionException.class, () -> read.get(5, TimeUnit.SECONDS));
                assertEquals(AsynchronousCloseException.class, e.getCause().getClass());
            }
        });
    }

    @Test
    void interruptWakesABlockedReaderWithClosedByInterruptException() throws Exception {
        // the JDK's channel semantics, interrupt status kept
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe pipe = Pipe.open()) {
                Blocked.Call<Boolean> call = Blocked.start(() -> {
                    try {
                        pipe.source().read(ByteBuffer.allocateDirect(8));
                        throw new AssertionError("read returned");
                    } catch (ClosedByInterruptException e) {
                        return Thread.currentThread().isInterrupted();
                    }
                }, Blocked.READ);
                call.thread().interrupt();
                assertTrue(call.result().get(5, TimeUnit.SECONDS), "interrupt status is preserved");
                assertFalse(pipe.source().isOpen(), "an interrupted channel is closed, as in the JDK");
            }
        });
    }

    @Test
    void signalsToABlockedReaderCauseNoSpuriousErrorAndNoLoss() throws Exception {
        // EINTR is retried inside
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe pipe = Pipe.open()) {
                AtomicLong thread = new AtomicLong();
                CompletableFuture<Integer> read = blockedRead(pipe.source().descriptor(), thread);
                for (int i = 0; i < 10_000; i++) {
                    NativeThread.signal(thread.get());
                }
                pipe.sink().write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
                assertEquals(3, read.get(5, TimeUnit.SECONDS));
            }
        });
    }

    @Test
    void aClosedNumberReusedByANewPipeIsNeverReadByTheWokenReader() throws Exception {
        // dup3 of a dead socket before the wake-up, real close after the last user
        assertTimeoutPreemptively(Duration.ofSeconds(150), () -> {
            for (int i = 0; i < 10_000; i++) {
                Pipe pipe = Pipe.open();
                CompletableFuture<Integer> read = blockedRead(pipe.source().descriptor(), new AtomicLong());
                pipe.source().close();
                try (Pipe other = Pipe.open()) {
                    other.sink().write(ByteBuffer.wrap(new byte[] {42}));
                    ExecutionException e = assertThrows(ExecutionException.class, () -> read.get(5, TimeUnit.SECONDS));
                    assertEquals(AsynchronousCloseException.class, e.getCause().getClass());
                    ByteBuffer b = ByteBuffer.allocate(1);
                    assertEquals(1, other.source().read(b), "the new pipe's byte is still there");
                    assertArrayEquals(new byte[] {42}, b.array());
                }
                pipe.close();
            }
        });
    }

    @Test
    void aClosedNumberReusedByANewPipeIsNeverWrittenByTheWokenWriter() throws Exception {
        // X-03, write side: a writer blocked on a full pipe is woken by the close while the number
        // it wrote to may go to a new pipe; none of its bytes may land there
        assertTimeoutPreemptively(Duration.ofSeconds(150), () -> {
            for (int i = 0; i < 2_000; i++) {
                Pipe pipe = Pipe.open();
                int capacity = pipe.sink().setCapacity(4096);
                Blocked.Call<Integer> write = Blocked.start(
                        () -> pipe.sink().write(ByteBuffer.allocateDirect(capacity + 1)), Blocked.WRITE);
                pipe.sink().close();
                try (Pipe other = Pipe.open()) {
                    ExecutionException e = assertThrows(ExecutionException.class,
                            () -> write.result().get(5, TimeUnit.SECONDS));
                    assertEquals(AsynchronousCloseException.class, e.getCause().getClass());
                    other.source().setNonBlocking(true);
                    assertEquals(0, other.source().read(ByteBuffer.allocate(1)), "nothing was written to the new pipe");
                }
                pipe.close();
            }
        });
    }

    @Test
    void awaitReadableTimesOutWhenNothingComes() throws Exception {
        try (Pipe pipe = Pipe.open()) {
            assertFalse(pipe.source().await(Duration.ofMillis(50)));
            assertFalse(pipe.source().await(Duration.ZERO));
            pipe.sink().write(ByteBuffer.wrap(new byte[] {1}));
            assertTrue(pipe.source().await(Duration.ofSeconds(5)));
            assertThrows(IllegalArgumentException.class, () -> pipe.source().await(Duration.ofMillis(-1)));
        }
    }

    @Test
    void aShortCallRacingACloseEndsWithAsynchronousCloseExceptionNotAnInternalError() throws Exception {
        // capacity() (fcntl(F_GETPIPE_SZ) through withFd) while another thread closes; the
        // close points the number at the dead socket, where F_GETPIPE_SZ fails with EBADF, which
        // came out as IllegalStateException("internal: ...")
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe pipe = Pipe.open()) {
                Descriptor d = pipe.source().descriptor();
                assertThrows(AsynchronousCloseException.class, () -> d.withFd(n -> {
                    CompletableFuture.runAsync(() -> {
                        try {
                            d.close();
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }, OwnThreads.EACH).join();
                    return io.ipcbridge.internal.posix.Syscalls.pipeSize(n, d.name());
                }));
                assertFalse(d.isOpen());
            }
        });
    }

    @Test
    void adoptRefusesANumberThatIsNotOpen() {
        assertThrows(IllegalArgumentException.class, () -> Descriptor.adopt(100_000, "nothing"));
        assertThrows(IllegalArgumentException.class, () -> Descriptor.adopt(-1, "nothing"));
    }

    @Test
    void tenThousandPipesOpenedAndClosedLeaveNoDescriptorBehind() throws Exception {
        // leak check required by the foundation issue
        var before = Fds.snapshot();
        for (int i = 0; i < 10_000; i++) {
            Pipe.open().close();
        }
        Fds.assertNoneAdded(before);
    }

    @Test
    void forgottenDescriptorsAreClosedByTheCleaner() throws Exception {
        // the Cleaner is a safety net for handles dropped without close()
        var before = Fds.snapshot();
        for (int i = 0; i < 2_000; i++) {
            Pipe.open(); // 4,000 descriptors: well under RLIMIT_NOFILE
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!Fds.addedSince(before).isEmpty() && System.nanoTime() < deadline) {
            System.gc();
        }
        Fds.assertNoneAdded(before);
    }
}
