package io.ipcbridge.ring;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Names;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Edge cases of the ring found by review: position counters, hostile headers. */
class RingReviewTest {
    private final List<String> names = new ArrayList<>();

    private String name() {
        String n = Names.unique("ring");
        names.add(n);
        return n;
    }

    @AfterEach
    void unlink() throws IOException {
        for (String n : names) {
            Files.deleteIfExists(Path.of("/dev/shm" + n));
        }
    }

    private static ByteBuffer bytes(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    @ParameterizedTest(name = "multi-producer {0}")
    @ValueSource(booleans = {false, true})
    void positionsCrossing2To63AreOrdinaryPositions(boolean multi) throws Exception {
        // Positions are unsigned 64-bit byte counts (ipcbridge_ring.h): a ring whose counters pass 2^63
        // (set here before anyone registers, as a ring that has carried 2^63 bytes has them) goes on.
        String n = name();
        long start = Long.MIN_VALUE - 1024; // 2^63 - 1024: the first lap crosses 2^63
        try (Ring producer = Ring.create(n, 1024, 100, multi, 0600); SharedMemory raw = SharedMemory.open(n);
             Ring consumer = Ring.open(n)) {
            raw.setLongRelease(64, start);
            raw.setLongRelease(128, start);
            for (int i = 0; i < 300; i++) { // a few laps of the ring, across 2^63
                String m = "message " + i;
                if (i % 2 == 0) {
                    assertTrue(producer.offer(bytes(m)), "room for " + i);
                } else { // the zero-copy path too
                    ByteBuffer claim = producer.claim(m.length(), Duration.ZERO);
                    assertNotNull(claim, "room for " + i);
                    claim.put(bytes(m));
                    producer.commit();
                }
                byte[] got = consumer.poll(Duration.ZERO);
                assertNotNull(got, "message " + i + " arrived");
                assertEquals(m, new String(got, StandardCharsets.UTF_8));
            }
            assertTrue(consumer.info().producerPosition() < 0, "the positions did cross 2^63");
            assertEquals(0, consumer.info().used());
        }
    }

    @ParameterizedTest(name = "multi-producer {0}")
    @ValueSource(booleans = {false, true})
    void aPositionNotAMultipleOf8IsAFormatErrorNotAnAccessOutsideTheRing(boolean multi) throws Exception {
        // SEC-13 / SHM-21: a hostile peer writes positions that are not 8-byte aligned; the C side refuses
        // them (EPROTO, "not 8-byte aligned"), Java read or wrote a record header across the end of the
        // mapping (IndexOutOfBoundsException) or misaligned (IllegalStateException)
        String n = name();
        try (Ring creator = Ring.create(n, 4096, 100, multi, 0600); SharedMemory raw = SharedMemory.open(n)) {
            raw.setLongRelease(128, 4096 - 4); // consumer position: 4 bytes before the end of the data area
            raw.setLongRelease(64, 4096 + 4);
            try (Ring consumer = Ring.open(n)) {
                RingFormatException e = assertThrows(RingFormatException.class, () -> consumer.poll(Duration.ZERO));
                assertTrue(e.getMessage().contains("not a multiple of 8"), e.getMessage());
            }
            raw.setLongRelease(128, 4096 - 4);
            raw.setLongRelease(64, 4096 - 4); // an empty ring, at a misaligned position
            try (Ring producer = Ring.open(n)) {
                RingFormatException e = assertThrows(RingFormatException.class, () -> producer.offer(bytes("x")));
                assertTrue(e.getMessage().contains("not a multiple of 8"), e.getMessage());
                assertThrows(RingFormatException.class, () -> producer.claim(1, Duration.ZERO));
                assertEquals(4096 - 4, raw.getLongVolatile(64), "nothing claimed");
            }
            byte[] data = new byte[4096];
            raw.buffer().get(384, data);
            assertArrayEquals(new byte[4096], data, "nothing written in the data area");
        }
    }
}
