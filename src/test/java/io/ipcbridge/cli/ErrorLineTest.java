package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.testing.Created;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
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
        List<String> argv = new ArrayList<>(List.of("sh", "-c", "exec \"$@\" < \"$0\"", stdin.toString()));
        argv.addAll(Cli.command(dir.resolve("cli.err"), args).command());
        return run(argv, Path.of("/dev/null"), false);
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
    void aDirectoryAsTheAuthkeyFileIsEisdirOfItsRead() {
        // CLI.md's error form: the JDK's read of a directory says only "Is a directory", and that alone
        // was the line; now it names the call and the file, as for a directory given as stdin.
        Cli.Result r = Cli.run("conn", "send", "unix:" + dir.resolve("s"), "--authkey-file", dir.toString(), "x");
        assertEquals(1, r.status(), r::toString);
        assertEquals("ipcbridge: read(" + dir + "): EISDIR (Is a directory)" + System.lineSeparator(), r.err());
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
        // picocli lets Errors past its handler; they too end as one line, with no stack trace but under
        // IPCBRIDGE_DEBUG. Before, the trace printed then was that of the one-line failure standing in
        // for the Error: no frame of the Error.
        assertOneLineAndATraceOnlyUnderDebug(this::outOfMemory, "ipcbridge: out of memory", "\tat ");
    }

    @Test
    void anErrorOutsideTheCommandIsOneLineAndATraceOnlyUnderDebug() {
        // An install without JNA fails before any command runs: Main's last resort makes it one line,
        // exit 1. IPCBRIDGE_DEBUG adds the trace there too; before, the last resort ignored it.
        assertOneLineAndATraceOnlyUnderDebug(this::withoutJna,
                "ipcbridge: internal error: java.lang.NoClassDefFoundError: com/sun/jna/", "\tat io.ipcbridge.cli.");
    }

    /** A child JVM run, with IPCBRIDGE_DEBUG set or not. */
    private interface Run {
        Cli.Result with(boolean debug) throws Exception;
    }

    /**
     * Checks that {@code run} exits 1 with one line starting {@code start}, and with IPCBRIDGE_DEBUG
     * set, a stack trace after it that has a line starting {@code frame}.
     */
    private static void assertOneLineAndATraceOnlyUnderDebug(Run run, String start, String frame) {
        assertTimeoutPreemptively(BOUND, () -> {
            for (boolean debug : new boolean[] {false, true}) {
                Cli.Result r = run.with(debug);
                assertEquals(1, r.status(), r::toString);
                assertTrue(r.err().startsWith(start), r::toString);
                if (debug) {
                    assertTrue(r.err().lines().anyMatch(l -> l.startsWith(frame)), () -> "the Error's frames: " + r);
                } else {
                    assertEquals(1, r.err().lines().count(), r::toString);
                }
            }
        });
    }

    /** conn send in a child JVM with a 16 MiB heap and 30 MB of stdin, more than it can take in as one message. */
    private Cli.Result outOfMemory(boolean debug) throws Exception {
        Path big = dir.resolve("big");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(30_000_000);
        }
        List<String> argv = new ArrayList<>(Cli.command(dir.resolve("cli.err"), "conn", "send",
                "unix:" + dir.resolve("none")).command());
        argv.add(1, "-Xmx16m");
        return run(argv, big, debug);
    }

    /** mq info in a child JVM whose class path lacks JNA's jars. */
    private Cli.Result withoutJna(boolean debug) throws Exception {
        List<String> argv = new ArrayList<>(Cli.command(dir.resolve("cli.err"), "mq", "info", created.name())
                .command());
        int cp = argv.indexOf("-cp") + 1;
        argv.set(cp, String.join(File.pathSeparator, Arrays.stream(argv.get(cp).split(File.pathSeparator))
                .filter(entry -> !Path.of(entry).getFileName().toString().startsWith("jna")).toList()));
        return run(argv, Path.of("/dev/null"), debug);
    }

    /** Runs {@code argv} with {@code stdin}, IPCBRIDGE_DEBUG set or not; returns exit status and stderr. */
    private Cli.Result run(List<String> argv, Path stdin, boolean debug) throws Exception {
        Path err = dir.resolve("cli.err");
        ProcessBuilder pb = new ProcessBuilder(argv).redirectError(err.toFile()).redirectInput(stdin.toFile());
        pb.environment().remove("IPCBRIDGE_DEBUG");
        if (debug) {
            pb.environment().put("IPCBRIDGE_DEBUG", "1");
        }
        Process p = pb.start();
        try {
            p.getInputStream().readAllBytes();
            assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "the CLI ends");
            return new Cli.Result(p.exitValue(), "", MqStdioTest.read(err));
        } finally {
            Cli.destroy(p);
        }
    }
}
