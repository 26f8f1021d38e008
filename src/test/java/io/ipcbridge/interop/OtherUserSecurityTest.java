package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Names;
import io.ipcbridge.testing.UnmappedPeer;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Security defaults against another local user: uid 65534 is played by python3 run through
 * setpriv(1) (RELIABILITY.md §5), and uid 4321 where a uid policy allows it, since the overflow uid
 * 65534 cannot be allowed (SEC-05). Root is needed to switch users; when the tests do not run as
 * root they are skipped with that reason, never passed silently.
 */
class OtherUserSecurityTest {
    private static final int NOBODY = 65534;
    /** Another user, with no account, for uid policies: 65534, the overflow uid, cannot be allowed (SEC-05). */
    private static final int OTHER = 4321;
    private static final Duration LIMIT = Duration.ofSeconds(60);
    /** The system's python3: one under root's home (pyenv) is not runnable by another user. */
    private static final String PYTHON = "/usr/bin/python3";

    /** The client as uid 65534: connects to argv[1] and says what happened; "exit" leaves at once. */
    private static final String CLIENT = String.join("\n",
            "import os, socket, sys",
            "a = sys.argv[1]",
            "addr = '\\0' + a[len('abstract:'):] if a.startswith('abstract:') else a[len('unix:'):]",
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
            "try:",
            "    s.connect(addr)",
            "except OSError as e:",
            "    print('refused', e.errno, flush=True)",
            "    sys.exit(0)",
            "print('connected', os.getpid(), os.getuid(), flush=True)",
            "if sys.argv[2] == 'exit':",
            "    sys.exit(0)",
            "data = s.recv(100)",
            "print('eof' if not data else 'data ' + data.decode(), flush=True)");

    @TempDir
    Path dir;

    @BeforeAll
    static void needRoot() throws Exception {
        assumeTrue(new String(new ProcessBuilder("id", "-u").start().getInputStream().readAllBytes(),
                StandardCharsets.US_ASCII).trim().equals("0"), "not root: cannot act as another user");
        assumeTrue(new File("/usr/bin/setpriv").canExecute(), "no setpriv(1) to act as another user");
        assumeTrue(new File(PYTHON).canExecute(), "no " + PYTHON + " that another user may run");
    }

    /** Starts python3 as uid 65534 running {@code script} with {@code args}. */
    private static Process asNobody(String script, String... args) throws Exception {
        return asUser(NOBODY, NOBODY, script, args);
    }

    /** Starts python3 as {@code uid} and {@code gid}, with no supplementary groups, running {@code script}. */
    private static Process asUser(int uid, int gid, String script, String... args) throws Exception {
        String[] argv = new String[7 + args.length];
        String[] head = {"setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups", PYTHON, "-c", script};
        System.arraycopy(head, 0, argv, 0, head.length);
        System.arraycopy(args, 0, argv, head.length, args.length);
        return new ProcessBuilder(argv).redirectInput(new File("/dev/null")).redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
    }

    /** Runs {@code script} as uid 65534 to its end and returns its output, failing unless it exits 0. */
    private static String runAsNobody(String script, String... args) throws Exception {
        Process p = asNobody(script, args);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    private void openDirToEveryone() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    }

    @Test
    @DisplayName("UDS-16: another user cannot connect to a 0600 socket file; it can when the mode is given")
    void anotherUserIsRefusedAMode0600SocketFile() throws Exception {
        openDirToEveryone();
        Address a = Address.unix(dir.resolve("private.sock"));
        try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM)) {
            assertEquals("refused 13", runAsNobody(CLIENT, a.toString(), "exit"), "EACCES for uid 65534");
        }
        try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM, 0666, false)) {
            assertTrue(runAsNobody(CLIENT, a.toString(), "exit").startsWith("connected "), "a given 0666 is applied");
        }
    }

    @Test
    @DisplayName("UDS-15, SEC-04, SEC-05, FD-12: anyone may connect to an abstract socket; the server's uid policy refuses them")
    void anAbstractServerRefusesOtherUsersByPeerCredentials() throws Exception {
        Address a = Address.abstractName("ipcb-sec-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM)) {
                server.allowUids(0);
                Process p = asNobody(CLIENT, a.toString(), "wait");
                BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                assertTrue(out.readLine().startsWith("connected "), "the kernel checks no permission on abstract names");
                assertEquals(Optional.empty(), server.accept(Duration.ofMillis(200)), "uid 65534 is not allowed");
                assertEquals("eof", out.readLine(), "the refused client was closed unserved");
                assertEquals(0, p.waitFor());

                server.allowUids(OTHER);
                p = asUser(OTHER, OTHER, CLIENT, a.toString(), "wait");
                out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                String[] hello = out.readLine().split(" ");
                try (Socket s = server.accept()) {
                    Socket.Credentials c = s.peerCredentials();
                    assertEquals(OTHER, c.uid());
                    assertEquals(OTHER, c.gid());
                    assertEquals(Integer.parseInt(hello[1]), c.pid());
                    s.write(java.nio.ByteBuffer.wrap("hi".getBytes(StandardCharsets.US_ASCII)));
                }
                assertEquals("data hi", out.readLine());
                assertEquals(0, p.waitFor());
            }
        });
    }

    @Test
    @DisplayName("FD-13: credentials are those of connect(): they stay after the peer has exited")
    void credentialsAreTakenAtConnectTime() throws Exception {
        Address a = Address.abstractName("ipcb-fd13-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM)) {
                String[] hello = runAsNobody(CLIENT, a.toString(), "exit").split(" ");
                try (Socket s = server.accept()) { // the client has exited already
                    assertEquals(new Socket.Credentials(Integer.parseInt(hello[1]), NOBODY, NOBODY), s.peerCredentials(),
                            "the exited peer's pid: a pid alone proves nothing, so policies use uid/gid");
                    assertEquals(-1, s.read(java.nio.ByteBuffer.allocate(1)));
                }
            }
        });
    }

    @Test
    @DisplayName("FD-12: SO_PEERCRED of another user's connection: its uid and, apart from it, its gid")
    void credentialsOfAnotherUserTellItsUidAndItsOwnGid() throws Exception {
        // gid 65533 is none of the uid's groups and differs from the uid, so a swapped or misread
        // field shows; the uid policy admits the peer by its uid alone
        int gid = NOBODY - 1;
        Address a = Address.abstractName("ipcb-fd12-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM)) {
                server.allowUids(OTHER);
                Process p = asUser(OTHER, gid, CLIENT, a.toString(), "wait");
                BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                String[] hello = out.readLine().split(" ");
                assertEquals("connected", hello[0]);
                // queued already: a refusal would leave nothing to accept
                try (Socket s = server.accept(Duration.ofSeconds(10)).orElseThrow(() -> new AssertionError(
                        "the uid policy refused uid " + OTHER + " with gid " + gid))) {
                    assertEquals(new Socket.Credentials(Integer.parseInt(hello[1]), OTHER, gid), s.peerCredentials());
                }
                assertEquals("eof", out.readLine());
                assertEquals(0, p.waitFor());
            }
        });
    }

    @Test
    @DisplayName("SEC-05: a server in a user namespace sees a peer whose uid is not mapped there as the overflow uid, "
            + "and cannot allow that uid: such peers are refused, never admitted together")
    void theOverflowUidOfUnmappedPeersCannotBeAllowed() throws Exception {
        assumeTrue(new File("/usr/bin/unshare").canExecute(), "no unshare(1) to make a user namespace");
        String overflow = Files.readAllLines(Path.of("/proc/sys/kernel/overflowuid")).get(0).trim();
        String name = "ipcb-sec05-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        assertTimeoutPreemptively(LIMIT, () -> {
            // a user namespace that maps its root to ours alone: uid OTHER is not mapped there
            Process server = new ProcessBuilder("unshare", "--user", "--map-root-user",
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    UnmappedPeer.class.getName(), name).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(),
                        StandardCharsets.UTF_8));
                String listening = out.readLine();
                assumeTrue("listening".equals(listening), "no user namespace here: " + listening);
                Process p = asUser(OTHER, OTHER, CLIENT, "abstract:" + name, "exit");
                assertEquals(0, p.waitFor());
                assertEquals("peer uid " + overflow, out.readLine(), "uid " + OTHER + " is the overflow uid there");
                assertEquals("refused: allowUids: " + overflow + " is the overflow uid (/proc/sys/kernel/overflowuid), "
                        + "which the kernel reports for every peer whose uid is not mapped into this user namespace: "
                        + "allowing it would admit them all", out.readLine());
                assertEquals(0, server.waitFor());
            } finally {
                server.destroyForcibly();
            }
        });
    }

    /** Connects as root to abstract name argv[1], then becomes uid 65534, gid 65533 and says so. */
    private static final String DROPPING_CLIENT = String.join("\n",
            "import os, socket, sys",
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
            "s.connect('\\0' + sys.argv[1])",
            "os.setgroups([])",
            "os.setresgid(65533, 65533, 65533)",
            "os.setresuid(65534, 65534, 65534)",
            "print('dropped', os.getpid(), os.getuid(), os.getgid(), flush=True)",
            "print('eof' if not s.recv(100) else 'data', flush=True)");

    @Test
    @DisplayName("FD-13: a peer that changes user after connect() keeps the credentials it connected with")
    void credentialsDoNotFollowAPeerThatChangesUserAfterConnecting() throws Exception {
        String name = "ipcb-fd13s-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket server = ServerSocket.listen(Address.abstractName(name), Socket.Type.STREAM)) {
                server.allowUids(0);
                Process p = new ProcessBuilder(PYTHON, "-c", DROPPING_CLIENT, name)
                        .redirectInput(new File("/dev/null")).redirectError(ProcessBuilder.Redirect.INHERIT).start();
                BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                String[] dropped = out.readLine().split(" ");
                assertEquals(List.of("dropped", NOBODY + "", NOBODY - 1 + ""),
                        List.of(dropped[0], dropped[2], dropped[3]), "the peer is uid 65534 now");
                try (Socket s = server.accept(Duration.ofSeconds(30)).orElseThrow()) {
                    assertEquals(new Socket.Credentials(Integer.parseInt(dropped[1]), 0, 0), s.peerCredentials(),
                            "credentials are those of connect(), so a policy judges who connected");
                }
                assertEquals("eof", out.readLine());
                assertEquals(0, p.waitFor());
            }
        });
    }

    @Test
    @DisplayName("SEC-02, SEC-15: names another user created first are refused: create is exclusive, create-or-open checks the owner")
    void objectsSquattedByAnotherUserAreRefused() throws Exception {
        String shm = Names.unique("sec02");
        String sem = Names.unique("sec02");
        String mq = Names.unique("sec02");
        try {
            runAsNobody(String.join("\n",
                    "import ctypes, os, sys",
                    "os.close(os.open('/dev/shm' + sys.argv[1], os.O_CREAT | os.O_RDWR, 0o666))",
                    "fd = os.open('/dev/shm/sem.' + sys.argv[2][1:], os.O_CREAT | os.O_RDWR, 0o666)",
                    "os.write(fd, bytes(32))",
                    "os.close(fd)",
                    "rt = ctypes.CDLL('librt.so.1', use_errno=True)",
                    "q = rt.mq_open(sys.argv[3].encode(), os.O_CREAT | os.O_RDWR, 0o666, None)",
                    "assert q >= 0, os.strerror(ctypes.get_errno())",
                    "os.close(q)"), shm, sem, mq);
            var fds = Fds.snapshot();
            assertThrows(FileAlreadyExistsException.class, () -> SharedMemory.createExclusively(shm, 4096));
            assertOwnerRefused(shm, () -> SharedMemory.createOrOpen(shm, 4096, 0600));
            assertThrows(FileAlreadyExistsException.class, () -> Semaphore.createExclusively(sem, 1));
            assertOwnerRefused(sem, () -> Semaphore.createOrOpen(sem, 1, 0600));
            // for its owner, not for its (all zero, invalid) layout: refused before it is mapped
            assertOwnerRefused(sem, () -> Semaphore.open(sem));
            assertThrows(FileAlreadyExistsException.class, () -> MessageQueue.createExclusively(mq));
            assertOwnerRefused(mq, () -> MessageQueue.createOrOpen(mq, 10, 64, 0600));
            Fds.assertNoneAdded(fds);
        } finally {
            Files.deleteIfExists(Path.of("/dev/shm" + shm));
            Files.deleteIfExists(Path.of("/dev/shm/sem." + sem.substring(1)));
            try {
                MessageQueue.unlink(mq);
            } catch (java.nio.file.NoSuchFileException gone) {
                // not created
            }
        }
    }

    private static void assertOwnerRefused(String name, org.junit.jupiter.api.function.Executable open) {
        String message = assertThrows(IpcSecurityException.class, open).getMessage();
        assertTrue(message.contains(name) && message.contains("owned by uid " + NOBODY), message);
    }

    @Test
    @DisplayName("SEC-02, SEC-10: create-or-open refuses a segment another user planted for its owner, before mapping it")
    void aSquattedSegmentIsRefusedForItsOwnerWhateverItsSize() throws Exception {
        String shm = Names.unique("sec10");
        try {
            // 3 GiB, sparse: more than one mapping can hold, so mapping it first fails for its size
            runAsNobody("import os, sys; fd = os.open('/dev/shm' + sys.argv[1], os.O_CREAT | os.O_RDWR, 0o666); "
                    + "os.ftruncate(fd, 3 << 30)", shm);
            IpcSecurityException e = assertThrows(IpcSecurityException.class,
                    () -> SharedMemory.createOrOpen(shm, 4096, 0600));
            assertTrue(e.getMessage().contains("owned by uid " + NOBODY), e.getMessage());
            assertEquals(3L << 30, SharedMemory.info(shm).size(), "left as it was");
        } finally {
            Files.deleteIfExists(Path.of("/dev/shm" + shm));
        }
    }

    @Test
    @DisplayName("SEC-03: a FIFO, or a symbolic link, planted by another user at our path is refused")
    void aFifoPlantedByAnotherUserIsRefused() throws Exception {
        openDirToEveryone();
        Path planted = dir.resolve("planted.fifo");
        Path mine = dir.resolve("mine.fifo");
        Path link = dir.resolve("link.fifo");
        Fifo.create(mine);
        runAsNobody("import os, sys; os.mkfifo(sys.argv[1], 0o666); os.symlink(sys.argv[2], sys.argv[3])",
                planted.toString(), mine.toString(), link.toString());
        assertThrows(FileAlreadyExistsException.class, () -> Fifo.create(planted), "mkfifo never reuses an entry");
        assertThrows(FileAlreadyExistsException.class, () -> Fifo.create(link), "nor follows a link");
        assertThrows(IpcSecurityException.class, () -> Fifo.openReadWrite(planted), "owned by uid 65534");
        assertThrows(IpcSecurityException.class, () -> Fifo.openReadWrite(link), "a link to our FIFO");
        Fifo.openReadWrite(mine).close();
    }

    /**
     * A client in a new user namespace: waits for its uid map, becomes root there (it keeps root's
     * real uid here until it does), then connects to abstract name argv[1].
     */
    private static final String NAMESPACED_CLIENT = String.join("\n",
            "import ctypes, os, socket, sys",
            "if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0:  # CLONE_NEWUSER",
            "    print('unshare', os.strerror(ctypes.get_errno()), flush=True)",
            "    sys.exit(0)",
            "print('unshared', flush=True)",
            "sys.stdin.readline()",
            "os.setresgid(0, 0, 0)",
            "os.setresuid(0, 0, 0)",
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
            "s.connect('\\0' + sys.argv[1])",
            "print('connected', os.getuid(), flush=True)",
            "print('eof' if not s.recv(100) else 'data', flush=True)");

    /**
     * Starts {@link #NAMESPACED_CLIENT} in a new user namespace where its uid 0 is {@code outside} here
     * and its gid 0 is {@code outside + 1}, and returns it once mapped, its output in {@code out[0]}.
     */
    private static Process inUserNamespace(String name, int outside, BufferedReader[] out) throws Exception {
        Process p = new ProcessBuilder(PYTHON, "-c", NAMESPACED_CLIENT, name)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        out[0] = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String unshared = out[0].readLine();
        assumeTrue("unshared".equals(unshared), "no user namespaces here: " + unshared);
        Path proc = Path.of("/proc", Long.toString(p.pid()));
        Files.writeString(proc.resolve("uid_map"), "0 " + outside + " 1\n");
        Files.writeString(proc.resolve("gid_map"), "0 " + (outside + 1) + " 1\n");
        p.getOutputStream().write('\n');
        p.getOutputStream().flush();
        return p;
    }

    @Test
    @DisplayName("FD-14: a peer that is root in its own user namespace is seen by its real uid here, and refused")
    void aPeerRootInItsOwnUserNamespaceIsNotRootHere() throws Exception {
        int outside = 100_000;
        String name = "ipcb-fd14-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket server = ServerSocket.listen(Address.abstractName(name), Socket.Type.STREAM)) {
                server.allowUids(0);
                BufferedReader[] out = new BufferedReader[1];
                Process p = inUserNamespace(name, outside, out);
                assertEquals("connected 0", out[0].readLine(), "root inside its namespace");
                assertEquals(Optional.empty(), server.accept(Duration.ofMillis(200)), "but not root here");
                assertEquals("eof", out[0].readLine());
                assertEquals(0, p.waitFor());

                server.allowUids(outside);
                p = inUserNamespace(name, outside, out);
                try (Socket s = server.accept()) {
                    assertEquals(outside, s.peerCredentials().uid(), "SO_PEERCRED translates into our namespace");
                    assertEquals(outside + 1, s.peerCredentials().gid(), "and so does its gid, apart from the uid");
                }
                assertEquals(0, p.waitFor());
            }
        });
    }
}
