package io.ipcbridge.mq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.IpcError;
import io.ipcbridge.IpcResourceLimitException;
import io.ipcbridge.MessageTooLargeException;
import io.ipcbridge.internal.posix.NativeThread;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.OwnThreads;
import io.ipcbridge.testing.Peers;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.IllegalBlockingModeException;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** POSIX message queues through the library: the cases of RELIABILITY.md §3.1 that one process can show. */
class MessageQueueTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private final Created created = new Created("mq", MessageQueue::unlink);

    private String name() {
        return created.name();
    }

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void threeSendingAndThreeReceivingThreadsOnOneHandleMoveEachMessageOnceAndWhole() throws Exception {
        // the class's thread safety: the per-thread buffers of heap sends and receives, and the
        // priority a receive reports, are each thread's own
        int perSender = 5_000;
        String n = name();
        assertTimeoutPreemptively(LIMIT, () -> {
            try (MessageQueue q = MessageQueue.createExclusively(n, 10, 64, 0600)) {
                List<CompletableFuture<List<Integer>>> receivers = new ArrayList<>();
                for (int r = 0; r < 3; r++) {
                    boolean intoBuffer = r == 0;
                    receivers.add(CompletableFuture.supplyAsync(() -> {
                        List<Integer> got = new ArrayList<>();
                        ByteBuffer b = ByteBuffer.allocate(64);
                        try {
                            for (;;) {
                                byte[] data;
                                int priority;
                                if (intoBuffer) {
                                    b.clear();
                                    priority = q.receive(b);
                                    data = Arrays.copyOf(b.array(), b.position());
                                } else {
                                    Message m = q.receive();
                                    data = m.data();
                                    priority = m.priority();
                                }
                                int i = ByteBuffer.wrap(data).getInt();
                                if (i < 0) {
                                    return got;
                                }
                                assertEquals(4 + i % 60, data.length, "message " + i + " whole");
                                assertEquals(i % 7, priority, "message " + i + "'s own priority");
                                for (int k = 4; k < data.length; k++) {
                                    assertEquals((byte) i, data[k], "message " + i + " holds its own bytes");
                                }
                                got.add(i);
                            }
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }, OwnThreads.EACH));
                }
                List<CompletableFuture<Void>> senders = new ArrayList<>();
                for (int t = 0; t < 3; t++) {
                    int from = t * perSender;
                    senders.add(CompletableFuture.runAsync(() -> {
                        try {
                            for (int i = from; i < from + perSender; i++) {
                                ByteBuffer m = ByteBuffer.allocate(4 + i % 60).putInt(i);
                                while (m.hasRemaining()) {
                                    m.put((byte) i);
                                }
                                q.send(m.flip(), i % 7);
                            }
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }, OwnThreads.EACH));
                }
                senders.forEach(CompletableFuture::join);
                for (int r = 0; r < 3; r++) {
                    q.send(ByteBuffer.allocate(4).putInt(-1).flip(), 0);
                }
                boolean[] seen = new boolean[3 * perSender];
                for (CompletableFuture<List<Integer>> receiver : receivers) {
                    for (int i : receiver.join()) {
                        assertFalse(seen[i], "message " + i + " received twice");
                        seen[i] = true;
                    }
                }
                for (int i = 0; i < seen.length; i++) {
                    assertTrue(seen[i], "message " + i + " received");
                }
            }
        });
    }

    @Test
    void openingAMissingQueueIsNoSuchFile() {
        // MQ-01
        String n = name();
        NoSuchFileException e = assertThrows(NoSuchFileException.class,
                () -> MessageQueue.open(n, MessageQueue.Access.READ));
        assertEquals("mq_open(" + n + "): ENOENT (No such file or directory)", e.getMessage());
        assertEquals("mq_open", ((IpcError) e).call());
    }

    @Test
    void callsThatCannotWaitTakeNoPendingInterruptAndLeaveTheQueueOpen() throws Exception {
        // X-06, MQ-11..14: trySend, tryReceive, a zero timeout and any call in non-blocking mode never wait,
        // so there is no blocked call for an interrupt to end: as with the JDK's non-blocking channels
        // (and a pipe end here), the call is made, the queue stays open and the interrupt stays set.
        // They threw ClosedByInterruptException and closed the queue, a message taken with it or not
        String n = name();
        try (MessageQueue q = MessageQueue.createExclusively(n, 2, 64, 0600)) {
            Thread.currentThread().interrupt();
            try {
                assertTrue(q.tryReceive().isEmpty(), "empty");
                assertTrue(q.trySend(ByteBuffer.wrap(new byte[] {1}), 1));
                assertTrue(q.send(ByteBuffer.wrap(new byte[] {2}), 2, Duration.ZERO));
                assertFalse(q.trySend(ByteBuffer.wrap(new byte[] {3}), 3), "full");
                assertEquals(OptionalInt.of(2), q.receive(ByteBuffer.allocate(64), Duration.ZERO));
                q.setNonBlocking(true);
                assertEquals(1, q.receive(Duration.ofMinutes(1)).orElseThrow().priority(), "non-blocking: at once");
                assertTrue(q.receive(Duration.ofMinutes(1)).isEmpty());
                assertTrue(Thread.currentThread().isInterrupted(), "the interrupt is kept");
            } finally {
                Thread.interrupted();
            }
            assertTrue(q.isOpen(), "the queue stays open");
            q.setNonBlocking(false);
            Thread.currentThread().interrupt();
            try {
                assertThrows(ClosedByInterruptException.class, () -> q.receive(Duration.ofMinutes(1)),
                        "a call that would wait takes the interrupt, as before");
            } finally {
                Thread.interrupted();
            }
            assertFalse(q.isOpen());
        }
    }

    @Test
    void creatingAnExistingQueueExclusivelyIsFileAlreadyExistsAndLeavesTheFirstAlone() throws Exception {
        // MQ-02
        String n = name();
        try (MessageQueue q = MessageQueue.createExclusively(n)) {
            q.send(bytes("first"), 0);
            FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                    () -> MessageQueue.createExclusively(n));
            assertEquals("EEXIST", ((IpcError) e).errnoName());
            assertEquals("first", q.receive().text());
        }
    }

    @Test
    void namesAreCheckedBeforeAnyCall() throws Exception {
        // MQ-04, SEC-09
        String ok = "/" + "a".repeat(255);
        created.add(ok);
        MessageQueue.createExclusively(ok).close();
        for (String bad : new String[] {"/" + "a".repeat(256), "/", "", "/a/b", "//x", "/.", "/..", "/a\0b",
                "/" + "é".repeat(128)}) {
            assertThrows(IllegalArgumentException.class, () -> MessageQueue.open(bad, MessageQueue.Access.READ), bad);
        }
        String noSlash = name().substring(1);
        try (MessageQueue q = MessageQueue.createExclusively(noSlash)) {
            assertEquals("/" + noSlash, q.name(), "a leading slash is added");
        }
    }

    @Test
    void sizesBeyondTheSystemLimitsNameTheLimit() throws Exception {
        // MQ-05: root lacks CAP_SYS_RESOURCE here, so msg_max and msgsize_max bind root too
        long msgMax = Long.parseLong(java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/sys/fs/mqueue/msg_max")).get(0).trim());
        IpcResourceLimitException e = assertThrows(IpcResourceLimitException.class,
                () -> MessageQueue.createExclusively(name(), msgMax + 1, 64, 0600));
        assertTrue(e.getMessage().contains("/proc/sys/fs/mqueue/msg_max (" + msgMax + ")"), e.getMessage());
        assertEquals("EINVAL", e.errnoName());
        IpcResourceLimitException size = assertThrows(IpcResourceLimitException.class,
                () -> MessageQueue.createExclusively(name(), 1, 1 << 20, 0600));
        assertTrue(size.getMessage().contains("/proc/sys/fs/mqueue/msgsize_max (8192)"), size.getMessage());
        IpcResourceLimitException justPast = assertThrows(IpcResourceLimitException.class,
                () -> MessageQueue.createExclusively(name(), 1, 8193, 0600));
        assertEquals("EINVAL", justPast.errnoName());
        assertTrue(justPast.getMessage().contains("8193-byte messages exceed /proc/sys/fs/mqueue/msgsize_max (8192)"),
                justPast.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MessageQueue.createExclusively(name(), -1, 64, 0600));
        assertThrows(IllegalArgumentException.class,
                () -> MessageQueue.createExclusively(name(), Integer.MIN_VALUE, 64, 0600));
        assertThrows(IllegalArgumentException.class, () -> MessageQueue.createExclusively(name(), 4, -1, 0600));
    }

    @Test
    void aSizeRefusedBeforeTheCallIsNamedWithItsRule() throws Exception {
        // MQ-05: a negative size is refused before mq_open, named with its rule; a message size past
        // int goes to the kernel, whose EINVAL names the limit (it named a Java parameter), and not
        // "0 messages" for a capacity left to the default
        IpcResourceLimitException e = assertThrows(IpcResourceLimitException.class,
                () -> MessageQueue.createExclusively(name(), 0, 3L << 30, 0600));
        assertTrue(e.getMessage().endsWith("EINVAL (Invalid argument): 3221225472-byte messages exceed "
                + "/proc/sys/fs/mqueue/msgsize_max (" + Files.readAllLines(Path.of("/proc/sys/fs/mqueue/msgsize_max")).get(0).trim()
                + ")"), e.getMessage());
        assertEquals("messageSize must be 0 (the system default) or more: -1", assertThrows(
                IllegalArgumentException.class, () -> MessageQueue.createExclusively(name(), 0, -1, 0600)).getMessage());
        IllegalArgumentException count = assertThrows(IllegalArgumentException.class,
                () -> MessageQueue.createExclusively(name(), -1, 0, 0600));
        assertEquals("maxMessages must be 0 (the system default) or more: -1", count.getMessage());
    }

    @Test
    void attributesAreTheOnesAskedForOrTheSystemDefaults() throws Exception {
        // MQ-06
        try (MessageQueue q = MessageQueue.createExclusively(name(), 4, 64, 0600)) {
            assertEquals(new MessageQueue.Attributes(4, 64, 0, false), q.attributes());
            q.send(bytes("x"), 1);
            assertEquals(1, q.attributes().currentMessages());
        }
        try (MessageQueue q = MessageQueue.createExclusively(name())) {
            assertEquals(10, q.attributes().maxMessages());
            assertEquals(8192, q.attributes().messageSize());
        }
    }

    @Test
    void anOversizedMessageIsRefusedBeforeTheCallAndNothingIsQueued() throws Exception {
        // MQ-07
        try (MessageQueue q = MessageQueue.createExclusively(name(), 4, 64, 0600)) {
            MessageTooLargeException e = assertThrows(MessageTooLargeException.class, () -> q.send(new byte[65], 0));
            assertEquals(64, e.limit());
            // the refusal names call, object and errno as the kernel's EMSGSIZE would
            IpcError error = assertInstanceOf(IpcError.class, e);
            assertEquals("EMSGSIZE", error.errnoName());
            assertEquals("mq_send", error.call());
            assertEquals(q.name(), error.object());
            assertEquals("mq_send(" + q.name() + "): EMSGSIZE (Message too long): a message of 65 bytes is longer than "
                    + "the queue's message size, 64 bytes; nothing was sent", e.getMessage());
            assertEquals(0, q.attributes().currentMessages());
            q.send(new byte[64], 0);
            assertEquals(64, q.receive().data().length, "exactly the maximum size goes through");
        }
    }

    @Test
    void prioritiesOutsideTheRangeAreRefusedBeforeTheCall() throws Exception {
        // MQ-09
        try (MessageQueue q = MessageQueue.createExclusively(name())) {
            q.send(bytes("top"), MessageQueue.PRIO_MAX - 1);
            assertThrows(IllegalArgumentException.class, () -> q.send(bytes("x"), MessageQueue.PRIO_MAX));
            assertThrows(IllegalArgumentException.class, () -> q.send(bytes("x"), -1));
            assertEquals(new Message(bytes("top"), MessageQueue.PRIO_MAX - 1), q.receive());
        }
    }

    @Test
    void highestPriorityComesFirstAndFifoWithinAPriority() throws Exception {
        // MQ-10
        try (MessageQueue q = MessageQueue.createExclusively(name())) {
            int[] prios = {1, 5, 3, 5, 0};
            for (int i = 0; i < prios.length; i++) {
                q.send(bytes("m" + i), prios[i]);
            }
            List<String> order = new ArrayList<>();
            for (int i = 0; i < prios.length; i++) {
                Message m = q.receive();
                order.add(m.priority() + ":" + m.text());
            }
            assertEquals(List.of("5:m1", "5:m3", "3:m2", "1:m0", "0:m4"), order);
        }
    }

    @Test
    void aReceiveIntoABufferReturnsThePriorityAndAdvancesThePosition() throws Exception {
        // MQ-09, MQ-10, MQ-12: into a direct buffer (straight from the kernel) and a heap one (copied)
        try (MessageQueue q = MessageQueue.createExclusively(name(), 4, 64, 0600)) {
            q.send(bytes("low"), 1);
            q.send(bytes("top"), MessageQueue.PRIO_MAX - 1);
            q.send(new byte[0], 7);
            ByteBuffer direct = ByteBuffer.allocateDirect(100);
            direct.position(10);
            assertEquals(MessageQueue.PRIO_MAX - 1, q.receive(direct));
            assertEquals(13, direct.position(), "the message is put at the position, which advances");
            assertEquals("top", StandardCharsets.UTF_8.decode(direct.flip().position(10)).toString());
            ByteBuffer heap = ByteBuffer.allocate(100);
            assertEquals(OptionalInt.of(7), q.receive(heap, Duration.ZERO));
            assertEquals(0, heap.position(), "an empty message advances nothing");
            assertEquals(OptionalInt.of(1), q.receive(heap, Duration.ofSeconds(5)));
            assertEquals("low", new String(heap.array(), 0, heap.position(), StandardCharsets.UTF_8));
            assertEquals(OptionalInt.empty(), q.receive(heap, Duration.ZERO));
            assertEquals(OptionalInt.empty(), q.receive(direct.clear(), Duration.ofMillis(20)));
            assertEquals(3, heap.position(), "a receive that found nothing leaves the buffer alone");
            assertEquals(0, direct.position(), "a receive that found nothing leaves the buffer alone");
            assertThrows(IllegalArgumentException.class, () -> q.receive(heap, Duration.ofMillis(-1)));
        }
    }

    @Test
    void aReceiveBufferWithLessRoomThanTheMessageSizeIsRefusedBeforeTheCall() throws Exception {
        // MQ-08: the kernel would fail it with EMSGSIZE even for a 1-byte message; nothing is taken
        try (MessageQueue q = MessageQueue.createExclusively(name(), 4, 64, 0600)) {
            q.send(new byte[] {42}, 3);
            ByteBuffer small = ByteBuffer.allocateDirect(64).position(1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> q.receive(small));
            assertTrue(e.getMessage().contains("64 bytes; 63 remain"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> q.receive(ByteBuffer.allocate(63), Duration.ZERO));
            assertThrows(IllegalArgumentException.class,
                    () -> q.receive(ByteBuffer.allocateDirect(64).asReadOnlyBuffer()));
            assertEquals(1, q.attributes().currentMessages(), "the message is still queued");
            assertEquals(3, q.receive(small.clear()));
            assertEquals(42, small.get(0));
        }
    }

    @Test
    void aReceiveIntoABufferFollowsTheAccessAndBlockingModes() throws Exception {
        // MQ-18, MQ-19
        String n = name();
        MessageQueue.createExclusively(n, 1, 16, 0600).close();
        ByteBuffer dst = ByteBuffer.allocateDirect(16);
        try (MessageQueue reader = MessageQueue.open(n, MessageQueue.Access.READ);
                MessageQueue writer = MessageQueue.open(n, MessageQueue.Access.WRITE)) {
            assertThrows(NonReadableChannelException.class, () -> writer.receive(dst));
            reader.setNonBlocking(true);
            assertThrows(IllegalBlockingModeException.class, () -> reader.receive(dst));
            assertEquals(OptionalInt.empty(), reader.receive(dst, Duration.ZERO));
            writer.send(bytes("x"), 2);
            assertEquals(OptionalInt.of(2), reader.receive(dst, Duration.ZERO));
            reader.close();
            assertThrows(ClosedChannelException.class, () -> reader.receive(dst.clear(), Duration.ZERO));
        }
    }

    @Test
    void aFullQueueRefusesWithoutQueueingAndAnEmptyOneReturnsEmpty() throws Exception {
        // MQ-11, MQ-12, MQ-13, MQ-14
        try (MessageQueue q = MessageQueue.createExclusively(name(), 2, 16, 0600)) {
            assertEquals(Optional.empty(), q.tryReceive());
            assertEquals(Optional.empty(), q.receive(Duration.ZERO));
            assertTrue(q.trySend(ByteBuffer.wrap(bytes("a")), 0));
            assertTrue(q.send(ByteBuffer.wrap(bytes("b")), 0, Duration.ZERO), "room: a zero timeout still sends");
            assertFalse(q.trySend(ByteBuffer.wrap(bytes("c")), 0));
            long start = System.nanoTime();
            assertFalse(q.send(ByteBuffer.wrap(bytes("c")), 0, Duration.ofMillis(100)));
            assertTrue(System.nanoTime() - start >= 100_000_000L, "waited the timeout");
            assertEquals("a", q.receive(Duration.ZERO).orElseThrow().text());
            assertEquals("b", q.tryReceive().orElseThrow().text());
            assertEquals(Optional.empty(), q.tryReceive(), "the refused message was never queued");
            assertThrows(IllegalArgumentException.class, () -> q.receive(Duration.ofMillis(-1)));
        }
    }

    @Test
    void nonBlockingModeReportsFullAndEmptyAsValues() throws Exception {
        try (MessageQueue q = MessageQueue.createExclusively(name(), 1, 16, 0600)) {
            q.setNonBlocking(true);
            assertTrue(q.attributes().nonBlocking());
            assertEquals(Optional.empty(), q.tryReceive());
            assertTrue(q.trySend(ByteBuffer.wrap(bytes("a")), 0));
            assertFalse(q.trySend(ByteBuffer.wrap(bytes("b")), 0));
            assertThrows(IllegalBlockingModeException.class, q::receive);
            assertThrows(IllegalBlockingModeException.class, () -> q.send(bytes("c"), 0));
            q.setNonBlocking(false);
            assertEquals("a", q.receive().text());
        }
    }

    @Test
    void binaryPayloadsAndEmptyMessagesArriveIntact() throws Exception {
        try (MessageQueue q = MessageQueue.createExclusively(name())) {
            byte[] all = new byte[256];
            for (int i = 0; i < 256; i++) {
                all[i] = (byte) i;
            }
            q.send(all, 2);
            q.send(new byte[0], 1);
            ByteBuffer direct = ByteBuffer.allocateDirect(8192);
            direct.put(new byte[8192]).flip();
            q.send(direct, 0);
            assertEquals(0, direct.remaining(), "a sent buffer is consumed");
            assertArrayEquals(all, q.receive().data());
            assertEquals(new Message(new byte[0], 1), q.receive());
            assertEquals(8192, q.receive().data().length);
        }
    }

    @Test
    void aBlockedSenderIsReleasedWhenAMessageIsTaken() throws Exception {
        // MQ-15
        assertTimeoutPreemptively(LIMIT, () -> {
            try (MessageQueue q = MessageQueue.createExclusively(name(), 1, 16, 0600)) {
                q.send(bytes("first"), 0);
                Blocked.Call<Boolean> sender = Blocked.start(() -> {
                    q.send(bytes("second"), 0);
                    return true;
                }, 242 /* mq_timedsend */);
                assertEquals("first", q.receive().text());
                assertTrue(sender.result().get(5, TimeUnit.SECONDS));
                assertEquals("second", q.receive().text());
            }
        });
    }

    @Test
    void signalsDuringABlockedReceiveLoseNothing() throws Exception {
        // MQ-17, X-05
        assertTimeoutPreemptively(LIMIT, () -> {
            try (MessageQueue q = MessageQueue.createExclusively(name())) {
                AtomicLong thread = new AtomicLong();
                Blocked.Call<Message> receiver = Blocked.start(() -> {
                    thread.set(NativeThread.current());
                    return q.receive();
                }, 243 /* mq_timedreceive */);
                for (int i = 0; i < 5_000; i++) {
                    NativeThread.signal(thread.get());
                }
                q.send(bytes("kept"), 3);
                assertEquals(new Message(bytes("kept"), 3), receiver.result().get(5, TimeUnit.SECONDS));
                assertEquals(0, q.attributes().currentMessages());
            }
        });
    }

    @Test
    void closeAndInterruptEndABlockedReceive() throws Exception {
        //
        assertTimeoutPreemptively(LIMIT, () -> {
            String n = name();
            MessageQueue q = MessageQueue.createExclusively(n);
            Blocked.Call<Message> r = Blocked.start(q::receive, 243);
            q.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> r.result().get(5, TimeUnit.SECONDS));
            assertEquals(AsynchronousCloseException.class, e.getCause().getClass());

            MessageQueue q2 = MessageQueue.open(n, MessageQueue.Access.READ);
            Blocked.Call<Message> r2 = Blocked.start(q2::receive, 243);
            r2.thread().interrupt();
            e = assertThrows(ExecutionException.class, () -> r2.result().get(5, TimeUnit.SECONDS));
            assertEquals(ClosedByInterruptException.class, e.getCause().getClass());
            assertFalse(q2.isOpen());
        });
    }

    @Test
    void closeAndInterruptEndABlockedReceiveIntoABuffer() throws Exception {
        //
        assertTimeoutPreemptively(LIMIT, () -> {
            String n = name();
            MessageQueue q = MessageQueue.createExclusively(n);
            ByteBuffer dst = ByteBuffer.allocateDirect(q.messageSize());
            Blocked.Call<Integer> r = Blocked.start(() -> q.receive(dst), 243);
            q.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> r.result().get(5, TimeUnit.SECONDS));
            assertEquals(AsynchronousCloseException.class, e.getCause().getClass());

            MessageQueue q2 = MessageQueue.open(n, MessageQueue.Access.READ);
            Blocked.Call<OptionalInt> r2 = Blocked.start(() -> q2.receive(dst, Duration.ofHours(1)), Blocked.POLL); // a timed wait polls
            r2.thread().interrupt();
            e = assertThrows(ExecutionException.class, () -> r2.result().get(5, TimeUnit.SECONDS));
            assertEquals(ClosedByInterruptException.class, e.getCause().getClass());
            assertFalse(q2.isOpen());
            assertEquals(0, dst.position(), "nothing was received");
        });
    }

    @Test
    void theAccessModeIsEnforcedBeforeTheCall() throws Exception {
        // MQ-18
        String n = name();
        MessageQueue.createExclusively(n).close();
        try (MessageQueue reader = MessageQueue.open(n, MessageQueue.Access.READ);
                MessageQueue writer = MessageQueue.open(n, MessageQueue.Access.WRITE)) {
            assertThrows(NonWritableChannelException.class, () -> reader.send(bytes("x"), 0));
            assertThrows(NonReadableChannelException.class, writer::receive);
            writer.send(bytes("ok"), 0);
            assertEquals("ok", reader.receive().text());
        }
    }

    @Test
    void useAfterCloseIsClosedChannelAndDoubleCloseIsANoOp() throws Exception {
        // MQ-19
        MessageQueue q = MessageQueue.createExclusively(name());
        q.close();
        q.close();
        assertThrows(ClosedChannelException.class, () -> q.send(bytes("x"), 0));
        assertThrows(ClosedChannelException.class, q::receive);
        assertThrows(ClosedChannelException.class, q::attributes);
    }

    @Test
    void aClosedQueueIsClosedWhateverItsAccessModeBlockingModeOrMessageSize() throws Exception {
        // MQ-19, X-04: once closed, a send or receive is ClosedChannelException, as FileChannel checks
        // that it is open before its access mode; it said NonWritableChannelException,
        // NonReadableChannelException, IllegalBlockingModeException, or an EMSGSIZE of the closed queue
        String n = name();
        MessageQueue.createExclusively(n, 2, 16, 0600).close();
        MessageQueue reader = MessageQueue.open(n, MessageQueue.Access.READ);
        MessageQueue writer = MessageQueue.open(n, MessageQueue.Access.WRITE);
        MessageQueue both = MessageQueue.open(n, MessageQueue.Access.READ_WRITE);
        both.setNonBlocking(true);
        reader.close();
        writer.close();
        both.close();
        assertThrows(ClosedChannelException.class, () -> reader.send(bytes("x"), 0));
        assertThrows(ClosedChannelException.class, () -> reader.trySend(ByteBuffer.wrap(bytes("x")), 0));
        assertThrows(ClosedChannelException.class, writer::receive);
        assertThrows(ClosedChannelException.class, writer::tryReceive);
        assertThrows(ClosedChannelException.class, () -> writer.receive(ByteBuffer.allocateDirect(16)));
        assertThrows(ClosedChannelException.class, () -> both.send(bytes("x"), 0));
        assertThrows(ClosedChannelException.class, both::receive);
        assertThrows(ClosedChannelException.class, () -> both.receive(ByteBuffer.allocate(16)));
        assertThrows(ClosedChannelException.class, () -> both.send(new byte[17], 0));
        assertThrows(ClosedChannelException.class, () -> both.send(ByteBuffer.allocate(17), 0, Duration.ZERO));
    }

    @Test
    void anUnlinkedQueueKeepsWorkingThroughOpenDescriptors() throws Exception {
        // MQ-20, MQ-21
        String n = name();
        try (MessageQueue q = MessageQueue.createExclusively(n)) {
            MessageQueue.unlink(n);
            q.send(bytes("still"), 0);
            assertEquals("still", q.receive().text());
            q.send(bytes("kept"), 0);
            NoSuchFileException e = assertThrows(NoSuchFileException.class,
                    () -> MessageQueue.open(n, MessageQueue.Access.READ));
            assertEquals("ENOENT", ((IpcError) e).errnoName());
            assertThrows(NoSuchFileException.class, () -> MessageQueue.unlink(n));
            try (MessageQueue fresh = MessageQueue.createExclusively(n)) {
                assertEquals(Optional.empty(), fresh.tryReceive(), "a new queue, without the old one's message");
                fresh.send(bytes("new"), 0);
                assertEquals("kept", q.tryReceive().orElseThrow().text(), "the old queue has only its own");
                assertEquals(Optional.empty(), q.tryReceive());
                assertEquals("new", fresh.tryReceive().orElseThrow().text());
            }
        }
    }

    @Test
    void theNotificationSlotIsOneShotAndExclusive() throws Exception {
        // MQ-26: a second registration is EBUSY, in this process too; arrival consumes it
        String n = name();
        try (MessageQueue q = MessageQueue.createExclusively(n);
                MessageQueue other = MessageQueue.open(n, MessageQueue.Access.READ)) {
            MessageQueue.Notification notification = q.requestNotification();
            NotificationBusyException busy = assertThrows(NotificationBusyException.class, other::requestNotification);
            assertEquals("EBUSY", busy.errnoName());
            assertFalse(notification.fired());
            q.send(bytes("wake"), 0);
            assertTrue(notification.fired(), "a message into the empty queue consumed the registration");
            other.requestNotification().close();
            notification.close();
        }
    }

    @Test
    void closingARegistrationThatFiredLeavesTheNextOneStanding() throws Exception {
        // MQ-26: the registration is the process's; once the kernel consumed the first, a second one
        // may be taken, and closing the spent first must not withdraw it (mq_notify(NULL) would)
        String n = name();
        try (MessageQueue q = MessageQueue.createExclusively(n);
                MessageQueue other = MessageQueue.open(n, MessageQueue.Access.READ)) {
            MessageQueue.Notification first = q.requestNotification();
            q.send(bytes("wake"), 0);
            q.receive();
            MessageQueue.Notification second = other.requestNotification();
            first.close();
            assertThrows(NotificationBusyException.class, q::requestNotification,
                    "closing the spent registration left the standing one in place");
            assertFalse(second.fired(), "no message came since the second registration");
            assertTrue(first.fired(), "the first one had fired");
            second.close();
            q.requestNotification().close();
        }
    }

    @Test
    void aListenerEndingLeavesTheNotificationRegistrationStanding() throws Exception {
        // MQ-26, MQ-28: Linux drops the process's registration when any descriptor of the queue closes;
        // the listener's end must not be such a close, or a peer could take the slot meanwhile
        String n = name();
        try (MessageQueue q = MessageQueue.createExclusively(n);
                MessageQueue other = MessageQueue.open(n, MessageQueue.Access.READ)) {
            try (MessageQueue.Notification registration = q.requestNotification()) {
                q.onMessage(queue -> { }).close();
                assertThrows(NotificationBusyException.class, other::requestNotification,
                        "the registration still stands after the listener ended");
                assertFalse(registration.fired(), "no message came");
            }
        }
    }

    @Test
    void theListenerIsCalledForArrivingMessages() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (MessageQueue q = MessageQueue.createExclusively(name())) {
                LinkedBlockingQueue<String> seen = new LinkedBlockingQueue<>();
                try (AutoCloseable listener = q.onMessage(queue -> {
                    try {
                        queue.tryReceive().ifPresent(m -> seen.add(m.text()));
                    } catch (Exception e) {
                        seen.add("error " + e);
                    }
                })) {
                    q.send(bytes("one"), 0);
                    assertEquals("one", seen.take());
                    q.send(bytes("two"), 0);
                    assertEquals("two", seen.take());
                }
                assertTrue(q.isOpen(), "closing the listener leaves the queue open");
            }
        });
    }

    /** The listener thread of queue {@code name}, started by {@link MessageQueue#onMessage}. */
    private static Thread listenerThread(String name) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("ipcbridge-mq-listener " + name)).findFirst().orElseThrow();
    }

    @Test
    void closingTheQueueEndsItsListenerAndClosesTheListenersDescriptor() throws Exception {
        // FAULT-05: a listener left running holds the queue descriptor in its poll (keeping an unlinked
        // queue alive), its pipe and a thread, for every queue closed without closing its listener
        assertTimeoutPreemptively(LIMIT, () -> {
            var before = Fds.snapshot();
            for (int i = 0; i < 20; i++) {
                MessageQueue q = MessageQueue.createExclusively(name(), 1, 16, 0600);
                q.onMessage(queue -> { });
                Thread listener = listenerThread(q.name());
                MessageQueue.unlink(q.name());
                q.close();
                listener.join(LIMIT.toMillis() / 2);
                assertFalse(listener.isAlive(), "closing the queue ends its listener thread");
            }
            Fds.assertNoneAdded(before);
        });
    }

    @Test
    void aCallbackThatThrowsEndsItsListenerAndClosesItsDescriptor() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (MessageQueue q = MessageQueue.createExclusively(name())) {
                var before = Fds.snapshot();
                CompletableFuture<Throwable> uncaught = new CompletableFuture<>();
                Thread.UncaughtExceptionHandler saved = Thread.getDefaultUncaughtExceptionHandler();
                Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.complete(e));
                try {
                    q.onMessage(queue -> {
                        throw new IllegalStateException("callback failed");
                    });
                    Thread listener = listenerThread(q.name());
                    q.send(bytes("unread"), 0);
                    listener.join(LIMIT.toMillis() / 2);
                    assertFalse(listener.isAlive(), "a callback that throws ends the listener");
                    assertEquals("callback failed", uncaught.get().getMessage(),
                            "the exception goes to the uncaught-exception handler, not into silence");
                } finally {
                    Thread.setDefaultUncaughtExceptionHandler(saved);
                }
                Fds.assertNoneAdded(before);
                assertEquals(1, q.attributes().currentMessages(), "the message stays in the queue");
                assertTrue(q.isOpen(), "the queue stays open");
            }
        });
    }

    @Test
    void aNullNameIsRefusedWithAMessageNamingIt() {
        NullPointerException e = assertThrows(NullPointerException.class,
                () -> MessageQueue.open(null, MessageQueue.Access.READ));
        assertEquals("name", e.getMessage());
        assertEquals("name", assertThrows(NullPointerException.class, () -> MessageQueue.unlink(null)).getMessage());
        assertEquals("name", assertThrows(NullPointerException.class,
                () -> MessageQueue.createExclusively(null)).getMessage());
    }

    @Test
    void queuesAreCreatedWithMode0600OrExactlyTheModeAskedFor() throws Exception {
        // MQ-30, SEC-01
        try (MessageQueue q = MessageQueue.createExclusively(name())) {
            assertEquals(0600, q.mode());
        }
        try (MessageQueue q = MessageQueue.createExclusively(name(), 0, 0, 0666)) {
            assertEquals(0666, q.mode());
        }
    }

    @Test
    void theQueueDescriptorIsCloseOnExec() throws Exception {
        // MQ-29, X-10: FD_CLOEXEC from mq_open on (the spawn closes what it does not place anyway,
        // so the child's listing alone cannot show it)
        try (MessageQueue q = MessageQueue.createExclusively(name()); Pipe out = Pipe.open();
                ChildProcess child = Command.of(Peers.path("fd_list")).stdout(out.sink()).start()) {
            assertTrue(Fds.closeOnExec(q.descriptor().fd()), "the queue descriptor is close-on-exec");
            out.sink().close();
            String listing = new String(out.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(child.waitFor().success());
            assertEquals(List.of("0", "1", "2"), listing.lines().filter(l -> l.matches("\\d+")).toList());
            assertTrue(q.isOpen());
        }
    }

    @Test
    void tenThousandCreateOpenCloseUnlinkCyclesLeaveNoDescriptorBehind() throws Exception {
        var before = Fds.snapshot();
        String n = name();
        for (int i = 0; i < 10_000; i++) {
            MessageQueue.createExclusively(n, 1, 16, 0600).close();
            MessageQueue.open(n, MessageQueue.Access.WRITE).close();
            MessageQueue.unlink(n);
        }
        Fds.assertNoneAdded(before);
    }

    @Test
    void theQueueCountLimitIsNamedWithItsValue() throws Exception {
        // MQ-23: queues_max binds root too here (no CAP_SYS_RESOURCE); create until the kernel says ENOSPC
        List<String> mine = new ArrayList<>();
        try {
            IpcResourceLimitException e = null;
            for (int i = 0; i < 10_000 && e == null; i++) {
                try {
                    String n = created.name();
                    MessageQueue.createExclusively(n, 1, 1, 0600).close();
                    mine.add(n);
                } catch (IpcResourceLimitException limit) {
                    e = limit;
                }
            }
            assertTrue(e != null, "the system limit was reached");
            assertEquals("ENOSPC", e.errnoName());
            assertTrue(e.getMessage().contains("/proc/sys/fs/mqueue/queues_max (" + java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/sys/fs/mqueue/queues_max")).get(0).trim() + ")"), e.getMessage());
        } finally {
            for (String n : mine) {
                MessageQueue.unlink(n);
            }
        }
    }

    @Test
    void thePerUserByteLimitIsNamedWhenItRefusesAQueue() throws Exception {
        // MQ-23: RLIMIT_MSGQUEUE lowered on this very JVM by prlimit(1), restored afterwards
        String pid = Long.toString(ProcessHandle.current().pid());
        String soft;
        try (var lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/self/limits"))) {
            soft = lines.filter(l -> l.startsWith("Max msgqueue size")).findFirst().orElseThrow().split("\\s+")[3];
        }
        assertEquals(0, new ProcessBuilder("prlimit", "--pid", pid, "--msgqueue=8192:").inheritIO().start().waitFor());
        try {
            IpcResourceLimitException e = assertThrows(IpcResourceLimitException.class,
                    () -> MessageQueue.createExclusively(name(), 10, 8192, 0600));
            assertEquals("EMFILE", e.errnoName());
            assertTrue(e.getMessage().contains("RLIMIT_MSGQUEUE (soft/hard 8192 "), e.getMessage());
        } finally {
            assertEquals(0, new ProcessBuilder("prlimit", "--pid", pid, "--msgqueue=" + soft + ":").inheritIO().start()
                    .waitFor());
        }
    }
}
