package io.ipcbridge.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Peers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The soak's rounds (LOAD-10 runs them for 30 minutes or more in {@code scripts/soak}): every
 * mechanism against its C peer, each transfer checked, a pipe writer and a ring producer SIGKILLed
 * mid-transfer; here a few rounds only, checking that they pass and leave no descriptor and no
 * object behind.
 */
class SoakRoundTest {
    @Test
    @DisplayName("LOAD-10, in small: soak rounds over every mechanism pass and leave no descriptor or object behind")
    void roundsOverEveryMechanismPassAndLeaveNothingBehind(@TempDir Path fifoDir) throws Exception {
        String nativeDir = Path.of(Peers.path("ring_peer")).getParent().toString(); // skips without the C peers
        assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
            Soak.round(nativeDir, fifoDir, 0); // first: the libraries load what they keep open for good
            Map<Integer, String> before = Fds.snapshot();
            long objects = ours();
            for (long round = 1; round <= 3; round++) {
                Soak.round(nativeDir, fifoDir, round);
            }
            Fds.assertNoneAdded(before);
            assertEquals(objects, ours(), "the soak's /dev/shm and /dev/mqueue entries");
        });
    }

    /** This process's soak objects in /dev/shm and /dev/mqueue. */
    private static long ours() throws Exception {
        String part = "ipcb-bench-" + ProcessHandle.current().pid() + "-";
        long n = 0;
        for (Path dir : new Path[] {Path.of("/dev/shm"), Path.of("/dev/mqueue")}) {
            try (Stream<Path> s = Files.list(dir)) {
                n += s.filter(p -> p.getFileName().toString().contains(part)).count();
            }
        }
        return n;
    }
}
