package io.ipcbridge.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.testing.Names;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** SHM-11, SEC-13: a peer shrinks the object under the mapping; an atomic update must not kill the JVM. */
class SharedMemoryPeerShrinkTest {
    @Test
    void atomicUpdatesOfAnObjectAPeerShrankRaiseInternalErrorInsteadOfKillingTheJvm() throws Exception {
        String n = Names.unique("shmpeershrink");
        try {
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
                // -Xint: the interpreter's compare-and-set is the JDK's one unguarded access (compiled
                // code marks it as an unsafe access and survives the fault)
                Process child = new ProcessBuilder(java, "-Xint", "--enable-native-access=ALL-UNNAMED",
                        "-XX:ErrorFile=/dev/null", "-cp", System.getProperty("java.class.path"),
                        PeerShrinkChild.class.getName(), n).redirectErrorStream(true).start();
                String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals(0, child.waitFor(), "the JVM died (SIGBUS in Unsafe_CompareAndSetInt): " + out);
                for (String op : new String[] {"compareAndSetInt", "getAndAddInt", "compareAndSetLong", "getAndAddLong"}) {
                    assertTrue(out.contains(op + " refused"), "child said: " + out);
                }
            });
        } finally {
            try {
                SharedMemory.unlink(n); // left by a child that died
            } catch (java.nio.file.NoSuchFileException unlinkedByTheChild) {
                // as it should be
            }
        }
    }
}
