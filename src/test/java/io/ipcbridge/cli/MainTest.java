package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The top command: version, help, completion, and exit status 2 for what does not parse (CLI.md). */
class MainTest {
    @Test
    void versionIsTheConstant() {
        Cli.Result r = Cli.run("--version");
        assertEquals(0, r.status(), r::toString);
        assertEquals(Main.VERSION + System.lineSeparator(), r.out());
        assertEquals("", r.err());
    }

    @Test
    void helpListsTheCommandsAndTheExitStatuses() {
        Cli.Result r = Cli.run("--help");
        assertEquals(0, r.status(), r::toString);
        for (String expected : new String[] {"fifo", "shm", "sem", "mq", "sock", "conn", "ring", "ls", "reap", "demo", "help",
            "generate-completion", "Exit status:"}) {
            assertTrue(r.out().contains(expected), () -> "help names " + expected + ": " + r.out());
        }
        for (String status : new String[] {"0", "1", "2", "3"}) {
            assertTrue(r.out().lines().anyMatch(l -> l.strip().startsWith(status + " ")),
                    () -> "help documents exit status " + status + ": " + r.out());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"help fifo", "fifo --help", "fifo help create", "fifo create --help",
        "help demo", "demo --help", "fifo read -h", "help mq", "mq --help", "mq help receive", "mq send --help",
        "mq create -h", "mq info --help", "mq rm --help", "shm --help", "shm help write", "shm read --help",
        "shm create -h", "shm info -h", "shm rm -h", "sem --help", "sem help wait", "sem create -h", "sem post -h",
        "sem trywait -h", "sem value -h", "sem rm -h", "ls --help", "help ls", "help sock", "sock --help",
        "sock help listen", "sock listen --help", "sock connect -h",
        "conn --help", "help conn", "conn send --help", "conn receive -h", "conn help listen",
        "ring --help", "help ring", "ring help create", "ring create -h", "ring send --help", "ring receive -h",
        "ring info --help", "ring rm -h", "reap --help", "help reap", "bench --help"})
    void everyCommandHasHelpOnStdout(String args) {
        Cli.Result r = Cli.run(args.split(" "));
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().startsWith("Usage: ipcbridge "), r::toString);
        assertEquals("", r.err(), "help is data, not a diagnostic");
    }

    @Test
    void helpOfANestedCommandIsThatCommandsAndAnUnknownOneIsAUsageError() {
        // CLI.md `ipcbridge help COMMAND`: `help mq send` is the help of mq send, not of mq; a name
        // that is no command there is exit 2, not someone else's help.
        Cli.Result nested = Cli.run("help", "mq", "send");
        assertEquals(0, nested.status(), nested::toString);
        assertEquals(Cli.run("mq", "send", "--help").out(), nested.out());
        // an unknown option is a usage error too: picocli ignored it once help was asked for, and
        // showed the help (of ipcbridge, or of mq) with exit 0
        for (String[] args : new String[][] {{"help", "mq", "bogus"}, {"mq", "help", "send", "bogus"},
            {"help", "--bogus"}, {"help", "mq", "--bogus"}}) {
            Cli.Result r = Cli.run(args);
            assertEquals(2, r.status(), r::toString);
            assertEquals("", r.out(), r::toString);
            assertEquals(1, r.err().lines().count(), r::toString);
            assertTrue(r.err().startsWith("ipcbridge: ") && r.err().contains("bogus'"), r::toString);
        }
    }

    @Test
    void completionScriptGoesToStdout() {
        Cli.Result r = Cli.run("generate-completion");
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().startsWith("#!/usr/bin/env bash"), () -> r.out().lines().findFirst().orElse(""));
        assertTrue(r.out().contains("fifo"), "the completion knows the subcommands");
    }

    @ParameterizedTest(name = "ipcbridge {0}")
    @ValueSource(strings = {"--bogus", "nosuchcommand", "", "fifo", "fifo create", "fifo create a b",
        "fifo read x --timeout", "fifo read x --timeout abc", "fifo read x --timeout -1s",
        "fifo write x --timeout 5 parsecs", "fifo create x --mode 0800", "fifo create x --mode rw",
        "demo --size 12q", "demo --size -1", "mq", "shm", "sem", "ls extra", "ls --type nope", "mq frobnicate",
        "sock", "sock connect", "sock connect nowhere", "ring", "sock listen unix:/x --type bogus"})
    void whatDoesNotParseExitsTwoWithOneIpcbridgeLineFirst(String args) {
        Cli.Result r = Cli.run(args.isEmpty() ? new String[0] : args.split(" "));
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: "), r::toString);
        assertEquals(1, r.err().lines().count(), () -> "a usage error is exactly one line: " + r);
        assertEquals("", r.out(), "nothing on stdout for a usage error");
    }

    @Test
    void anUnknownOptionIsOneLineWithTheHelpHint() {
        Cli.Result r = Cli.run("mq", "send", "--bogus", "/fixcli-x");
        assertEquals(2, r.status(), r::toString);
        assertEquals("ipcbridge: Unknown option: '--bogus' (see 'ipcbridge mq send --help')" + System.lineSeparator(),
                r.err());
        Cli.Result suggested = Cli.run("mq", "recieve", "/fixcli-x");
        assertEquals(2, suggested.status(), suggested::toString);
        assertEquals(1, suggested.err().lines().count(), () -> "suggestions fold into the one line: " + suggested);
        assertTrue(suggested.err().contains("did you mean 'receive'"), suggested::toString);
    }

    @ParameterizedTest(name = "ipcbridge {0}")
    @ValueSource(strings = {"mq send /fixcli-nolimit --priority 99999999999999999999 x",
        "mq send /fixcli-nolimit --priority 4294967296 x", "sem create /fixcli-nolimit --value 99999999999999999999",
        "mq create /fixcli-nolimit --max-messages 99999999999999999999",
        "shm create /fixcli-nolimit --size 99999999999999999999", "shm create /fixcli-nolimit --size 16777216t",
        "shm create /fixcli-nolimit --size 3GiB", "ring create /fixcli-nolimit --capacity 99999999999999999999",
        "demo --size 99999999999999999999", "bench --repeat 99999999999999999999"})
    void aWellFormedNumberPastALimitIsExitOneWhateverItsDigitCount(String args) {
        // CLI.md: exceeding a system or object limit is 1; only what does not parse is 2. Nothing is created.
        Cli.Result r = Cli.run(args.split(" "));
        assertEquals(1, r.status(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: "), r::toString);
        assertEquals(1, r.err().lines().count(), r::toString);
        assertEquals("", r.out());
    }

    /**
     * The flags and layouts ipcbridge passes are Linux x86-64's (O_NOFOLLOW is O_LARGEFILE on
     * aarch64, say): on another platform it refuses to run, one line and exit 1, before any call.
     * The JVM is told it runs on aarch64; the library refuses before JNA loads its aarch64 stub.
     */
    @Test
    void anotherPlatformIsRefusedInOneLineBeforeAnyCall(@TempDir Path dir) throws Exception {
        Path fifo = dir.resolve("f");
        Path err = dir.resolve("err");
        ProcessBuilder pb = Cli.command(err, "fifo", "create", fifo.toString());
        pb.command().add(1, "-Dos.arch=aarch64");
        Process p = pb.redirectInput(new File("/dev/null")).redirectOutput(new File("/dev/null")).start();
        try {
            assertTrue(p.waitFor(Duration.ofSeconds(60).toSeconds(), TimeUnit.SECONDS), "the CLI ends");
            assertEquals("ipcbridge: ipcbridge runs on Linux x86-64 (amd64) only, not on Linux aarch64\n",
                    Files.readString(err));
            assertEquals(1, p.exitValue());
            assertFalse(Files.exists(fifo, LinkOption.NOFOLLOW_LINKS), "nothing made");
        } finally {
            Cli.destroy(p);
        }
    }
}
