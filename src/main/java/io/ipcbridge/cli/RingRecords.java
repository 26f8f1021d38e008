package io.ipcbridge.cli;

import java.nio.ByteBuffer;

/**
 * The sequence-numbered records of the ring demo and tests, generated and checked the same way as
 * native-tests/ring_peer.c does: record {@code seq} of producer {@code id} has
 * {@code min + splitmix64(seed + seq) % (max - min + 1)} bytes, where {@code seed} is ring_peer's
 * SEED + ID; byte i is byte i of the little-endian {@code seq | id << 56} for i < 8, else
 * {@code (byte) (seq + i)}.
 */
public final class RingRecords {
    private static final int CHUNK = 4096;
    /** Byte k is (byte) k: bytes 8.. of a record are a slice of it, taken in chunks. */
    private static final byte[] COUNTING = new byte[256 + CHUNK];

    static {
        for (int k = 0; k < COUNTING.length; k++) {
            COUNTING[k] = (byte) k;
        }
    }

    private RingRecords() {
    }

    /** splitmix64, the standard one. */
    private static long splitmix64(long x) {
        long z = x + 0x9e3779b97f4a7c15L;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** The length of record {@code seq}. */
    public static int length(long seed, long seq, int min, int max) {
        return min + (int) Long.remainderUnsigned(splitmix64(seed + seq), max - min + 1L);
    }

    /** Writes record {@code seq} of producer {@code id} into {@code dst} (cleared first), ready to read. */
    public static ByteBuffer fill(ByteBuffer dst, int id, long seed, long seq, int min, int max) {
        int length = length(seed, seq, min, max);
        dst.clear().limit(length);
        long first = seq | (long) id << 56;
        for (int i = 0; i < Math.min(8, length); i++) {
            dst.put(i, (byte) (first >>> (8 * i)));
        }
        for (int i = 8; i < length; i += CHUNK) {
            dst.put(i, COUNTING, (int) ((seq + i) & 0xff), Math.min(CHUNK, length - i));
        }
        return dst;
    }

    /** The producer id a record of at least 8 bytes carries in its first bytes. */
    public static int producer(ByteBuffer record) {
        return record.get(record.position() + 7) & 0xff;
    }

    /**
     * Checks that {@code record} (between position and limit) is record {@code seq} of producer
     * {@code id}; returns null if so, else what is wrong.
     */
    public static String check(ByteBuffer record, int id, long seed, long seq, int min, int max) {
        int length = length(seed, seq, min, max);
        if (record.remaining() != length) {
            return "record " + seq + " of producer " + id + " has " + record.remaining() + " bytes, not " + length;
        }
        long first = seq | (long) id << 56;
        int p = record.position();
        for (int i = 0; i < Math.min(8, length); i++) {
            if (record.get(p + i) != (byte) (first >>> (8 * i))) {
                return "record " + seq + " of producer " + id + " differs at byte " + i;
            }
        }
        for (int i = 8; i < length; i += CHUNK) {
            int n = Math.min(CHUNK, length - i);
            int at = record.slice(p + i, n).mismatch(ByteBuffer.wrap(COUNTING, (int) ((seq + i) & 0xff), n));
            if (at >= 0) {
                return "record " + seq + " of producer " + id + " differs at byte " + (i + at);
            }
        }
        return null;
    }
}
