package io.ipcbridge.mq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.IpcError;
import io.ipcbridge.IpcResourceLimitException;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.ExclusiveRace;
import io.ipcbridge.testing.Limits;
import io.ipcbridge.testing.Names;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

/** Message queues under races, misuse and the notification rules: RELIABILITY.md §3.1 and NL-11. */
class MessageQueueReliabilityTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    /** mq_timedreceive on x86-64, for {@link Blocked}. */
    private final Created created = new Created("mqrel", MessageQueue::unlink);

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    static boolean mqueueMounted() {
        return Files.isDirectory(Path.of("/dev/mqueue")) && Path.of("/dev/mqueue").toFile().list() != null;
    }

    @Test
    void aQueueWhoseMessageSizePassesTheCapIsRefusedOnOpen() throws Exception {
        // SEC-08, MQ-08: the creator chooses mq_msgsize (up to 16 MiB) and every receive needs a
        // buffer that large, so a foreign queue past the configured cap is refused, its descriptor closed
        String n = created.name();
        try (MessageQueue mine = MessageQueue.createExclusively(n, 2, 8192, 0600)) {
            var before = io.ipcbridge.testing.Fds.snapshot();
            io.ipcbridge.IpcSecurityException e = assertThrows(io.ipcbridge.IpcSecurityException.class,
                    () -> MessageQueue.open(n, MessageQueue.Access.READ, 4096));
            assertTrue(e.getMessage().contains("8192 bytes"), e.getMessage());
            io.ipcbridge.testing.Fds.assertNoneAdded(before);
            try (MessageQueue q = MessageQueue.open(n, MessageQueue.Access.READ, 8192)) {
                assertEquals(8192, q.messageSize());
            }
            try (MessageQueue q = MessageQueue.open(n, MessageQueue.Access.WRITE, 4096)) {
                assertEquals(8192, q.messageSize(), "a send needs no receive buffer: no cap for writing only");
            }
            assertEquals(1 << 20, MessageQueue.DEFAULT_MAX_MESSAGE_SIZE, "SEC-08's default");
            assertThrows(IllegalArgumentException.class, () -> MessageQueue.open(n, MessageQueue.Access.READ, 0));
        }
    }

    @Test
    void exactlyOneOfThreeProcessesCreatesEachNameExclusively() throws Exception {
        // MQ-03: Java and 2 C racers, 1000 names, each created exactly once (the others get EEXIST)
        String prefix = Names.unique("mqrace");
        assertTimeoutPreemptively(LIMIT, () -> ExclusiveRace.run("mq", prefix, 2, 1000, name -> {
            try (MessageQueue q = MessageQueue.createExclusively(name, 1, 8, 0600)) {
                return q.isOpen();
            } catch (FileAlreadyExistsException lost) {
                return false;
            }
        }, MessageQueue::unlink));
    }

    @Test
    void aReceiveBufferShorterThanTheMessageSizeLeavesTheMessageQueued() throws Exception {
        // MQ-08: internally, a buffer of msgsize - 1 bytes gets EMSGSIZE even for a 1-byte message, and
        // the message stays; the public receive always sizes the buffer from mq_msgsize
        try (MessageQueue q = MessageQueue.createExclusively(created.name(), 4, 64, 0600)) {
            q.send(new byte[] {42}, 3);
            ByteBuffer small = ByteBuffer.allocateDirect(q.messageSize() - 1);
            IOException e = assertThrows(IOException.class,
                    () -> Syscalls.mqReceive(q.descriptor().fd(), small, true, q.name()));
            assertEquals("EMSGSIZE", ((IpcError) e).errnoName());
            assertEquals(1, q.attributes().currentMessages(), "the message is still queued");
            Message m = q.receive();
            assertArrayEquals(new byte[] {42}, m.data());
            assertEquals(3, m.priority());
        }
    }

    @Test
    void onlyTheNonBlockingFlagCanBeChangedAndTheSizesStay() throws Exception {
        // MQ-24: this API's only setter is setNonBlocking (mq_setattr of mq_flags); maxmsg and msgsize
        // have no setter at all, so the catalogue's EINVAL for other flags cannot be provoked through it
        try (MessageQueue q = MessageQueue.createExclusively(created.name(), 3, 32, 0600)) {
            q.send(new byte[] {1}, 0);
            q.setNonBlocking(true);
            assertEquals(new MessageQueue.Attributes(3, 32, 1, true), q.attributes());
            q.setNonBlocking(false);
            assertEquals(new MessageQueue.Attributes(3, 32, 1, false), q.attributes());
        }
    }

    @Test
    void aDescriptorThatIsNotAQueueIsRefusedByTheKernelAndCannotBeNamedInTheApi() throws Exception {
        // MQ-25: MessageQueue has no constructor from a descriptor; internally, open("/") used as a
        // queue gets EBADF, which the checked wrappers report as a binding bug or as a close under way
        int fd = Syscalls.open("/", Syscalls.O_RDONLY, 0, "/");
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Syscalls.mqGetattr(fd, "/"));
            assertTrue(e.getMessage().contains("EBADF"), e.getMessage());
            ByteBuffer one = ByteBuffer.allocateDirect(1);
            assertEquals(Syscalls.INTERRUPTED, Syscalls.mqSend(fd, one, 0, true, "/"), "nothing was sent");
            assertEquals(1, one.remaining());
        } finally {
            Syscalls.close(fd);
        }
    }

    @Test
    void aBlockedReceiverGetsTheMessageAndTheNotificationDoesNotFire() throws Exception {
        // MQ-27
        String n = created.name();
        try (MessageQueue q = MessageQueue.createExclusively(n, 4, 64, 0600);
                MessageQueue sender = MessageQueue.open(n, MessageQueue.Access.WRITE)) {
            MessageQueue.Notification registration = q.requestNotification();
            Blocked.Call<Message> receiver = Blocked.start(q::receive, Blocked.MQ_TIMEDRECEIVE);
            sender.send(new byte[] {7}, 1);
            Message m = assertTimeoutPreemptively(LIMIT, () -> receiver.result().get());
            assertArrayEquals(new byte[] {7}, m.data());
            assertFalse(registration.fired(), "the receiver took the message; the registration still stands");
            registration.close();
        }
    }

    @Test
    void closingARegistrationAsItsQueueClosesNeverThrows() throws Exception {
        // MQ-26, X-04: the queue's close drops the registration, so closing it then has nothing to do;
        // no round may fail because the queue was closed between its look and its mq_notify
        String n = created.name();
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 5_000; round++) {
                MessageQueue q = MessageQueue.createExclusively(n, 1, 8, 0600);
                MessageQueue.unlink(n);
                MessageQueue.Notification registration = q.requestNotification();
                CyclicBarrier start = new CyclicBarrier(2);
                Future<?> queueClose = threads.submit(() -> {
                    start.await();
                    q.close();
                    return null;
                });
                Future<?> registrationClose = threads.submit(() -> {
                    start.await();
                    registration.close();
                    return null;
                });
                assertTimeoutPreemptively(LIMIT, () -> queueClose.get());
                assertTimeoutPreemptively(LIMIT, () -> registrationClose.get(), "round " + round);
            }
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    @EnabledIf("mqueueMounted")
    void notificationIsRegisteredWithSigevNoneAndTheListenerRegistersNothing() throws Exception {
        // MQ-28, SEC-12: /dev/mqueue/NAME shows the registration's kind: NOTIFY:1 is SIGEV_NONE (no
        // signal, no thread); glibc's SIGEV_THREAD would show NOTIFY:2 and start a native thread
        String n = created.name();
        Path status = Path.of("/dev/mqueue", n.substring(1));
        long pid = ProcessHandle.current().pid();
        try (MessageQueue q = MessageQueue.createExclusively(n, 4, 64, 0600)) {
            try (MessageQueue.Notification registration = q.requestNotification()) {
                String line = Files.readString(status);
                assertTrue(line.contains("NOTIFY:1 ") && line.contains("NOTIFY_PID:" + pid), line);
                q.send(new byte[] {1}, 0);
                assertTrue(registration.fired());
            }
            q.receive();
            AtomicLong calls = new AtomicLong();
            java.util.concurrent.CompletableFuture<Thread> caller = new java.util.concurrent.CompletableFuture<>();
            try (AutoCloseable listener = q.onMessage(queue -> {
                try {
                    queue.tryReceive();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                calls.incrementAndGet();
                caller.complete(Thread.currentThread());
            })) {
                assertTrue(Files.readString(status).contains("NOTIFY_PID:0"), "the listener does not use mq_notify");
                q.send(new byte[] {2}, 0);
                Thread t = assertTimeoutPreemptively(LIMIT, () -> caller.get());
                assertTrue(t.getName().startsWith("ipcbridge-mq-listener"), "called on the library's Java thread");
            }
            assertTrue(calls.get() >= 1);
        }
    }

    @Test
    void timedReceivesRacingSendsAtTheDeadlineNeverLoseAMessage() throws Exception {
        // NL-11: 100,000 timed receives with deadlines of 0-20 us race a sender; every message is
        // either returned once, in order, or still queued
        int messages = 100_000;
        String n = created.name();
        assertTimeoutPreemptively(LIMIT, () -> {
            try (MessageQueue q = MessageQueue.createExclusively(n, 10, 8, 0600);
                    MessageQueue out = MessageQueue.open(n, MessageQueue.Access.WRITE)) {
                Thread sender = new Thread(() -> {
                    ByteBuffer b = ByteBuffer.allocateDirect(8);
                    try {
                        for (long seq = 0; seq < messages; seq++) {
                            b.clear().putLong(0, seq);
                            out.send(b, 0);
                        }
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, "nl11-sender");
                sender.start();
                long expected = 0;
                long timedReceives = 0;
                long timeouts = 0;
                ThreadLocalRandom random = ThreadLocalRandom.current();
                while (timedReceives < messages || sender.isAlive()) {
                    Optional<Message> m = q.receive(Duration.ofNanos(random.nextLong(20_000)));
                    timedReceives++;
                    if (m.isEmpty()) {
                        timeouts++;
                        continue;
                    }
                    assertEquals(expected, ByteBuffer.wrap(m.get().data()).getLong(), "next in order, none lost");
                    expected++;
                }
                sender.join();
                for (Optional<Message> m = q.tryReceive(); m.isPresent(); m = q.tryReceive()) {
                    assertEquals(expected, ByteBuffer.wrap(m.get().data()).getLong(), "still queued, in order");
                    expected++;
                }
                assertEquals(messages, expected, "every message returned exactly once (" + timeouts + " of "
                        + timedReceives + " timed receives timed out)");
            }
        });
    }

    @Test
    void theQueueByteLimitIsNamedAndRaisingItRecoversTheSameProcess() throws Exception {
        // LOAD-07 (RLIMIT_MSGQUEUE = 8192): a 10 x 1 KiB queue does not fit; the failure names the
        // limit; with the limit restored the same process creates it
        String n = created.name();
        try (Limits lowered = Limits.lower(Limits.MSGQUEUE, 8192)) {
            IpcResourceLimitException e = assertThrows(IpcResourceLimitException.class,
                    () -> MessageQueue.createExclusively(n, 10, 1024, 0600));
            assertEquals("EMFILE", e.errnoName());
            assertTrue(e.getMessage().contains("RLIMIT_MSGQUEUE (soft/hard 8192"), e.getMessage());
        }
        try (MessageQueue q = MessageQueue.createExclusively(n, 10, 1024, 0600)) {
            assertEquals(10, q.attributes().maxMessages());
        }
    }

    @Test
    void aFullQueueTableIsNamedAndFreeingOneRecovers() throws Exception {
        // LOAD-07 (queues_max reached, unprivileged: root here lacks CAP_SYS_RESOURCE): run in a fresh
        // IPC namespace, whose queue table is its own, so other processes on the host are not starved
        String jvm = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder("unshare", "--ipc", jvm, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "io.ipcbridge.testing.FillQueues").redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        org.junit.jupiter.api.Assumptions.assumeFalse(out.startsWith("unshare:"), "no IPC namespace here: " + out);
        assertEquals(0, rc, out);
        long queuesMax = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/fs/mqueue/queues_max")).get(0).trim());
        assertEquals(queuesMax + " IpcResourceLimitException: mq_open(/fill-" + queuesMax
                + "): ENOSPC (No space left on device): the system-wide number of queues, "
                + "/proc/sys/fs/mqueue/queues_max (" + queuesMax + ")\nrecovered\n", out);
    }
}
