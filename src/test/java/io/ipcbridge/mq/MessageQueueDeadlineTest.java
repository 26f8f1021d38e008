package io.ipcbridge.mq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Names;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * X-08, MQ-16: a timed send or receive ends by the monotonic clock. The wait is a poll(2) of the queue with
 * a relative timeout, and each mq_timed* call is given an absolute time long past, so that it never
 * waits by the wall clock (a step of CLOCK_REALTIME is not testable here: time namespaces do not
 * cover it). What is tested: a timed wait lasts its whole Duration, and a message or room that comes
 * during it ends it.
 */
class MessageQueueDeadlineTest {
    @Test
    void aTimedReceiveWaitsItsWholeDuration() throws Exception {
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
    void aTimedReceiveIntoABufferWaitsItsWholeDuration() throws Exception {
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
    void aTimedSendOnAFullQueueWaitsItsWholeDuration() throws Exception {
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

    @Test
    void aMessageOrRoomThatComesDuringATimedWaitEndsIt() throws Exception {
        String name = Names.unique("deadline");
        try (MessageQueue q = MessageQueue.createExclusively(name, 1, 16, MessageQueue.DEFAULT_MODE)) {
            Blocked.Call<Optional<Message>> receive = Blocked.start(() -> q.receive(Duration.ofMinutes(5)), Blocked.POLL);
            q.send(ByteBuffer.wrap(new byte[] {1}), 3);
            assertEquals(3, receive.result().get().orElseThrow().priority(), "the message sent while it waited");

            assertTrue(q.trySend(ByteBuffer.wrap(new byte[] {2}), 0));
            Blocked.Call<Boolean> send = Blocked.start(
                    () -> q.send(ByteBuffer.wrap(new byte[] {4}), 0, Duration.ofMinutes(5)), Blocked.POLL);
            assertEquals(2, q.receive().data()[0]);
            assertTrue(send.result().get(), "sent once room came");
            assertEquals(4, q.receive().data()[0]);
        } finally {
            MessageQueue.unlink(name);
        }
    }
}
