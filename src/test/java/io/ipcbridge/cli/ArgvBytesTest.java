package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.testing.Created;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MESSAGE arguments are sent byte for byte (CLI.md "binary-safe everywhere"), whatever the locale:
 * bytes that are not UTF-8, and UTF-8 with LANG unset (where the JVM decodes argv as ASCII). The
 * raw bytes go into argv through {@code sh -c} and printf, since a ProcessBuilder takes Strings.
 */
class ArgvBytesTest {
    private static final Duration BOUND = Duration.ofSeconds(60);
    private final Created created = new Created("fixcli-argv", MessageQueue::unlink);

    @TempDir
    Path dir;

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    @Test
    void messageArgumentsReachTheQueueByteForByteWithoutALocale() {
        assertTimeoutPreemptively(BOUND, () -> {
            String q = created.name();
            assertEquals(0, Cli.run("mq", "create", q).status());
            List<String> javaArgs = Cli.command(dir.resolve("unused"), "mq", "send", q).command();
            List<String> argv = new ArrayList<>(List.of("sh", "-c",
                    "exec \"$@\" \"$(printf '\\377\\376')\" --priority 1 \"$(printf '\\303\\251')\" -- '--x'",
                    "sh"));
            argv.addAll(javaArgs);
            Path err = dir.resolve("cli.err");
            ProcessBuilder pb = new ProcessBuilder(argv).redirectError(err.toFile());
            pb.environment().keySet().removeIf(k -> k.equals("LANG") || k.startsWith("LC_"));
            Process p = pb.start();
            try {
                assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "the CLI ends");
                assertEquals(0, p.exitValue(), () -> MqStdioTest.read(err));
            } finally {
                Cli.destroy(p);
            }
            try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
                assertArrayEquals(new byte[] {(byte) 0xff, (byte) 0xfe}, mq.tryReceive().orElseThrow().data(),
                        "not UTF-8: the bytes as given");
                assertArrayEquals(new byte[] {(byte) 0xc3, (byte) 0xa9}, mq.tryReceive().orElseThrow().data(),
                        "UTF-8 without a locale: the bytes as given");
                assertEquals("--x", mq.tryReceive().orElseThrow().text(), "after --, an argument as any other");
                assertTrue(mq.tryReceive().isEmpty(), "three messages");
            }
        });
    }
}
