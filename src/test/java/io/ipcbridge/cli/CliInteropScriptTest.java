package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.testing.Peers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/cli-interop.sh: the command line driven from a shell script against the C peers (mq_peer,
 * sem_peer, shm_peer, sock_peer, pipe_peer), with this test's class path and peers: CLI-01, CLI-02,
 * CLI-03, CLI-05, MQ-10, MQ-12, SEM-06, SEM-09, UDS-01, UDS-03, shm write/read, ring records read
 * and written by shm_peer, and sockets both ways. It must end with "N passed, 0 failed" and exit 0.
 */
class CliInteropScriptTest {
    private static final Duration BOUND = Duration.ofMinutes(3);

    @TempDir
    Path dir;

    @Test
    void theShellScriptPassesAgainstTheCPeers() throws Exception {
        Path peers = Path.of(Peers.path("mq_peer")).getParent();
        Peers.path("sem_peer");
        Peers.path("shm_peer");
        Peers.path("sock_peer");
        Peers.path("pipe_peer");
        Path out = dir.resolve("out");
        Path err = dir.resolve("err");
        ProcessBuilder pb = new ProcessBuilder("bash", Path.of("scripts/cli-interop.sh").toAbsolutePath().toString())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("CP", System.getProperty("java.class.path"));
        pb.environment().put("JAVA", Path.of(System.getProperty("java.home"), "bin", "java").toString());
        pb.environment().put("NATIVE_DIR", peers.toString());
        Process p = pb.start();
        try {
            assertTimeoutPreemptively(BOUND, () -> {
                assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "the script ends");
                String report = MqStdioTest.read(out) + MqStdioTest.read(err);
                assertEquals(0, p.exitValue(), report);
                assertTrue(MqStdioTest.read(out).matches("(?s).*\\n[1-9]\\d* passed, 0 failed\\n"), report);
            });
        } finally {
            Cli.destroy(p);
        }
    }
}
