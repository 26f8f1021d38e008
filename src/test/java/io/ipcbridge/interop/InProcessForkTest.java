package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Function;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import io.ipcbridge.mq.Message;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Names;
import io.ipcbridge.testing.Peers;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.FutureTask;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A C library loaded into the JVM (native-tests/lib/fork_child.c) forks without exec: its child
 * gets ipcbridge's descriptors and shared mappings, as the package documentation of io.ipcbridge says.
 */
class InProcessForkTest {
    private static final Duration LIMIT = Duration.ofSeconds(90);
    /** The segment: a sem_t at 0, the child's report (failing step, errno) at 32, its bytes from 64. */
    private static final int SEM = 0;
    private static final int REPORT = 32;
    private static final int BYTES = 64;
    private static final int LENGTH = 4000;
    /** The priority fork_child.c sends at. */
    private static final int PRIORITY = 7;
    private static final String[] STEPS = {"", "complement the bytes", "mq_notify, expecting EBUSY",
        "mq_setattr O_NONBLOCK", "mq_timedsend", "sem_post", "write to the held pipe end", "wait for go"};

    @Test
    @DisplayName("X-11: a child forked by native code in the JVM writes through the shm mapping, posts the sem_t in it, "
            + "sends on the queue descriptor and shares its mq_flags, is not the queue's notification owner, holds a "
            + "pipe's write end until it exits, and adds no descriptor to the JVM")
    void aChildForkedInProcessSharesTheMappingsAndOpenDescriptions() throws Exception {
        Function forkChild = NativeLibrary.getInstance(Peers.path("libfork_child.so")).getFunction("ipcb_fork_child");
        String shmName = Names.unique("fork");
        String mqName = Names.unique("fork");
        byte[] message = "sent by the child of an in-process fork".getBytes(StandardCharsets.UTF_8);
        byte[] written = new byte[LENGTH];
        new Random(11).nextBytes(written);
        assertTimeoutPreemptively(LIMIT, () -> {
            try (SharedMemory shm = SharedMemory.createExclusively(shmName, 4096);
                    Semaphore sem = Semaphore.initialize(shm, SEM, 0);
                    MessageQueue queue = MessageQueue.createExclusively(mqName);
                    MessageQueue.Notification notification = queue.requestNotification();
                    Pipe held = Pipe.open(); Pipe go = Pipe.open()) {
                ByteBuffer mapping = shm.buffer();
                mapping.put(BYTES, written);
                long base = Pointer.nativeValue(Native.getDirectBufferPointer(mapping));
                Object[] args = {new Pointer(base + BYTES), (long) LENGTH, new Pointer(base + SEM),
                    new Pointer(base + REPORT), queue.descriptor().fd(), message, (long) message.length,
                    held.sink().descriptor().fd(), go.source().descriptor().fd()};
                Map<Integer, String> before = Fds.snapshot();
                FutureTask<Integer> call = new FutureTask<>(() -> {
                    try {
                        return forkChild.invokeInt(args);
                    } finally {
                        held.sink().close(); // a child that never got to write: the read below sees EOF
                    }
                });
                new Thread(call, "x11-fork").start();
                int status;
                try {
                    int got = held.source().read(ByteBuffer.allocate(1));
                    assertEquals(1, got, () -> "the child writes on its copy of the pipe's write end; "
                            + outcome(call, mapping));
                    held.sink().close();
                    assertFalse(held.source().await(Duration.ZERO),
                            "no end of file while the child still holds the write end the JVM has closed");
                } finally {
                    go.sink().write(ByteBuffer.wrap(new byte[] {'g'}));
                    status = call.get();
                }
                assertEquals(0, status, () -> outcome(call, mapping));
                assertEquals(-1, held.source().read(ByteBuffer.allocate(1)), "end of file once the child has exited");

                byte[] seen = new byte[LENGTH];
                mapping.get(BYTES, seen);
                byte[] complemented = new byte[LENGTH];
                for (int i = 0; i < LENGTH; i++) {
                    complemented[i] = (byte) ~written[i];
                }
                assertArrayEquals(complemented, seen, "the child's writes through the inherited MAP_SHARED mapping "
                        + "are visible in the JVM's");
                assertEquals(1, sem.value(), "the child's sem_post on the sem_t in the segment");
                assertTrue(sem.tryAcquire(), "the unit the child posted can be taken");
                assertTrue(queue.attributes().nonBlocking(), "the child's mq_setattr(O_NONBLOCK) on its copy set the "
                        + "JVM's descriptor too: one open message queue description, one mq_flags");
                queue.setNonBlocking(false);
                assertTrue(notification.fired(), "the child's message consumed the JVM's registration, which its "
                        + "own mq_notify could not take (EBUSY)");
                assertEquals(new Message(message, PRIORITY), queue.tryReceive().orElse(null),
                        "the message the child sent on its copy of the queue descriptor");
                Fds.assertNoneAdded(before);
            } finally {
                SharedMemory.unlink(shmName);
                MessageQueue.unlink(mqName);
            }
        });
    }

    /**
     * The call's result and, for a child that failed, the step and errno it left in the segment. Only
     * asked once the child has ended (or never wrote to the held pipe: it has ended or was never made).
     */
    private static String outcome(FutureTask<Integer> call, ByteBuffer mapping) {
        int status;
        try {
            status = call.get();
        } catch (Exception e) {
            return "the call failed: " + e;
        }
        if (status < 0) {
            return "fork or waitpid failed: errno " + -status;
        }
        if (status > 128) {
            return "the child was killed by signal " + (status - 128);
        }
        int step = mapping.getInt(REPORT);
        return "child exit status " + status + (step > 0 && step < STEPS.length
                ? ", step " + step + " (" + STEPS[step] + ") failed, errno " + mapping.getInt(REPORT + 4) : "");
    }
}
