package io.ipcbridge.mq;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.testing.Names;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * a timed send or receive ends by the monotonic clock. Each mq_timed* call is given a
 * wall-clock timeout of at most 100 ms and the wait goes on until the Duration has passed, so a step
 * of CLOCK_REALTIME (not testable here: time namespaces do not cover it) moves the end by at most
 * one slice. What is tested: a wait longer than a slice lasts its whole Duration, not one slice.
 */
class MessageQueueDeadlineTest {
    @Test
    void aTimedReceiveLongerThanOneSliceWaitsItsWholeDuration() throws Exception {
        String name = Names.unique("deadline");
        try (MessageQueue q = MessageQueue.createExclusively(name)) {
            long start = System.nanoTime();
            assertTrue(q.receive(Duration.ofMillis(350)).isEmpty());
            long waited = System.nanoTime() - start;
            assertTrue(waited >= TimeUnit.MILLISECONDS.toNanos(350), "waited " + waited / 1_000_000 + " ms");
        } finally {
            MessageQueue.unlink(name);
        }
    }

    @Test
    void aTimedReceiveIntoABufferLongerThanOneSliceWaitsItsWholeDuration() throws Exception {
        String name = Names.unique("deadline");
        try (MessageQueue q = MessageQueue.createExclusively(name, 1, 16, MessageQueue.DEFAULT_MODE)) {
            long start = System.nanoTime();
            assertTrue(q.receive(ByteBuffer.allocateDirect(16), Duration.ofMillis(250)).isEmpty());
            long waited = System.nanoTime() - start;
            assertTrue(waited >= TimeUnit.MILLISECONDS.toNanos(250), "waited " + waited / 1_000_000 + " ms");
        } finally {
            MessageQueue.unlink(name);
        }
    }

    @Test
    void aTimedSendOnAFullQueueLongerThanOneSliceWaitsItsWholeDuration() throws Exception {
        String name = Names.unique("deadline");
        try (MessageQueue q = MessageQueue.createExclusively(name, 1, 16, MessageQueue.DEFAULT_MODE)) {
            assertTrue(q.trySend(ByteBuffer.wrap(new byte[] {1}), 0));
            long start = System.nanoTime();
            assertFalse(q.send(ByteBuffer.wrap(new byte[] {2}), 0, Duration.ofMillis(250)));
            long waited = System.nanoTime() - start;
            assertTrue(waited >= TimeUnit.MILLISECONDS.toNanos(250), "waited " + waited / 1_000_000 + " ms");
        } finally {
            MessageQueue.unlink(name);
        }
    }
}
