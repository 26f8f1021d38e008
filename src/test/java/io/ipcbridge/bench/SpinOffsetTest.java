package io.ipcbridge.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Names;
import io.ipcbridge.testing.Peers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * bench_peer's spin:SHM:OFF endpoint refuses a counter that is not inside the segment. Its check
 * added 4 to OFF, so the largest aligned OFF (2^64 - 4) wrapped to 0 and passed: the peer spun on
 * the 4 bytes before the mapping (someone else's memory) until its 300 s alarm.
 */
class SpinOffsetTest {
    @ParameterizedTest
    @ValueSource(strings = {"18446744073709551612", "4096", "4094"})
    void anOffsetOutsideTheSegmentIsRefused(String offset) throws Exception {
        String peer = Peers.path("bench_peer");
        String name = Names.unique("spin");
        try (SharedMemory segment = SharedMemory.createExclusively(name, 4096); Pipe err = Pipe.open();
                ChildProcess echo = Command.of(peer, "echo", "spin:" + name + ":" + offset, "spin:" + name + ":0",
                        "4", "1").stderr(err.sink()).start()) {
            err.sink().close();
            String message = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> new String(
                    err.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII),
                    "the peer refuses at once instead of spinning");
            assertEquals(2, echo.waitFor().code(), message);
            assertTrue(message.contains("offset " + offset + " outside the segment"), message);
        } finally {
            SharedMemory.unlink(name);
        }
    }
}
