package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Names;
import io.ipcbridge.testing.Peers;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * RELIABILITY.md LOAD-03, LOAD-04, LOAD-05 at the catalogue's sizes, as integrity checks against
 * real peers: every reply, message and byte is verified. The rates are printed for the record;
 * they are never asserted (scripts/bench measures them properly).
 */
class ThroughputIntegrityTest {
    private static final Duration LIMIT = Duration.ofMinutes(2);

    @Test
    @DisplayName("LOAD-03: 200,000 ping-pongs of 64 B with a C echo peer on a socketpair, every reply equal")
    void pingPongWithACEchoPeer() throws Exception {
        int count = 200_000;
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair p = Socket.pair(Socket.Type.STREAM);
                    ChildProcess echo = Command.of(Peers.path("sock_peer"), "echo-fd", "3").fd(3, p.second()).start()) {
                p.second().close();
                ByteBuffer out = ByteBuffer.allocateDirect(64);
                ByteBuffer in = ByteBuffer.allocateDirect(64);
                long[] rtt = new long[count];
                for (int i = 0; i < count; i++) {
                    out.clear().putLong(0, i).putLong(56, ~i);
                    long t0 = System.nanoTime();
                    p.first().write(out);
                    in.clear();
                    while (in.hasRemaining()) {
                        assertTrue(p.first().read(in) > 0, "the echo ended early");
                    }
                    rtt[i] = System.nanoTime() - t0;
                    assertEquals(out.flip(), in.flip(), "reply " + i);
                }
                p.first().shutdownOutput();
                assertTrue(echo.waitFor().success());
                Arrays.sort(rtt);
                System.out.printf("LOAD-03: %d round trips, median %.1f us%n", count, rtt[count / 2] / 1e3);
            }
        });
    }

    @Test
    @DisplayName("LOAD-04: 1,000,000 messages through a 10-message queue to a C consumer: no gap, duplicate or reorder")
    void aMillionMessagesToACConsumer() throws Exception {
        int count = 1_000_000;
        String name = Names.unique("load04");
        assertTimeoutPreemptively(LIMIT, () -> {
            try (MessageQueue q = MessageQueue.createExclusively(name, 10, 72, 0600);
                    Pipe out = Pipe.open();
                    ChildProcess consumer = Command.of(Peers.path("mq_peer"), "receive", name, Integer.toString(count))
                            .stdout(out.sink()).start()) {
                out.sink().close();
                ByteBuffer m = ByteBuffer.allocateDirect(72).order(ByteOrder.LITTLE_ENDIAN);
                long t0 = System.nanoTime();
                for (int seq = 0; seq < count; seq++) { // mq_peer's format: seq, then seq % 64 bytes of seq & 0xff
                    m.clear().putLong(seq);
                    for (int k = 0; k < seq % 64; k++) {
                        m.put((byte) seq);
                    }
                    q.send(m.flip(), 0);
                }
                String result = new String(out.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
                assertTrue(consumer.waitFor().success(), "the C consumer found no gap, duplicate or reorder");
                assertEquals("received " + count, result);
                assertEquals(0, q.attributes().currentMessages(), "nothing sent twice after the last one received");
                System.out.printf("LOAD-04: %d messages, %.0f msg/s%n", count, count / ((System.nanoTime() - t0) / 1e9));
            } finally {
                MessageQueue.unlink(name);
            }
        });
    }

    @Test
    @DisplayName("LOAD-05: 2 GiB through a pipe in 64 KiB chunks to sha256sum: the digests are equal")
    void twoGibibytesThroughAPipeKeepTheirDigest() throws Exception {
        long total = 2L << 30;
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe data = Pipe.open(); Pipe out = Pipe.open();
                    ChildProcess sha = Command.of("sha256sum").stdin(data.source()).stdout(out.sink()).start()) {
                data.source().close();
                out.sink().close();
                MessageDigest digest = MessageDigest.getInstance("SHA-256");
                byte[] chunk = new byte[65536];
                ThreadLocalRandom.current().nextBytes(chunk);
                ByteBuffer direct = ByteBuffer.allocateDirect(chunk.length);
                long t0 = System.nanoTime();
                for (long written = 0; written < total; written += chunk.length) {
                    ByteBuffer.wrap(chunk).putLong(0, written); // every chunk differs
                    digest.update(chunk);
                    data.sink().write(direct.clear().put(chunk).flip());
                }
                data.sink().close();
                String line = new String(out.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII);
                assertTrue(sha.waitFor().success());
                assertEquals(HexFormat.of().formatHex(digest.digest()), line.split(" ")[0]);
                System.out.printf("LOAD-05: 2 GiB in %.2f s (hashing on both sides included)%n",
                        (System.nanoTime() - t0) / 1e9);
            }
        });
    }
}
