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
 * read or write into a direct buffer on a pipe, on each AF_UNIX socket type and a queue's
 * receive into the caller's buffer. Counted by the JVM for this thread
 * ({@code com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes}), after a warm-up that
 * creates the per-thread state. Before the calls were made through {@link Descriptor.BufferCall}s
 * kept in fields, the lambdas that carried their arguments left 32 to 104 bytes a round trip (320 KB
 * to 1 MB over the 10,000).
 */
class NoGarbageTest {
    private static final int CALLS = 10_000;
    /** Slack for what the JVM itself may charge to the thread meanwhile; far below one byte a call. */
    private static final long SLACK = 4096;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** One write and one read of 8 bytes. */
    @FunctionalInterface
    private interface RoundTrip {
        void run() throws IOException;
    }

    private static long allocatedBy(RoundTrip trip) throws IOException {
        for (int i = 0; i < 1_000; i++) {
            trip.run();
        }
        long before = THREADS.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < CALLS; i++) {
            trip.run();
        }
        return THREADS.getCurrentThreadAllocatedBytes() - before;
    }

    @Test
    void pipeWriteAndReadAllocateNothing() throws IOException {
        ByteBuffer out = ByteBuffer.allocateDirect(8);
        ByteBuffer in = ByteBuffer.allocateDirect(8);
        try (Pipe pipe = Pipe.open()) {
            long bytes = allocatedBy(() -> {
                pipe.sink().write(out.clear());
                assertEquals(8, pipe.source().read(in.clear()));
            });
            assertTrue(bytes < SLACK, bytes + " bytes allocated over " + CALLS + " pipe round trips");
        }
    }

    @ParameterizedTest
    @EnumSource(Socket.Type.class)
    void socketWriteAndReadAllocateNothing(Socket.Type type) throws IOException {
        ByteBuffer out = ByteBuffer.allocateDirect(8);
        ByteBuffer in = ByteBuffer.allocateDirect(8);
        try (Socket.Pair pair = Socket.pair(type)) {
            long bytes = allocatedBy(() -> {
                pair.first().write(out.clear());
                assertEquals(8, pair.second().read(in.clear()));
            });
            assertTrue(bytes < SLACK, bytes + " bytes allocated over " + CALLS + " " + type + " round trips");
        }
    }

    @Test
    void queueReceiveIntoABufferAllocatesNothing() throws IOException {
        String name = Names.unique("nogarbage");
        ByteBuffer message = ByteBuffer.allocateDirect(8);
        ByteBuffer in = ByteBuffer.allocateDirect(8);
        try (MessageQueue queue = MessageQueue.createExclusively(name, 10, 8, 0600)) {
            long bytes = 0;
            for (int batch = 0; batch < CALLS / 10 + 100; batch++) {
                for (int i = 0; i < 10; i++) {
                    queue.send(message.clear(), 1); // a send captures its priority: not counted
                }
                long before = THREADS.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 10; i++) {
                    assertEquals(1, queue.receive(in.clear()));
                }
                if (batch >= 100) { // the first 100 batches warm up
                    bytes += THREADS.getCurrentThreadAllocatedBytes() - before;
                }
            }
            assertTrue(bytes < SLACK, bytes + " bytes allocated over " + CALLS + " receives");
        } finally {
            MessageQueue.unlink(name);
        }
    }
}
