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
import java.util.ArrayList;
import java.util.List;
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

    /**
     * Runs the CLI in a child JVM with stdout closed ({@code >&-}, or {@code 1</dev/null} when
     * {@code readOnly}); returns exit status and stderr.
     */
    private Cli.Result stdoutClosed(boolean readOnly, String... args) throws Exception {
        Path err = dir.resolve("cli.err");
        List<String> argv = new ArrayList<>(List.of("bash", "-c", readOnly ? "exec \"$@\" 1</dev/null" : "exec \"$@\" >&-",
                "bash"));
        argv.addAll(Cli.command(err, args).command());
        Process p = new ProcessBuilder(argv).redirectError(err.toFile()).redirectInput(new File("/dev/null")).start();
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
    void aClosedStdoutIsExitOneWithTheErrnoLineNeverAStackTrace() {
        // CLI.md: exit 1 and one line `ipcbridge: CALL(OBJECT): ERRNO (text)`, no Java stack trace
        // ever. With fd 1 closed the JVM's first file (lib/modules, read-only) takes it: EBADF, which
        // the library treats as its own bug (IllegalStateException) and which came out as a stack
        // trace (--help, --version) or "internal error: java.lang.IllegalStateException".
        assertTimeoutPreemptively(BOUND, () -> {
            String s = sems.name();
            String q = queues.name();
            assertEquals(0, Cli.run("sem", "create", s, "--value", "7").status());
            assertEquals(0, Cli.run("mq", "create", q).status());
            assertEquals(0, Cli.run("mq", "send", q, "hello").status());
            String ebadf = "ipcbridge: write(stdout): EBADF (Bad file descriptor)";
            for (boolean readOnly : new boolean[] {false, true}) {
                for (String[] args : List.of(new String[] {"--version"}, new String[] {"mq", "--help"},
                        new String[] {"sem", "value", s}, new String[] {"mq", "info", q, "--json"})) {
                    Cli.Result r = stdoutClosed(readOnly, args);
                    assertEquals(1, r.status(), () -> String.join(" ", args) + ": " + r);
                    assertEquals(ebadf + "\n", r.err(), () -> String.join(" ", args) + ": one errno line");
                }
            }
            Cli.Result r = stdoutClosed(false, "mq", "receive", q);
            assertEquals(1, r.status(), r::toString);
            assertEquals(ebadf + ": 1 message received and not written\n", r.err(), "not lost silently");
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
