package io.ipcbridge.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.IpcError;
import io.ipcbridge.IpcResourceLimitException;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Limits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Spawns that fail after or around posix_spawn: what is left behind, and what the error names. */
class SpawnFailureTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final POSIX POSIX = POSIXFactory.getNativePOSIX();

    @TempDir
    Path dir;

    private static Set<Long> children() {
        return ProcessHandle.current().children().map(ProcessHandle::pid).collect(Collectors.toSet());
    }

    @Test
    void aChildWhosePidfdCannotBeOpenedIsKilledAndReapedNotLeftRunning() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            // load what the failing path uses while descriptors are still free
            try (ChildProcess warm = Command.of("true").start()) {
                warm.waitFor();
            }
            try {
                Command.of("no-such-program-ipcbridge").start().close();
            } catch (IOException expected) {
                // Errors and the exception classes are loaded now
            }
            Class.forName(IpcResourceLimitException.class.getName());
            Set<Long> before = children();
            var fdsBefore = Fds.snapshot();
            int highest = Collections.max(fdsBefore.keySet());
            IOException failure = null;
            try {
                // a descriptor the garbage collector's Cleaner closes between the filling and the spawn
                // (one an earlier test left unclosed) lets pidfd_open succeed: that round proves
                // nothing, its child is killed and reaped by close(), and the table is filled again
                for (int round = 0; round < 10 && failure == null; round++) {
                    List<Integer> fillers = new ArrayList<>();
                    try (Limits limits = Limits.lower(Limits.NOFILE, highest + 1)) {
                        for (int fd; (fd = POSIX.open("/dev/null", 0x80000, 0)) >= 0;) {
                            fillers.add(fd); // every free number below the limit taken: pidfd_open gets EMFILE
                        }
                        try (ChildProcess c = Command.of("sleep", "1000").start()) {
                            c.kill();
                        } catch (IOException e) {
                            failure = e;
                        }
                    } finally {
                        fillers.forEach(POSIX::close);
                    }
                }
                assertTrue(failure instanceof IpcResourceLimitException, "pidfd_open fails with EMFILE: " + failure);
                assertEquals("pidfd_open", ((IpcError) failure).call(), failure.getMessage());
                Set<Long> left = children();
                left.removeAll(before);
                assertEquals(Set.of(), left, "the spawned child is killed and reaped, not left running");
                Fds.assertNoneAdded(fdsBefore);
            } finally {
                ProcessHandle.current().children().filter(p -> !before.contains(p.pid()))
                        .forEach(ProcessHandle::destroyForcibly);
            }
        });
    }

    /** An executable file {@code name} in the test's directory holding {@code text}. */
    private Path script(String name, String text) throws IOException {
        Path script = Files.writeString(dir.resolve(name), text);
        Files.setPosixFilePermissions(script, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        return script;
    }

    @Test
    void aScriptWhoseInterpreterIsMissingNamesTheInterpreterNotJustTheScript() throws Exception {
        // execve(2) fails with ENOENT when a script's #! interpreter is missing, and a CRLF line end
        // makes "/bin/sh\r" one (bash: "bad interpreter"); the error named only the script, which
        // exists, as the missing file
        Path script = script("crlf", "#!/bin/sh\r\necho hi\r\n");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Command.of(script.toString()).start());
        assertEquals("posix_spawnp(" + script + ": #!/bin/sh\\r): ENOENT (No such file or directory)", e.getMessage());
        // a relative path is the script in the child's directory
        NoSuchFileException relative = assertThrows(NoSuchFileException.class,
                () -> Command.of("./crlf").directory(dir).start());
        assertEquals("posix_spawnp(./crlf: #!/bin/sh\\r): ENOENT (No such file or directory)", relative.getMessage());
    }

    @Test
    void aScriptWithoutAShebangLineIsRefusedWithEnoexecNamingIt() throws Exception {
        // posix_spawnp(3) does not fall back to /bin/sh as execvp(3) and ProcessBuilder do; the
        // Javadoc of Command.start says so, and the error names the script and ENOEXEC
        Path script = script("plain", "echo hi\n");
        IOException e = assertThrows(IOException.class, () -> Command.of(script.toString()).start());
        assertEquals("posix_spawnp(" + script + "): ENOEXEC (Exec format error)", e.getMessage());
    }

    @Test
    void aWorkingDirectoryThatCannotBeEnteredIsNamedNotTheProgram() throws Exception {
        Path missing = dir.resolve("missing");
        NoSuchFileException e = assertThrows(NoSuchFileException.class,
                () -> Command.of("true").directory(missing).start());
        assertTrue(e.getMessage().contains(missing.toString()), "the error names the directory: " + e.getMessage());
        assertEquals(missing.toString(), e.getFile(), e.getMessage());
        Path file = Files.writeString(dir.resolve("file"), "");
        IOException notDir = assertThrows(IOException.class, () -> Command.of("true").directory(file).start());
        assertTrue(notDir.getMessage().contains(file.toString()) && notDir.getMessage().contains("ENOTDIR"),
                "the error names the directory: " + notDir.getMessage());
        // a missing program run in a good directory is still named as the program
        NoSuchFileException program = assertThrows(NoSuchFileException.class,
                () -> Command.of("no-such-program-ipcbridge").directory(dir).start());
        assertEquals("posix_spawnp(no-such-program-ipcbridge): ENOENT (No such file or directory)", program.getMessage());
    }
}
