package io.ipcbridge.cli;

import static io.ipcbridge.cli.MqCommandTest.NL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.Peers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code ipcbridge shm} in this JVM: create, info, rm and the exit statuses 1/2. Copying stdin in
 * and the segment out, with the C peer, is in {@link ShmStdioTest}.
 */
class ShmCommandTest {
    private final Created created = new Created("clishm", SharedMemory::unlink);

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    @Test
    void aSignalDuringTheReservationIsRetried(@TempDir Path dir) throws Exception {
        // RELIABILITY.md 2.1 (EINTR is never visible): posix_fallocate returns the fallocate(2) call's
        // EINTR to its caller, a signal in the middle of reserving a large segment; the create made
        // the call once and failed 'posix_fallocate(NAME): EINTR'. The first call is failed for certain.
        String name = created.name();
        Cli.Child r = Cli.withFirstCallFailing(dir, "fallocate", "EINTR", "shm", "create", name, "--size", "1M");
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.text() + r.err());
        try (SharedMemory shm = SharedMemory.open(name, true)) {
            assertEquals(1 << 20, shm.size());
        }
    }

    @Test
    void createMakesASegmentOfTheSizeWithMode0600AndInfoShowsIt() throws IOException {
        // SHM-18: mode 0600 by default, owner = this user.
        String name = created.name();
        Cli.Result r = Cli.run("shm", "create", name, "--size", "4k");
        assertEquals(0, r.status(), r::toString);
        assertEquals("", r.out() + r.err());
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        int gid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:gid");
        Cli.Result info = Cli.run("shm", "info", name);
        assertEquals(0, info.status(), info::toString);
        assertEquals("name: " + name + NL + "size: 4096" + NL + "mode: 0600" + NL + "uid: " + uid + NL + "gid: " + gid
                + NL, info.out());
        Cli.Result json = Cli.run("shm", "info", name, "--json");
        assertEquals("{\"name\":\"" + name + "\",\"size\":4096,\"mode\":\"0600\",\"uid\":" + uid + ",\"gid\":" + gid
                + "}" + NL, json.out());
    }

    @Test
    void infoShowsASegmentLargerThanOneMapping() throws IOException {
        // SHM-06: info is fstat; a peer may size a segment past 2 GiB (sparse: no memory), which this
        // JVM cannot map but can still describe, as `ls` does
        String name = created.name();
        assertEquals(0, Cli.run("shm", "create", name, "--size", "4k").status());
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile("/dev/shm" + name, "rw")) {
            f.setLength(3L << 30);
        }
        Cli.Result info = Cli.run("shm", "info", name, "--json");
        assertEquals(0, info.status(), info::toString);
        assertTrue(info.out().contains("\"size\":3221225472,\"mode\":\"0600\""), info::toString);
    }

    @Test
    void infoShowsAnOwnerPast2To31AsTheKernelHasIt() throws IOException {
        // SHM-18: uid_t and gid_t are unsigned 32-bit; 3000000000 is a uid, not -1294967296
        String name = created.name();
        assertEquals(0, Cli.run("shm", "create", name, "--size", "4k").status());
        Path file = Path.of("/dev/shm" + name);
        try {
            Files.setAttribute(file, "unix:uid", (int) 3_000_000_000L, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(file, "unix:gid", (int) 4_000_000_000L, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.FileSystemException notRoot) {
            Assumptions.assumeTrue(false, "cannot chown here: " + notRoot.getMessage());
        }
        Cli.Result info = Cli.run("shm", "info", name, "--json");
        assertEquals(0, info.status(), info::toString);
        assertTrue(info.out().contains("\"uid\":3000000000,\"gid\":4000000000}"), info::toString);
        Cli.Result ls = Cli.run("ls", "--json");
        assertEquals(0, ls.status(), ls::toString);
        assertTrue(ls.out().contains("\"name\":\"" + name + "\",\"size\":4096,\"mode\":\"0600\",\"owner\":\"3000000000\","
                + "\"uid\":3000000000,\"gid\":4000000000}"), ls::toString);
        Cli.Result create = Cli.run("shm", "create", name, "--size", "4k");
        assertEquals(1, create.status(), create::toString);
        assertTrue(create.err().contains(" is owned by uid 3000000000, "), create::toString);
    }

    @Test
    void createWithoutExclusiveKeepsAnExistingSegmentAndWithItIsEEXIST() throws IOException {
        // SHM-02: EEXIST; the existing segment keeps its size and bytes.
        String name = created.name();
        assertEquals(0, Cli.run("shm", "create", name, "--size", "100", "--mode", "0640").status());
        try (SharedMemory shm = SharedMemory.open(name)) {
            shm.setInt(0, 42);
        }
        // a wider mode asked for accepts the narrower 0640 (SEC-02), which is kept
        assertEquals(0, Cli.run("shm", "create", name, "--size", "200", "--mode", "0660").status());
        Cli.Result r = Cli.run("shm", "create", name, "--size", "200", "--exclusive");
        assertEquals(1, r.status(), r::toString);
        assertEquals("ipcbridge: shm_open(" + name + "): EEXIST (File exists)" + NL, r.err());
        try (SharedMemory shm = SharedMemory.open(name)) {
            assertEquals(100, shm.size());
            assertEquals(42, shm.getInt(0));
            assertEquals(0640, shm.info().mode());
        }
    }

    @Test
    void createWithoutExclusiveRefusesASegmentOfOursMoreOpenThanTheModeAskedFor() throws Exception {
        // SEC-02: a segment the shell made with the umask cleared (mode 0666: anyone may have written
        // into it) was accepted by a create asking 0600. It is exit 1 with one line now, and left as
        // it was; asking 0666 accepts it
        String name = created.name();
        Process sh = new ProcessBuilder("sh", "-c", "umask 0 && head -c 4096 /dev/zero > \"/dev/shm$0\"", name)
                .redirectErrorStream(true).start();
        assertEquals("", new String(sh.getInputStream().readAllBytes()));
        assertEquals(0, sh.waitFor());
        Peers.closeStreams(sh);
        Cli.Result r = Cli.run("shm", "create", name, "--size", "4k");
        assertEquals(1, r.status(), r::toString);
        assertEquals("", r.out());
        assertEquals("ipcbridge: " + name + ": is mode 0666, more open than the 0600 asked for; refused" + NL, r.err());
        Path file = Path.of("/dev/shm" + name);
        assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)), "left as it was");
        Cli.Result wide = Cli.run("shm", "create", name, "--size", "4k", "--mode", "0666");
        assertEquals(0, wide.status(), wide::toString);
    }

    @Test
    void createOfAnExistingSegmentWithNoSizeIsExitOneAndLeavesItAlone() throws IOException {
        // SHM-05: a creator between its shm_open and its ftruncate (or killed there) leaves a 0-byte
        // object; accepting it "as it is" gave exit 0 and a segment that holds nothing. --exclusive
        // stays EEXIST naming shm_open; without it, one line says the segment has no size
        String name = created.name();
        // mode 0600, as the create asks (SEC-02): the umask's 0644 would be refused as more open
        Files.createFile(Path.of("/dev/shm" + name), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rw-------")));
        Cli.Result r = Cli.run("shm", "create", name, "--size", "4k");
        assertEquals(1, r.status(), r::toString);
        assertEquals("ipcbridge: " + name + ": exists with no size (0 bytes): its creator has not sized it; "
                + "nothing was changed" + NL, r.err());
        r = Cli.run("shm", "create", name, "--size", "4k", "--exclusive");
        assertEquals(1, r.status(), r::toString);
        assertEquals("ipcbridge: shm_open(" + name + "): EEXIST (File exists)" + NL, r.err());
        assertEquals(0, SharedMemory.info(name).size(), "the creator's object is left for its creator to size");
    }

    @Test
    void aSegmentLargerThanOneMappingIsExitOneAndNothingIsCreated() {
        // SHM-04 / CLI.md: the size parses but exceeds what one mapping holds -> 1.
        String name = created.name();
        Cli.Result r = Cli.run("shm", "create", name, "--size", "2GiB");
        assertEquals(1, r.status(), r::toString);
        assertEquals("ipcbridge: shm_open(" + name + "): 2147483648 bytes is more than one mapping can hold "
                + "(2147483647); nothing was created" + NL, r.err());
        assertFalse(Files.exists(Path.of("/dev/shm" + name), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aMissingSegmentIsENOENT() {
        // SHM-01, SHM-09 (second unlink).
        String name = created.name();
        for (String[] args : new String[][] {{"shm", "info", name}, {"shm", "read", name}, {"shm", "rm", name}}) {
            Cli.Result r = Cli.run(args);
            assertEquals(1, r.status(), r::toString);
            String call = args[1].equals("rm") ? "shm_unlink" : "shm_open";
            assertEquals("ipcbridge: " + call + "(" + name + "): ENOENT (No such file or directory)" + NL, r.err());
        }
    }

    @Test
    void rmRemovesTheSegment() {
        String name = created.name();
        assertEquals(0, Cli.run("shm", "create", name, "--size", "1").status());
        assertEquals(0, Cli.run("shm", "rm", name).status());
        assertFalse(Files.exists(Path.of("/dev/shm" + name), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aSymlinkPlantedInDevShmIsRefused() throws IOException {
        // SHM-11 / FIFO-06 spirit: never follow a link in /dev/shm; exit 1, the target untouched.
        String name = created.name();
        Path target = Files.writeString(Files.createTempFile("ipcb-target", ""), "keep");
        Path link = Files.createSymbolicLink(Path.of("/dev/shm" + name), target);
        try {
            Cli.Result r = Cli.run("shm", "info", name);
            assertEquals(1, r.status(), r::toString);
            assertEquals(1, r.err().lines().count(), r::toString);
            assertTrue(r.err().startsWith("ipcbridge: "), r::toString);
            assertEquals("keep", Files.readString(target));
        } finally {
            Files.deleteIfExists(link);
            Files.deleteIfExists(target);
        }
    }

    @ParameterizedTest(name = "ipcbridge {0}")
    @ValueSource(strings = {"shm create a/b --size 1",
        "shm create s --size 0", "shm create s --size -1", "shm create s --size 1.5k", "shm create s",
        "shm create s --size 1 --mode 999", "shm write s --offset x", "shm read s --length -1",
        "shm info s --bogus", "shm rm", "shm"})
    void whatDoesNotParseIsExitTwo(String args) {
        // SHM-16: sem.* and slash names are usage errors (exit 2), before any call.
        Cli.Result r = Cli.run(args.split(" "));
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: "), r::toString);
        assertEquals("", r.out());
    }
}
