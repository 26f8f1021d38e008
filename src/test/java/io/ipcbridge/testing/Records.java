package io.ipcbridge.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * The sequence-numbered record of the "nothing lost" checks, byte for byte the one of
 * native-tests/include/ipcb_record.h (u64 producer | u64 seq | u32 len | payload | u32 crc32,
 * little-endian), and the checker for gaps, duplicates, reordering and torn records.
 */
public final class Records {
    /** The producer id of the end marker. */
    public static final long STOP = -1L;
    /** The longest record. */
    public static final int MAX = 20 + 31 + 4;

    private Records() {
    }

    /** The priority a record is sent with: (seq ^ (seq >> 3) ^ producer) & 3. */
    public static int priority(long producer, long seq) {
        return (int) ((seq ^ (seq >>> 3) ^ producer) & 3);
    }

    /** Record (producer, seq). */
    public static byte[] build(long producer, long seq) {
        int len = (int) Long.remainderUnsigned(seq, 32);
        ByteBuffer b = ByteBuffer.allocate(20 + len + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(producer).putLong(seq).putInt(len);
        for (int i = 0; i < len; i++) {
            b.put((byte) (producer + seq + i));
        }
        CRC32 crc = new CRC32();
        crc.update(b.array(), 0, 20 + len);
        b.putInt((int) crc.getValue());
        return b.array();
    }

    /**
     * Checks a received record: {producer, seq}.
     *
     * @throws AssertionError if it is torn (bad length or CRC)
     */
    public static long[] check(byte[] record) {
        ByteBuffer b = ByteBuffer.wrap(record).order(ByteOrder.LITTLE_ENDIAN);
        assertTrue(record.length >= 24, "torn record: " + record.length + " bytes");
        int len = b.getInt(16);
        assertEquals(20 + len + 4, record.length, "torn record: length field " + len);
        CRC32 crc = new CRC32();
        crc.update(record, 0, 20 + len);
        assertEquals((int) crc.getValue(), b.getInt(20 + len), "torn record: CRC");
        return new long[] {b.getLong(0), b.getLong(8)};
    }

    /**
     * Counts what consumers received and checks the order each one saw: within one (producer,
     * priority), sequence numbers strictly increase.
     */
    public static final class Checker {
        private final Map<Long, long[]> lastSeen = new HashMap<>();
        private final Map<Long, java.util.BitSet> received = new HashMap<>();
        private long duplicates;
        private long total;

        /** Records that consumer {@code consumer} received record (producer, seq) with {@code priority}. */
        public void add(int consumer, long producer, long seq, int priority) {
            assertEquals(priority(producer, seq), priority, "priority of " + producer + "/" + seq);
            long key = (long) consumer << 40 | producer << 8 | priority;
            long[] last = lastSeen.computeIfAbsent(key, k -> new long[] {-1});
            assertTrue(seq > last[0], "consumer " + consumer + " saw producer " + producer + " priority "
                    + priority + " seq " + seq + " after " + last[0]);
            last[0] = seq;
            java.util.BitSet seen = received.computeIfAbsent(producer, p -> new java.util.BitSet());
            if (seen.get((int) seq)) {
                duplicates++;
            }
            seen.set((int) seq);
            total++;
        }

        /** Adds every (producer, seq, priority, 0) line a C consumer appended to {@code file}. */
        public void addFile(int consumer, Path file) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(0, b.remaining() % 32, "whole lines");
            while (b.hasRemaining()) {
                add(consumer, b.getLong(), b.getLong(), (int) b.getLong());
                assertEquals(0, b.getLong(), "padding");
            }
        }

        /** How many records were received in all, duplicates included. */
        public long total() {
            return total;
        }

        /** How many were received more than once. */
        public long duplicates() {
            return duplicates;
        }

        /** The sequence numbers of {@code producer} below {@code count} that nobody received. */
        public java.util.BitSet missing(long producer, long count) {
            java.util.BitSet gaps = new java.util.BitSet();
            gaps.set(0, (int) count);
            gaps.andNot(received.getOrDefault(producer, new java.util.BitSet()));
            return gaps;
        }
    }
}
