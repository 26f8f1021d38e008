package io.ipcbridge.cli;

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

/** Error lines in CLI.md's form, {@code ipcbridge: CALL(OBJECT): ERRNO (text)}, one line, for every failure. */
class ErrorLineTest {
    private static final Duration BOUND = Duration.ofSeconds(60);
    private final Created created = new Created("fixcli-err", MessageQueue::unlink);

    @TempDir
    Path dir;

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    /**
     * Runs the CLI in a child JVM with {@code stdin} as its stdin (through sh, since a ProcessBuilder
     * cannot open a directory for it); returns exit status and stderr.
     */
    private Cli.Result child(Path stdin, String... args) throws Exception {
        Path err = dir.resolve("cli.err");
        List<String> argv = new ArrayList<>(List.of("sh", "-c", "exec \"$@\" < \"$0\"", stdin.toString()));
        argv.addAll(Cli.command(err, args).command());
        Process p = new ProcessBuilder(argv).redirectError(err.toFile()).start();
        try {
            p.getInputStream().readAllBytes();
            assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "the CLI ends");
            return new Cli.Result(p.exitValue(), "", MqStdioTest.read(err));
        } finally {
            Cli.destroy(p);
        }
    }

    @Test
    void aDirectoryAsStdinNamesItsErrno() {
        assertTimeoutPreemptively(BOUND, () -> {
            String q = created.name();
            assertEquals(0, Cli.run("mq", "create", q).status());
            Cli.Result r = child(dir, "mq", "send", q);
            assertEquals(1, r.status(), r::toString);
            assertEquals("ipcbridge: read(stdin): EISDIR (Is a directory)\n", r.err());
        });
    }

    @Test
    void aMissingFileNamesTheCallAndTheErrno() {
        Path missing = dir.resolve("nonexist");
        Cli.Result r = Cli.run("conn", "send", "unix:" + dir.resolve("s"), "--authkey-file", missing.toString(), "x");
        assertEquals(1, r.status(), r::toString);
        assertEquals("ipcbridge: open(" + missing + "): ENOENT (No such file or directory)" + System.lineSeparator(),
                r.err());
    }

    @Test
    void aFifoThatNobodyOpensAtOnceIsEagainLikeTheOtherWaits() throws Exception {
        Path fifo = dir.resolve("f");
        assertEquals(0, Cli.run("fifo", "create", fifo.toString()).status());
        Cli.Result r = Cli.run("fifo", "read", fifo.toString(), "--timeout", "0");
        assertEquals(3, r.status(), r::toString);
        assertEquals("ipcbridge: open(" + fifo + "): EAGAIN (Resource temporarily unavailable): no writer has it "
                + "open (--timeout 0)" + System.lineSeparator(), r.err());
    }

    @Test
    void anOutOfMemoryErrorIsOneLineAndExitOne() {
        // picocli lets Errors past its handler; they too end as one line, no stack trace.
        assertTimeoutPreemptively(BOUND, () -> {
            Path big = dir.resolve("big");
            try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(big.toFile(), "rw")) {
                f.setLength(30_000_000); // more than a 16 MiB heap can take in as one message
            }
            Path err = dir.resolve("cli.err");
            List<String> argv = new ArrayList<>(Cli.command(err, "conn", "send", "unix:" + dir.resolve("none"))
                    .command());
            argv.add(1, "-Xmx16m");
            Process p = new ProcessBuilder(argv).redirectError(err.toFile()).redirectInput(big.toFile()).start();
            try {
                p.getInputStream().readAllBytes();
                assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "the CLI ends");
                String text = MqStdioTest.read(err);
                assertEquals(1, p.exitValue(), text);
                assertTrue(text.startsWith("ipcbridge: out of memory"), text);
                assertEquals(1, text.lines().count(), text);
            } finally {
                Cli.destroy(p);
            }
        });
    }
}
