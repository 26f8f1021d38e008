package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.cli.RingRecords;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.ring.PeerDiedException;
import io.ipcbridge.ring.Ring;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Names;
import io.ipcbridge.testing.PeerState;
import io.ipcbridge.testing.Peers;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ring between Java and ring_peer (native-tests/include/ipcbridge_ring.c), both ways. */
class RingInteropTest {
    private static final int RECORDS = 10_000_000;
    private static final int MAX = 1024;
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int FUTEX = 202;
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @TempDir
    Path dir;
    private final List<String> names = new ArrayList<>();
    private final List<Process> peers = new ArrayList<>();

    private String name() {
        String n = Names.unique("ring");
        names.add(n);
        return n;
    }

    @AfterEach
    void cleanUp() throws IOException {
        for (Process p : peers) {
            p.destroyForcibly();
            Peers.closeStreams(p);
        }
        for (String n : names) {
            Files.deleteIfExists(Path.of("/dev/shm" + n));
        }
    }

    private Process start(String... args) throws IOException {
        return launch(new ArrayList<>(List.of(Peers.path("ring_peer"))), args);
    }

    /** As {@link #start}, with the peer's soft RLIMIT_NOFILE set to {@code fds}. */
    private Process startWithFds(int fds, String... args) throws IOException {
        return launch(new ArrayList<>(List.of("bash", "-c", "ulimit -Sn " + fds + " && exec \"$0\" \"$@\"",
                Peers.path("ring_peer"))), args);
    }

    private Process launch(List<String> argv, String... args) throws IOException {
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectError(dir.resolve("err" + peers.size()).toFile()).start();
        peers.add(p);
        return p;
    }

    private String finish(Process p) throws Exception {
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "ring_peer ends");
        assertEquals(0, p.exitValue(), () -> "ring_peer: " + stderr(p));
        return out;
    }

    private String stderr(Process p) {
        try {
            return Files.readString(dir.resolve("err" + peers.indexOf(p)));
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** Consumes {@code count} records of producer 0, checking each; returns the bytes. */
    private static long consume(Ring ring, long count, long seed, int min) throws Exception {
        return consume(ring, 0, count, seed, min);
    }

    /** Consumes records {@code first} to {@code count - 1} of producer 0, checking each; returns the bytes. */
    private static long consume(Ring ring, long first, long count, long seed, int min) throws Exception {
        long[] next = {first};
        long[] bytes = {0};
        while (next[0] < count) {
            int n = ring.poll(m -> {
                bytes[0] += m.remaining();
                String wrong = RingRecords.check(m, 0, seed, next[0]++, min, MAX);
                if (wrong != null) {
                    throw new IOException(wrong);
                }
            }, WAIT);
            assertTrue(n > 0, "a record within " + WAIT + " (after " + next[0] + ")");
        }
        return bytes[0];
    }

    @Test
    void tenMillionRecordsOfRandomSizesFromCArriveInJavaOnceInOrderAndIntact() throws Exception {
        String n = name();
        try (Ring ring = Ring.create(n, 1 << 16, MAX, false, 0600).waitStrategy(Ring.WaitStrategy.SPIN_THEN_YIELD)) {
            // both sides spin (yielding): a futex sleep and wake-up per record would take most of the time
            Process producer = start("produce", n, Integer.toString(RECORDS), "11", "--wait", "spin");
            consume(ring, RECORDS, 11, 0);
            finish(producer);
            assertNull(ring.poll(Duration.ZERO), "nothing more");
        }
    }

    @Test
    void tenMillionRecordsOfRandomSizesFromJavaArriveInCOnceInOrderAndIntact() throws Exception {
        String n = name();
        try (Ring ring = Ring.create(n, 1 << 16, MAX, false, 0600).waitStrategy(Ring.WaitStrategy.SPIN_THEN_YIELD)) {
            Process consumer = start("consume", n, Integer.toString(RECORDS), "12", "--wait", "spin");
            ByteBuffer b = ByteBuffer.allocateDirect(MAX);
            for (long seq = 0; seq < RECORDS; seq++) {
                assertTrue(ring.offer(RingRecords.fill(b, 0, 12, seq, 0, MAX), WAIT), "room for record " + seq);
            }
            assertEquals("ok " + RECORDS, finish(consumer));
        }
    }

    @Test
    void aCAndAJavaProducerShareAMultiProducerRingWithoutLossOrReordering() throws Exception {
        int each = 2_000_000;
        String n = name();
        try (Ring consumer = Ring.create(n, 1 << 16, MAX, true, 0600)) {
            Process c = start("produce", n, Integer.toString(each), "20", "--producer", "0", "--min", "8");
            Thread java = new Thread(() -> {
                ByteBuffer b = ByteBuffer.allocateDirect(MAX);
                try (Ring ring = Ring.open(n)) {
                    for (long seq = 0; seq < each; seq++) {
                        if (!ring.offer(RingRecords.fill(b, 1, 21, seq, 8, MAX), WAIT)) {
                            return;
                        }
                    }
                } catch (IOException | InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            java.start();
            long[] next = new long[2];
            while (next[0] < each || next[1] < each) {
                int got = consumer.poll(m -> {
                    int p = RingRecords.producer(m);
                    String wrong = p > 1 ? "producer id " + p : RingRecords.check(m, p, 20 + p, next[p], 8, MAX);
                    if (wrong != null) {
                        throw new IOException(wrong);
                    }
                    next[p]++;
                }, WAIT);
                assertTrue(got > 0, "a record within " + WAIT);
            }
            java.join(TimeUnit.SECONDS.toMillis(30));
            finish(c);
            assertNull(consumer.poll(Duration.ZERO), "nothing more");
        }
    }

    @Test
    void aJavaAndACProducerFeedACConsumer() throws Exception {
        int each = 1_000_000;
        String n = name();
        try (Ring ring = Ring.create(n, 1 << 16, MAX, true, 0600)) {
            Process consumer = start("consume", n, Integer.toString(2 * each), "30", "--producers", "2", "--min", "8");
            Process c = start("produce", n, Integer.toString(each), "30", "--producer", "0", "--min", "8");
            ByteBuffer b = ByteBuffer.allocateDirect(MAX);
            for (long seq = 0; seq < each; seq++) {
                assertTrue(ring.offer(RingRecords.fill(b, 1, 31, seq, 8, MAX), WAIT), "room for record " + seq);
            }
            finish(c);
            assertEquals("ok " + 2 * each, finish(consumer));
        }
    }

    @Test
    void aClaimAJavaProducerGaveUpAtCloseIsSkippedByTheCConsumer() throws Exception {
        // NL-09 (0 missing) with a producer closed mid-claim: the C consumer skips the abandoned record
        int count = 1000;
        String n = name();
        try (Ring ring = Ring.create(n, 1 << 12, MAX, true, 0600)) {
            Process consumer = start("consume", n, Integer.toString(count), "40", "--timeout-ms", "30000");
            try (Ring first = Ring.open(n)) {
                ByteBuffer claim = first.claim(MAX, Duration.ZERO);
                while (claim.hasRemaining()) {
                    claim.put((byte) 0xff);
                }
            }
            ByteBuffer b = ByteBuffer.allocateDirect(MAX);
            for (long seq = 0; seq < count; seq++) { // a few laps of the 4 KiB ring
                assertTrue(ring.offer(RingRecords.fill(b, 0, 40, seq, 0, MAX), WAIT), "room for record " + seq);
            }
            assertEquals("ok " + count, finish(consumer));
        }
    }

    @Test
    void aClaimACProducerGaveUpAtCloseIsSkippedByTheJavaConsumer() throws Exception {
        // the same from ipcbridge_ring.c's ipcb_ring_close: ring_peer abandon claims, closes, produces
        int count = 1000;
        String n = name();
        try (Ring ring = Ring.create(n, 1 << 12, MAX, true, 0600)) {
            Process producer = start("abandon", n, Integer.toString(MAX), Integer.toString(count), "41");
            consume(ring, count, 41, 0);
            finish(producer);
            assertNull(ring.poll(Duration.ZERO), "nothing more: the abandoned claim is never delivered");
        }
    }

    @Test
    void aProducerWhoseMainThreadEndedWhileAnotherThreadProducesIsNotTakenForDead() throws Exception {
        // A C program may end main() with pthread_exit and go on in its other threads; /proc then shows
        // the process as a zombie. Neither side's pid check may take that for the producer's death.
        int count = 1000;
        String n = name();
        try (Ring ring = Ring.create(n, 1 << 12, MAX, false, 0600)) {
            Process producer = start("leaderless", n, Integer.toString(count), "50");
            BufferedReader out = new BufferedReader(new InputStreamReader(producer.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("leader exited", out.readLine(), () -> "ring_peer leaderless: " + stderr(producer));
            assertTrue(Syscalls.processRuns((int) producer.pid()), "a zombie main thread with another running");

            // the C consumer takes record 0, then looks at the producer's pid in each round of its wait
            Process c = start("consume", n, "2", "50", "--wait", "spin", "--timeout-ms", "200");
            assertTrue(c.waitFor(60, TimeUnit.SECONDS), "ring_peer consume ends");
            assertEquals(1, c.exitValue(), () -> "ring_peer consume: " + stderr(c));
            assertTrue(stderr(c).contains("timed out"), () -> "ring_peer consume: " + stderr(c));
            // a spinning Java consumer looks at it every 100 ms (a sleeping one only after its pidfd
            // watcher saw a death, and the pidfd of a process with a thread running sees none)
            ring.waitStrategy(Ring.WaitStrategy.SPIN_THEN_YIELD);
            assertNull(ring.poll(Duration.ofSeconds(1)), "no record yet, and no PeerDiedException");

            go(producer);
            consume(ring, 1, count, 50, 0);
            finish(producer);
            assertNull(ring.poll(Duration.ZERO), "nothing more");
        }
    }

    @Test
    void aJavaConsumerWaitsForTheLiveProducerOfAMultiProducerRingWhileADeadOneHoldsNoClaim() throws Exception {
        // a dead producer holding no claim blocks nothing: the consumer waits for the live one, and
        // reports the dead one once no live producer is left
        int count = 100_000; // many catch-ups with a claim in flight at the head: none may pass for the dead one's
        String n = name();
        try (Ring ring = Ring.create(n, 1 << 12, MAX, true, 0600)) {
            Process[] producers = oneDeadProducerOneLive(n, count);
            Process dead = producers[0];
            Process live = producers[1];
            long[] next = new long[2];
            Ring.Handler check = m -> {
                int p = RingRecords.producer(m);
                String wrong = p > 1 ? "producer id " + p : RingRecords.check(m, p, 60 + p, next[p], 8, MAX);
                if (wrong != null) {
                    throw new IOException(wrong);
                }
                next[p]++;
            };
            while (next[0] + next[1] < 2) {
                assertTrue(ring.poll(check, WAIT) > 0, "record 0 of each producer");
            }
            assertNull(ring.poll(Duration.ofSeconds(1)), "nothing yet, and no PeerDiedException: producer 1 lives");
            go(live);
            while (next[1] < count) {
                assertTrue(ring.poll(check, WAIT) > 0, "a record of the live producer within " + WAIT);
            }
            finish(live);
            PeerDiedException e = assertThrows(PeerDiedException.class, () -> ring.poll(Duration.ofSeconds(10)));
            assertEquals(dead.pid(), e.pid(), "the dead producer, once no live one is left");
        }
    }

    @Test
    void aCConsumerWaitsForTheLiveProducerOfAMultiProducerRingWhileADeadOneHoldsNoClaim() throws Exception {
        int count = 100_000;
        for (String wait : new String[] {"block", "spin"}) { // spin: a look at the pids every 100 ms
            String n = name();
            try (Ring ring = Ring.create(n, 1 << 12, MAX, true, 0600)) {
                Process live = oneDeadProducerOneLive(n, count)[1];
                Process consumer = start("consume", n, Integer.toString(1 + count), "60", "--producers", "2", "--min", "8",
                        "--wait", wait);
                if (wait.equals("block")) {
                    assertTrue(PeerState.awaitInSyscall(consumer.pid(), FUTEX),
                            () -> "ring_peer consume sleeps after record 0 of each producer: " + stderr(consumer));
                }
                go(live);
                assertEquals("ok " + (1 + count), finish(consumer));
                finish(live);
                Process last = start("consume", n, "1", "60", "--producers", "2", "--min", "8");
                assertTrue(last.waitFor(60, TimeUnit.SECONDS), "ring_peer consume ends");
                assertEquals(3, last.exitValue(), () -> "the dead producer, once no live one is left: " + stderr(last));
            }
        }
    }

    @Test
    void aRecordADeadProducerClaimedAtTheHeadIsSkippedAndTheLiveProducersRecordsStillArrive() throws Exception {
        // each producer announces its claim in the header (version 3), so the consumer knows the claim at
        // the head is the dead one's: it skips it, zeroed, and goes on with the live producer. Version 2
        // took a claim held for a second for the dead one's and reported the death, and a claim whose
        // dead producer's slot was taken over wedged the ring. 2000 records lap the 4 KiB ring many times
        // over the skipped area, which must be as clean as a consumed one.
        int count = 2000;
        for (boolean javaConsumer : new boolean[] {true, false}) {
            String n = name();
            try (Ring ring = Ring.create(n, 1 << 12, MAX, true, 0600)) {
                Process live = paused(n, 1, count);
                Process claimer = stalled(n, 0, 100); // claimed after the live producer's record 0, half written
                kill(claimer);
                go(live);
                if (javaConsumer) {
                    long[] next = {0};
                    while (next[0] < count) {
                        assertTrue(ring.poll(m -> {
                            String wrong = RingRecords.check(m, 1, 61, next[0]++, 8, MAX);
                            if (wrong != null) {
                                throw new IOException(wrong);
                            }
                        }, WAIT) > 0, "a record of the live producer within " + WAIT + " (after " + next[0] + ")");
                    }
                    finish(live);
                    PeerDiedException e = assertThrows(PeerDiedException.class, () -> ring.poll(WAIT));
                    assertEquals(claimer.pid(), e.pid(), "the dead producer, once no live one is left");
                } else {
                    Process consumer = start("consume", n, Integer.toString(count), "60", "--producers", "2", "--min", "8");
                    assertEquals("ok " + count, finish(consumer));
                    finish(live);
                    Process last = start("consume", n, "1", "60", "--producers", "2", "--min", "8");
                    assertTrue(last.waitFor(60, TimeUnit.SECONDS), "ring_peer consume ends");
                    assertEquals(3, last.exitValue(), () -> "the dead producer, once no live one is left: " + stderr(last));
                    assertTrue(stderr(last).contains("pid " + claimer.pid()), () -> "ring_peer consume: " + stderr(last));
                }
            }
        }
    }

    @Test
    void twoDeadProducersClaimsInARowAreBothSkippedThoughTheLiveProducerIsIdle() throws Exception {
        // the consumer skipped the first dead claim and then slept at the second until a death or a
        // commit woke it; with the live producer idle after its record, for ever (a review's proof)
        for (boolean javaConsumer : new boolean[] {true, false}) {
            String n = name();
            try (Ring ring = Ring.create(n, 1 << 12, MAX, true, 0600)) {
                Process first = stalled(n, 0, 100);
                Process second = stalled(n, 0, 100);
                Process live = paused(n, 1, 2); // its record 0 behind both claims, then idle
                kill(first);
                kill(second);
                if (javaConsumer) {
                    assertEquals(1, ring.poll(m -> assertNull(RingRecords.check(m, 1, 61, 0, 8, MAX)), WAIT),
                            "record 0 of the live producer, both dead claims skipped");
                    go(live);
                    assertEquals(1, ring.poll(m -> assertNull(RingRecords.check(m, 1, 61, 1, 8, MAX)), WAIT));
                } else {
                    Process consumer = start("consume", n, "2", "60", "--producers", "2", "--min", "8");
                    assertTrue(PeerState.awaitInSyscall(consumer.pid(), FUTEX),
                            () -> "ring_peer consume sleeps after record 0: " + stderr(consumer));
                    go(live);
                    assertEquals("ok 2", finish(consumer));
                }
                finish(live);
            }
        }
    }

    @Test
    void pollsThatDoNotWaitStillSkipADeadProducersClaim() throws Exception {
        // poll(Duration.ZERO), poll(Handler) and waits shorter than the 100 ms between looks at the
        // pids never looked: a dead claim at the head stopped such a consumer for good
        for (boolean handler : new boolean[] {false, true}) {
            String n = name();
            try (Ring ring = Ring.create(n, 1 << 12, MAX, true, 0600)) {
                Process claimer = stalled(n, 0, 100);
                Process live = paused(n, 1, 2);
                kill(claimer);
                long deadline = System.nanoTime() + WAIT.toNanos();
                int got = 0;
                while (got == 0 && System.nanoTime() - deadline < 0) {
                    got = handler ? ring.poll(m -> assertNull(RingRecords.check(m, 1, 61, 0, 8, MAX)))
                            : ring.poll(Duration.ZERO) == null ? 0 : 1;
                }
                assertEquals(1, got, "record 0 of the live producer");
                go(live);
                finish(live);
            }
        }
    }

    @Test
    void theSlotOfADeadProducerWhoseClaimIsNotConsumedYetIsNotTakenOver() throws Exception {
        // the consumer needs the dead producer's announcement to skip its claim: a new producer takes
        // another slot, even one whose dead pid is older, until the consumer has passed the claim
        int count = 500;
        int slots = 324; // producer_pids (RingLayout, checked against the C header by RingLayoutTest)
        String n = name();
        try (Ring ring = Ring.create(n, 1 << 12, MAX, true, 0600); SharedMemory raw = SharedMemory.open(n)) {
            Process claimer = stalled(n, 0, 100);
            kill(claimer);
            int dead = (int) claimer.pid();
            assertEquals(dead, raw.getIntVolatile(slots), "the claimer registered in slot 0");
            for (int i = 1; i < 8; i++) {
                raw.setIntVolatile(slots + 4 * i, dead); // dead producers that announced no claim
            }
            Process live = paused(n, 1, count); // a C producer
            assertEquals(dead, raw.getIntVolatile(slots), "slot 0 is kept for its claim");
            assertEquals((int) live.pid(), raw.getIntVolatile(slots + 4), "the C producer took slot 1");
            try (Ring producer = Ring.open(n)) {
                assertTrue(producer.offer(RingRecords.fill(ByteBuffer.allocate(MAX), 2, 62, 0, 8, MAX)));
                assertEquals((int) ProcessHandle.current().pid(), raw.getIntVolatile(slots + 8), "Java took slot 2");
                go(live);
                long[] next = new long[3];
                while (next[1] + next[2] < count + 1) {
                    assertTrue(ring.poll(m -> {
                        int p = RingRecords.producer(m);
                        String wrong = p < 1 || p > 2 ? "producer id " + p : RingRecords.check(m, p, 60 + p, next[p], 8, MAX);
                        if (wrong != null) {
                            throw new IOException(wrong);
                        }
                        next[p]++;
                    }, WAIT) > 0, "a record of a live producer within " + WAIT);
                }
                finish(live);
            }
        }
    }

    @Test
    void aClaimALiveProducerHoldsOpenIsWaitedForWhileAnotherProducerIsDead() throws Exception {
        // version 2 took a claim held at the head for a second while a producer was dead for the dead
        // one's; the announcement says whose it is, so the consumer waits for its live producer
        for (boolean javaConsumer : new boolean[] {true, false}) {
            String n = name();
            try (Ring ring = Ring.create(n, 1 << 12, MAX, true, 0600)) {
                Process holder = stalled(n, 0, 100); // live, its claim open at the head
                Process dead = paused(n, 1, 2); // its record 0 after that claim, then no claim
                kill(dead);
                if (javaConsumer) {
                    assertNull(ring.poll(Duration.ofMillis(1500)), "no record, and no PeerDiedException");
                } else {
                    Process consumer = start("consume", n, "1", "60", "--producers", "2", "--min", "8",
                            "--timeout-ms", "1500");
                    assertTrue(consumer.waitFor(60, TimeUnit.SECONDS), "ring_peer consume ends");
                    assertEquals(1, consumer.exitValue(), () -> "timed out, no producer died: " + stderr(consumer));
                    assertTrue(!stderr(consumer).contains("died"), () -> "ring_peer consume: " + stderr(consumer));
                }
                assertTrue(holder.isAlive(), "the holder still holds its claim");
            }
        }
    }

    @Test
    void aRegisteredPidThatNowNamesAThreadOfAnotherProcessIsADeadProducer() throws Exception {
        // the producer's pid was reused for a thread that does not lead its process (here a thread of
        // this JVM, seen from the C consumer's process and from this one alike): kill(2) and /proc/PID
        // find the thread, pidfd_open refuses it (ENOENT), and the producer has ended. Before, both sides
        // took it to run, and the Java watcher turned itself off for the ring (100 ms polls).
        CountDownLatch started = new CountDownLatch(1); // the JVM names the OS thread before run()
        CountDownLatch end = new CountDownLatch(1);
        Thread probe = new Thread(() -> {
            started.countDown();
            try {
                end.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "ipcb-tid-probe");
        probe.start();
        try {
            assertTrue(started.await(30, TimeUnit.SECONDS), "the probe thread runs");
            int tid = -1;
            try (var tasks = Files.list(Path.of("/proc/self/task"))) {
                for (Path task : (Iterable<Path>) tasks::iterator) {
                    if (Files.readString(task.resolve("comm")).trim().equals("ipcb-tid-probe")) {
                        tid = Integer.parseInt(task.getFileName().toString());
                    }
                }
            }
            assertTrue(tid > 0 && tid != ProcessHandle.current().pid(), "the probe thread's id: " + tid);
            for (boolean javaConsumer : new boolean[] {true, false}) {
                for (String wait : new String[] {"block", "spin"}) {
                    String n = name();
                    try (Ring ring = Ring.create(n, 1 << 12, MAX, false, 0600); SharedMemory raw = SharedMemory.open(n)) {
                        raw.setIntVolatile(324, tid); // producer_pids[0]
                        if (javaConsumer) {
                            ring.waitStrategy(wait.equals("block") ? Ring.WaitStrategy.BLOCK : Ring.WaitStrategy.SPIN);
                            PeerDiedException e = assertThrows(PeerDiedException.class, () -> ring.poll(WAIT), wait);
                            assertEquals(tid, e.pid());
                        } else {
                            Process consumer = start("consume", n, "1", "60", "--wait", wait, "--timeout-ms", "30000");
                            assertTrue(consumer.waitFor(60, TimeUnit.SECONDS), "ring_peer consume ends");
                            assertEquals(3, consumer.exitValue(), () -> wait + ": " + stderr(consumer));
                            assertTrue(stderr(consumer).contains("pid " + tid), () -> "ring_peer consume: " + stderr(consumer));
                        }
                    }
                }
            }
        } finally {
            end.countDown();
            probe.join();
        }
    }

    @Test
    void aConsumerWaitsForALiveProducerInItsOwnProcessWhileAnotherProducerIsDead() throws Exception {
        // this process is a live producer of the ring: a dead producer holding no claim leaves one live
        // producer, so the consumer waits (here until its timeout) rather than report the dead one
        String n = name();
        try (Ring ring = Ring.create(n, 1 << 12, MAX, true, 0600)) {
            Process dead = paused(n, 0, 2);
            assertTrue(ring.offer(ByteBuffer.wrap(new byte[8])), "this process registers as a producer");
            kill(dead);
            assertNotNull(ring.poll(WAIT), "record 0 of the dead producer");
            assertNotNull(ring.poll(WAIT), "this process's record");
            for (Ring.WaitStrategy how : Ring.WaitStrategy.values()) {
                ring.waitStrategy(how);
                assertNull(ring.poll(Duration.ofMillis(300)), how + ": no record, and no PeerDiedException");
            }
            assertTrue(ring.offer(ByteBuffer.wrap(new byte[8])), "this process still produces");
            assertNotNull(ring.poll(WAIT), "this process's record");
        }
    }

    /**
     * Producers 0 and 1 of {@code count} records each in a multi-producer ring, paused after record 0
     * (see {@link #paused}); producer 0 is then killed: {dead, live}.
     */
    private Process[] oneDeadProducerOneLive(String ring, int count) throws Exception {
        Process dead = paused(ring, 0, count);
        Process live = paused(ring, 1, count);
        kill(dead);
        return new Process[] {dead, live};
    }

    /** Starts producer {@code id} of {@code count} records (seed 60, 8 bytes or more) and waits until it paused after one. */
    private Process paused(String ring, int id, int count) throws IOException {
        Process p = start("produce", ring, Integer.toString(count), "60", "--producer", Integer.toString(id), "--min", "8",
                "--pause-after", "1");
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("paused", out.readLine(), () -> "ring_peer produce: " + stderr(p));
        return p;
    }

    /** SIGKILLs a peer and waits for its end, so that its pid is gone (reaped) when this returns. */
    private static void kill(Process p) throws InterruptedException {
        p.destroyForcibly();
        p.waitFor();
    }

    /** Sends the line a paused peer waits for. */
    private static void go(Process p) throws IOException {
        p.getOutputStream().write("go\n".getBytes(StandardCharsets.US_ASCII));
        p.getOutputStream().flush();
    }

    /** Starts {@code ring_peer stall} and waits for its "stalled" line. */
    private Process stalled(String ring, int complete, int length) throws IOException {
        Process p = start("stall", ring, Integer.toString(complete), Integer.toString(length));
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("stalled", out.readLine(), () -> "ring_peer stall: " + stderr(p));
        return p;
    }

    @Test
    void aProducerKilledMidRecordLeavesNoTornRecordAndIsReportedWithinASecond() throws Exception {
        // the writer killed mid-record (issue 7; FAULT-01 for the ring)
        for (boolean multi : new boolean[] {false, true}) {
            String n = name();
            try (Ring ring = Ring.create(n, 1 << 16, MAX, multi, 0600)) {
                Process p = stalled(n, 100, 500);
                p.destroyForcibly();
                long start = System.nanoTime();
                assertEquals(sizeOf(100), consume(ring, 100, 1, 0), "every complete record");
                PeerDiedException e = assertThrows(PeerDiedException.class, () -> ring.poll(Duration.ofSeconds(10)));
                long elapsed = System.nanoTime() - start;
                assertEquals(p.pid(), e.pid());
                assertTrue(elapsed < TimeUnit.SECONDS.toNanos(1), "reported in " + elapsed / 1_000_000 + " ms");
                assertTrue(e.getMessage().contains("producer"), e.getMessage());
            }
        }
    }

    @Test
    void aProducerKilledWhileTheJavaConsumerSleepsWithoutATimeoutIsReportedWithinASecond() throws Exception {
        // FAULT-01 for the ring, the death landing in an untimed futex sleep: the pidfd watcher wakes it,
        // whether the producer registered before the consumer slept or while it slept. Repeated: the
        // JDK's reaper may reap the producer between the open and the read of its /proc/PID/stat by
        // the woken consumer, whose check must then still find it dead (the read fails with ESRCH).
        for (int round = 0; round < 40; round++) {
            for (boolean multi : new boolean[] {false, true}) {
                for (boolean producerFirst : new boolean[] {true, false}) {
                    killWhileTheConsumerSleeps(multi, producerFirst);
                }
            }
        }
    }

    private void killWhileTheConsumerSleeps(boolean multi, boolean producerFirst) throws Exception {
        String n = name();
        try (Ring ring = Ring.create(n, 1 << 16, MAX, multi, 0600)) {
            Process p = producerFirst ? stalled(n, 0, 100) : null;
            Blocked.Call<byte[]> waiter = Blocked.start(() -> ring.poll((Duration) null), FUTEX);
            if (p == null) {
                p = stalled(n, 0, 100);
            }
            long start = System.nanoTime();
            p.destroyForcibly();
            ExecutionException e = assertThrows(ExecutionException.class, () -> waiter.result().get(5, TimeUnit.SECONDS),
                    "multi " + multi + ", producer first " + producerFirst);
            long elapsed = System.nanoTime() - start;
            assertTrue(e.getCause() instanceof PeerDiedException, e.getCause().toString());
            assertEquals(p.pid(), ((PeerDiedException) e.getCause()).pid());
            assertTrue(elapsed < SECOND, "reported in " + elapsed / 1_000_000 + " ms (multi " + multi
                    + ", producer first " + producerFirst + ")");
        }
    }

    @Test
    void aConsumerKilledWhileAJavaProducerSleepsForRoomIsReportedWithinASecond() throws Exception {
        // FAULT-01 for the ring, the reader killed: ring_peer pong takes records from `in` into `out`
        // until `out` is full, then holds one; a 1 KiB ring takes two records of 500 bytes
        String in = name();
        String out = name();
        try (Ring ring = Ring.create(in, 1024, 500, false, 0600); Ring full = Ring.create(out, 1024, 500, false, 0600)) {
            Process pong = start("pong", in, out, "100");
            for (int i = 0; i < 5; i++) { // two in `out`, one held by pong, two in `in`
                assertTrue(ring.offer(ByteBuffer.allocate(500), WAIT), "room for record " + i);
            }
            Blocked.Call<Boolean> waiter = Blocked.start(() -> ring.offer(ByteBuffer.allocate(500), null), FUTEX);
            long start = System.nanoTime();
            pong.destroyForcibly();
            ExecutionException e = assertThrows(ExecutionException.class, () -> waiter.result().get(5, TimeUnit.SECONDS));
            long elapsed = System.nanoTime() - start;
            assertTrue(e.getCause() instanceof PeerDiedException, e.getCause().toString());
            assertEquals(pong.pid(), ((PeerDiedException) e.getCause()).pid());
            assertTrue(e.getCause().getMessage().contains("consumer"), e.getCause().getMessage());
            assertTrue(elapsed < SECOND, "reported in " + elapsed / 1_000_000 + " ms");
        }
    }

    @Test
    void aCConsumerSleepingWithoutATimeoutReportsAKilledProducerWithinASecond() throws Exception {
        // the C side's watcher thread: ring_peer consume waits for ever (exit 3: a producer died)
        for (boolean multi : new boolean[] {false, true}) {
            String n = name();
            try (Ring ring = Ring.create(n, 1 << 16, MAX, multi, 0600)) {
                Process producer = stalled(n, 0, 100);
                Process consumer = start("consume", n, "1", "1");
                assertTrue(PeerState.awaitInSyscall(consumer.pid(), FUTEX), () -> "consumer asleep: " + stderr(consumer));
                long start = System.nanoTime();
                producer.destroyForcibly();
                assertTrue(consumer.waitFor(5, TimeUnit.SECONDS), "the consumer ends");
                long elapsed = System.nanoTime() - start;
                assertEquals(3, consumer.exitValue(), () -> "ring_peer consume: " + stderr(consumer));
                assertTrue(stderr(consumer).contains("producer died"), () -> stderr(consumer));
                assertTrue(elapsed < SECOND, "reported in " + elapsed / 1_000_000 + " ms (multi " + multi + ")");
            }
        }
    }

    @Test
    void aCConsumerWatchesItsProducerByPidfdAgainOnceDescriptorsAreBack() throws Exception {
        // LOAD-07, FAULT-01: with one descriptor free the pidfd takes it and the watcher's eventfd
        // fails; the C consumer then looks at its producer every 100 ms. It went on doing so for the
        // life of the handle, never watching by pidfd again once descriptors were free.
        String n = name();
        try (Ring ring = Ring.create(n, 1 << 16, MAX, false, 0600)) {
            stalled(n, 0, 100);
            Process consumer = startWithFds(4, "consume", n, "1", "1"); // 0, 1, 2 and one more
            assertTrue(PeerState.awaitInSyscall(consumer.pid(), FUTEX), () -> "consumer asleep: " + stderr(consumer));
            assertFalse(holdsPidfd(consumer.pid()), "no watch while no descriptor is free");
            Process raise = new ProcessBuilder("prlimit", "--pid", Long.toString(consumer.pid()), "--nofile=1024:")
                    .inheritIO().start();
            assertEquals(0, raise.waitFor(), "prlimit");
            // each timed sleep of the consumer is a voluntary switch of its thread, after a look at
            // its watch: two more sleeps than now and it has looked since the limit was raised
            long switches = voluntarySwitches(consumer.pid());
            while (!holdsPidfd(consumer.pid()) && voluntarySwitches(consumer.pid()) < switches + 3) {
                Thread.onSpinWait();
            }
            assertTrue(holdsPidfd(consumer.pid()), "the producer is watched by a pidfd again");
        }
    }

    private static boolean holdsPidfd(long pid) throws IOException {
        try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return fds.anyMatch(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().equals("anon_inode:[pidfd]");
                } catch (IOException closedMeanwhile) {
                    return false;
                }
            });
        }
    }

    private static long voluntarySwitches(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/task/" + pid + "/status"))) {
            if (line.startsWith("voluntary_ctxt_switches:")) {
                return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        throw new IOException("no voluntary_ctxt_switches for " + pid);
    }

    private static long sizeOf(int records) {
        long bytes = 0;
        for (int seq = 0; seq < records; seq++) {
            bytes += RingRecords.length(1, seq, 0, MAX);
        }
        return bytes;
    }

    @Test
    void theCRingTreatsAHostilePeersGarbageAsAnErrorNeverALoopOrACrash() throws Exception {
        // SEC-13 for the C side: positions, record lengths and header fields a peer wrote are checked
        // (native-tests/ring_hostile.c runs each case in a child of its own, under alarm())
        Process p = new ProcessBuilder(Peers.path("ring_hostile"), "cases").redirectError(dir.resolve("err").toFile())
                .start();
        peers.add(p);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "ring_hostile ends");
        assertEquals(0, p.exitValue(), out);
        for (String c : List.of("padding-loop", "past-producer", "open-toctou", "bad-records", "bad-header",
                "misaligned", "bad-claims", "bad-wait", "live-claims")) {
            assertTrue(out.lines().anyMatch(l -> l.equals(c + " PASS")), () -> c + ": " + out);
        }
    }

    @Test
    void theCRingRunsCleanUnderThreadSanitizerAndUndefinedBehaviorSanitizer() throws Exception {
        // native-tests/sanitize/: four producer threads of one process, each with its own handle (a
        // cached spin count was a plain static int, a data race), and an empty message offered and
        // polled with NULL buffers (memcpy with NULL was undefined); either report ends the run
        assertEquals("ok", Peers.run(dir.resolve("err"), "ring_threads-tsan").trim());
        assertEquals("ok", Peers.run(dir.resolve("err"), "ring_empty-ubsan").trim());
    }

    @Test
    void aCReadWithTheLongestTimeoutWaitsForTheRecord() throws Exception {
        // a timeout of INT64_MAX ns is for ever: it used to overflow into an immediate ETIMEDOUT
        String n = name();
        try (Ring ring = Ring.create(n, 1024)) {
            Process p = new ProcessBuilder(Peers.path("ring_hostile"), "wait-forever", n)
                    .redirectError(dir.resolve("err").toFile()).start();
            peers.add(p);
            assertTrue(PeerState.awaitInSyscall(p.pid(), FUTEX), "the C reader sleeps in futex, waiting");
            assertTrue(ring.offer(ByteBuffer.wrap("hello".getBytes(StandardCharsets.UTF_8))));
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "ring_hostile ends");
            assertEquals("read 5", out);
            assertEquals(0, p.exitValue());
        }
    }
}
