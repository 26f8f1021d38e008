package io.ipcbridge.conn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.ipcbridge.cli.PatternStream;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Peers;
import java.io.EOFException;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/** A framed stream whose writer is SIGKILLed mid-frame (RELIABILITY.md NL-04). */
class ConnectionNoLossTest {
    private static final Duration LIMIT = Duration.ofMinutes(2);
    private static final long SEED = 77;

    @Test
    void aWriterKilledMidFrameLeavesAnExactPrefixAndAnEndOfFile() throws Exception {
        // NL-04: conn_peer sends frames of 0-70,000 bytes (1,000,000 announced) over a stream socket
        // and is killed after a random number of them has arrived; every frame received is the one
        // sent, in order, and the cut frame is never delivered: the stream ends with EOFException
        // (TruncatedMessageException when the kill fell inside a frame)
        int killAfter = ThreadLocalRandom.current().nextInt(50, 500);
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM);
                    ChildProcess writer = Command.of(Peers.path("conn_peer"), "send", "3", "1000000",
                            Long.toString(SEED)).fd(3, pair.second()).start();
                    Connection in = Connection.over(pair.first())) {
                pair.second().close();
                int i = 0;
                for (; i < killAfter; i++) {
                    assertArrayEquals(frame(i), in.recvBytes(), "frame " + i);
                }
                writer.kill();
                assertEquals(9, writer.waitFor().signal());
                int received = i;
                EOFException end = assertThrows(EOFException.class, () -> {
                    for (int k = received; ; k++) {
                        assertArrayEquals(frame(k), in.recvBytes(), "frame " + k + ", after the kill");
                    }
                });
                assertEquals(true, end.getMessage() != null, "the end says what happened");
            }
        });
    }

    /** Frame {@code i} of conn_peer send: (i * 7919) % 70001 bytes of pattern(SEED + i). */
    private static byte[] frame(int i) {
        return new PatternStream(SEED + i).bytes((int) ((long) i * 7919 % 70001));
    }
}
