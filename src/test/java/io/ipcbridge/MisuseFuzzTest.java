package io.ipcbridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * No misuse crashes the JVM (RELIABILITY.md FAULT-07, FAULT-04): testing/MisuseFuzz runs in a JVM
 * of its own, whose crash would be its death with an hs_err_pid file, and every misuse must end in
 * its documented exception.
 */
class MisuseFuzzTest {
    private static final int ITERATIONS = 1000;

    private static List<Path> crashLogs(Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().matches("hs_err_pid\\d+\\.log")).toList();
        }
    }

    /**
     * One run in each JIT mode: a fault in shared memory is turned into an exception by
     * different code in the interpreter, C1 and C2, so each must be seen to survive it.
     */
    @ParameterizedTest
    @ValueSource(strings = {"-XX:+TieredCompilation", "-Xint", "-XX:TieredStopAtLevel=1"}) // the default (C2), interpreted, C1
    void aThousandRoundsOfEveryMisuseEndInTheirExceptionsAndNeverCrashTheJvm(String mode, @TempDir Path dir)
            throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, mode, "--enable-native-access=ALL-UNNAMED",
                "-XX:ErrorFile=" + dir.resolve("hs_err_pid%p.log"), "-cp", System.getProperty("java.class.path"),
                "io.ipcbridge.testing.MisuseFuzz", Integer.toString(ITERATIONS)).directory(dir.toFile())
                .redirectErrorStream(true).start();
        try {
            // 10-20 s each here; a hang (a misuse that blocks for ever) fails instead of holding the build
            String out = assertTimeoutPreemptively(Duration.ofMinutes(5),
                    () -> new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            int rc = p.waitFor();
            assertEquals(List.of(), crashLogs(dir), "no JVM crash");
            assertEquals(0, rc, out);
            assertTrue(out.startsWith("ok "), out);
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void noJvmStartedInTheProjectDirectoryLeftACrashLog() throws Exception {
        // the "a test run that leaves an hs_err_pid*.log fails", for child JVMs started by
        // tests in the working directory (a crash of surefire's own JVM fails the build by itself)
        assertEquals(List.of(), crashLogs(Path.of(System.getProperty("user.dir"))));
    }
}
