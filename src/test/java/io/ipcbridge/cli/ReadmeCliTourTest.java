package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sock lines of README.md's "A tour of the CLI", as written there (with this test's class path
 * for scripts/ipcbridge and a private directory for /tmp), run with bash a few times: the connect
 * must never come before the listener has bound (it used to fail with ENOENT 1 time in 3).
 */
class ReadmeCliTourTest {
    private static final Duration BOUND = Duration.ofMinutes(2);

    @TempDir
    Path dir;

    @Test
    void theSockExampleIsReliable() throws Exception {
        List<String> readme = Files.readAllLines(Path.of("README.md"));
        int first = -1;
        for (int i = 0; i < readme.size(); i++) {
            if (readme.get(i).contains("sock listen unix:/tmp/s.sock")) {
                first = i;
                break;
            }
        }
        assertTrue(first >= 0, "the README has the sock example");
        StringBuilder example = new StringBuilder();
        for (int i = first; !readme.get(i).isBlank(); i++) {
            example.append(readme.get(i).replace("/tmp/", dir + "/")).append('\n');
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String script = "set -e\nipcbridge() { \"$JAVA\" --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp \"$CP\" "
                + Main.class.getName() + " \"$@\"; }\n" + example.toString().replace("scripts/ipcbridge", "ipcbridge");
        assertTimeoutPreemptively(BOUND, () -> {
            for (int round = 0; round < 3; round++) {
                Files.deleteIfExists(dir.resolve("got.bin"));
                ProcessBuilder pb = new ProcessBuilder("bash", "-c", script).directory(dir.toFile())
                        .redirectErrorStream(true);
                pb.environment().put("CP", System.getProperty("java.class.path"));
                pb.environment().put("JAVA", java);
                Process p = pb.start();
                try {
                    String output = new String(p.getInputStream().readAllBytes());
                    assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "the example ends");
                    assertEquals(0, p.exitValue(), output);
                    assertEquals("", output, "no error from the listener or the client");
                    assertEquals("hi", Files.readString(dir.resolve("got.bin")));
                    assertFalse(Files.exists(dir.resolve("s.sock")), "the socket file is gone");
                } finally {
                    Cli.destroy(p);
                }
            }
        });
    }
}
