package io.ipcbridge.ring;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.cli.RingRecords;
import io.ipcbridge.internal.posix.NativeThread;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Names;
import io.ipcbridge.testing.OwnThreads;
import io.ipcbridge.testing.Peers;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class RingTest {
    private final List<String> names = new ArrayList<>();

    private String name() {
        String n = Names.unique("ring");
        names.add(n);
        return n;
    }

    @AfterEach
    void unlink() throws IOException {
        for (String n : names) {
            Files.deleteIfExists(Path.of("/dev/shm" + n));
        }
    }

    static ByteBuffer bytes(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void aRingIsCreatedWithMode0600AndOpenedWithItsGeometry() throws Exception {
        String n = name();
        try (Ring created = Ring.create(n, 4096); Ring opened = Ring.open(n)) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(Path.of("/dev/shm" + n))));
            assertEquals(RingLayout.HEADER_SIZE + 4096, Files.size(Path.of("/dev/shm" + n)));
            assertEquals(4096, opened.capacity());
            assertEquals(4096 / 2 - 8, opened.maxMessage());
            assertFalse(opened.isMultiProducer());
            assertTrue(created.offer(bytes("hello")));
            assertEquals("hello", text(opened.poll(Duration.ZERO)));
            Ring.Info info = opened.info();
            assertEquals(16, info.producerPosition());
            assertEquals(16, info.consumerPosition());
            assertEquals(List.of((int) ProcessHandle.current().pid()), info.producerPids());
            assertEquals(ProcessHandle.current().pid(), info.consumerPid());
        }
        assertThrows(FileAlreadyExistsException.class, () -> Ring.create(n, 4096));
    }

    @Test
    void theInfoOfAClosedSegmentIsRefusedAsClosedChannel() throws Exception {
        // RELIABILITY.md FAULT-07: a closed handle is refused, never read through the mapping it leaves behind
        String n = name();
        try (Ring ring = Ring.create(n, 4096)) {
            SharedMemory segment = SharedMemory.open(n, true);
            assertEquals(4096, Ring.info(segment).capacity());
            segment.close();
            assertThrows(ClosedChannelException.class, () -> Ring.info(segment), "a closed segment is not read");
        }
    }

    @Test
    void badGeometryIsRefusedBeforeAnythingIsCreated() {
        String n = name();
        for (int capacity : new int[] {0, -4096, 512, 1000, 3 << 10, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ring.create(n, capacity));
            assertTrue(e.getMessage().contains("power of two"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Ring.create(n, 4096, 4096 / 2 - 7, false, 0600));
        assertThrows(IllegalArgumentException.class, () -> Ring.create(n, 4096, -1, false, 0600));
        assertFalse(Files.exists(Path.of("/dev/shm" + n)));
    }

    @Test
    void aMessageLongerThanTheMaximumIsRefusedAndNothingIsWritten() throws Exception {
        try (Ring ring = Ring.create(name(), 4096, 100, false, 0600)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ring.offer(ByteBuffer.allocate(101)));
            assertTrue(e.getMessage().contains("maximum of 100"), e.getMessage());
            assertEquals(0, ring.info().producerPosition());
            assertTrue(ring.offer(ByteBuffer.allocate(100)));
            assertEquals(100, ring.poll(Duration.ZERO).length);
        }
    }

    @Test
    void aNegativeClaimLengthIsRefusedAsNegativeBeforeAnythingIsRegistered() throws Exception {
        // bad input is refused with a clear message: -1 was "a message of -1 bytes is longer than ..."
        try (Ring ring = Ring.create(name(), 4096, 100, false, 0600)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ring.claim(-1, Duration.ZERO));
            assertEquals("ring " + ring.name() + ": negative message length: -1", e.getMessage());
            assertTrue(ring.info().producerPids().isEmpty(), "no producer registered");
        }
    }

    @Test
    void aNegativeTimeoutIsRefusedBeforeTheHandleRegistersAsConsumerOrProducer() throws Exception {
        // bad input is refused before any effect: a poll or offer with a negative timeout registered this
        // process as the ring's consumer or producer in shared memory first, shutting out another one
        try (Ring ring = Ring.create(name(), 4096, 100, false, 0600)) {
            Duration negative = Duration.ofNanos(-1);
            assertThrows(IllegalArgumentException.class, () -> ring.poll(negative));
            assertThrows(IllegalArgumentException.class, () -> ring.poll(ByteBuffer.allocate(100), negative));
            assertThrows(IllegalArgumentException.class, () -> ring.offer(ByteBuffer.allocate(1), negative));
            assertThrows(IllegalArgumentException.class, () -> ring.claim(1, negative));
            assertEquals(0, ring.info().consumerPid(), "no consumer registered");
            assertTrue(ring.info().producerPids().isEmpty(), "no producer registered");
        }
    }

    @Test
    void openingSomethingElseIsRefusedAndNothingIsOverwritten() throws Exception {
        String n = name();
        try (SharedMemory small = SharedMemory.createExclusively(n, 100)) {
            RingFormatException e = assertThrows(RingFormatException.class, () -> Ring.open(n));
            assertTrue(e.getMessage().contains("too few for a ring header"), e.getMessage());
        }
        String other = name();
        try (SharedMemory garbage = SharedMemory.createExclusively(other, 8192)) {
            byte[] junk = new byte[8192];
            Arrays.fill(junk, (byte) 0x5a);
            garbage.buffer().put(junk);
            RingFormatException e = assertThrows(RingFormatException.class, () -> Ring.open(other));
            assertTrue(e.getMessage().contains("not a ring"), e.getMessage());
            byte[] after = new byte[8192];
            garbage.buffer().get(after);
            assertArrayEquals(junk, after, "open wrote nothing");
        }
    }

    @Test
    void aHeaderOfAnotherVersionOrInconsistentGeometryIsRefused() throws Exception {
        String n = name();
        try (Ring ring = Ring.create(n, 4096); SharedMemory raw = SharedMemory.open(n)) {
            raw.setInt(8, 2); // a version 2 ring: its producers announce no claims
            String message = assertThrows(RingFormatException.class, () -> Ring.open(n)).getMessage();
            assertTrue(message.contains("layout version 2") && message.contains("this is version 3"), message);
            raw.setInt(8, 3);
            raw.setLong(16, 8192); // capacity larger than the object
            assertTrue(assertThrows(RingFormatException.class, () -> Ring.open(n)).getMessage().contains("too few"));
            raw.setLong(16, 3000); // not a power of two
            assertThrows(RingFormatException.class, () -> Ring.open(n));
            raw.setLong(16, 4096);
            raw.setInt(24, 4096); // max message beyond the limit
            assertThrows(RingFormatException.class, () -> Ring.open(n));
            raw.setInt(24, 2040);
            Ring.open(n).close();
        }
    }

    @Test
    void aRecordLengthOutOfBoundsInSharedMemoryIsAnErrorNotAnAccessOutsideTheMapping() throws Exception {
        // SHM-21: in-segment data is untrusted
        String n = name();
        try (Ring ring = Ring.create(n, 4096); SharedMemory raw = SharedMemory.open(n)) {
            assertTrue(ring.offer(bytes("x")));
            raw.setInt(RingLayout.HEADER_SIZE, 0x7fffffff);
            RingFormatException e = assertThrows(RingFormatException.class, () -> ring.poll(Duration.ZERO));
            assertTrue(e.getMessage().contains("corrupt record"), e.getMessage());
            raw.setLong(64, 1L << 40); // a producer position far beyond the consumer's
            assertThrows(RingFormatException.class, () -> ring.poll(Duration.ZERO));
        }
    }

    @Test
    void aRecordReachingPastTheProducerPositionIsAnErrorNotAStaleMessage() throws Exception {
        // SEC-13: a single-producer consumer reads no further than the producer published; a padding
        // record that jumped past it replayed the previous lap's records as new ones
        String n = name();
        try (Ring ring = Ring.create(n, 4096); SharedMemory raw = SharedMemory.open(n)) {
            assertTrue(ring.offer(bytes("x")));
            assertEquals("x", new String(ring.poll(Duration.ZERO), StandardCharsets.UTF_8));
            // a peer publishes 8 bytes at position 16, and writes there a padding record to the end of the ring
            raw.setInt(RingLayout.HEADER_SIZE + 16, 4096 - 16 - 8);
            raw.setInt(RingLayout.HEADER_SIZE + 16 + 4, 2);
            raw.setLongRelease(64, 16 + 8);
            RingFormatException e = assertThrows(RingFormatException.class, () -> ring.poll(Duration.ZERO));
            assertTrue(e.getMessage().contains("past the producer position"), e.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(Ring.WaitStrategy.class)
    void recordsOfRandomSizesCrossBetweenTwoThreadsInOrderAndIntact(Ring.WaitStrategy strategy)
            throws Exception {
        int count = strategy == Ring.WaitStrategy.BLOCK ? 1_000_000 : 200_000; // spinners share 2 CPUs with the build
        int max = 1000;
        String n = name();
        try (Ring producer = Ring.create(n, 1 << 16, max, false, 0600).waitStrategy(strategy);
             Ring consumer = Ring.open(n).waitStrategy(strategy)) {
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
                ByteBuffer b = ByteBuffer.allocateDirect(max);
                try {
                    for (long seq = 0; seq < count; seq++) {
                        assertTrue(producer.offer(RingRecords.fill(b, 0, 7, seq, 0, max), Duration.ofSeconds(60)));
                    }
                } catch (IOException | InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, OwnThreads.EACH);
            long[] next = {0};
            while (next[0] < count) {
                consumer.poll(m -> {
                    String wrong = RingRecords.check(m, 0, 7, next[0], 0, max);
                    if (wrong != null) {
                        throw new IOException(wrong);
                    }
                    next[0]++;
                }, Duration.ofSeconds(60));
            }
            sent.get(60, TimeUnit.SECONDS);
            assertNull(consumer.poll(Duration.ZERO), "nothing more than was sent");
        }
    }

    @Test
    void twoProducersIntoAMultiProducerRingArriveEachInItsOwnOrder() throws Exception {
        int count = 300_000;
        int max = 500;
        String n = name();
        try (Ring consumer = Ring.create(n, 1 << 14, max, true, 0600)) {
            List<CompletableFuture<Void>> producers = new ArrayList<>();
            for (int id = 0; id < 2; id++) {
                int p = id;
                producers.add(CompletableFuture.runAsync(() -> {
                    ByteBuffer b = ByteBuffer.allocateDirect(max);
                    try (Ring ring = Ring.open(n)) {
                        for (long seq = 0; seq < count; seq++) {
                            assertTrue(ring.offer(RingRecords.fill(b, p, 7 + p, seq, 8, max), Duration.ofSeconds(60)));
                        }
                    } catch (IOException | InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }, OwnThreads.EACH));
            }
            long[] next = new long[2];
            while (next[0] < count || next[1] < count) {
                consumer.poll(m -> {
                    int p = RingRecords.producer(m);
                    String wrong = p > 1 ? "producer id " + p : RingRecords.check(m, p, 7 + p, next[p], 8, max);
                    if (wrong != null) {
                        throw new IOException(wrong);
                    }
                    next[p]++;
                }, Duration.ofSeconds(60));
            }
            for (CompletableFuture<Void> f : producers) {
                f.get(60, TimeUnit.SECONDS);
            }
            assertEquals(List.of(), consumer.info().producerPids(), "closed producers leave their slots");
        }
    }

    @Test
    void aClaimIsWrittenInPlaceAndDeliveredOnCommit() throws Exception {
        try (Ring ring = Ring.create(name(), 4096)) {
            ByteBuffer claim = ring.claim(5, Duration.ZERO);
            claim.put(bytes("abcde"));
            assertNull(ring.poll(Duration.ZERO), "nothing before the commit");
            ring.commit();
            assertEquals("abcde", text(ring.poll(Duration.ZERO)));
            assertThrows(IllegalStateException.class, ring::commit);
        }
    }

    @ParameterizedTest(name = "multi-producer {0}")
    @ValueSource(booleans = {true, false})
    void aProducerClosedWithAClaimGivesItUpAndTheRecordsOfOthersStillArrive(boolean multi) throws Exception {
        // NL-09 (0 missing) with a producer gone mid-claim; X-04 for the commit after close
        String n = name();
        try (Ring consumer = Ring.create(n, 1024, 100, multi, 0600); SharedMemory raw = SharedMemory.open(n)) {
            Ring first = Ring.open(n);
            first.claim(100, Duration.ZERO).put(new byte[100]).putLong(0, -1L).putLong(92, -1L);
            first.close();
            try (Ring second = Ring.open(n)) {
                for (int i = 0; i < 100; i++) { // about three laps of the ring
                    assertTrue(second.offer(bytes("after " + i)), "room for record " + i);
                    byte[] got = consumer.poll(Duration.ofSeconds(5));
                    assertNotNull(got, "record " + i + " arrived, not stopped behind the abandoned claim");
                    assertEquals("after " + i, text(got));
                }
            }
            assertNull(consumer.poll(Duration.ZERO), "nothing else: the abandoned claim is never delivered");
            assertThrows(ClosedChannelException.class, first::commit, "a commit after close");
            first.close();
            if (multi) {
                byte[] data = new byte[1024];
                raw.buffer().get(RingLayout.HEADER_SIZE, data);
                assertArrayEquals(new byte[1024], data, "every record, the abandoned one too, zeroed once read");
            }
        }
    }

    @Test
    void aCommitAfterCloseIsRefusedWithOrWithoutAClaim() throws Exception {
        //
        try (Ring consumer = Ring.create(name(), 4096, 100, true, 0600)) {
            Ring ring = Ring.open(consumer.name());
            ring.close();
            assertThrows(ClosedChannelException.class, ring::commit);
            assertThrows(ClosedChannelException.class, () -> ring.claim(8, Duration.ZERO));
        }
    }

    @ParameterizedTest(name = "multi-producer {0}")
    @ValueSource(booleans = {true, false})
    void aPollRefusesAReadOnlyBufferOrANullHandlerBeforeTakingAnything(boolean multi) throws Exception {
        // FAULT-07 (null and short buffers), MQ-08's "the message stays"
        try (Ring ring = Ring.create(name(), 4096, 16, multi, 0600)) {
            assertTrue(ring.offer(bytes("kept")));
            ByteBuffer readOnly = ByteBuffer.allocate(16).asReadOnlyBuffer();
            assertTrue(assertThrows(IllegalArgumentException.class, () -> ring.poll(readOnly, Duration.ZERO))
                    .getMessage().contains("read-only"));
            assertThrows(IllegalArgumentException.class, () -> ring.poll(ByteBuffer.allocate(15), Duration.ZERO));
            assertThrows(NullPointerException.class, () -> ring.poll((ByteBuffer) null, Duration.ZERO));
            assertThrows(NullPointerException.class, () -> ring.poll((Ring.Handler) null));
            assertThrows(NullPointerException.class, () -> ring.poll((Ring.Handler) null, Duration.ZERO));
            assertEquals("kept", text(ring.poll(Duration.ZERO)), "the message is still there");
        }
    }

    @ParameterizedTest(name = "multi-producer {0}")
    @ValueSource(booleans = {true, false})
    void aMessageHandedToAHandlerThatThrowsIsConsumedAndTheOnesAfterItStay(boolean multi) throws Exception {
        try (Ring ring = Ring.create(name(), 4096, 16, multi, 0600)) {
            for (String m : List.of("one", "two", "three", "four")) {
                assertTrue(ring.offer(bytes(m)));
            }
            List<String> seen = new ArrayList<>();
            Ring.Handler refuseTwo = m -> {
                String s = StandardCharsets.UTF_8.decode(m).toString();
                seen.add(s);
                if (s.equals("two")) {
                    throw new IOException("refused " + s);
                }
            };
            assertEquals("refused two", assertThrows(IOException.class, () -> ring.poll(refuseTwo)).getMessage());
            assertEquals(List.of("one", "two"), seen);
            Ring.Handler failing = m -> {
                throw new IllegalStateException("handler failed");
            };
            assertThrows(IllegalStateException.class, () -> ring.poll(failing, Duration.ZERO));
            assertEquals("four", text(ring.poll(Duration.ZERO)), "the message after the failing ones stays");
            assertNull(ring.poll(Duration.ZERO), "the messages handed over are consumed");
        }
    }

    @Test
    void aPollIntoABufferTakesOneMessageAndRefusesABufferTooSmallForTheMaximum() throws Exception {
        try (Ring ring = Ring.create(name(), 4096, 16, false, 0600)) {
            assertTrue(ring.offer(bytes("one")));
            assertTrue(ring.offer(bytes("two")));
            ByteBuffer small = ByteBuffer.allocate(15);
            assertTrue(assertThrows(IllegalArgumentException.class, () -> ring.poll(small, Duration.ZERO)).getMessage()
                    .contains("up to 16 bytes"));
            ByteBuffer dst = ByteBuffer.allocateDirect(20).position(2);
            assertEquals(3, ring.poll(dst, Duration.ZERO));
            assertEquals(5, dst.position());
            assertEquals(3, ring.poll(dst.clear(), Duration.ZERO));
            assertEquals("two", StandardCharsets.UTF_8.decode(dst.flip()).toString());
            assertEquals(-1, ring.poll(dst.clear(), Duration.ofMillis(10)));
        }
    }

    @Test
    void aFullRingTimesOutAnOfferAndAnEmptyRingAPoll() throws Exception {
        try (Ring ring = Ring.create(name(), 1024, 100, false, 0600)) {
            int sent = 0;
            while (ring.offer(ByteBuffer.allocate(100))) {
                sent++;
            }
            assertEquals(1024 / 112, sent);
            assertFalse(ring.offer(ByteBuffer.allocate(100), Duration.ofMillis(20)));
            for (int i = 0; i < sent; i++) {
                assertEquals(100, ring.poll(Duration.ZERO).length);
            }
            assertNull(ring.poll(Duration.ofMillis(20)));
            assertTrue(ring.offer(ByteBuffer.allocate(100)), "the space came back");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Ring.WaitStrategy.class, names = {"SPIN", "SPIN_THEN_YIELD"})
    void anInterruptEndsASpinningPoll(Ring.WaitStrategy strategy) throws Exception {
        // BLOCK: anInterruptEndsAPollAsleepOnTheFutex
        try (Ring ring = Ring.create(name(), 4096).waitStrategy(strategy)) {
            CompletableFuture<byte[]> result = new CompletableFuture<>();
            spinningPoll(ring, result).interrupt();
            ExecutionException e = assertThrows(ExecutionException.class, () -> result.get(5, TimeUnit.SECONDS));
            assertEquals(InterruptedException.class, e.getCause().getClass());
            assertTrue(e.getCause().getMessage().contains("while waiting"), e.getCause().getMessage());
            assertTrue(ring.isOpen());
        }
    }

    @ParameterizedTest
    @EnumSource(value = Ring.WaitStrategy.class, names = {"SPIN", "SPIN_THEN_YIELD"})
    void closeEndsASpinningPollWithAsynchronousCloseException(Ring.WaitStrategy strategy) throws Exception {
        // a spinning wait looked at the handle with the check a call makes before it starts,
        // and so ended in ClosedChannelException, not the AsynchronousCloseException of a close
        // from another thread that a sleeping wait gets (closeEndsAPollAsleepOnTheFutex...)
        Ring ring = Ring.create(name(), 4096).waitStrategy(strategy);
        CompletableFuture<byte[]> result = new CompletableFuture<>();
        spinningPoll(ring, result);
        ring.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> result.get(5, TimeUnit.SECONDS));
        assertEquals(AsynchronousCloseException.class, e.getCause().getClass());
    }

    /** Starts a thread polling {@code ring} into {@code result}; returns it once it spins in the wait. */
    private static Thread spinningPoll(Ring ring, CompletableFuture<byte[]> result) {
        Thread t = new Thread(() -> {
            try {
                result.complete(ring.poll((Duration) null));
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        t.start();
        awaitSpinning(t, result);
        return t;
    }

    /**
     * Returns once {@code t} has used 50 ms of CPU: far more than reaching the wait takes, so it is
     * spinning in it (the thread's own CPU clock, not a sleep).
     */
    private static void awaitSpinning(Thread t, CompletableFuture<?> result) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        while (threads.getThreadCpuTime(t.getId()) < 50_000_000L) {
            assertFalse(result.isDone(), "the poll returned before it waited");
            Thread.yield();
        }
    }

    @Test
    void anInterruptEndsAPollAsleepOnTheFutex() throws Exception {
        try (Ring ring = Ring.create(name(), 4096)) {
            Blocked.Call<byte[]> waiter = Blocked.start(() -> ring.poll((Duration) null), Blocked.FUTEX);
            waiter.thread().interrupt();
            ExecutionException e = assertThrows(ExecutionException.class, () -> waiter.result().get(5, TimeUnit.SECONDS));
            assertEquals(InterruptedException.class, e.getCause().getClass());
            assertTrue(ring.offer(bytes("still usable")));
            assertEquals("still usable", text(ring.poll(Duration.ZERO)));
        }
    }

    @Test
    void closeEndsAPollAsleepOnTheFutexAndLaterUseIsRefused() throws Exception {
        Ring ring = Ring.create(name(), 4096);
        Blocked.Call<byte[]> waiter = Blocked.start(() -> ring.poll((Duration) null), Blocked.FUTEX);
        ring.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> waiter.result().get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof AsynchronousCloseException, e.getCause().toString());
        assertThrows(ClosedChannelException.class, () -> ring.offer(bytes("x")));
        assertThrows(ClosedChannelException.class, () -> ring.poll(Duration.ZERO));
        assertThrows(ClosedChannelException.class, ring::info);
        ring.close();
    }

    @Test
    void aBlockedPollIsWokenByAProducerInAnotherHandle() throws Exception {
        String n = name();
        try (Ring consumer = Ring.create(n, 4096); Ring producer = Ring.open(n)) {
            Blocked.Call<byte[]> waiter = Blocked.start(() -> consumer.poll((Duration) null), Blocked.FUTEX);
            assertTrue(producer.offer(bytes("wake up")));
            assertEquals("wake up", text(waiter.result().get(5, TimeUnit.SECONDS)));
        }
    }

    @Test
    void aBlockedOfferIsWokenWhenTheConsumerMakesRoom() throws Exception {
        String n = name();
        try (Ring producer = Ring.create(n, 1024, 500, false, 0600); Ring consumer = Ring.open(n)) {
            assertTrue(producer.offer(ByteBuffer.allocate(500)));
            assertTrue(producer.offer(ByteBuffer.allocate(500)));
            Blocked.Call<Boolean> waiter = Blocked.start(() -> producer.offer(ByteBuffer.allocate(500), null), Blocked.FUTEX);
            assertEquals(500, consumer.poll(Duration.ZERO).length);
            assertTrue(waiter.result().get(5, TimeUnit.SECONDS));
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"poll", "timed poll", "offer to a full ring"})
    void signalsToAWaiterOnTheFutexAreRetriedNotSurfaced(String kind) throws Exception {
        // each wake-up signal makes futex(2) return EINTR; the wait goes on (a timed one to
        // its first deadline) and ends with the message or the room that comes after
        String n = name();
        try (Ring producer = Ring.create(n, 1024, 500, false, 0600); Ring consumer = Ring.open(n)) {
            if (kind.startsWith("offer")) {
                assertTrue(producer.offer(ByteBuffer.allocate(500)));
                assertTrue(producer.offer(ByteBuffer.allocate(500)));
            }
            AtomicLong handle = new AtomicLong();
            Blocked.Call<Object> waiter = Blocked.start(() -> {
                handle.set(NativeThread.current());
                return switch (kind) {
                    case "poll" -> text(consumer.poll((Duration) null));
                    case "timed poll" -> text(consumer.poll(Duration.ofMinutes(5)));
                    default -> producer.offer(bytes("after"), null);
                };
            }, Blocked.FUTEX);
            for (int i = 0; i < 1_000 && !waiter.result().isDone(); i++) {
                NativeThread.signal(handle.get());
            }
            assertFalse(waiter.result().isDone(), "still waiting: " + waiter.result());
            if (kind.startsWith("offer")) {
                assertEquals(500, consumer.poll(Duration.ZERO).length);
                assertEquals(true, waiter.result().get(5, TimeUnit.SECONDS));
                assertEquals(500, consumer.poll(Duration.ZERO).length);
                assertEquals("after", text(consumer.poll(Duration.ZERO)));
            } else {
                assertTrue(producer.offer(bytes("after")));
                assertEquals("after", waiter.result().get(5, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void aSecondConsumerOrSingleProducerIsRefusedWhileTheFirstIsOpen() throws Exception {
        String n = name();
        try (Ring first = Ring.create(n, 4096); Ring second = Ring.open(n)) {
            assertTrue(first.offer(bytes("a")));
            assertTrue(assertThrows(IOException.class, () -> second.offer(bytes("b"))).getMessage()
                    .contains("already has a producer"));
            assertEquals("a", text(first.poll(Duration.ZERO)));
            assertTrue(assertThrows(IOException.class, () -> second.poll(Duration.ZERO)).getMessage()
                    .contains("already has a consumer"));
        }
    }

    @Test
    void openingAndClosingLeavesNoDescriptorBehind() throws Exception {
        Map<Integer, String> before = Fds.snapshot();
        String n = name();
        try (Ring ring = Ring.create(n, 4096)) {
            for (int i = 0; i < 1000; i++) {
                try (Ring r = Ring.open(n)) {
                    assertEquals(4096, r.capacity());
                }
            }
            assertThrows(RingFormatException.class, () -> {
                try (SharedMemory s = SharedMemory.createExclusively(name(), 10)) {
                    Ring.open(s.name());
                }
            });
        }
        Ring.unlink(n);
        Fds.assertNoneAdded(before);
    }

    @Test
    void anOpenThatMeetsAPeersTruncationLeavesNoDescriptorBehind() throws Exception {
        // SHM-11, SEC-13, FAULT-04, FAULT-06: a peer truncates the ring's object (and sizes it and
        // writes its header again) while it is opened. An open that maps the object and then reads
        // the header past the object's new end gets the JDK's InternalError for the fault; the
        // segment it had opened was closed for an exception only, so each such open left its
        // descriptor open until a GC.
        String n = name();
        Ring.create(n, 1 << 16).close();
        AtomicBoolean stop = new AtomicBoolean();
        try (RandomAccessFile peer = new RandomAccessFile("/dev/shm" + n, "rw")) {
            byte[] header = new byte[4096];
            peer.readFully(header);
            Map<Integer, String> before = Fds.snapshot();
            CompletableFuture<Void> truncating = CompletableFuture.runAsync(() -> {
                try {
                    while (!stop.get()) {
                        peer.setLength(0);
                        peer.setLength(header.length + (1 << 16));
                        peer.seek(0);
                        peer.write(header);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, OwnThreads.EACH);
            int faults = 0;
            try {
                for (int i = 0; i < 100_000 && faults < 20; i++) {
                    Ring r = null;
                    try {
                        r = Ring.open(n);
                    } catch (InternalError truncatedUnderTheRead) {
                        faults++;
                    } catch (RingFormatException seenTruncated) {
                        // too small, or zeroes where the header was: refused before any fault
                    } finally {
                        if (r != null) {
                            r.close();
                        }
                    }
                }
            } finally {
                stop.set(true);
                truncating.get();
            }
            assumeTrue(faults > 0, "no open met a truncation");
            Fds.assertNoneAdded(before);
        }
    }

    @Test
    void theWatcherOfPeersStopsAndLeavesNoDescriptorBehindWhenTheLastWatchingRingCloses() throws Exception {
        // FAULT-05 for the ring's peer watcher: one thread and one pidfd per watched pid, while watched
        String n = name();
        try (Ring ring = Ring.create(n, 4096)) {
            Process producer = new ProcessBuilder(Peers.path("ring_peer"), "stall", n, "0", "100")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try (BufferedReader out = new BufferedReader(new InputStreamReader(producer.getInputStream(),
                    StandardCharsets.UTF_8))) {
                assertEquals("stalled", out.readLine(), "ring_peer stall registered as the producer");
                Map<Integer, String> before = Fds.snapshot();
                try (Ring consumer = Ring.open(n)) {
                    for (int i = 0; i < 100; i++) {
                        assertNull(consumer.poll(Duration.ofMillis(1)), "nothing is ever published");
                    }
                    assertTrue(PeerWatch.running(), "a consumer waiting for a live producer has it watched");
                    Thread watcher = PeerWatch.thread();
                    assertNotNull(watcher);
                    assertEquals(1, Thread.getAllStackTraces().keySet().stream()
                            .filter(t -> t.getName().equals(watcher.getName())).count(), "one watcher thread");
                }
                Thread watcher = PeerWatch.thread();
                if (watcher != null) {
                    watcher.join(TimeUnit.SECONDS.toMillis(5));
                }
                assertFalse(PeerWatch.running(), "nothing is watched once the ring is closed");
                Fds.assertNoneAdded(before);
            } finally {
                producer.destroyForcibly().waitFor();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aHandlerThatClosesTheRingIsHandedNoMoreMessagesAndTheRestStay(boolean timed) throws Exception {
        // a poll went on draining a handle closed under it, handing messages over after close
        // (its consumer registration gone); it ends after the message being handled
        String n = name();
        try (Ring producer = Ring.create(n, 4096, 100, false, 0600)) {
            for (String m : List.of("one", "two", "three")) {
                assertTrue(producer.offer(bytes(m)));
            }
            Ring consumer = Ring.open(n);
            List<String> handed = new ArrayList<>();
            Ring.Handler closing = m -> {
                byte[] b = new byte[m.remaining()];
                m.get(b);
                handed.add(text(b));
                consumer.close();
            };
            assertEquals(1, timed ? consumer.poll(closing, Duration.ofSeconds(5)) : consumer.poll(closing));
            assertEquals(List.of("one"), handed);
            assertThrows(ClosedChannelException.class, () -> consumer.poll(closing));
            try (Ring next = Ring.open(n)) {
                assertEquals("two", text(next.poll(Duration.ZERO)));
                assertEquals("three", text(next.poll(Duration.ZERO)));
            }
        }
    }
}
