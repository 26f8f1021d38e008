package io.ipcbridge.sem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.testing.Names;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A semaphore initialised in a segment shrunk under its mapping: refused, the JVM alive. */
class SemaphoreShrunkSegmentTest {
    @Test
    void initializeOnASegmentShrunkUnderItsMappingIsRefusedInsteadOfKillingTheJvm() throws Exception {
        String n = Names.unique("semshrink");
        try {
            run(n);
        } finally {
            try {
                io.ipcbridge.shm.SharedMemory.unlink(n); // left by a child that died
            } catch (java.nio.file.NoSuchFileException unlinkedByTheChild) {
                // as it should be
            }
        }
    }

    private static void run(String n) throws Exception {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-XX:ErrorFile=/dev/null",
                    "-cp", System.getProperty("java.class.path"), ShrunkSegmentInit.class.getName(), n)
                    .redirectErrorStream(true).start();
            String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int status = child.waitFor();
            assertEquals(0, status, "the JVM died (SIGBUS in glibc's sem_init): " + out);
            assertTrue(out.contains("refused"), "child said: " + out);
        });
        assertFalse(java.nio.file.Files.exists(Path.of("/dev/shm" + n)), "the child unlinked its segment");
    }
}
