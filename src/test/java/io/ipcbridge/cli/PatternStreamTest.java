package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.ipcbridge.testing.Pattern;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The demo's copy of the peers' byte stream matches the tests' {@link Pattern}, however it is cut. */
class PatternStreamTest {
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {0, 1, 2, 42, -1, Long.MIN_VALUE})
    void sameStreamAsTheTestPatternInAnyChunking(long seed) {
        byte[] expected = new Pattern(seed).bytes(100_003);
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
