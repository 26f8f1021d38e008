package io.ipcbridge.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.conn.Connection;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Peers;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.Test;

/**
 * The throughput figure of every sink (bench_peer's, bench_peer.py's, the Java loop's): a receiver
 * times from the return of its first receive to that of its last, so the bytes of that first
 * receive, in before the clock started, are not part of the rate. They were: two 64 KiB messages
 * counted as 128 KiB in the time of the second one (2x the rate), and data that came in one
 * receive gave 0 ns, "Infinity MB/s" and NaN ratios, exit 0.
 */
class SinkRateTest {
    private static final int K64 = 64 << 10;

    /** bench_peer sink over a seqpacket pair: two 64 KiB messages, two receives; the line counts the second only. */
    @Test
    void theCSinkCountsOnlyTheBytesItTimed() throws Exception {
        String peer = Peers.path("bench_peer");
        try (Socket.Pair p = Socket.pair(Socket.Type.SEQPACKET); Pipe out = Pipe.open()) {
            ByteBuffer pattern = Loops.sourcePattern(K64);
            p.first().write(Loops.message(pattern, 0, K64));
            p.first().write(Loops.message(pattern, 1, K64));
            try (ChildProcess sink = Command.of(peer, "sink", "3", Integer.toString(2 * K64), Integer.toString(K64))
                    .fd(3, p.second()).stdout(out.sink()).start()) {
                out.sink().close();
                p.second().close();
                String line = readAll(out.source().inputStream());
                assertTrue(sink.waitFor().success(), line);
                String[] f = line.trim().split(" ");
                assertEquals(Integer.toString(K64), f[0], "the bytes after the first receive: " + line);
            }
        }
    }

    /** bench_peer.py sink on a Connection: two 64 KiB messages; the line counts the second only. */
    @Test
    void thePythonSinkCountsOnlyTheBytesItTimed() throws Exception {
        String python;
        try (InputStream in = Bench.class.getResourceAsStream("bench_peer.py")) {
            python = new String(Objects.requireNonNull(in).readAllBytes(), StandardCharsets.UTF_8);
        }
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM); Pipe out = Pipe.open()) {
            Connection c = Connection.over(p.first());
            ByteBuffer pattern = Loops.sourcePattern(K64);
            try (ChildProcess sink = Command.of(List.of("python3", "-c", python, "sink", "conn:3",
                    Integer.toString(2 * K64), Integer.toString(K64))).fd(3, p.second()).stdout(out.sink()).start()) {
                out.sink().close();
                p.second().close();
                c.sendBytes(Loops.message(pattern, 0, K64));
                c.sendBytes(Loops.message(pattern, 1, K64));
                String line = readAll(out.source().inputStream());
                assertTrue(sink.waitFor().success(), line);
                assertEquals(Integer.toString(K64), line.trim().split(" ")[0], "the bytes after the first receive: "
                        + line);
            }
        }
    }

    /** The Java sink on a clock that ticks 1 us per reading: 64 KiB in 1 us after the first receive. */
    @Test
    void theJavaSinkCountsOnlyTheBytesItTimed() throws Exception {
        long[] now = {0};
        double rate = Loops.sink(chunks(K64, K64), 2 * K64, K64, () -> now[0] += 1_000);
        assertEquals(K64 * 1e9 / 1_000, rate, 1e-6);
        IOException one = assertThrows(IOException.class, () -> Loops.sink(chunks(1000), 1000, K64,
                () -> now[0] += 1_000));
        assertTrue(one.getMessage().contains("one receive"), one.getMessage());
    }

    /** An end whose receives return messages of {@code sizes}, each the next one a 64 KiB source sends. */
    private static End chunks(int... sizes) {
        Deque<Integer> left = new ArrayDeque<>();
        for (int s : sizes) {
            left.add(s);
        }
        ByteBuffer pattern = Loops.sourcePattern(K64);
        long[] k = {0};
        return End.of(b -> 0, b -> {
            int n = left.isEmpty() ? -1 : left.poll();
            if (n > 0) {
                b.put(Loops.message(pattern, k[0]++, n));
            }
            return n;
        });
    }

    private static String readAll(InputStream in) throws IOException {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }
}
