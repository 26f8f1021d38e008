package io.ipcbridge.cli;

import static io.ipcbridge.cli.MqCommandTest.NL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.Peers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code ipcbridge sem}: in this JVM, and {@code sem wait} as a child process woken by the C peer. */
class SemCommandTest {
    private static final Duration BOUND = Duration.ofSeconds(60);
    private final Created created = new Created("clisem", Semaphore::unlink);

    @TempDir
    Path dir;

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    private static Path file(String name) {
        return Path.of("/dev/shm/sem." + name.substring(1));
    }

    @Test
    void createPostTrywaitAndValue() throws IOException {
        // SEM-17: mode 0600 by default; value, post --count, trywait as CLI.md says.
        String s = created.name();
        Cli.Result r = Cli.run("sem", "create", s, "--value", "2");
        assertEquals(0, r.status(), r::toString);
        assertEquals("", r.out() + r.err());
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(file(s))));
        assertEquals("2" + NL, Cli.run("sem", "value", s).out());
        assertEquals(0, Cli.run("sem", "post", s, "--count", "3").status());
        assertEquals(0, Cli.run("sem", "post", s).status());
        assertEquals("6" + NL, Cli.run("sem", "value", s).out());
        assertEquals(0, Cli.run("sem", "trywait", s).status());
        assertEquals(0, Cli.run("sem", "wait", s).status());
        assertEquals(0, Cli.run("sem", "wait", s, "--timeout", "1s").status());
        assertEquals("3" + NL, Cli.run("sem", "value", s).out());
        try (Semaphore sem = Semaphore.open(s)) {
            assertEquals(3, sem.value(), "the CLI's value is the library's");
        }
    }

    @Test
    void createWithoutExclusiveCreatesASemaphoreRemovedBetweenItsEexistAndItsOpen() throws Exception {
        // SEM-02, SEC-02: another process's sem_unlink can come between the create's EEXIST (from the
        // link(2) that puts the new semaphore in place) and the open that follows, which then finds
        // no file; the name is free then, and `create` must create it, not fail with ENOENT. The lost
        // race is made certain: the first link is failed with EEXIST although nothing has the name.
        String s = created.name();
        Cli.Child r = Cli.withFirstCallFailing(dir, "link,linkat", "EEXIST", "sem", "create", s, "--value", "4");
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.text() + r.err());
        try (Semaphore sem = Semaphore.open(s)) {
            assertEquals(4, sem.value(), "created with the value asked for");
        }
    }

    @Test
    void createWithoutExclusiveKeepsTheValueAndWithItIsEEXIST() {
        // SEM-02
        String s = created.name();
        assertEquals(0, Cli.run("sem", "create", s, "--value", "4").status());
        assertEquals(0, Cli.run("sem", "create", s, "--value", "9").status());
        assertEquals("4" + NL, Cli.run("sem", "value", s).out(), "the existing value is kept");
        Cli.Result r = Cli.run("sem", "create", s, "--exclusive");
        assertEquals(1, r.status(), r::toString);
        assertEquals("ipcbridge: sem_open(" + s + "): EEXIST (File exists)" + NL, r.err());
    }

    @Test
    void trywaitAtZeroIsExitThreeAndTheValueStaysZero() {
        // SEM-06
        String s = created.name();
        assertEquals(0, Cli.run("sem", "create", s).status());
        Cli.Result r = Cli.run("sem", "trywait", s);
        assertEquals(3, r.status(), r::toString);
        assertEquals("ipcbridge: sem_trywait(" + s + "): EAGAIN (Resource temporarily unavailable): the value is 0"
                + NL, r.err());
        assertEquals("0" + NL, Cli.run("sem", "value", s).out());
    }

    @Test
    void waitWithTimeoutIsExitThreeAfterTheTimeoutWhenNothingPosts() {
        // SEM-07 / CLI-02 for semaphores: --timeout 200ms with no post -> exit 3 after about 200 ms.
        String s = created.name();
        assertEquals(0, Cli.run("sem", "create", s).status());
        long start = System.nanoTime();
        Cli.Result r = assertTimeoutPreemptively(BOUND, () -> Cli.run("sem", "wait", s, "--timeout", "200ms"));
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(3, r.status(), r::toString);
        assertEquals("ipcbridge: sem_clockwait(" + s + "): ETIMEDOUT (Connection timed out): the value stayed 0 for "
                + "200ms" + NL, r.err());
        assertTrue(millis >= 200 && millis < 2000, "about 200 ms: " + millis);
        Cli.Result zero = Cli.run("sem", "wait", s, "--timeout", "0");
        assertEquals(3, zero.status(), zero::toString);
        assertTrue(zero.err().startsWith("ipcbridge: sem_trywait(" + s + "): EAGAIN"), zero::toString);
    }

    @Test
    void waitReturnsZeroWhenTheCPeerPosts() throws Exception {
        // SEM-09: `ipcbridge sem wait --timeout 2s` sleeps in futex(2) on the semaphore; `sem_peer post`
        // wakes it -> exit 0, the unit taken (value 0 after).
        String peer = Peers.path("sem_peer");
        String s = created.name();
        assertEquals(0, Cli.run("sem", "create", s).status());
        Path err = dir.resolve("wait.err");
        Process wait = Cli.command(err, "sem", "wait", s, "--timeout", "2s").start();
        try {
            assertTimeoutPreemptively(BOUND, () -> {
                FutexWait.await(wait, file(s)); // blocked in the kernel on this semaphore: the post comes after
                Process post = new ProcessBuilder(peer, "post", s).inheritIO().start();
                assertEquals(0, post.waitFor(), "sem_peer post");
                assertTrue(wait.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "the wait ends");
                assertEquals(0, wait.exitValue(), () -> MqStdioTest.read(err));
                assertEquals("", MqStdioTest.read(err));
            });
            assertEquals("0" + NL, Cli.run("sem", "value", s).out(), "the wait took the posted unit");
        } finally {
            Cli.destroy(wait);
        }
    }

    @Test
    void overflowAndValuesPastSemValueMaxAreExitOne() {
        // SEM-03, SEM-08: parses but passes SEM_VALUE_MAX -> 1 (CLI.md), the value unchanged.
        String s = created.name();
        Cli.Result big = Cli.run("sem", "create", s, "--value", "2147483648");
        assertEquals(1, big.status(), big::toString);
        assertEquals("ipcbridge: sem_open(" + s + "): value 2147483648 is past SEM_VALUE_MAX (2147483647); nothing "
                + "was created" + NL, big.err());
        assertEquals(1, Cli.run("sem", "value", s).status(), "not created");

        assertEquals(0, Cli.run("sem", "create", s, "--value", "2147483647").status());
        Cli.Result post = Cli.run("sem", "post", s);
        assertEquals(1, post.status(), post::toString);
        assertTrue(post.err().startsWith("ipcbridge: sem_post(" + s + "): EOVERFLOW (Value too large for defined "
                + "data type)"), post::toString);
        assertEquals("2147483647" + NL, Cli.run("sem", "value", s).out(), "unchanged");
    }

    @Test
    void aMissingSemaphoreIsENOENT() {
        // SEM-01, SEM-12
        String s = created.name();
        for (String cmd : new String[] {"post", "wait", "trywait", "value", "rm"}) {
            Cli.Result r = assertTimeoutPreemptively(BOUND, () -> Cli.run("sem", cmd, s));
            assertEquals(1, r.status(), r::toString);
            String call = cmd.equals("rm") ? "sem_unlink" : "sem_open";
            assertEquals("ipcbridge: " + call + "(" + s + "): ENOENT (No such file or directory)" + NL, r.err());
        }
    }

    @Test
    void aCorruptSemaphoreFileIsRefusedNotCrashed() throws IOException {
        // SEM-14: a planted 0-byte sem file -> exit 1, one line (the JVM survives: no SIGBUS).
        String s = created.name();
        Files.createFile(file(s));
        Cli.Result r = Cli.run("sem", "post", s);
        assertEquals(1, r.status(), r::toString);
        assertEquals(1, r.err().lines().count(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: " + s + ": "), r::toString);
    }

    @Test
    void rmRemovesTheSemaphore() {
        String s = created.name();
        assertEquals(0, Cli.run("sem", "create", s).status());
        assertEquals(0, Cli.run("sem", "rm", s).status());
        assertTrue(Files.notExists(file(s)));
    }

    @ParameterizedTest(name = "ipcbridge {0}")
    @ValueSource(strings = {"sem create a/b", "sem create s --value -1", "sem create s --value x",
        "sem post s --count 0", "sem post s --count -2", "sem wait s --timeout 2x", "sem wait s --nonblock",
        "sem trywait s --timeout 1s", "sem value", "sem rm /", "sem"})
    void whatDoesNotParseIsExitTwo(String args) {
        Cli.Result r = Cli.run(args.split(" "));
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: "), r::toString);
        assertEquals("", r.out());
    }

    @Test
    void semaphoreNamesStopAt251Bytes() {
        // SEM-04: 251 accepted (ENOENT: there is none); 252 is a valid name for CLI.md (at most 255
        // bytes) that the library refuses for a semaphore: exit 1 with its sentence, not a usage error.
        Cli.Result ok = Cli.run("sem", "value", "/" + "s".repeat(251));
        assertEquals(1, ok.status(), ok::toString);
        assertTrue(ok.err().contains("ENOENT"), ok::toString);
        Cli.Result r = Cli.run("sem", "value", "/" + "s".repeat(252));
        assertEquals(1, r.status(), r::toString);
        assertTrue(r.err().contains("252 bytes after the slash, at most 251"), r::toString);
        assertEquals(1, r.err().lines().count(), r::toString);
    }
}
