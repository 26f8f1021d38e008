package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.ring.Ring;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Names;
import io.ipcbridge.testing.Peers;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SEC-02: a create-or-open of every kind accepts an existing object of this user only if its mode
 * grants nothing beyond the mode asked for. The objects are made by peers with the umask cleared:
 * python3 through the C library's shm_open, sem_open, mq_open and mkfifo, and the C ring peer
 * (mode 0600) followed by chmod(1).
 */
class CreateOrOpenModeTest {
    /** {@code python3 -c PLANT KIND NAME MODE}: creates NAME of KIND with exactly MODE (octal). */
    private static final String PLANT = String.join("\n",
            "import ctypes, os, sys",
            "kind, name, mode = sys.argv[1], sys.argv[2], int(sys.argv[3], 8)",
            "os.umask(0)",
            "libc = ctypes.CDLL(None, use_errno=True)",
            "libc.sem_open.restype = ctypes.c_void_p",
            "rt = ctypes.CDLL('librt.so.1', use_errno=True)",
            "if kind == 'fifo':",
            "    os.mkfifo(name, mode)",
            "elif kind == 'shm':",
            "    fd = rt.shm_open(name.encode(), os.O_CREAT | os.O_EXCL | os.O_RDWR, mode)",
            "    assert fd >= 0, os.strerror(ctypes.get_errno())",
            "    os.ftruncate(fd, 4096)",
            "elif kind == 'sem':",
            "    assert libc.sem_open(name.encode(), os.O_CREAT | os.O_EXCL, mode, 1), os.strerror(ctypes.get_errno())",
            "else:",
            "    q = rt.mq_open(name.encode(), os.O_CREAT | os.O_EXCL | os.O_RDWR, mode, None)",
            "    assert q >= 0, os.strerror(ctypes.get_errno())");

    @TempDir
    Path dir;

    /** Every kind, with the names its tests made. */
    private final List<Kind> kinds = List.of(
            new Kind("shm", new Created("sec02m", SharedMemory::unlink), (c, mode) -> python("shm", c.name(), mode),
                    n -> Path.of("/dev/shm" + n), (n, mode) -> SharedMemory.createOrOpen(n, 4096, mode).close()),
            new Kind("sem", new Created("sec02m", Semaphore::unlink), (c, mode) -> python("sem", c.name(), mode),
                    n -> Path.of("/dev/shm/sem." + n.substring(1)),
                    (n, mode) -> Semaphore.createOrOpen(n, 0, mode).close()),
            new Kind("mq", new Created("sec02m", MessageQueue::unlink), (c, mode) -> python("mq", c.name(), mode),
                    n -> Path.of("/dev/mqueue" + n), (n, mode) -> MessageQueue.createOrOpen(n, 0, 0, mode).close()),
            new Kind("ring", new Created("sec02m", Ring::unlink), CreateOrOpenModeTest::cRing,
                    n -> Path.of("/dev/shm" + n), (n, mode) -> Ring.createOrOpen(n, 1024, 8, false, mode).close()),
            new Kind("fifo", new Created("sec02m", n -> Files.deleteIfExists(Path.of(n))),
                    (c, mode) -> python("fifo", c.add(dir.resolve(Names.unique("fifo").substring(1)).toString()), mode),
                    Path::of, (n, mode) -> assertFalse(Fifo.createIfAbsent(Path.of(n), mode), "it was there")));

    @AfterEach
    void unlinkAll() {
        kinds.forEach(k -> k.created().unlinkAll());
    }

    /** A peer makes an object of the kind with exactly {@code mode}, named by {@code created}; its name. */
    @FunctionalInterface
    private interface Plant {
        String make(Created created, int mode) throws Exception;
    }

    /** The kind's create-or-open of {@code name} asking {@code mode}, closed again at once. */
    @FunctionalInterface
    private interface Open {
        void createOrOpen(String name, int mode) throws IOException;
    }

    private record Kind(String label, Created created, Plant plant, Function<String, Path> file, Open open) {
        String make(int mode) throws Exception {
            return plant.make(created, mode);
        }
    }

    /** {@code name}, made by python3 with {@code mode}. */
    private static String python(String kind, String name, int mode) throws Exception {
        run(new ProcessBuilder("python3", "-c", PLANT, kind, name, Integer.toOctalString(mode)));
        return name;
    }

    /** A ring made by the C peer (mode 0600), then given {@code mode} by chmod(1). */
    private static String cRing(Created rings, int mode) throws Exception {
        String prefix = rings.name();
        run(new ProcessBuilder("sh", "-c", "echo go | \"$0\" create-or-open \"$1\" 1 1024 >/dev/null && chmod \"$2\" "
                + "/dev/shm\"$1\"-0", Peers.path("ring_peer"), prefix, Integer.toOctalString(mode)));
        return rings.add(prefix + "-0");
    }

    private static void run(ProcessBuilder pb) throws Exception {
        Process p = pb.redirectInput(new File("/dev/null")).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), () -> String.join(" ", pb.command()) + ": " + out);
        } finally {
            Peers.closeStreams(p);
        }
    }

    private static int mode(Path file) throws IOException {
        return (Integer) Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
    }

    @Test
    @DisplayName("SEC-02: an object of ours of mode 0666 is refused by a create-or-open asking 0600 "
            + "(others may have written into it), its descriptor closed and the object left as it was")
    void anObjectMoreOpenThanTheModeAskedForIsRefused() throws Exception {
        for (Kind k : kinds) {
            String n = k.make(0666);
            Map<Integer, String> before = Fds.snapshot();
            IpcSecurityException e = assertThrows(IpcSecurityException.class, () -> k.open().createOrOpen(n, 0600),
                    k.label());
            assertEquals(n + ": is mode 0666, more open than the 0600 asked for; refused", e.getMessage(), k.label());
            Fds.assertNoneAdded(before);
            assertEquals(0666, mode(k.file().apply(n)), k.label() + ": left as it was");
        }
    }

    @Test
    @DisplayName("SEC-02: an object of ours of the mode asked for is accepted: 0666 asking 0666, 0600 asking 0600")
    void anObjectOfTheModeAskedForIsAccepted() throws Exception {
        for (Kind k : kinds) {
            for (int mode : new int[] {0666, 0600}) {
                String n = k.make(mode);
                Map<Integer, String> before = Fds.snapshot();
                k.open().createOrOpen(n, mode);
                Fds.assertNoneAdded(before);
            }
        }
    }

    @Test
    @DisplayName("SEC-02: an object of ours of a narrower mode than asked for is accepted: 0400 asking 0600")
    void anObjectOfANarrowerModeIsAccepted() throws Exception {
        // shm, sem, mq and ring are opened for writing, which a 0400 object refuses its owner unless root
        assumeTrue("root".equals(System.getProperty("user.name")), "opening a 0400 object read-write needs root");
        for (Kind k : kinds) {
            String n = k.make(0400);
            Map<Integer, String> before = Fds.snapshot();
            k.open().createOrOpen(n, 0600);
            Fds.assertNoneAdded(before);
            assertEquals(0400, mode(k.file().apply(n)), k.label() + ": left as it was");
        }
    }
}
