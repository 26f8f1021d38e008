package io.ipcbridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.ring.Ring;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Names;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SHM-19, SEM-05, MQ-22, MQ-21, UDS-16, FD-10: objects created with mode 0600 by root are refused to another user
 * with AccessDeniedException, and stay as they were; what a user may only read it can read. The other user is uid 65534, through
 * setpriv(1), running a JVM on a world-readable copy of the test classpath; skipped when not root.
 */
class PermissionTest {
    @TempDir
    static Path copy;
    private static String classpath;

    @BeforeAll
    static void copyClasspath() throws Exception {
        assumeTrue(Long.parseLong(new String(new ProcessBuilder("id", "-u").start().getInputStream().readAllBytes())
                .trim()) == 0, "not root: cannot run a check as another user");
        assumeTrue(new File("/usr/bin/setpriv").canExecute(), "no setpriv(1)");
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path source = Path.of(entry);
            Path target = copy.resolve(i++ + "-" + source.getFileName());
            if (Files.isDirectory(source)) {
                try (Stream<Path> tree = Files.walk(source)) {
                    for (Path p : (Iterable<Path>) tree::iterator) {
                        Path t = target.resolve(source.relativize(p).toString());
                        if (Files.isDirectory(p)) {
                            Files.createDirectories(t);
                        } else {
                            Files.copy(p, t);
                        }
                    }
                }
            } else if (Files.exists(source)) {
                Files.copy(source, target);
            }
            entries.add(target.toString());
        }
        try (Stream<Path> tree = Files.walk(copy)) {
            for (Path p : (Iterable<Path>) tree::iterator) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x"
                        : "rw-r--r--"));
            }
        }
        classpath = String.join(File.pathSeparator, entries);
    }

    private static String asNobody(String kind, String action, String name) throws Exception {
        Process p = new ProcessBuilder(nobody(kind, action, name)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    /** The command line of {@code OpenAs kind action name} run as uid 65534. */
    private static List<String> nobody(String kind, String action, String name) {
        return javaAsNobody("io.ipcbridge.testing.OpenAs", kind, action, name);
    }

    /** The command line of a JVM running {@code mainClass} with {@code args} as uid 65534. */
    private static List<String> javaAsNobody(String mainClass, String... args) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                java, "--enable-native-access=ALL-UNNAMED", "-cp", classpath, mainClass));
        command.addAll(List.of(args));
        return command;
    }

    /** Runs {@code ipcbridge ARGS} as uid 65534: "exit STATUS", then what it wrote (stdout and stderr). */
    private static String cliAsNobody(String... args) throws Exception {
        Process p = new ProcessBuilder(javaAsNobody("io.ipcbridge.cli.Main", args)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return "exit " + p.waitFor() + "\n" + out;
    }

    @Test
    void anotherUserIsRefusedRootsSharedMemory() throws Exception {
        String n = Names.unique("perm");
        try (SharedMemory shm = SharedMemory.createExclusively(n, 4096)) {
            shm.setInt(0, 42);
            assertEquals("PermissionDeniedException: shm_open(" + n + "): EACCES (Permission denied)",
                    asNobody("shm", "open", n));
            // /dev/shm is sticky: another user's entry cannot be removed (EPERM)
            assertEquals("PermissionDeniedException: shm_unlink(" + n + "): EPERM (Operation not permitted)",
                    asNobody("shm", "unlink", n));
            assertEquals(42, shm.getInt(0));
        } finally {
            SharedMemory.unlink(n);
        }
    }

    @Test
    void aNonRootCreatorCanMapAndWriteASegmentItCreatesReadOnlyForEveryone() throws Exception {
        // SEC-01: the mode is applied exactly, and the creator maps through the O_RDWR descriptor it
        // created with, whatever the mode says about later opens (as shm_open + mmap in C do)
        assertEquals("ok", asNobody("shm", "create-0400", Names.unique("perm")));
    }

    @Test
    void anotherUserMapsASegmentItMayNotOpenThroughTheDescriptorItIsGiven() throws Exception {
        // FD-11, SHM-19: a descriptor handed to a less privileged process (on fd 3 here, as through
        // SCM_RIGHTS) maps as its own access mode allows, as mmap(2) of it does in C; the object's mode,
        // which refuses that user an open, is not checked again (it was, through a /proc/self/fd reopen)
        String n = Names.unique("perm");
        try (SharedMemory shm = SharedMemory.createExclusively(n, 4096)) {
            shm.setInt(0, 42);
            assertEquals("PermissionDeniedException: shm_open(" + n + "): EACCES (Permission denied)",
                    asNobody("shm", "open", n));
            try (Descriptor readOnly = Descriptor.adopt(Syscalls.open("/dev/shm" + n, Syscalls.O_RDONLY, 0, n), n);
                    Pipe out = Pipe.open();
                    ChildProcess child = Command.of(nobody("shm", "map-fd3", n)).fd(3, readOnly)
                            .stdout(out.sink()).stderr(out.sink()).start()) {
                out.sink().close();
                String said = new String(out.source().inputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
                assertEquals("42", said);
                assertTrue(child.waitFor().success(), said);
            }
        } finally {
            SharedMemory.unlink(n);
        }
    }

    @Test
    void anotherUserReadsTheInfoOfRootsRingThatItMayOnlyRead() throws Exception {
        // SHM-07, SHM-19: ring info and ls opened the ring read-write, so a ring this user may only read
        // (root's, mode 0644) was refused with EACCES; it needs read access only
        String n = Names.unique("perm");
        try (Ring ring = Ring.create(n, 1024, 100, false, 0644)) {
            assertTrue(ring.offer(ByteBuffer.wrap(new byte[] {1, 2, 3})));
            assertEquals("exit 0\nname: " + n + "\ncapacity: 1024\nmax-message: 100\nmulti-producer: false\n"
                    + "producer-position: 16\nconsumer-position: 0\nused: 16\nconsumer-pid: -\nproducer-pids: "
                    + ProcessHandle.current().pid() + "\nmode: 0644\n", cliAsNobody("ring", "info", n));
            // and ls, which opened it read-write too, lists it as a ring, not as a segment
            String listed = cliAsNobody("ls", "--type", "ring");
            assertTrue(listed.startsWith("exit 0\n") && listed.contains("\nring\t" + n + "\t1024\t0644\t"), listed);
            Files.setPosixFilePermissions(Path.of("/dev/shm" + n), PosixFilePermissions.fromString("rw-------"));
            assertEquals("exit 1\nipcbridge: shm_open(" + n + "): EACCES (Permission denied)\n",
                    cliAsNobody("ring", "info", n), "one it may not read is still refused");
        } finally {
            Ring.unlink(n);
        }
    }

    @Test
    void aUserRemovesItsOwnRingThatItMayOnlyReadOrNotReadAtAll() throws Exception {
        // ring rm opened the ring read-write to check it is one, so a user's own ring of mode 0444 (or
        // 0000) could not be removed (EACCES), though shm_unlink needs no access to the object: it is
        // checked through a read-only mapping now, and one this user may not read is removed unchecked
        for (String mode : new String[] {"0444", "0000"}) {
            String n = Names.unique("perm");
            assertEquals("exit 0\n", cliAsNobody("ring", "create", n, "--capacity", "1k", "--mode", mode));
            try {
                assertEquals("exit 0\n", cliAsNobody("ring", "rm", n), mode);
                assertFalse(Files.exists(Path.of("/dev/shm" + n), LinkOption.NOFOLLOW_LINKS), mode);
            } finally {
                Files.deleteIfExists(Path.of("/dev/shm" + n));
            }
        }
        // a readable object that is not a ring is still refused, and kept
        String n = Names.unique("perm");
        try {
            assertEquals("exit 0\n", cliAsNobody("shm", "create", n, "--size", "4k", "--mode", "0444"));
            String refused = cliAsNobody("ring", "rm", n);
            assertTrue(refused.startsWith("exit 1\nipcbridge: ring " + n + ": not a ring"), refused);
            assertTrue(Files.exists(Path.of("/dev/shm" + n)), "kept");
        } finally {
            Files.deleteIfExists(Path.of("/dev/shm" + n));
        }
    }

    @Test
    void anotherUserIsRefusedRootsFifoThatOthersMayWriteInto() throws Exception {
        // FIFO-07, SEC-03: another user's FIFO is root's only if no one else may write into it
        Path dir = Files.createTempDirectory(copy, "fifo");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path shared = dir.resolve("shared.fifo");
        Path readable = dir.resolve("readable.fifo");
        Fifo.create(shared, 0666);
        Fifo.create(readable, 0644);
        String refused = asNobody("fifo", "open", shared.toString());
        assertTrue(refused.startsWith("IpcSecurityException: ") && refused.endsWith(
                "is a FIFO of uid 0 with mode 0666, writable by group or others; refused"), refused);
        assertEquals("ok", asNobody("fifo", "open", readable.toString()));
    }

    @Test
    void anotherUserIsRefusedRootsSocketFileByTheBindingAndTheCli() throws Exception {
        // UDS-16: connect(2) as uid 65534 to root's socket file of the default mode 0600 is EACCES,
        // an AccessDeniedException naming connect and the address; the CLI says the same and exits 1
        Path dir = Files.createTempDirectory(copy, "sock");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Address a = Address.unix(dir.resolve("private.sock"));
        try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM)) {
            assertTrue(AccessDeniedException.class.isAssignableFrom(PermissionDeniedException.class));
            assertEquals("PermissionDeniedException: connect(" + a + "): EACCES (Permission denied)",
                    asNobody("sock", "connect", dir.resolve("private.sock").toString()));
            assertEquals("exit 1\nipcbridge: connect(" + a + "): EACCES (Permission denied)\n",
                    cliAsNobody("sock", "connect", a.toString()));
            assertEquals(Optional.empty(), server.accept(Duration.ZERO), "no connection was made");
        }
    }

    @Test
    void descriptorsInFlightPastTheSendersLimitAreAResourceLimitAndTheSenderRecovers() throws Exception {
        // FD-10, LOAD-07: the kernel counts descriptors in flight against the sender's RLIMIT_NOFILE
        // (ETOOMANYREFS), except for a sender with CAP_SYS_ADMIN or CAP_SYS_RESOURCE, as root is here:
        // so uid 65534 sends, with its limit lowered to 16, and recovers once its peer took them
        Process p = new ProcessBuilder(javaAsNobody("io.ipcbridge.testing.DescriptorFlood", "16"))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.matches("refused after [1-9][0-9]*: IpcResourceLimitException: sendmsg\\(socketpair\\): "
                + "ETOOMANYREFS \\(Too many references: cannot splice\\): descriptors in flight over sockets, counted "
                + "against the sender's RLIMIT_NOFILE\nrecovered\n"), out);
    }

    @Test
    void anotherUserIsRefusedRootsSemaphore() throws Exception {
        // SEM-05 (modes 0600 and 0444), SEM-12: open and unlink are refused, the semaphore stays
        for (int mode : new int[] {0600, 0444}) {
            String n = Names.unique("perm");
            try (Semaphore s = Semaphore.createExclusively(n, 2, mode)) {
                assertEquals("PermissionDeniedException: sem_open(" + n + "): EACCES (Permission denied)",
                        asNobody("sem", "open", n), "mode 0" + Integer.toOctalString(mode));
                // /dev/shm is sticky: another user's entry cannot be removed (EPERM)
                assertEquals("PermissionDeniedException: sem_unlink(" + n + "): EPERM (Operation not permitted)",
                        asNobody("sem", "unlink", n));
                assertEquals(2, s.value());
            } finally {
                Semaphore.unlink(n); // NoSuchFileException if the refused unlink had removed it
            }
        }
    }

    @Test
    void anotherUserIsRefusedRootsMessageQueue() throws Exception {
        String n = Names.unique("perm");
        try (MessageQueue q = MessageQueue.createExclusively(n)) {
            assertEquals("PermissionDeniedException: mq_open(" + n + "): EACCES (Permission denied)",
                    asNobody("mq", "open", n));
            assertEquals("PermissionDeniedException: mq_unlink(" + n + "): EACCES (Permission denied)",
                    asNobody("mq", "unlink", n));
            q.send(new byte[] {1}, 0);
            assertEquals(1, q.attributes().currentMessages(), "the queue is unchanged and usable");
        } finally {
            MessageQueue.unlink(n);
        }
    }

    @Test
    void aSemaphoreCreatedWithoutOwnerWriteWorksForItsCreatorAndIsNotLeftHalfMade() throws Exception {
        // glibc's sem_open maps the descriptor it created; a re-open of that file would be refused
        String n = Names.unique("perm");
        try {
            assertEquals("ok", asNobody("sem", "create-0400", n));
        } finally {
            try {
                Semaphore.unlink(n);
            } catch (java.nio.file.NoSuchFileException none) {
                // not created
            }
        }
    }
}
