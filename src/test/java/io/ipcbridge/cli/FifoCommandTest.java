package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.pipe.Fifo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code ipcbridge fifo} in this JVM: exit statuses 0/1/3 and their one stderr line. What needs raw
 * stdin/stdout is in {@link FifoStdioTest}.
 */
class FifoCommandTest {
    /** CLI.md: a failed system call is one line {@code ipcbridge: CALL(OBJECT): ERRNO (text)}. */
    private static final Pattern SYSCALL_FAILURE = Pattern.compile("^ipcbridge: \\w+\\(.*\\): E[A-Z]+ \\(.*");
    private static final Duration BOUND = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    @Test
    void createMakesAFifoWithTheDefaultMode0600() throws IOException {
        // FIFO-10: 0600 by default, whatever the umask.
        Path fifo = dir.resolve("f");
        Cli.Result r = Cli.run("fifo", "create", fifo.toString());
        assertEquals(0, r.status(), r::toString);
        assertEquals("", r.out() + r.err());
        assertTrue(isFifo(fifo), "a FIFO was created");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(fifo)));
    }

    @Test
    void createAppliesModeExactly() throws IOException {
        // FIFO-10: the mode asked for, set again after mkfifo so the umask cannot narrow it.
        Path fifo = dir.resolve("f");
        assertEquals(0, Cli.run("fifo", "create", fifo.toString(), "--mode", "0664").status());
        assertEquals("rw-rw-r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(fifo)));
    }

    @Test
    void anEmptyPathIsAUsageError() {
        // was "mkfifo(): ENOENT", "open(): ENOENT", and for --authkey-file "" "read(): EISDIR": exit 1
        // naming nothing; an empty PATH or FILE is a malformed value, told before any call
        for (String[] args : new String[][] {{"fifo", "create", ""}, {"fifo", "read", ""}, {"fifo", "write", ""},
            {"fifo", "rm", ""}, {"conn", "send", "unix:" + dir.resolve("s"), "--authkey-file", "", "m"},
            {"bench", "--quick", "pipe", "--json", ""}}) {
            Cli.Result r = Cli.run(args);
            assertEquals(2, r.status(), r::toString);
            assertTrue(r.err().startsWith("ipcbridge: Invalid value for ") && r.err().endsWith(
                    ": an empty path names no file" + System.lineSeparator()), r::toString);
            assertEquals("", r.out());
        }
    }

    @Test
    void createInAMissingDirectoryIsENOENT() {
        Path fifo = dir.resolve("x/y/z");
        Cli.Result r = Cli.run("fifo", "create", fifo.toString());
        assertEquals(1, r.status(), r::toString);
        assertEquals("ipcbridge: mkfifo(" + fifo + "): ENOENT (No such file or directory)" + System.lineSeparator(),
                r.err());
        assertTrue(SYSCALL_FAILURE.matcher(r.err()).find(), r::toString);
        assertEquals("", r.out());
    }

    @Test
    void createOnAnExistingFifoIsEEXISTUnlessExistOk() throws IOException {
        // FIFO-01: EEXIST, never unlink and retry; --exist-ok accepts the FIFO as it is.
        Path fifo = dir.resolve("f");
        Fifo.create(fifo, 0640);
        Cli.Result r = Cli.run("fifo", "create", fifo.toString());
        assertEquals(1, r.status(), r::toString);
        assertEquals("ipcbridge: mkfifo(" + fifo + "): EEXIST (File exists)" + System.lineSeparator(), r.err());

        // a wider mode asked for accepts the narrower 0640 (SEC-02), which is kept
        Cli.Result ok = Cli.run("fifo", "create", fifo.toString(), "--exist-ok", "--mode", "0660");
        assertEquals(0, ok.status(), ok::toString);
        assertEquals("", ok.err());
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(fifo)),
                "an existing FIFO is left as it is");
    }

    @ParameterizedTest(name = "exist-ok {0}")
    @ValueSource(booleans = {false, true})
    void createOnASymlinkFailsAndLeavesTheTargetUntouched(boolean existOk) throws IOException {
        // CLI-06 / FIFO-01 / FIFO-06: a symlink at the path -> exit 1; neither it nor its target changes.
        Path target = Files.writeString(dir.resolve("target"), "precious\n");
        Path link = Files.createSymbolicLink(dir.resolve("link"), target);
        Cli.Result r = existOk ? Cli.run("fifo", "create", link.toString(), "--exist-ok")
                : Cli.run("fifo", "create", link.toString());
        assertEquals(1, r.status(), r::toString);
        assertTrue(SYSCALL_FAILURE.matcher(r.err()).find(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: mkfifo(" + link + "): EEXIST (File exists)"), r::toString);
        assertEquals(1, r.err().lines().count(), "one stderr line");
        assertTrue(Files.isSymbolicLink(link), "the link is still there");
        assertEquals(target, Files.readSymbolicLink(link));
        assertTrue(Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS), "the target is still a file");
        assertEquals("precious\n", Files.readString(target), "the target is untouched");
    }

    @Test
    void createWithExistOkOnARegularFileFails() throws IOException {
        // FIFO-01 / FIFO-07: a regular file is not a FIFO, exist-ok or not.
        Path file = Files.writeString(dir.resolve("file"), "data");
        Cli.Result r = Cli.run("fifo", "create", file.toString(), "--exist-ok");
        assertEquals(1, r.status(), r::toString);
        assertTrue(r.err().contains("is a regular file, not a FIFO"), r::toString);
        assertEquals("data", Files.readString(file));
    }

    @Test
    void readTimesOutWithExitThreeWhenNoWriterComes() throws IOException {
        // FIFO-03: the blocking open is bounded by --timeout; CLI.md: exit 3.
        Path fifo = dir.resolve("f");
        Fifo.create(fifo);
        Cli.Result r = assertTimeoutPreemptively(BOUND, () -> Cli.run("fifo", "read", fifo.toString(), "--timeout", "200ms"));
        assertEquals(3, r.status(), r::toString);
        assertEquals("ipcbridge: open(" + fifo + "): ETIMEDOUT (Connection timed out): no writer came within 200ms"
                + System.lineSeparator(), r.err());
        assertEquals("", r.out());
    }

    @Test
    void writeTimesOutWithExitThreeWhenNoReaderComes() throws IOException {
        // FIFO-03, for the writing side (stdin is not touched before the open succeeds).
        Path fifo = dir.resolve("f");
        Fifo.create(fifo);
        Cli.Result r = assertTimeoutPreemptively(BOUND, () -> Cli.run("fifo", "write", fifo.toString(), "--timeout", "PT0.2S"));
        assertEquals(3, r.status(), r::toString);
        assertEquals("ipcbridge: open(" + fifo + "): ETIMEDOUT (Connection timed out): no reader came within 200ms"
                + System.lineSeparator(), r.err());
    }

    @Test
    void writeWithTimeoutZeroDoesNotWait() throws IOException {
        // FIFO-02: a non-blocking open for writing without a reader (ENXIO) -> "would block", exit 3.
        Path fifo = dir.resolve("f");
        Fifo.create(fifo);
        Cli.Result r = assertTimeoutPreemptively(BOUND, () -> Cli.run("fifo", "write", fifo.toString(), "--timeout", "0"));
        assertEquals(3, r.status(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: open(" + fifo + "): EAGAIN (Resource temporarily unavailable): "
                + "no reader has it open"), r::toString);
    }

    @Test
    void readOfAMissingPathIsENOENT() {
        Path missing = dir.resolve("missing");
        Cli.Result r = assertTimeoutPreemptively(BOUND, () -> Cli.run("fifo", "read", missing.toString(), "--timeout", "1s"));
        assertEquals(1, r.status(), r::toString);
        assertTrue(SYSCALL_FAILURE.matcher(r.err()).find(), r::toString);
        assertTrue(r.err().contains("ENOENT"), r::toString);
    }

    @Test
    void readRefusesASymlinkToAFifo() throws IOException {
        // FIFO-06: never opened through a link, even one to a real FIFO.
        Path fifo = dir.resolve("f");
        Fifo.create(fifo);
        Path link = Files.createSymbolicLink(dir.resolve("link"), fifo);
        Cli.Result r = assertTimeoutPreemptively(BOUND, () -> Cli.run("fifo", "read", link.toString(), "--timeout", "1s"));
        assertEquals(1, r.status(), r::toString);
        assertEquals(1, r.err().lines().count(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: " + link + ": is a symbolic link"), r::toString);
    }

    @Test
    void writeRefusesARegularFile() throws IOException {
        // FIFO-07: a regular file planted at the path is refused; nothing is written into it.
        Path file = Files.writeString(dir.resolve("file"), "keep");
        Cli.Result r = assertTimeoutPreemptively(BOUND, () -> Cli.run("fifo", "write", file.toString(), "--timeout", "1s"));
        assertEquals(1, r.status(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: " + file + ": is a regular file, not a FIFO"), r::toString);
        assertEquals("keep", Files.readString(file));
    }

    @Test
    void rmRemovesAFifo() throws IOException {
        Path fifo = dir.resolve("f");
        Fifo.create(fifo);
        Cli.Result r = Cli.run("fifo", "rm", fifo.toString());
        assertEquals(0, r.status(), r::toString);
        assertFalse(Files.exists(fifo, LinkOption.NOFOLLOW_LINKS), "the FIFO is gone");

        Cli.Result again = Cli.run("fifo", "rm", fifo.toString());
        assertEquals(1, again.status(), again::toString);
        assertTrue(SYSCALL_FAILURE.matcher(again.err()).find(), again::toString);
        assertTrue(again.err().contains("ENOENT (No such file or directory)"), again::toString);
    }

    @Test
    void rmRefusesWhatIsNotAFifo() throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "keep");
        Path link = Files.createSymbolicLink(dir.resolve("link"), file);
        for (Path p : new Path[] {file, link}) {
            Cli.Result r = Cli.run("fifo", "rm", p.toString());
            assertEquals(1, r.status(), r::toString);
            assertTrue(r.err().startsWith("ipcbridge: " + p + ": is a "), r::toString);
        }
        assertTrue(Files.isSymbolicLink(link), "the link is still there");
        assertEquals("keep", Files.readString(file), "the file is still there");
    }

    private static boolean isFifo(Path p) throws IOException {
        int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return (mode & 0170000) == 0010000;
    }
}
