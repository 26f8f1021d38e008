package io.ipcbridge.testing;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The deterministic byte stream of native-tests/include/peer.h: xorshift64 (13, 7, 17), each state
 * emitted as 8 little-endian bytes; a zero seed means 0x9E3779B97F4A7C15. Chunking does not change
 * the stream.
 */
public final class Pattern {
    private long state;
    private long word;
    private int used = 8;

    public Pattern(long seed) {
        state = seed == 0 ? 0x9E3779B97F4A7C15L : seed;
    }

    /** Fills {@code dst} from its position to its limit. */
    public void fill(ByteBuffer dst) {
        ByteBuffer b = dst.order() == ByteOrder.LITTLE_ENDIAN ? dst : dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int pos = dst.position();
        int end = dst.limit();
        while (pos < end && used < 8) {
            b.put(pos++, (byte) (word >>> (8 * used++)));
        }
        while (end - pos >= 8) {
            next();
            b.putLong(pos, word);
            pos += 8;
        }
        if (pos < end) {
            next();
            used = 0;
            while (pos < end) {
                b.put(pos++, (byte) (word >>> (8 * used++)));
            }
        }
        dst.position(end);
    }

    /** {@code n} bytes of the stream. */
    public byte[] bytes(int n) {
        ByteBuffer b = ByteBuffer.allocate(n);
        fill(b);
        return b.array();
    }

    private void next() {
        long x = state;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        state = x;
        word = x;
        used = 8;
    }
}
