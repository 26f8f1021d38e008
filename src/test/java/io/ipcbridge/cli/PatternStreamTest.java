package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The byte stream is the C peers' (checked against a value they print) however it is cut. */
class PatternStreamTest {
    @Test
    void theStreamIsTheCPeers() {
        // native-tests/build/pipe_peer source 1 1000000 7 | native-tests/build/pipe_peer sink 0
        CRC32 crc = new CRC32();
        crc.update(new PatternStream(7).bytes(1_000_000));
        assertEquals("bf49c2bc", String.format("%08x", crc.getValue()));
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {0, 1, 2, 42, -1, Long.MIN_VALUE})
    void theSameStreamInAnyChunking(long seed) {
        byte[] expected = new PatternStream(seed).bytes(100_003);
        PatternStream stream = new PatternStream(seed);
        ByteBuffer got = ByteBuffer.allocateDirect(expected.length);
        Random cuts = new Random(seed);
        while (got.hasRemaining()) {
            int n = Math.min(got.remaining(), cuts.nextInt(20));
            ByteBuffer part = got.slice().limit(n);
            stream.fill(part);
            got.position(got.position() + n);
        }
        byte[] bytes = new byte[expected.length];
        got.flip().get(bytes);
        assertArrayEquals(expected, bytes);
    }
}
