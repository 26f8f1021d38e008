package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.ring.Ring;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Created;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ipcbridge ls}: what this host holds, one tab-separated line or one JSON object per object. */
class LsCommandTest {
    private static final Duration BOUND = Duration.ofSeconds(60);
    private final Created shms = new Created("clils", SharedMemory::unlink);
    private final Created sems = new Created("clils", Semaphore::unlink);
    private final Created queues = new Created("clils", MessageQueue::unlink);
    private final Created rings = new Created("clils", Ring::unlink);

    @TempDir
    Path dir;

    @AfterEach
    void unlinkAll() {
        shms.unlinkAll();
        sems.unlinkAll();
        queues.unlinkAll();
        rings.unlinkAll();
    }

    private static String me() throws IOException {
        return ((UserPrincipal) Files.getAttribute(Path.of("/proc/self/"), "posix:owner")).getName();
    }

    @Test
    void listsTheObjectsItCreatedWithSizeValueModeAndOwner() throws IOException {
        Path mqueue = Path.of("/dev/mqueue");
        assumeTrue(Files.isDirectory(mqueue) && Files.getFileStore(mqueue).type().equals("mqueue"),
                "the mqueue filesystem is not mounted (.ci/run mounts it: mount -t mqueue none /dev/mqueue)");
        String shm = shms.name();
        String sem = sems.name();
        String mq = queues.name();
        assertEquals(0, Cli.run("shm", "create", shm, "--size", "8k", "--mode", "0640").status());
        assertEquals(0, Cli.run("sem", "create", sem, "--value", "5").status());
        assertEquals(0, Cli.run("mq", "create", mq).status());
        assertEquals(0, Cli.run("mq", "send", mq, "one", "two").status());

        Cli.Result r = Cli.run("ls");
        assertEquals(0, r.status(), r::toString);
        assertEquals("", r.err());
        List<String> lines = r.out().lines().toList();
        String owner = me();
        assertTrue(lines.contains("shm\t" + shm + "\t8192\t0640\t" + owner), r::toString);
        assertTrue(lines.contains("sem\t" + sem + "\t5\t0600\t" + owner), r::toString);
        assertTrue(lines.contains("mq\t" + mq + "\t2\t0600\t" + owner), r::toString);
        assertFalse(lines.stream().anyMatch(l -> l.startsWith("shm\t/sem.")), "semaphores are not segments");
        for (String line : lines) {
            assertEquals(5, line.split("\t", -1).length, () -> "five columns: " + line);
        }
        List<String> types = lines.stream().map(l -> l.substring(0, l.indexOf('\t'))).distinct().toList();
        assertEquals(types.stream().sorted((a, b) -> order(a) - order(b)).toList(), types, "shm, sem, then mq");
    }

    private static int order(String type) {
        return List.of("shm", "sem", "mq", "ring").indexOf(type);
    }

    @Test
    void typeSelectsOneKindAndJsonHasTheKeys() throws IOException {
        String shm = shms.name();
        String sem = sems.name();
        assertEquals(0, Cli.run("shm", "create", shm, "--size", "100").status());
        assertEquals(0, Cli.run("sem", "create", sem, "--value", "1").status());
        Cli.Result onlySem = Cli.run("ls", "--type", "sem");
        assertEquals(0, onlySem.status(), onlySem::toString);
        assertTrue(onlySem.out().lines().allMatch(l -> l.startsWith("sem\t")), onlySem::toString);
        assertTrue(onlySem.out().contains("\t" + sem + "\t"), onlySem::toString);

        Cli.Result json = Cli.run("ls", "--type", "shm", "--json");
        assertEquals(0, json.status(), json::toString);
        assertTrue(json.out().startsWith("[") && json.out().strip().endsWith("]"), json::toString);
        assertEquals(1, json.out().lines().count(), "one line");
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        int gid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:gid");
        assertTrue(json.out().contains("{\"type\":\"shm\",\"name\":\"" + shm + "\",\"size\":100,\"mode\":\"0600\","
                + "\"owner\":\"" + me() + "\",\"uid\":" + uid + ",\"gid\":" + gid + "}"), json::toString);
        assertFalse(json.out().contains(sem), "--type shm lists no semaphore");

        Cli.Result semJson = Cli.run("ls", "--type", "sem", "--json");
        assertTrue(semJson.out().contains("{\"type\":\"sem\",\"name\":\"" + sem + "\",\"value\":1,\"mode\":\"0600\""),
                semJson::toString);
    }

    @Test
    void aSemaphoreThatCannotBeOpenedShowsADash() throws IOException {
        // SEM-14: a planted, corrupt sem file is listed, its value "-" (never opened as a semaphore).
        String sem = sems.name();
        Files.write(Path.of("/dev/shm/sem." + sem.substring(1)), new byte[32]);
        Cli.Result r = Cli.run("ls", "--type", "sem");
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("sem\t" + sem + "\t-\t")), r::toString);
        Cli.Result json = Cli.run("ls", "--type", "sem", "--json");
        assertTrue(json.out().contains("\"name\":\"" + sem + "\",\"value\":null"), json::toString);
    }

    @Test
    void aRingIsListedOnceAsARingWithItsCapacityAndNotAsASegment() throws IOException {
        // A ring is a segment whose header Ring.open accepts: type ring, its capacity in the size column;
        // --type shm leaves it out, a plain segment stays shm.
        String ring = rings.name();
        String shm = shms.name();
        assertEquals(0, Cli.run("ring", "create", ring, "--capacity", "4k", "--max-message", "100").status());
        assertEquals(0, Cli.run("shm", "create", shm, "--size", "4480").status()); // a ring's size, no header

        Cli.Result all = Cli.run("ls");
        assertEquals(0, all.status(), all::toString);
        List<String> lines = all.out().lines().filter(l -> l.contains("\t" + ring + "\t")).toList();
        assertEquals(List.of("ring\t" + ring + "\t4096\t0600\t" + me()), lines, "once, as a ring");
        assertTrue(all.out().lines().anyMatch(l -> l.startsWith("shm\t" + shm + "\t4480\t")), all::toString);

        Cli.Result onlyRings = Cli.run("ls", "--type", "ring");
        assertTrue(onlyRings.out().lines().allMatch(l -> l.startsWith("ring\t")), onlyRings::toString);
        assertTrue(onlyRings.out().contains("\t" + ring + "\t"), onlyRings::toString);
        assertFalse(onlyRings.out().contains(shm), "a plain segment is no ring");
        Cli.Result onlyShm = Cli.run("ls", "--type", "shm");
        assertFalse(onlyShm.out().contains(ring), "--type shm leaves rings out: " + onlyShm);
        assertTrue(onlyShm.out().contains(shm), onlyShm::toString);

        Cli.Result json = Cli.run("ls", "--type", "ring", "--json");
        assertEquals(0, json.status(), json::toString);
        assertTrue(json.out().contains("{\"type\":\"ring\",\"name\":\"" + ring + "\",\"capacity\":4096,"
                + "\"max-message\":100,\"mode\":\"0600\",\"owner\":\"" + me() + "\","), json::toString);
    }

    @Test
    void aNameWithATabOrANewlineCannotForgeALine() throws IOException {
        // CLI.md: one object per line. Any user may create /dev/shm/NAME with a newline and tabs in it;
        // printed as it is, that one segment read as two, the second a forged object of root's.
        // ReapCommand refuses such names for the same reason; ls escapes them ("\\n", "\\t", "\\\\").
        String plain = shms.name();
        Path odd = Path.of("/dev/shm" + plain + ".a\nshm\tforged\t0\t0600\troot\\");
        Files.createFile(odd);
        try {
            Cli.Result r = Cli.run("ls", "--type", "shm");
            assertEquals(0, r.status(), r::toString);
            for (String line : r.out().lines().toList()) {
                assertEquals(5, line.split("\t", -1).length, () -> "five columns: " + line);
                assertFalse(line.startsWith("shm\tforged\t"), () -> "a forged line: " + r.out());
            }
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith("shm\t" + plain
                    + ".a\\nshm\\tforged\\t0\\t0600\\troot\\\\\t0\t")), r::toString);
            Cli.Result json = Cli.run("ls", "--type", "shm", "--json");
            assertTrue(json.out().contains("\"name\":\"" + plain + ".a\\nshm\\tforged\\t0\\t0600\\troot\\\\\""),
                    json::toString);
        } finally {
            Files.deleteIfExists(odd);
        }
    }

    @Test
    void anUnknownTypeIsAUsageError() {
        Cli.Result r = Cli.run("ls", "--type", "pipe");
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: "), r::toString);
    }

    @Test
    void withoutTheMqueueFilesystemItSaysHowToMountItAndListsTheRest() throws Exception {
        // In a private mount namespace without /dev/mqueue mounted (needs root and unshare(1)): one note
        // on stderr naming the mount command, the segments still listed, exit 0.
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/unshare")), "unshare(1) is not installed");
        Process probe = new ProcessBuilder("unshare", "-m", "true").redirectErrorStream(true).start();
        assumeTrue(probe.waitFor(30, TimeUnit.SECONDS) && probe.exitValue() == 0, "no mount namespaces here");
        String shm = shms.name();
        assertEquals(0, Cli.run("shm", "create", shm, "--size", "1").status());
        List<String> java = new ArrayList<>(Cli.command(dir.resolve("unused"), "ls").command());
        String script = "umount /dev/mqueue 2>/dev/null; exec \"$@\"";
        List<String> argv = new ArrayList<>(List.of("unshare", "-m", "sh", "-c", script, "sh"));
        argv.addAll(java);
        Path err = dir.resolve("ls.err");
        Process p = new ProcessBuilder(argv).redirectError(err.toFile()).start();
        try {
            assertTimeoutPreemptively(BOUND, () -> {
                String out = new String(p.getInputStream().readAllBytes());
                assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS));
                assertEquals(0, p.exitValue(), () -> MqStdioTest.read(err));
                assertEquals("ipcbridge: note: /dev/mqueue is not an mqueue filesystem, so message queues are not "
                        + "listed (mount it: mount -t mqueue none /dev/mqueue)\n", MqStdioTest.read(err));
                assertTrue(out.contains("shm\t" + shm + "\t1\t"), out);
            });
        } finally {
            Cli.destroy(p);
        }
    }
}
