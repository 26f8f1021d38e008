package io.ipcbridge.sem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.testing.Names;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Review findings on semaphores. */
class SemaphoreShrunkSegmentTest {
    @Test
    void initializeOnASegmentShrunkUnderItsMappingIsRefusedInsteadOfKillingTheJvm() throws Exception {
        String n = Names.unique("semshrink");
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
    }
}
