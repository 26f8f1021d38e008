package io.ipcbridge.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.socket.Socket;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.FutureTask;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every throughput sink (bench_peer's, bench_peer.py's, the Java loop's) checks what arrives, not
 * only how much: the byte at each multiple of a stride against what the sources send there. They
 * counted bytes only, so a side that delivered wrong bytes passed. Here the Java source sends four
 * 64 KiB messages through a link that corrupts the second; the run fails, naming the offset, the
 * byte expected and the byte found.
 */
class SinkContentTest {
    private static final int K64 = 64 << 10;
    /** The first byte bench_peer and the Java sink check in the second message: 16 x 4099, its byte 48. */
    private static final long CHECKED = 16L * Loops.SAMPLE_STRIDE;
    /** bench_peer.py checks one byte in 100,003: byte 34,467 of the second message. */
    private static final long CHECKED_BY_PYTHON = 100_003;

    /** What the link does to the second message. */
    enum Corruption {
        /** It arrives as zeros. */
        ZEROS,
        /** It arrives with the first one's bytes (a message repeated, or left over from a receive). */
        REPEAT
    }

    @ParameterizedTest
    @EnumSource(Corruption.class)
    void theCSinkFailsOnWrongBytes(Corruption how) throws Exception {
        assertNamesTheByte(how, CHECKED, failure(SinkCountTest.Sink.C, how));
    }

    @ParameterizedTest
    @EnumSource(Corruption.class)
    void thePythonSinkFailsOnWrongBytes(Corruption how) throws Exception {
        assertNamesTheByte(how, CHECKED_BY_PYTHON, failure(SinkCountTest.Sink.PYTHON, how));
    }

    @ParameterizedTest
    @EnumSource(Corruption.class)
    void theJavaSinkFailsOnWrongBytes(Corruption how) throws Exception {
        String failure = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (Socket.Pair p = Socket.pair(Socket.Type.SEQPACKET)) {
                FutureTask<Void> source = new FutureTask<>(() -> {
                    Loops.source(corrupting(End.of(p.first()::write, null, p.first()), how), 4 * K64, K64);
                    return null;
                });
                Thread t = new Thread(source, "source");
                t.setDaemon(true);
                t.start();
                IOException e = assertThrows(IOException.class,
                        () -> Loops.sink(End.of(null, p.second()::read, p.second()), 4 * K64, K64));
                p.second().close(); // a source blocked on a full socket fails
                t.join();
                return e.getMessage();
            }
        });
        assertNamesTheByte(how, CHECKED, failure);
    }

    /** How a sink process failed on the four messages, the second corrupted. */
    private static String failure(SinkCountTest.Sink sink, Corruption how) throws Exception {
        SinkCountTest.Outcome r = SinkCountTest.run(sink, 4 * K64, end -> Loops.source(corrupting(end, how), 4 * K64,
                K64));
        assertFalse(r.success(), "the sink exits with a failure: " + r);
        assertEquals("", r.out(), "no rate printed for wrong data");
        return r.err();
    }

    /** {@code failure} names byte {@code checked}, what {@code how} put there and what the source sent. */
    private static void assertNamesTheByte(Corruption how, long checked, String failure) {
        int want = sent(checked);
        int found = how == Corruption.ZEROS ? 0 : sent(checked - K64);
        assertTrue(want != found, "the corruption changes the byte checked");
        assertTrue(failure.contains(String.format(Locale.ROOT, "byte %d of the data is 0x%02x, expected 0x%02x",
                checked, found, want)), failure);
    }

    /** The byte a source of 64 KiB messages sends at {@code offset}. */
    private static int sent(long offset) {
        ByteBuffer m = Loops.message(Loops.sourcePattern(K64), offset / K64, K64);
        return m.get(m.position() + (int) (offset % K64)) & 0xff;
    }

    /** {@code end}, but its second send carries {@code how}'s bytes instead of the source's. */
    private static End corrupting(End end, Corruption how) {
        ByteBuffer first = ByteBuffer.allocateDirect(K64);
        int[] sends = {0};
        return End.of(b -> {
            int n = b.remaining();
            ByteBuffer sent = b;
            if (sends[0] == 0) {
                first.put(b.duplicate()).flip();
            } else if (sends[0] == 1) {
                sent = how == Corruption.ZEROS ? ByteBuffer.allocateDirect(n) : first.duplicate();
            }
            sends[0]++;
            end.send(sent);
            b.position(b.limit());
            return n;
        }, null, end);
    }
}
