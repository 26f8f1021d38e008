package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.Reaper;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Created;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code ipcbridge reap}: a shell's object left behind is removed and printed, a live one is kept. */
class ReapCommandTest {
    private final Created shms = new Created("clireap", SharedMemory::unlink);
    /** The prefix of this test's names, without the slash. */
    private final String prefix = shms.name().substring(1);

    @AfterEach
    void unlinkAll() {
        shms.unlinkAll();
    }

    /**
     * The README's shell form of the owner part, {@code $$.START.PIDNS}: START is the 20th field after
     * the command name's closing parenthesis, which may hold spaces (a script called "my job.sh").
     */
    static final String SHELL_OWNER =
            "$$.$(sed -n '$s/.*) //p' /proc/$$/stat | cut -d' ' -f20).$(stat -Lc %i /proc/$$/ns/pid)";

    /** A segment named as the README says, made by a shell that then ends; its name. */
    private String leftByAShell(String label) throws Exception {
        String script = "n=\"/" + prefix + "." + SHELL_OWNER + "."
                + label + "\"; : > \"/dev/shm$n\"; printf '%s %s' \"$n\" $$";
        Process sh = new ProcessBuilder("sh", "-c", script).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(sh.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, sh.waitFor());
        return shms.add(out.split(" ")[0]) + " " + out.split(" ")[1];
    }

    @Test
    void removesWhatADeadCreatorLeftAndPrintsIt() throws Exception {
        String[] left = leftByAShell("sh").split(" ");
        try (SharedMemory live = SharedMemory.createExclusively(shms.add(Reaper.name(prefix, "live")), 4096)) {
            Cli.Result r = Cli.run("reap", "/" + prefix);
            assertEquals(0, r.status(), r.err());
            assertEquals("shm\t" + left[0] + "\t" + left[1] + "\n", r.out());
            assertEquals("", r.err());
            assertFalse(Files.exists(Path.of("/dev/shm" + left[0])), "removed");
            assertTrue(Files.exists(Path.of("/dev/shm" + live.name())), "this JVM runs: kept");
            assertEquals("", Cli.run("reap", prefix).out(), "nothing left to remove");
        }
    }

    @Test
    void anObjectThatCannotBeRemovedIsOneErrorLineAfterTheOthersArePrinted() throws Exception {
        // two segments left by shells, one made immutable (chattr +i): the other is still removed
        assumeTrue(io.ipcbridge.internal.posix.Syscalls.geteuid() == 0, "not root: chattr +i needs CAP_LINUX_IMMUTABLE");
        assumeTrue(new java.io.File("/usr/bin/chattr").canExecute(), "no chattr(1) (e2fsprogs)");
        String[] gone = leftByAShell("gone").split(" ");
        String[] stuck = leftByAShell("stuck").split(" ");
        Path file = Path.of("/dev/shm" + stuck[0]);
        assumeTrue(new ProcessBuilder("chattr", "+i", file.toString()).inheritIO().start().waitFor() == 0,
                "chattr +i is refused here");
        try {
            Cli.Result r = Cli.run("reap", prefix);
            assertEquals(1, r.status(), r::toString);
            assertEquals("shm\t" + gone[0] + "\t" + gone[1] + "\n", r.out(), "what was removed, all the same");
            assertEquals("ipcbridge: shm_unlink(" + stuck[0] + "): EPERM (Operation not permitted) (1 object not "
                    + "removed, 1 removed)\n", r.err());
        } finally {
            new ProcessBuilder("chattr", "-i", file.toString()).inheritIO().start().waitFor();
        }
    }

    @Test
    void aRunningShellWhoseCommandNameHasASpaceKeepsItsSegment() throws Exception {
        // comm is the script's file name ("my job.sh"): a START cut from field 22 of the whole line
        // is field 21, and the live creator's segment was reaped
        String script = "printf 'my job.sh' > /proc/$$/comm; n=\"/" + prefix + "." + SHELL_OWNER
                + ".live\"; : > \"/dev/shm$n\"; echo \"$n\"; cat > /dev/null";
        Process sh = new ProcessBuilder("sh", "-c", script).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            String name = shms.add(new java.io.BufferedReader(new java.io.InputStreamReader(sh.getInputStream(),
                    StandardCharsets.UTF_8)).readLine());
            Cli.Result r = Cli.run("reap", prefix);
            assertEquals(0, r.status(), r.err());
            assertEquals("", r.out(), "the shell runs");
            assertTrue(Files.exists(Path.of("/dev/shm" + name)), "kept");
        } finally {
            sh.getOutputStream().close();
            assertEquals(0, sh.waitFor());
        }
    }

    @Test
    void aNameOutsideTheRulesIsNotReadAsOneAndCannotForgeALine() throws Exception {
        // a tab and a newline in the label: its line would have read as two, the second one forged
        String[] left = leftByAShell("sh").split(" ");
        Path odd = Path.of("/dev/shm" + left[0].replace(".sh", ".a\nmq\tforged\t1"));
        Files.move(Path.of("/dev/shm" + left[0]), odd);
        try {
            Cli.Result r = Cli.run("reap", prefix);
            assertEquals(0, r.status(), r.err());
            assertEquals("", r.out(), "not a name Reaper.name gives");
            assertTrue(Files.exists(odd));
        } finally {
            Files.deleteIfExists(odd);
        }
    }

    @Test
    void printsJson() throws Exception {
        String[] left = leftByAShell("json").split(" ");
        Cli.Result r = Cli.run("reap", prefix, "--json");
        assertEquals(0, r.status(), r.err());
        assertEquals("[{\"type\":\"shm\",\"name\":\"" + left[0] + "\",\"pid\":" + left[1] + "}]\n", r.out());
        assertEquals("[]\n", Cli.run("reap", prefix, "--json").out());
    }

    @Test
    void theHelpShowsTheShellRecipeAsWritten() {
        // picocli formats descriptions: "%i" and "$$" must come out as written, not as a warning or "$"
        Cli.Result r = Cli.run("reap", "--help");
        assertEquals(0, r.status(), r::toString);
        String help = String.join(" ", r.out().split("\\s+"));
        assertTrue(help.contains("\"/PREFIX.$$.$(sed -n '$s/.*) //p' /proc/$$/stat | cut -d' ' -f20).$(stat -Lc %i /proc/$$/ns/pid).LABEL\""),
                help);
    }

    @Test
    void aPrefixTheRulesRefuseIsAUsageErrorOrARefusal() {
        // CLI.md: a name with another slash is a usage error (2); one the library refuses is exit 1
        Cli.Result slash = Cli.run("reap", "/a/b");
        assertEquals(2, slash.status());
        Cli.Result space = Cli.run("reap", "/a b");
        assertEquals(1, space.status());
        assertTrue(space.err().startsWith("ipcbridge: ") && space.err().lines().count() == 1, space.err());
    }
}
