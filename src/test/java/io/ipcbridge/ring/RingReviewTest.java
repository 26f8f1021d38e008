package io.ipcbridge.ring;

import static io.ipcbridge.ring.RingTest.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.cli.RingRecords;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Created;
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
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Edge cases of the ring found by review: position counters, hostile headers. */
class RingReviewTest {
    private final Created created = new Created("ring", Ring::unlink);

    private String name() {
        return created.name();
    }

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    @ParameterizedTest(name = "multi-producer {0}")
    @ValueSource(booleans = {false, true})
    void positionsCrossing2To63AreOrdinaryPositions(boolean multi) throws Exception {
        // Positions are unsigned 64-bit byte counts (ipcbridge_ring.h): a ring whose counters pass 2^63
        // (set here before anyone registers, as a ring that has carried 2^63 bytes has them) goes on.
        String n = name();
        long start = Long.MIN_VALUE - 1024; // 2^63 - 1024: the first lap crosses 2^63
        try (Ring producer = Ring.create(n, 1024, 100, multi, 0600); SharedMemory raw = SharedMemory.open(n);
             Ring consumer = Ring.open(n)) {
            raw.setLongRelease(64, start);
            raw.setLongRelease(128, start);
            for (int i = 0; i < 300; i++) { // a few laps of the ring, across 2^63
                String m = "message " + i;
                if (i % 2 == 0) {
                    assertTrue(producer.offer(bytes(m)), "room for " + i);
                } else { // the zero-copy path too
                    ByteBuffer claim = producer.claim(m.length(), Duration.ZERO);
                    assertNotNull(claim, "room for " + i);
                    claim.put(bytes(m));
                    producer.commit();
                }
                byte[] got = consumer.poll(Duration.ZERO);
                assertNotNull(got, "message " + i + " arrived");
                assertEquals(m, new String(got, StandardCharsets.UTF_8));
            }
            assertTrue(consumer.info().producerPosition() < 0, "the positions did cross 2^63");
            assertEquals(0, consumer.info().used());
        }
    }

    @ParameterizedTest(name = "multi-producer {0}")
    @ValueSource(booleans = {false, true})
    void aPositionNotAMultipleOf8IsAFormatErrorNotAnAccessOutsideTheRing(boolean multi) throws Exception {
        // SEC-13 / SHM-21: a hostile peer writes positions that are not 8-byte aligned; the C side refuses
        // them (EPROTO, "not 8-byte aligned"), Java read or wrote a record header across the end of the
        // mapping (IndexOutOfBoundsException) or misaligned (IllegalStateException)
        String n = name();
        try (Ring creator = Ring.create(n, 4096, 100, multi, 0600); SharedMemory raw = SharedMemory.open(n)) {
            raw.setLongRelease(128, 4096 - 4); // consumer position: 4 bytes before the end of the data area
            raw.setLongRelease(64, 4096 + 4);
            try (Ring consumer = Ring.open(n)) {
                RingFormatException e = assertThrows(RingFormatException.class, () -> consumer.poll(Duration.ZERO));
                assertTrue(e.getMessage().contains("not a multiple of 8"), e.getMessage());
            }
            raw.setLongRelease(128, 4096 - 4);
            raw.setLongRelease(64, 4096 - 4); // an empty ring, at a misaligned position
            try (Ring producer = Ring.open(n)) {
                RingFormatException e = assertThrows(RingFormatException.class, () -> producer.offer(bytes("x")));
                assertTrue(e.getMessage().contains("not a multiple of 8"), e.getMessage());
                assertThrows(RingFormatException.class, () -> producer.claim(1, Duration.ZERO));
                assertEquals(4096 - 4, raw.getLongVolatile(64), "nothing claimed");
            }
            byte[] data = new byte[4096];
            raw.buffer().get(RingLayout.HEADER_SIZE, data);
            assertArrayEquals(new byte[4096], data, "nothing written in the data area");
        }
    }

    @Test
    void aClaimAnnouncementTheRingCouldNotHoldIsIgnoredAndAValidOneOfADeadProducerIsSkipped() throws Exception {
        // SEC-13: the consumer zeroes what a dead producer's announced claim covers, so an announcement
        // must start at the head, be aligned, fit a record of the maximum and lie within the producer
        // position, or it is ignored (the consumer waits); nothing outside the claim is ever written
        String n = name();
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Process live = new ProcessBuilder("sleep", "60").start();
        try (Ring consumer = Ring.create(n, 4096, 100, true, 0600); SharedMemory raw = SharedMemory.open(n)) {
            byte[] data = new byte[4096];
            Arrays.fill(data, (byte) 0x5a);
            raw.buffer().put(RingLayout.HEADER_SIZE, data);
            raw.setLongRelease(RingLayout.HEADER_SIZE, 0); // the record headers at the head and after the
            raw.setLongRelease(RingLayout.HEADER_SIZE + 64, 0); // claim of the last case: not committed
            Arrays.fill(data, 0, 8, (byte) 0);
            Arrays.fill(data, 64, 72, (byte) 0);
            raw.setLongRelease(RingLayout.PRODUCER_POSITION_AT, 128);
            raw.setIntVolatile(RingLayout.PRODUCER_PIDS_AT, (int) gone.pid());
            raw.setIntVolatile(RingLayout.PRODUCER_PIDS_AT + 4, (int) live.pid()); // a live producer: no report
            long[][] ignored = {{0, 1 << 20}, {0, 12}, {4, 64}, {0, 128}, {8, 64}, {-8, 4096 + 64}};
            for (long[] claim : ignored) {
                raw.setLongRelease(RingLayout.CLAIM_AT_AT, claim[0]);
                raw.setLongRelease(RingLayout.CLAIM_END_AT, claim[1]);
                assertNull(consumer.poll(Duration.ofMillis(150)), "claim " + claim[0] + ".." + claim[1] + " is ignored");
                assertEquals(0, raw.getLongVolatile(RingLayout.CONSUMER_POSITION_AT), "nothing released");
                byte[] now = new byte[4096];
                raw.buffer().get(RingLayout.HEADER_SIZE, now);
                assertArrayEquals(data, now, "nothing written");
            }
            raw.setLongRelease(RingLayout.CLAIM_AT_AT, 0);
            raw.setLongRelease(RingLayout.CLAIM_END_AT, 64);
            assertNull(consumer.poll(Duration.ofMillis(150)), "nothing to deliver");
            assertEquals(64, raw.getLongVolatile(RingLayout.CONSUMER_POSITION_AT), "the dead producer's claim skipped");
            Arrays.fill(data, 0, 64, (byte) 0);
            byte[] now = new byte[4096];
            raw.buffer().get(RingLayout.HEADER_SIZE, now);
            assertArrayEquals(data, now, "its 64 bytes zeroed, nothing else written");
        } finally {
            live.destroyForcibly().waitFor();
        }
    }

    @ParameterizedTest(name = "multi-producer {0}")
    @ValueSource(booleans = {false, true})
    void aConsumerKilledInItsHandlerLeavesTheMessagesItHandledGoneAndTheRestForTheNext(boolean multi)
            throws Exception {
        // NL-02 for the ring ("a consumer that dies mid-read"): a Java consumer is SIGKILLed in the handler
        // of its third message of one poll. The two it handled must not come again (single producer: they
        // did, the whole batch being released only at its end) and the ring must not stop (multi producer:
        // the next consumer found the first handled record zeroed but not released, and waited at it for
        // ever as at a record not committed yet).
        String n = name();
        try (Ring producer = Ring.create(n, 4096, 100, multi, 0600)) {
            for (int i = 0; i < 10; i++) {
                assertTrue(producer.offer(bytes("m" + i)));
            }
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), "io.ipcbridge.testing.RingStalledConsumer", n, "3")
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8))) {
                assertEquals("stalled", out.readLine(), "the consumer is in the handler of m2");
            } finally {
                child.destroyForcibly();
                child.waitFor();
            }
            assertEquals(137, child.exitValue());
            try (Ring consumer = Ring.open(n)) {
                List<String> got = new ArrayList<>();
                byte[] m;
                while ((m = consumer.poll(Duration.ZERO)) != null) {
                    got.add(new String(m, StandardCharsets.UTF_8));
                }
                // m2 was in its handler when the consumer died: delivered again (as NL-02 allows one per kill)
                assertEquals(List.of("m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"), got);
            }
        }
    }

    @ParameterizedTest(name = "{0} consumer")
    @ValueSource(strings = {"Java", "C"})
    void aConsumerKilledWhileZeroingAHandledMessageLeavesNoTornMessageBehind(String consumer) throws Exception {
        // NL-02 for a multi-producer ring ("0 torn"): once a message is handled, the consumer zeroes its
        // record, the payload first and the header last. A consumer killed in between left a committed
        // message whose payload was partly zeroes, and the next consumer delivered it. The consumer of
        // two 64 MiB records (RingStalledConsumer stalls in the handler of the second; ring_peer
        // consumes both) is killed once the second word of the first reads zero; a round where the
        // zeroing had reached the record's last word or its header by then proves nothing and is run
        // again
        int capacity = 1 << 27;
        int length = Ring.maxMessageLimit(capacity);
        long seed = 5;
        int header = 512;
        for (int round = 1;; round++) {
            String n = name();
            try (Ring producer = Ring.create(n, capacity, length, true, 0600); SharedMemory raw = SharedMemory.open(n)) {
                ByteBuffer b = ByteBuffer.allocateDirect(length);
                for (long seq = 0; seq < 2; seq++) {
                    assertTrue(producer.offer(RingRecords.fill(b, 0, seed, seq, length, length)));
                }
                List<String> argv = consumer.equals("C")
                        ? List.of(Peers.path("ring_peer"), "consume", n, "2", Long.toString(seed), "--min",
                                Integer.toString(length), "--max", Integer.toString(length))
                        : List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                                "io.ipcbridge.testing.RingStalledConsumer", n, "2");
                Process child = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.INHERIT).start();
                try {
                    while (raw.getLongAcquire(header + 16) != 0) { // the first word is seq 0 of producer 0: zero
                        Thread.onSpinWait();
                    }
                } finally {
                    child.destroyForcibly();
                    child.waitFor();
                }
                if (raw.getLongAcquire(header) == 0 || raw.getLongAcquire(header + length) == 0) {
                    assertTrue(round < 10, "the consumer was killed mid-zeroing in one of 10 rounds");
                    continue;
                }
                try (Ring next = Ring.open(n)) {
                    byte[] got = next.poll(Duration.ZERO);
                    assertNotNull(got, "the record after the handled one");
                    assertNull(RingRecords.check(ByteBuffer.wrap(got), 0, seed, 1, length, length),
                            "the record after the handled one, intact");
                }
                return;
            }
        }
    }

    @ParameterizedTest(name = "multi-producer {0}")
    @ValueSource(booleans = {false, true})
    void aPollFromInsideItsOwnHandlerIsRefusedNotHandedTheSameMessageAgain(boolean multi) throws Exception {
        // FAULT-07 (misuse): a handler that polls its own ring was given the message it was handling a
        // second time (the head moves on only once the handler returns): a duplicate
        try (Ring ring = Ring.create(name(), 4096, 16, multi, 0600)) {
            assertTrue(ring.offer(bytes("one")));
            assertTrue(ring.offer(bytes("two")));
            List<String> seen = new ArrayList<>();
            Ring.Handler nested = m -> {
                seen.add(StandardCharsets.UTF_8.decode(m).toString());
                try {
                    byte[] again = ring.poll(Duration.ZERO);
                    seen.add(again == null ? null : new String(again, StandardCharsets.UTF_8));
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            };
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> ring.poll(nested));
            assertTrue(e.getMessage().contains("handler"), e.getMessage());
            assertEquals(List.of("one"), seen, "the message once, nothing else");
            assertEquals("two", new String(ring.poll(Duration.ZERO), StandardCharsets.UTF_8), "the next one stays");
        }
    }

    @ParameterizedTest(name = "multi-producer {0}")
    @ValueSource(booleans = {false, true})
    void aRegistrationLeftByAnEarlierProcessWithThisPidIsTakenOver(boolean multi) throws Exception {
        // Pid reuse: a consumer and a producer SIGKILLed (so never deregistered) had the pid this JVM has
        // now, as a container's JVM has the same pid each start. No handle of this JVM holds them, so
        // they are stale; they were taken for live ones for ever ("already has a consumer (pid <ours>)").
        // A handle of this JVM that does hold one still keeps others out.
        int me = (int) ProcessHandle.current().pid();
        String n = name();
        try (Ring creator = Ring.create(n, 4096, 100, multi, 0600); SharedMemory raw = SharedMemory.open(n)) {
            raw.setIntRelease(320, me); // consumer_pid
            raw.setIntRelease(324, me); // producer_pids[0]
            try (Ring producer = Ring.open(n); Ring consumer = Ring.open(n)) {
                assertTrue(producer.offer(bytes("after a restart")));
                assertEquals("after a restart", new String(consumer.poll(Duration.ZERO), StandardCharsets.UTF_8));
                assertEquals(me, consumer.info().consumerPid());
                try (Ring second = Ring.open(n)) {
                    assertTrue(assertThrows(IOException.class, () -> second.poll(Duration.ZERO)).getMessage()
                            .contains("already has a consumer"), "a live handle's registration is kept");
                    if (!multi) {
                        assertTrue(assertThrows(IOException.class, () -> second.offer(bytes("x"))).getMessage()
                                .contains("already has a producer"));
                    }
                }
            }
            assertEquals(0, raw.getIntVolatile(320), "deregistered at close");
            assertEquals(0, raw.getIntVolatile(324));
        }
    }

    @ParameterizedTest(name = "multi-producer {0}")
    @ValueSource(booleans = {false, true})
    void aRegistrationLeftByAnEarlierProcessWithThisPidIsADeadPeerToTheOtherSide(boolean multi)
            throws Exception {
        // The same pid reuse seen from the other side: the producer registered with this JVM's pid, which
        // no handle here holds, has ended. It was taken for a live producer of this process, and a consumer
        // waited for it for ever; in a multi-producer ring its claim at the head was never skipped. The
        // same for a consumer registration and a producer waiting for room.
        int me = (int) ProcessHandle.current().pid();
        String n = name();
        try (Ring consumer = Ring.create(n, 4096, 100, multi, 0600); SharedMemory raw = SharedMemory.open(n)) {
            raw.setIntRelease(324, me); // producer_pids[0]
            if (multi) { // and it died holding a claim at the head, behind which a live producer's record waits
                Process live = new ProcessBuilder("sleep", "60").start();
                try {
                    raw.setIntRelease(328, (int) live.pid());
                    raw.setLongRelease(RingLayout.CLAIM_AT_AT, 0);
                    raw.setLongRelease(RingLayout.CLAIM_END_AT, 64);
                    raw.setIntRelease(RingLayout.HEADER_SIZE + 64, 5); // the record after it, committed
                    raw.buffer().put(RingLayout.HEADER_SIZE + 72, "after".getBytes(StandardCharsets.UTF_8));
                    raw.setIntRelease(RingLayout.HEADER_SIZE + 64 + 4, RingLayout.MESSAGE);
                    raw.setLongRelease(RingLayout.PRODUCER_POSITION_AT, 64 + 16);
                    byte[] got = consumer.poll(Duration.ofSeconds(30));
                    assertNotNull(got, "the dead claim skipped");
                    assertEquals("after", new String(got, StandardCharsets.UTF_8));
                } finally {
                    live.destroyForcibly().waitFor();
                }
            } else {
                PeerDiedException e = assertThrows(PeerDiedException.class, () -> consumer.poll(Duration.ofSeconds(30)));
                assertEquals(me, e.pid());
            }
        }
        // and from a producer waiting for room behind a consumer registration left that way
        String m = name();
        try (Ring producer = Ring.create(m, 1024, 100, multi, 0600); SharedMemory raw = SharedMemory.open(m)) {
            raw.setIntRelease(320, me); // consumer_pid
            PeerDiedException e = assertThrows(PeerDiedException.class, () -> {
                while (producer.offer(bytes("fill"))) {
                    // until the ring is full: that offer, or the next wait, looks at the consumer
                }
                producer.offer(bytes("fill"), Duration.ofSeconds(30));
            });
            assertEquals(me, e.pid());
        }
    }

    @ParameterizedTest(name = "multi-producer {0}")
    @ValueSource(booleans = {false, true})
    void aHandleDroppedWithoutCloseGivesItsRegistrationsBackOnceCollected(boolean multi) throws Exception {
        // a consumer and producer handle dropped without close kept its pid in the header and its
        // roles in this JVM for ever: a later handle here was refused ("already has a consumer"), and so
        // was a consumer of another process while this JVM ran
        String n = name();
        try (Ring creator = Ring.create(n, 4096, 100, multi, 0600); SharedMemory raw = SharedMemory.open(n)) {
            registerAndDrop(n);
            collectUntil(() -> raw.getIntVolatile(320) == 0 && raw.getIntVolatile(324) == 0);
            assertEquals(0, raw.getIntVolatile(320), "consumer_pid cleared");
            assertEquals(0, raw.getIntVolatile(324), "producer_pids[0] cleared");
            try (Ring again = Ring.open(n)) {
                assertTrue(again.offer(RingRecords.fill(ByteBuffer.allocateDirect(100), 0, 7, 0, 0, 100)),
                        "a producer of this JVM");
                assertEquals("ok 1", runPeer("consume", n, "1", "7").trim(), "a consumer of another process");
                assertNull(again.poll(Duration.ZERO), "a consumer of this JVM");
            }
        }
    }

    @Test
    void aClaimOfAProducerDroppedWithoutCloseIsSkippedOnceCollected() throws Exception {
        // a multi-producer handle dropped with a claim not committed held it for ever, and the
        // consumer waited at it for the records of the other producers
        String n = name();
        try (Ring consumer = Ring.create(n, 4096, 100, true, 0600); Ring producer = Ring.open(n)) {
            claimAndDrop(n);
            assertTrue(producer.offer(bytes("after")));
            byte[][] got = new byte[1][];
            collectUntil(() -> {
                try {
                    got[0] = consumer.poll(Duration.ofMillis(100));
                } catch (IOException | InterruptedException e) {
                    throw new AssertionError(e);
                }
                return got[0] != null;
            });
            assertNotNull(got[0], "the record after the dropped claim");
            assertEquals("after", new String(got[0], StandardCharsets.UTF_8));
        }
    }

    /** Registers a handle of ring {@code n} as consumer and producer, and drops it without close. */
    private static void registerAndDrop(String n) throws Exception {
        Ring dropped = Ring.open(n);
        assertTrue(dropped.offer(bytes("dropped")));
        assertNotNull(dropped.poll(Duration.ZERO));
    }

    /** Claims room in ring {@code n} through a handle dropped without commit or close. */
    private static void claimAndDrop(String n) throws Exception {
        assertNotNull(Ring.open(n).claim(5, Duration.ZERO));
    }

    /** Collects garbage until {@code done}, for 30 s at most: a handle's Cleaner runs after it is collected. */
    private static void collectUntil(BooleanSupplier done) {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!done.getAsBoolean() && System.nanoTime() < deadline) {
            System.gc();
        }
    }

    /** Runs ring_peer with {@code args} to its end and returns its output, failing unless it exits 0. */
    private static String runPeer(String... args) throws Exception {
        Path err = Files.createTempFile("ring_peer", ".err");
        try {
            return Peers.run(err, "ring_peer", args);
        } finally {
            Files.delete(err);
        }
    }

    @Test
    void aProducerThatFindsNoRoomAnnouncesNoClaim() throws Exception {
        // a producer that lost a compare-and-set and then waits for room must not leave its announcement:
        // were the winner to die, the consumer would take the claim for this live one's and wait, and the
        // ring, full, would never drain (a review's proof). Seen here as the slot's claim_end after an
        // offer that found no room: 0, where it held the end of the last record offered.
        String n = name();
        try (Ring producer = Ring.create(n, 1024, 100, true, 0600); SharedMemory raw = SharedMemory.open(n)) {
            assertTrue(producer.offer(bytes("first")));
            assertTrue(raw.getLongVolatile(RingLayout.CLAIM_END_AT) > 0, "the claim announced");
            while (producer.offer(bytes("fill"))) {
                // until the ring is full
            }
            assertEquals(0, raw.getLongVolatile(RingLayout.CLAIM_END_AT), "no claim announced while there is no room");
        }
    }

    @Test
    void aCallThatDoesNotWaitIgnoresTheInterruptFlag() throws Exception {
        // offer(ByteBuffer) to a full ring with the thread's interrupt flag set threw
        // AssertionError(InterruptedException): the flag was looked at before the zero timeout was seen
        String n = name();
        try (Ring ring = Ring.create(n, 1024, 100, false, 0600)) {
            while (ring.offer(bytes("fill"))) {
                // until the ring is full
            }
            Thread.currentThread().interrupt();
            try {
                assertFalse(ring.offer(bytes("fill")), "full");
                assertTrue(Thread.currentThread().isInterrupted(), "the flag is left as it was");
            } finally {
                Thread.interrupted();
            }
        }
    }
}
