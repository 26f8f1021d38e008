package io.ipcbridge.mq;

import static io.ipcbridge.mq.MessageQueueTest.bytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.internal.posix.NativeThread;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Created;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.IllegalBlockingModeException;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Queue edges: the blocking mode toggled under a blocked call, and empty messages racing close and interrupt. */
class MessageQueueBlockingEdgeTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private final Created created = new Created("mqrev", MessageQueue::unlink);

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    @Test
    void aBlockedSendIsNotReportedSentWhenNonBlockingModeIsSetUnderIt() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (MessageQueue q = MessageQueue.createExclusively(created.name(), 1, 16, 0600)) {
                q.send(bytes("first"), 0);
                AtomicLong thread = new AtomicLong();
                Blocked.Call<Boolean> sender = Blocked.start(() -> {
                    thread.set(NativeThread.current());
                    q.send(bytes("second"), 0);
                    return true; // the caller believes "second" is queued
                }, Blocked.MQ_TIMEDSEND);
                q.setNonBlocking(true);
                NativeThread.signal(thread.get()); // EINTR: the send is made again, now non-blocking
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> sender.result().get(10, TimeUnit.SECONDS), "send() returned but sent nothing");
                assertEquals(IllegalBlockingModeException.class, e.getCause().getClass());
                assertEquals(1, q.attributes().currentMessages());
            }
        });
    }

    @Test
    void aBlockedReceiveIsNotReportedClosedWhenNonBlockingModeIsSetUnderIt() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (MessageQueue q = MessageQueue.createExclusively(created.name(), 1, 16, 0600)) {
                AtomicLong thread = new AtomicLong();
                Blocked.Call<Message> receiver = Blocked.start(() -> {
                    thread.set(NativeThread.current());
                    return q.receive();
                }, Blocked.MQ_TIMEDRECEIVE);
                q.setNonBlocking(true);
                NativeThread.signal(thread.get());
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> receiver.result().get(10, TimeUnit.SECONDS));
                assertEquals(IllegalBlockingModeException.class, e.getCause().getClass(),
                        "the queue is open: " + e.getCause());
                assertTrue(q.isOpen());
            }
        });
    }

    @Test
    void aClosedNumberReusedByANewQueueIsNeverReceivedFromByTheWokenReceiver() throws Exception {
        // X-03 for queues: a receiver blocked in mq_timedreceive is woken by the close while a new
        // queue may get its number; it must never take the new queue's message
        assertTimeoutPreemptively(Duration.ofSeconds(150), () -> {
            String first = created.name();
            String second = created.name();
            for (int i = 0; i < 1_000; i++) {
                MessageQueue q = MessageQueue.createExclusively(first, 1, 16, 0600);
                Blocked.Call<Message> receiver = Blocked.start(q::receive, Blocked.MQ_TIMEDRECEIVE, Blocked.POLL);
                q.close();
                try (MessageQueue other = MessageQueue.createExclusively(second, 1, 16, 0600)) {
                    other.send(bytes("new"), 0);
                    ExecutionException e = assertThrows(ExecutionException.class,
                            () -> receiver.result().get(5, TimeUnit.SECONDS));
                    assertEquals(AsynchronousCloseException.class, e.getCause().getClass());
                    assertEquals(1, other.attributes().currentMessages(), "the new queue's message is still there");
                }
                MessageQueue.unlink(first);
                MessageQueue.unlink(second);
            }
        });
    }

    @Test
    void anEmptyMessageTakenAsTheReceiverIsClosedOrInterruptedIsNotLost() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            String n = created.name();
            try (MessageQueue w = MessageQueue.createExclusively(n, 1, 16, 0600)) {
                for (int i = 0; i < 200; i++) {
                    MessageQueue r = MessageQueue.open(n, MessageQueue.Access.READ);
                    Blocked.Call<Message> receiver = Blocked.start(r::receive, Blocked.MQ_TIMEDRECEIVE);
                    w.send(new byte[0], 7);
                    if (i % 2 == 0) {
                        receiver.thread().interrupt();
                    } else {
                        r.close();
                    }
                    try {
                        Message m = receiver.result().get(10, TimeUnit.SECONDS);
                        assertEquals(0, m.data().length);
                        assertEquals(7, m.priority());
                    } catch (ExecutionException e) {
                        assertTrue(e.getCause() instanceof AsynchronousCloseException, e.getCause().toString());
                        assertEquals(1, w.attributes().currentMessages(), "iteration " + i + ": the empty message "
                                + "was taken off the queue and " + e.getCause().getClass().getSimpleName()
                                + " thrown: lost");
                        w.receive();
                    }
                    r.close();
                }
            }
        });
    }

    @Test
    void aTimeoutTooLongToMeasureStillReportsAFullOrEmptyNonBlockingQueue() throws Exception {
        // MQ-11, MQ-12: the timed calls report a full or empty queue in non-blocking mode as false or
        // empty, whatever the timeout; one past Long.MAX_VALUE nanoseconds once counted as no timeout
        // at all and threw as the untimed calls do
        assertTimeoutPreemptively(LIMIT, () -> {
            try (MessageQueue q = MessageQueue.createExclusively(created.name(), 1, 16, 0600)) {
                q.setNonBlocking(true);
                for (Duration huge : new Duration[] {Duration.ofSeconds(Long.MAX_VALUE),
                        Duration.ofSeconds(Long.MAX_VALUE, 999_999_999), ChronoUnit.FOREVER.getDuration()}) {
                    assertEquals(Optional.empty(), q.receive(huge), "empty: " + huge);
                    assertEquals(OptionalInt.empty(), q.receive(ByteBuffer.allocateDirect(16), huge), "empty: " + huge);
                }
                assertTrue(q.trySend(ByteBuffer.wrap(bytes("only")), 0));
                assertFalse(q.send(ByteBuffer.wrap(bytes("more")), 0, Duration.ofSeconds(Long.MAX_VALUE)), "full");
                assertEquals(1, q.attributes().currentMessages(), "nothing more went in");
            }
        });
    }
}
