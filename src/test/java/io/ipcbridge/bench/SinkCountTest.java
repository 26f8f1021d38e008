package io.ipcbridge.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.conn.Connection;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Peers;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A throughput sink of the benchmark (bench_peer's, bench_peer.py's) fails, with a message, unless
 * exactly the bytes it was to receive arrived. bench_peer.py's printed a rate and exited 0 for
 * any count at or past BYTES, and met an early end with an EOFError's traceback; bench_peer's
 * exited 1 past BYTES without a word. (The Java sink, Loops.sink, already checked.)
 */
class SinkCountTest {
    private static final int K64 = 64 << 10;

    /** The sink on the other end of a pair: C over seqpacket, Python over a Connection's stream. */
    enum Sink {
        C, PYTHON
    }

    /** How a sink process ended: its exit, its stdout and its stderr. */
    record Outcome(boolean success, String out, String err) {
    }

    /** What a test sends a sink, on an end whose close ends the data. */
    @FunctionalInterface
    interface Sending {
        void send(End end) throws IOException;
    }

    /** Runs {@code sink} for {@code bytes} and sends it {@code messages} of 64 KiB as a source does. */
    private static Outcome run(Sink sink, long bytes, int messages) throws Exception {
        return run(sink, bytes, end -> Loops.source(end, (long) messages * K64, K64));
    }

    /**
     * Runs {@code sink} for {@code bytes} of 64 KiB sends and gives {@code sending} the end that
     * sends to it (a failure to send is the sink having stopped: its outcome says why).
     */
    static Outcome run(Sink sink, long bytes, Sending sending) throws Exception {
        return assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (Socket.Pair p = Socket.pair(sink == Sink.C ? Socket.Type.SEQPACKET : Socket.Type.STREAM);
                    Pipe out = Pipe.open(); Pipe err = Pipe.open()) {
                List<String> argv = sink == Sink.C
                        ? List.of(Peers.path("bench_peer"), "sink", "3", Long.toString(bytes), Integer.toString(K64))
                        : List.of("python3", "-c", python(), "sink", "conn:3", Long.toString(bytes),
                                Integer.toString(K64));
                try (ChildProcess child = Command.of(argv).fd(3, p.second()).stdout(out.sink()).stderr(err.sink())
                        .start()) {
                    out.sink().close();
                    err.sink().close();
                    p.second().close();
                    Connection c = sink == Sink.PYTHON ? Connection.over(p.first()) : null;
                    End end = c == null ? End.of(p.first()::write, null, p.first()) : End.of(b -> {
                        int n = b.remaining();
                        c.sendBytes(b);
                        b.position(b.limit());
                        return n;
                    }, null, p.first());
                    try (end) {
                        sending.send(end);
                    } catch (IOException e) {
                        // the sink stopped reading
                    }
                    String o = readAll(out.source().inputStream());
                    String e = readAll(err.source().inputStream());
                    return new Outcome(child.waitFor().success(), o, e);
                }
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Sink.class)
    void moreBytesThanItWasToReceiveFailWithAMessage(Sink sink) throws Exception {
        Outcome r = run(sink, 2 * K64 + 1, 3);
        assertFalse(r.success(), "192 KiB for a sink of 128 KiB + 1 is not a result: " + r);
        assertTrue(r.err().contains("received " + 3 * K64 + " bytes, expected " + (2 * K64 + 1)), r.err());
        assertEquals("", r.out(), "no rate printed for a wrong count");
    }

    @ParameterizedTest
    @EnumSource(Sink.class)
    void anEarlyEndFailsWithAMessage(Sink sink) throws Exception {
        Outcome r = run(sink, 2 * K64, 1);
        assertFalse(r.success(), "64 KiB of 128 KiB is not a result: " + r);
        assertTrue(r.err().contains("the data ended after " + K64 + " of " + 2 * K64 + " bytes"), r.err());
        assertEquals("", r.out(), "no rate printed for a wrong count");
    }

    @ParameterizedTest
    @EnumSource(Sink.class)
    void exactlyTheBytesItWasToReceivePass(Sink sink) throws Exception {
        Outcome r = run(sink, 2 * K64, 2);
        assertTrue(r.success(), r.toString());
        assertEquals(Integer.toString(K64), r.out().trim().split(" ")[0], "the bytes after the first receive");
    }

    /** The text of bench_peer.py, for {@code python3 -c}. */
    static String python() throws IOException {
        try (InputStream in = Bench.class.getResourceAsStream("bench_peer.py")) {
            return new String(Objects.requireNonNull(in).readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** All of {@code in}, as ASCII; closes it. */
    static String readAll(InputStream in) throws IOException {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }
}
