package io.ipcbridge.interop;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.Descriptor;
import io.ipcbridge.HasDescriptor;
import io.ipcbridge.cli.RingRecords;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.ring.Ring;
import io.ipcbridge.ring.RingFormatException;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Peers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Rings in sealed memfds ({@link Ring#memfd}): handed to ring_peer on fd 3 (ipcb_ring_open_fd) and
 * over a socket to {@link Ring#map}, where no peer can truncate them (SEC-13, SHM-11; the records are
 * NL-09's: 0 torn, 0 missing).
 */
class RingMemfdTest {
    private static final Duration LIMIT = Duration.ofSeconds(120);
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int MAX = 1024;
    private static final int RECORDS = 200_000;

    /** Starts {@code argv} with {@code segment} on its fd 3 and its stdout and stderr into {@code out}. */
    private static ChildProcess start(HasDescriptor segment, Pipe out, String... argv) throws IOException {
        return Command.of(argv).fd(3, segment).stdout(out.sink()).redirectErrorStream(true).start();
    }

    /** Starts ring_peer with {@code args}, {@code ring} on its fd 3. */
    private static ChildProcess peer(HasDescriptor ring, Pipe out, String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of(Peers.path("ring_peer")));
        argv.addAll(List.of(args));
        return start(ring, out, argv.toArray(String[]::new));
    }

    /** What the child wrote, and its exit code. */
    private static String finish(ChildProcess child, Pipe out, int code) throws Exception {
        out.sink().close();
        String said = new String(out.source().inputStream().readAllBytes(), US_ASCII);
        assertEquals(code, child.waitFor().code(), said);
        return said;
    }

    /** Offers records seq 0 .. count-1 of producer {@code id}. */
    private static void produce(Ring ring, int id, long seed, int count, int min) throws Exception {
        ByteBuffer b = ByteBuffer.allocateDirect(MAX);
        for (long seq = 0; seq < count; seq++) {
            assertTrue(ring.offer(RingRecords.fill(b, id, seed, seq, min, MAX), WAIT), "room for record " + seq);
        }
    }

    @Test
    void aJavaProducerFeedsACConsumerGivenTheMemfdRingOnFd3() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Ring ring = Ring.memfd("to-c", 1 << 16, MAX, false); Pipe out = Pipe.open();
                    ChildProcess c = peer(ring, out, "consume", "fd:3", Integer.toString(RECORDS), "41")) {
                assertEquals("memfd:to-c", ring.name());
                produce(ring, 0, 41, RECORDS, 0);
                assertEquals("ok " + RECORDS + "\n", finish(c, out, 0));
            }
        });
    }

    @Test
    void aCProducerGivenTheMemfdRingOnFd3FeedsAJavaConsumer() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Ring ring = Ring.memfd("from-c", 1 << 16, MAX, false); Pipe out = Pipe.open();
                    ChildProcess c = peer(ring, out, "produce", "fd:3", Integer.toString(RECORDS), "42")) {
                long[] next = {0};
                while (next[0] < RECORDS) {
                    int n = ring.poll(m -> {
                        String wrong = RingRecords.check(m, 0, 42, next[0]++, 0, MAX);
                        if (wrong != null) {
                            throw new IOException(wrong);
                        }
                    }, WAIT);
                    assertTrue(n > 0, "a record within " + WAIT + " (after " + next[0] + ")");
                }
                assertEquals("", finish(c, out, 0));
                assertNull(ring.poll(Duration.ZERO), "nothing more");
            }
        });
    }

    @Test
    void aJavaAndACProducerFeedACConsumerThroughAMultiProducerMemfdRing() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Ring ring = Ring.memfd("multi", 1 << 16, MAX, true); Pipe consumed = Pipe.open();
                    Pipe produced = Pipe.open();
                    ChildProcess consumer = peer(ring, consumed, "consume", "fd:3", Integer.toString(2 * RECORDS),
                            "43", "--producers", "2", "--min", "8");
                    ChildProcess producer = peer(ring, produced, "produce", "fd:3", Integer.toString(RECORDS),
                            "43", "--producer", "0", "--min", "8")) {
                produce(ring, 1, 44, RECORDS, 8);
                assertEquals("", finish(producer, produced, 0));
                assertEquals("ok " + 2 * RECORDS + "\n", finish(consumer, consumed, 0));
            }
        });
    }

    @Test
    void aPeerCannotTruncateAMemfdRingAndTheCompareAndSetsGoOn() throws Exception {
        // SEC-13, SHM-11: a named ring's peer truncating it could crash the JVM in a compare-and-set; the
        // memfd ring is sealed against shrinking and growing, so the peer's ftruncate(2) is EPERM and the
        // multi-producer ring's claims (compare-and-set) and wake-ups (get-and-add) work on
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Ring ring = Ring.memfd("sealed", 4096, 100, true); Pipe out = Pipe.open()) {
                assertTrue(ring.offer(ByteBuffer.wrap("before".getBytes(US_ASCII))));
                try (ChildProcess python = start(ring, out, "python3", "-c", "import errno, fcntl, os\n"
                        + "for size in (0, 512, 1 << 20):\n"
                        + "    try:\n"
                        + "        os.ftruncate(3, size)\n"
                        + "        print(size, 'resized')\n"
                        + "    except OSError as e:\n"
                        + "        print(size, errno.errorcode[e.errno])\n"
                        + "print(hex(fcntl.fcntl(3, fcntl.F_GET_SEALS)), os.fstat(3).st_size)\n")) {
                    assertEquals("0 EPERM\n512 EPERM\n1048576 EPERM\n0x6 4608\n", finish(python, out, 0));
                }
                assertArrayEquals("before".getBytes(US_ASCII), ring.poll(WAIT));
                for (int i = 0; i < 1000; i++) {
                    byte[] m = ("after " + i).getBytes(US_ASCII);
                    assertTrue(ring.offer(ByteBuffer.wrap(m)), "room for message " + i);
                    assertArrayEquals(m, ring.poll(WAIT));
                }
                assertEquals(0, ring.info().used());
            }
        });
    }

    @Test
    void aMemfdRingSentOverASocketIsJoinedByMapAndTheDescriptorTakenOver() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            var fds = Fds.snapshot();
            try (Ring ring = Ring.memfd("sent", 4096, 100, true); Socket.Pair pair = Socket.pair(Socket.Type.STREAM)) {
                pair.first().sendDescriptors(ByteBuffer.wrap(new byte[] {'r'}), List.of(ring.descriptor()));
                Descriptor received = pair.second().receiveDescriptors(ByteBuffer.allocate(1), 1).get(0);
                try (Ring joined = Ring.map(received)) {
                    assertFalse(received.isOpen(), "the ring took the received descriptor over");
                    assertEquals("Ring[" + received.name() + ", 4096 bytes, multi-producer]", joined.toString());
                    assertEquals(100, joined.maxMessage());
                    assertTrue(joined.offer(ByteBuffer.wrap("joined".getBytes(US_ASCII))));
                    assertArrayEquals("joined".getBytes(US_ASCII), ring.poll(WAIT), "the same ring");
                    assertEquals(ring.info(), joined.info());
                }
                assertEquals("Ring[memfd:sent, 4096 bytes, multi-producer]", ring.toString());
            }
            Fds.assertNoneAdded(fds);
        });
    }

    @Test
    void aDescriptorOfSomethingElseIsRefusedAndClosedByJavaAndByC() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            var fds = Fds.snapshot();
            for (int size : new int[] {100, 4096 + 512}) {
                try (SharedMemory zeros = SharedMemory.memfd("zeros", size, true);
                        Socket.Pair pair = Socket.pair(Socket.Type.STREAM)) {
                    pair.first().sendDescriptors(ByteBuffer.wrap(new byte[] {'z'}), List.of(zeros.descriptor()));
                    Descriptor received = pair.second().receiveDescriptors(ByteBuffer.allocate(1), 1).get(0);
                    RingFormatException e = assertThrows(RingFormatException.class, () -> Ring.map(received));
                    assertEquals("ring " + received.name() + ": " + (size == 100
                            ? "its 100 bytes are too few for a ring header (512 bytes)"
                            : "not a ring (magic 0x0000000000000000, expected 0x474e495242435049)"), e.getMessage());
                    assertFalse(received.isOpen(), "the refused descriptor is closed");
                    try (Pipe out = Pipe.open(); ChildProcess c = peer(zeros, out, "consume", "fd:3", "1", "1")) {
                        assertEquals(size == 100 ? "ring fd 3: 100 bytes, no room for the 512-byte header\n"
                                : "ring fd 3: magic 0x0000000000000000, expected 0x474e495242435049 (not a ring,"
                                + " or not initialised yet)\n", finish(c, out, 2));
                    }
                }
            }
            Fds.assertNoneAdded(fds);
        });
    }

    @Test
    void memfdAndMapRefuseBadArgumentsBeforeAnyCall() {
        var fds = Fds.snapshot();
        assertEquals("ring capacity 1000 is not a power of two from 1024 to 1073741824",
                assertThrows(IllegalArgumentException.class, () -> Ring.memfd("r", 1000, 100, false)).getMessage());
        assertEquals("maximum message 4096 is not within 0..2040 for a ring of 4096 bytes",
                assertThrows(IllegalArgumentException.class, () -> Ring.memfd("r", 4096, 4096, false)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> Ring.memfd("r", 4096, -1, true));
        assertThrows(IllegalArgumentException.class, () -> Ring.memfd("x".repeat(250), 4096, 100, false));
        assertThrows(IllegalArgumentException.class, () -> Ring.memfd("a\0b", 4096, 100, false));
        assertThrows(NullPointerException.class, () -> Ring.memfd(null, 4096, 100, false)); // NullArgumentTest
        Fds.assertNoneAdded(fds);
    }
}
