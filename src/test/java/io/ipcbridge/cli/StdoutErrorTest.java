package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Created;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A failed write on stdout other than EPIPE (here ENOSPC, stdout being the real /dev/full) is exit 1
 * with one line naming the errno, never exit 0 or a silent 141, and a message taken off a queue and
 * not written says so.
 */
class StdoutErrorTest {
    private static final Duration BOUND = Duration.ofSeconds(60);
    private static final String ENOSPC = "ipcbridge: write(stdout): ENOSPC (No space left on device)";
    private final Created queues = new Created("fixcli-q", MessageQueue::unlink);
    private final Created sems = new Created("fixcli-s", Semaphore::unlink);
    private final Created segments = new Created("fixcli-m", SharedMemory::unlink);

    @TempDir
    Path dir;

    @AfterEach
    void unlinkAll() {
        queues.unlinkAll();
        sems.unlinkAll();
        segments.unlinkAll();
    }

    /** Runs the CLI in a child JVM with stdout on /dev/full; returns exit status and stderr. */
    private Cli.Result toDevFull(String... args) throws Exception {
        Path err = dir.resolve("cli.err");
        Process p = Cli.command(err, args).redirectOutput(new File("/dev/full")).start();
        try {
            assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "the CLI ends");
            return new Cli.Result(p.exitValue(), "", MqStdioTest.read(err));
        } finally {
            Cli.destroy(p);
        }
    }

    private void assertEnospc(Cli.Result r, String suffix) {
        assertEquals(1, r.status(), r::toString);
        assertEquals(ENOSPC + suffix + "\n", r.err(), "one line with the real errno");
    }

    @Test
    void printedOutputThatCannotBeWrittenIsExitOne() {
        assertTimeoutPreemptively(BOUND, () -> {
            String s = sems.name();
            String m = segments.name();
            String q = queues.name();
            assertEquals(0, Cli.run("sem", "create", s, "--value", "7").status());
            assertEquals(0, Cli.run("shm", "create", m, "--size", "4096").status());
            assertEquals(0, Cli.run("mq", "create", q).status());
            assertEnospc(toDevFull("sem", "value", s), "");
            assertEnospc(toDevFull("shm", "info", m), "");
            assertEnospc(toDevFull("mq", "info", q, "--json"), "");
            assertEnospc(toDevFull("ls"), "");
            assertEnospc(toDevFull("--version"), "");
            assertEnospc(toDevFull("shm", "read", m), "");
        });
    }

    @Test
    void aReceivedMessageThatCannotBeWrittenIsNotLostSilently() {
        assertTimeoutPreemptively(BOUND, () -> {
            String q = queues.name();
            assertEquals(0, Cli.run("mq", "create", q).status());
            assertEquals(0, Cli.run("mq", "send", q, "hello").status());
            assertEnospc(toDevFull("mq", "receive", q), ": 1 message received and not written");
        });
    }
}
