package io.ipcbridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Names;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The calls of a round trip allocate nothing, as the JDK's channels allocate nothing: a blocking
 * read or write into a direct buffer on a pipe, on each AF_UNIX socket type, and a queue's send
 * of a direct buffer and receive into the caller's buffer. Counted by the JVM for this thread
 * ({@code com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes}) in 20 blocks of 1,000
 * round trips, after a warm-up that creates the per-thread state. Garbage made by the calls shows in
 * every block; what the JVM charges to the thread now and then (about 12 KB once, when it links or
 * compiles a call site along the way, or a few dozen bytes) shows in a few: so at most a quarter
 * of the blocks may allocate anything. Before the calls were made through
 * {@link Descriptor.BufferCall}s kept in fields, the lambdas that carried their arguments left 32 to
 * 104 bytes a round trip, in every block.
 */
class NoGarbageTest {
    private static final int BLOCKS = 20;
    private static final int CALLS = 1_000;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** One write and one read of 8 bytes. */
    @FunctionalInterface
    private interface RoundTrip {
        void run() throws IOException;
    }

    /** Runs the warm-up, then {@link #BLOCKS} blocks of {@link #CALLS}, and checks what they allocated. */
    private static void assertNoGarbage(String what, RoundTrip trip) throws IOException {
        for (int i = 0; i < CALLS; i++) {
            trip.run();
        }
        long[] bytes = new long[BLOCKS];
        for (int b = 0; b < BLOCKS; b++) {
            long before = THREADS.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < CALLS; i++) {
                trip.run();
            }
            bytes[b] = THREADS.getCurrentThreadAllocatedBytes() - before;
        }
        long allocating = java.util.Arrays.stream(bytes).filter(n -> n > 0).count();
        assertTrue(allocating <= BLOCKS / 4, what + ": " + allocating + " of " + BLOCKS + " blocks of " + CALLS
                + " allocated, bytes by block " + java.util.Arrays.toString(bytes));
    }

    @Test
    void pipeWriteAndReadAllocateNothing() throws IOException {
        ByteBuffer out = ByteBuffer.allocateDirect(8);
        ByteBuffer in = ByteBuffer.allocateDirect(8);
        try (Pipe pipe = Pipe.open()) {
            assertNoGarbage("pipe", () -> {
                pipe.sink().write(out.clear());
                assertEquals(8, pipe.source().read(in.clear()));
            });
        }
    }

    @ParameterizedTest
    @EnumSource(Socket.Type.class)
    void socketWriteAndReadAllocateNothing(Socket.Type type) throws IOException {
        ByteBuffer out = ByteBuffer.allocateDirect(8);
        ByteBuffer in = ByteBuffer.allocateDirect(8);
        try (Socket.Pair pair = Socket.pair(type)) {
            assertNoGarbage(type.toString(), () -> {
                pair.first().write(out.clear());
                assertEquals(8, pair.second().read(in.clear()));
            });
        }
    }

    @Test
    void queueSendAndReceiveWithBuffersAllocateNothing() throws IOException {
        String name = Names.unique("nogarbage");
        ByteBuffer message = ByteBuffer.allocateDirect(8);
        ByteBuffer in = ByteBuffer.allocateDirect(8);
        try (MessageQueue queue = MessageQueue.createExclusively(name, 10, 8, 0600)) {
            assertNoGarbage("mq", () -> {
                queue.send(message.clear(), 1);
                assertEquals(1, queue.receive(in.clear()));
            });
        } finally {
            MessageQueue.unlink(name);
        }
    }
}
