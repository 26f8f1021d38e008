package io.ipcbridge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.mq.Message;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.pipe.PipeSink;
import io.ipcbridge.pipe.PipeSource;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.Fds;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An interrupt that comes as a blocked call succeeds: whichever wins, nothing is lost. Each
 * round wakes a blocked call and interrupts it at once, so both orders occur; a call that had
 * already taken its unit, message or descriptor must return it, and one that threw must have taken
 * nothing.
 */
class InterruptRaceTest {
    private static final int ROUNDS = 100;
    private static final Duration LIMIT = Duration.ofMinutes(2);
    private final Created sems = new Created("irace", Semaphore::unlink);
    private final Created queues = new Created("irace", MessageQueue::unlink);

    @TempDir
    Path dir;

    @AfterEach
    void unlinkAll() {
        sems.unlinkAll();
        queues.unlinkAll();
    }

    @Test
    void anInterruptAsTheUnitArrivesNeverLosesTheUnit() {
        assertTimeoutPreemptively(LIMIT, () -> {
            for (int round = 0; round < ROUNDS; round++) {
                try (Semaphore s = Semaphore.createExclusively(sems.name(), 0)) {
                    Blocked.Call<Boolean> waiter = Blocked.start(() -> {
                        s.acquire();
                        return true;
                    }, Blocked.FUTEX);
                    s.release();
                    waiter.thread().interrupt();
                    try {
                        waiter.result().get(10, TimeUnit.SECONDS);
                        assertEquals(0, s.value(), "round " + round + ": the waiter has the unit");
                    } catch (ExecutionException e) {
                        assertEquals(InterruptedException.class, e.getCause().getClass());
                        assertEquals(1, s.value(), "round " + round + ": the interrupted wait took nothing");
                    }
                }
            }
        });
    }

    @Test
    void anInterruptAsTheMessageArrivesNeverLosesTheMessage() {
        assertTimeoutPreemptively(LIMIT, () -> {
            String n = queues.name();
            try (MessageQueue sender = MessageQueue.createExclusively(n, 10, 8, 0600)) {
                for (int round = 0; round < ROUNDS; round++) {
                    byte[] sent = {(byte) round};
                    try (MessageQueue receiver = MessageQueue.open(n, MessageQueue.Access.READ)) {
                        Blocked.Call<Message> waiter = Blocked.start(receiver::receive, Blocked.MQ_TIMEDRECEIVE);
                        sender.send(sent, 0);
                        waiter.thread().interrupt();
                        try {
                            assertArrayEquals(sent, waiter.result().get(10, TimeUnit.SECONDS).data());
                            assertEquals(Optional.empty(), sender.tryReceive(), "round " + round + ": taken once");
                        } catch (ExecutionException e) {
                            assertEquals(ClosedByInterruptException.class, e.getCause().getClass());
                            Optional<Message> left = sender.tryReceive();
                            assertTrue(left.isPresent(), "round " + round + ": the interrupted receive took nothing");
                            assertArrayEquals(sent, left.get().data());
                        }
                    }
                }
            }
        });
    }

    @Test
    void anInterruptAsTheFifoOpensNeverLeaksTheDescriptor() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path f = dir.resolve("f");
            Fifo.create(f);
            var before = Fds.snapshot();
            for (int round = 0; round < ROUNDS; round++) {
                Blocked.Call<PipeSource> reader = Blocked.start(() -> Fifo.openReader(f), Blocked.OPENAT);
                try (PipeSink writer = Fifo.openWriter(f)) {
                    reader.thread().interrupt();
                    try {
                        reader.result().get(10, TimeUnit.SECONDS).close();
                    } catch (ExecutionException e) {
                        assertEquals(ClosedByInterruptException.class, e.getCause().getClass());
                    }
                }
                reader.thread().join();
            }
            Fds.assertNoneAdded(before);
        });
    }

    @Test
    void theFirstBlockingCallOfAJvmMadeWhileInterruptedBreaksNothing() throws Exception {
        // X-06 and FIFO-09: a thread whose interrupt status is set makes the JVM's first blocking call.
        // It gets ClosedByInterruptException, its status kept, and every later call works. Before, the
        // one-time set-up of the wake-up signal (a FileChannel read in a static initializer) failed
        // with ClosedByInterruptException: ExceptionInInitializerError, then NoClassDefFoundError for
        // every blocking call of that JVM, in any thread. A fresh JVM, as this one has made such calls.
        Path fifo = dir.resolve("f");
        Fifo.create(fifo);
        String jvm = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(jvm, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), io.ipcbridge.testing.FirstCallInterrupted.class.getName(),
                fifo.toString()).redirectErrorStream(true).start();
        String out = assertTimeoutPreemptively(LIMIT, () -> {
            String all = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            p.waitFor();
            return all;
        }, () -> "the child ends");
        assertEquals("first: java.nio.channels.ClosedByInterruptException interrupted=true\n"
                + "later: Optional.empty\n"
                + "pipe: 1\n", out);
        assertEquals(0, p.exitValue(), out);
    }
}
