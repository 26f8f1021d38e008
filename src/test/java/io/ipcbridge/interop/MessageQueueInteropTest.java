package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.mq.Message;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.mq.NotificationBusyException;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.testing.Names;
import io.ipcbridge.testing.Peers;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Java and the C peer native-tests/mq_peer.c on the two ends of one queue. */
class MessageQueueInteropTest {
    private static final Duration LIMIT = Duration.ofMinutes(3);
    private String name;
    private String peer;

    @BeforeEach
    void setUp() {
        peer = Peers.path("mq_peer");
        name = Names.unique("mqi");
    }

    @AfterEach
    void tearDown() {
        try {
            MessageQueue.unlink(name);
        } catch (Exception gone) {
            // unlinked already
        }
    }

    /** Runs the peer to completion and returns its stdout. */
    private String run(String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(peer));
        argv.addAll(List.of(args));
        try (Pipe out = Pipe.open(); ChildProcess child = Command.of(argv).stdout(out.sink()).start()) {
            out.sink().close();
            String text = new String(out.source().inputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(child.waitFor().success(), "mq_peer " + String.join(" ", args) + " succeeded");
            return text;
        }
    }

    @Test
    void aRegistrationThatFiredReadsAsFiredWhileACPeerHoldsTheSlot() throws Exception {
        // MQ-26: once the kernel consumed this process's registration another process may take the
        // slot; EBUSY is then the peer's, and must not make ours read as still standing
        assertTimeoutPreemptively(LIMIT, () -> {
            try (MessageQueue q = MessageQueue.createExclusively(name, 4, 64, 0600)) {
                MessageQueue.Notification ours = q.requestNotification();
                q.send(new byte[] {1}, 0);
                try (Pipe in = Pipe.open(); Pipe out = Pipe.open();
                        ChildProcess holder = Command.of(peer, "notify-hold", name).stdin(in.source())
                                .stdout(out.sink()).start()) {
                    in.source().close();
                    out.sink().close();
                    BufferedReader lines = new BufferedReader(new InputStreamReader(
                            out.source().inputStream(), StandardCharsets.US_ASCII));
                    assertEquals("registered", lines.readLine(), "the peer took the slot ours left");
                    assertTrue(ours.fired(), "the message consumed our registration");
                    assertThrows(NotificationBusyException.class, q::requestNotification, "the peer holds it");
                    in.sink().close();
                    assertTrue(holder.waitFor().success(), "the peer held the slot until told to go");
                }
                ours.close();
            }
        });
    }

    /**
     * Whether the peer, in another process, can take the queue's notification slot: it registers
     * and lets go at once (its stdin is at end of file), or is refused with EBUSY.
     */
    private boolean peerTakesTheSlot() throws Exception {
        try (Pipe in = Pipe.open(); Pipe out = Pipe.open(); Pipe err = Pipe.open();
                ChildProcess holder = Command.of(peer, "notify-hold", name).stdin(in.source()).stdout(out.sink())
                        .stderr(err.sink()).start()) {
            in.close();
            out.sink().close();
            err.sink().close();
            String said = new String(out.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII);
            String complained = new String(err.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII);
            int status = holder.waitFor().code();
            if (status == 0) {
                assertEquals("registered\n", said);
                return true;
            }
            assertEquals(1, status, complained);
            assertEquals("mq_notify " + name + ": Device or resource busy\n", complained);
            return false;
        }
    }

    @Test
    void anotherProcessIsRefusedTheSlotThisOneHoldsUntilItsRegistrationOrDescriptorCloses() throws Exception {
        // MQ-26: while this process is registered another process gets EBUSY; closing the registration
        // lets it register, and so does closing the descriptor that registered
        assertTimeoutPreemptively(LIMIT, () -> {
            try (MessageQueue q = MessageQueue.createExclusively(name, 4, 64, 0600)) {
                MessageQueue.Notification ours = q.requestNotification();
                assertFalse(peerTakesTheSlot(), "EBUSY while ours stands");
                assertFalse(ours.fired());
                ours.close();
                assertTrue(peerTakesTheSlot(), "free once ours is closed");
                try (MessageQueue other = MessageQueue.open(name, MessageQueue.Access.READ)) {
                    other.requestNotification();
                    assertFalse(peerTakesTheSlot(), "EBUSY while the other descriptor's registration stands");
                    other.close();
                    assertTrue(peerTakesTheSlot(), "closing the descriptor that registered dropped the registration");
                }
                q.requestNotification().close();
            }
        });
    }

    @Test
    void javaReceivesACPeersMixedPrioritiesHighestFirstAndFifoWithin() throws Exception {
        try (MessageQueue q = MessageQueue.createExclusively(name)) {
            run("send-prio", name);
            List<String> got = new ArrayList<>();
            for (int i = 0; i < 9; i++) {
                Message m = q.receive();
                got.add(m.priority() + " " + m.text());
            }
            assertEquals(List.of("31 p31-5", "5 p5-1", "5 p5-3", "3 p3-2", "3 p3-6", "1 p1-0", "1 p1-7", "0 p0-4",
                    "0 p0-8"), got);
        }
    }

    @Test
    void aCPeerReceivesJavasMixedPrioritiesHighestFirstAndFifoWithin() throws Exception {
        try (MessageQueue q = MessageQueue.createExclusively(name)) {
            int[] prios = {1, 5, 3, 5, 0, 31, 3, 1, 0};
            for (int i = 0; i < prios.length; i++) {
                q.send(("p" + prios[i] + "-" + i).getBytes(StandardCharsets.US_ASCII), prios[i]);
            }
            assertEquals("31 p31-5\n5 p5-1\n5 p5-3\n3 p3-2\n3 p3-6\n1 p1-0\n1 p1-7\n0 p0-4\n0 p0-8\n",
                    run("receive-all", name));
        }
    }

    @Test
    void binaryEmptyAndMaximumSizeMessagesCrossIntactBothWays() throws Exception {
        try (MessageQueue q = MessageQueue.createExclusively(name)) {
            byte[] max = new byte[q.messageSize()];
            for (int i = 0; i < max.length; i++) {
                max[i] = (byte) (i * 13);
            }
            for (byte[] payload : new byte[][] {{0, (byte) 0xff, '\n', 0}, {}, max}) {
                run("send-raw", name, "7", HexFormat.of().formatHex(payload));
                assertEquals(new Message(payload, 7), q.receive());
                q.send(payload, 9);
                String hex = payload.length == 0 ? "-" : HexFormat.of().formatHex(payload);
                assertEquals("9 " + payload.length + " " + hex + "\n", run("receive-raw", name));
            }
        }
    }

    @Test
    void aMillionSequenceNumberedMessagesFromCToJavaArriveOnceInOrder() throws Exception {
        // a queue of the default size (10 x 8192): the C producer blocks on a full queue all along
        int count = 1_000_000;
        assertTimeoutPreemptively(LIMIT, () -> {
            try (MessageQueue q = MessageQueue.createExclusively(name);
                    ChildProcess producer = Command.of(peer, "send", name, Integer.toString(count)).start()) {
                assertEquals(10, q.attributes().maxMessages());
                for (long seq = 0; seq < count; seq++) {
                    Message m = q.receive();
                    ByteBuffer b = ByteBuffer.wrap(m.data()).order(ByteOrder.LITTLE_ENDIAN);
                    assertEquals(seq, b.getLong(0), "no gap, no duplicate");
                    assertEquals(8 + seq % 64, m.data().length);
                    for (int i = 8; i < m.data().length; i++) {
                        if (m.data()[i] != (byte) seq) {
                            throw new AssertionError("message " + seq + " corrupted at byte " + i);
                        }
                    }
                }
                assertTrue(producer.waitFor().success());
                assertEquals(0, q.attributes().currentMessages(), "nothing more");
            }
        });
    }

    @Test
    void javaReceivesACPeersMessagesIntoItsOwnBuffersWithTheirPriorities() throws Exception {
        try (MessageQueue q = MessageQueue.createExclusively(name)) {
            run("send-prio", name);
            ByteBuffer direct = ByteBuffer.allocateDirect(q.messageSize());
            List<String> got = new ArrayList<>();
            for (int i = 0; i < 9; i++) {
                int priority = q.receive(direct.clear());
                got.add(priority + " " + StandardCharsets.US_ASCII.decode(direct.flip()));
            }
            assertEquals(List.of("31 p31-5", "5 p5-1", "5 p5-3", "3 p3-2", "3 p3-6", "1 p1-0", "1 p1-7", "0 p0-4",
                    "0 p0-8"), got);
            byte[] max = new byte[q.messageSize()];
            for (int i = 0; i < max.length; i++) {
                max[i] = (byte) (i * 7);
            }
            ByteBuffer heap = ByteBuffer.allocate(q.messageSize());
            for (byte[] payload : new byte[][] {{0, (byte) 0xff, '\n', 0}, {}, max}) {
                run("send-raw", name, "4", HexFormat.of().formatHex(payload));
                assertEquals(4, q.receive(direct.clear()));
                assertEquals(ByteBuffer.wrap(payload), direct.flip(), "the bytes as the peer sent them");
                run("send-raw", name, "6", HexFormat.of().formatHex(payload));
                assertEquals(java.util.OptionalInt.of(6), q.receive(heap.clear(), Duration.ofSeconds(30)));
                assertEquals(ByteBuffer.wrap(payload), heap.flip(), "the bytes as the peer sent them");
            }
        }
    }

    @Test
    void aMillionSequenceNumberedMessagesFromCArriveOnceInOrderInOneReusedBuffer() throws Exception {
        // the receive that allocates nothing, with the C producer blocking on a full queue all along
        int count = 1_000_000;
        assertTimeoutPreemptively(LIMIT, () -> {
            try (MessageQueue q = MessageQueue.createExclusively(name);
                    ChildProcess producer = Command.of(peer, "send", name, Integer.toString(count)).start()) {
                ByteBuffer b = ByteBuffer.allocateDirect(q.messageSize()).order(ByteOrder.LITTLE_ENDIAN);
                for (long seq = 0; seq < count; seq++) {
                    assertEquals(0, q.receive(b.clear()));
                    b.flip();
                    assertEquals(seq, b.getLong(0), "no gap, no duplicate");
                    assertEquals(8 + seq % 64, b.remaining());
                    for (int i = 8; i < b.remaining(); i++) {
                        if (b.get(i) != (byte) seq) {
                            throw new AssertionError("message " + seq + " corrupted at byte " + i);
                        }
                    }
                }
                assertTrue(producer.waitFor().success());
                assertEquals(0, q.attributes().currentMessages(), "nothing more");
            }
        });
    }

    @Test
    void aMillionSequenceNumberedMessagesFromJavaToCArriveOnceInOrder() throws Exception {
        int count = 1_000_000;
        assertTimeoutPreemptively(LIMIT, () -> {
            try (MessageQueue q = MessageQueue.createExclusively(name);
                    Pipe out = Pipe.open();
                    ChildProcess consumer = Command.of(peer, "receive", name, Integer.toString(count))
                            .stdout(out.sink()).start()) {
                out.sink().close();
                ByteBuffer msg = ByteBuffer.allocateDirect(8 + 64).order(ByteOrder.LITTLE_ENDIAN);
                for (long seq = 0; seq < count; seq++) {
                    msg.clear();
                    msg.putLong(seq);
                    for (int i = 0; i < seq % 64; i++) {
                        msg.put((byte) seq);
                    }
                    q.send(msg.flip(), 0);
                }
                assertEquals("received " + count, new String(out.source().inputStream().readAllBytes()).trim());
                assertTrue(consumer.waitFor().success());
            }
        });
    }
}
