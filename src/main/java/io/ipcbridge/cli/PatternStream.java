package io.ipcbridge.cli;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The deterministic byte stream of the C peers ({@code native-tests/include/peer.h}): xorshift64
 * (13, 7, 17) from the seed (0 means 0x9E3779B97F4A7C15), each state emitted as 8 little-endian
 * bytes. How the stream is cut into buffers does not change it. Used by the demo, the benchmarks
 * and the tests to check what crossed to and from a C peer.
 */
public final class PatternStream {
    private long state;
    private long word;
    private int used = 8;

    /** The stream of {@code seed}. */
    public PatternStream(long seed) {
        state = seed == 0 ? 0x9E3779B97F4A7C15L : seed;
    }

    /** Fills {@code dst} from its position to its limit; the position ends at the limit. */
    public void fill(ByteBuffer dst) {
        ByteBuffer le = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int pos = dst.position();
        int end = dst.limit();
        while (pos < end && used < 8) {
            le.put(pos++, (byte) (word >>> (8 * used++)));
        }
        while (end - pos >= 8) {
            advance();
            le.putLong(pos, word);
            pos += 8;
        }
        while (pos < end) {
            if (used == 8) {
                advance();
                used = 0;
            }
            le.put(pos++, (byte) (word >>> (8 * used++)));
        }
        dst.position(end);
    }

    /** The next {@code n} bytes of the stream. */
    public byte[] bytes(int n) {
        byte[] b = new byte[n];
        fill(ByteBuffer.wrap(b));
        return b;
    }

    private void advance() {
        long x = state;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        state = x;
        word = x;
        used = 8;
    }
}
