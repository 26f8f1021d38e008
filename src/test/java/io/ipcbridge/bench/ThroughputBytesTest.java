package io.ipcbridge.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The bytes a throughput run moves for a --bytes value. The bounded buffer of shm-sem has fixed
 * 64 KiB records without a length: its receivers (Java and bench_peer) take a whole record for a
 * short last send and count 64 KiB, so a --bytes that was not a multiple of 64 KiB (1,000,000, say)
 * failed every shm-sem throughput run ("bench_peer sink bb:... ended with exit 1", or "received
 * 1048576 bytes, expected 1000000"). It moves whole records now; the others move what was asked.
 */
class ThroughputBytesTest {
    private static long bytes(String mechanism, long requested) {
        return Mechanisms.byId(mechanism).orElseThrow().bytes(requested);
    }

    @Test
    void theBoundedBufferMovesWholeRecords() {
        assertEquals(983_040, bytes("shm-sem", 1_000_000)); // 15 records of 64 KiB
        assertEquals(196_608, bytes("shm-sem", 200_000)); // 3 records
        assertEquals(1L << 30, bytes("shm-sem", 1L << 30));
    }

    @Test
    void theOthersMoveWhatWasAsked() {
        assertEquals(1_000_000, bytes("pipe", 1_000_000));
        assertEquals(1_000_000, bytes("mq", 1_000_000)); // 8 KiB messages, the last one shorter
    }

    /**
     * ring-64b and conn-64b moved as many 64-byte messages as the others move 64 KiB ones, 1/1024 of
     * the bytes: 16,384 messages at the full 1 GiB, so ring-64b was timed over about a millisecond and
     * one preemption decided its figure. They move 1/16 of the bytes, in whole messages, two at least.
     */
    @Test
    void smallMessagesMoveASixteenthOfTheBytes() {
        assertEquals(1L << 26, bytes("ring-64b", 1L << 30)); // 1,048,576 records of 64 bytes
        assertEquals(1L << 26, bytes("conn-64b", 1L << 30));
        assertEquals(1L << 20, bytes("conn-64b", 16L << 20)); // --quick
        assertEquals(976 * 64, bytes("ring-64b", 1_000_000)); // 62,500 rounded down to whole records
        assertEquals(2 * 64, bytes("ring-64b", 1_000)); // two records at least: the receiver times from the first
    }
}
