package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ipcbridge.Descriptor;
import io.ipcbridge.ErrnoException;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.pipe.PipeSink;
import io.ipcbridge.pipe.PipeSource;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.AncillaryDataTruncatedException;
import io.ipcbridge.socket.MessageTruncatedException;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.PeerState;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Real Python (socket.send_fds / recv_fds, AF_UNIX datagrams) and socat as peers of ipcbridge sockets. */
class SocketPythonTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    void pythonReceivesAPipeEndFromJavaWithRecvFdsAndWritesIntoIt() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM); Pipe pipe = Pipe.open()) {
                Command python = Command.of("python3", "-c", "import socket, os\n"
                        + "s = socket.socket(fileno=3)\n"
                        + "msg, fds, flags, addr = socket.recv_fds(s, 16, 4)\n"
                        + "os.write(fds[0], b'python got ' + msg)\n"
                        + "print(len(fds))\n").fd(3, pair.second());
                try (Pipe out = Pipe.open(); ChildProcess child = python.stdout(out.sink()).start()) {
                    out.sink().close();
                    pair.second().close();
                    pair.first().sendDescriptors(ByteBuffer.wrap("fds!".getBytes(StandardCharsets.US_ASCII)),
                            List.of(pipe.sink().descriptor()));
                    assertEquals("1\n", new String(out.source().inputStream().readAllBytes(), StandardCharsets.UTF_8));
                    assertEquals(0, child.waitFor().code());
                }
                pipe.sink().close();
                assertEquals("python got fds!", new String(pipe.source().inputStream().readAllBytes(),
                        StandardCharsets.US_ASCII));
            }
        });
    }

    /**
     * The descriptors a Python peer sends with {@code socket.send_fds} over a socket pair:
     * {@code setup} (Python, with {@code os}, {@code socket} and {@code sys} imported and
     * {@code args} in {@code sys.argv[1:]}) leaves them in a list {@code fds}.
     */
    private static List<Descriptor> sentByPython(String setup, String... args) throws Exception {
        try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM)) {
            List<String> argv = new ArrayList<>(List.of("python3", "-c", "import socket, os, sys\n" + setup
                    + "socket.send_fds(socket.socket(fileno=3), [b'p'], fds)\n"));
            argv.addAll(List.of(args));
            try (ChildProcess child = Command.of(argv).fd(3, pair.second()).start()) {
                pair.second().close();
                List<Descriptor> fds = pair.first().receiveDescriptors(ByteBuffer.allocate(4), 8);
                assertEquals(0, child.waitFor().code());
                return fds;
            }
        }
    }

    @Test
    void javaReceivesADescriptorPythonSentWithSendFds() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            List<Descriptor> fds = sentByPython("r, w = os.pipe()\n"
                    + "os.write(w, b'written by python')\n"
                    + "os.close(w)\n"
                    + "fds = [r]\n");
            assertEquals(1, fds.size());
            try (PipeSource source = PipeSource.of(fds.get(0))) {
                assertEquals("written by python", new String(source.inputStream().readAllBytes(),
                        StandardCharsets.US_ASCII));
            }
        });
    }

    @Test
    @DisplayName("FD-11, SEC-07: a pipe end made of a received descriptor of the wrong kind is refused and closed")
    void aReceivedDescriptorThatIsNotTheRightPipeEndIsRefused() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            var before = Fds.snapshot();
            // a directory, a socket, a regular file, a pipe's write end, then its read end
            // (the socket is kept: a socket object Python drops is closed at once, its number reused)
            List<Descriptor> fds = sentByPython("r, w = os.pipe()\n"
                    + "kept = socket.socket()\n"
                    + "fds = [os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY), kept.fileno(),\n"
                    + "       os.open(sys.argv[1] + '/file', os.O_RDWR | os.O_CREAT), w, r]\n", dir.toString());
            assertEquals(5, fds.size());
            List<String> kinds = List.of("is a directory", "is a socket", "is a regular file", "is not open for reading");
            for (int i = 0; i < 4; i++) {
                Descriptor d = fds.get(i);
                IpcSecurityException e = assertThrows(IpcSecurityException.class, () -> PipeSource.of(d),
                        "a directory, socket, file or write end is no pipe end to read");
                assertTrue(e.getMessage().endsWith("; refused") && e.getMessage().contains(kinds.get(i)),
                        e.getMessage());
                assertFalse(d.isOpen(), "the refused descriptor is closed");
            }
            Descriptor readEnd = fds.get(4);
            assertThrows(IpcSecurityException.class, () -> PipeSink.of(readEnd), "a read end is no sink");
            assertFalse(readEnd.isOpen(), "the refused descriptor is closed");
            Fds.assertNoneAdded(before);
        });
    }

    /** Reads from {@code s} until {@code n} bytes came, as ASCII. */
    private static String readAscii(Socket s, int n) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining() && s.read(b) > 0) {
            // a stream may bring the bytes in parts
        }
        return StandardCharsets.US_ASCII.decode(b.flip()).toString();
    }

    /** What a test does with the descriptor {@link #passedByPython} received. */
    @FunctionalInterface
    private interface PassedUse {
        void accept(Descriptor passed, Socket toPython, int pythonPid) throws Exception;
    }

    /**
     * Runs {@code script} (Python, with {@code socket} and {@code sys} imported, {@code args} in
     * {@code sys.argv[1:]}, a socket {@code s} to Java that it sends one descriptor over first),
     * hands that descriptor to {@code use}, and returns what Python printed once it exited 0.
     */
    private static String passedByPython(String script, PassedUse use, String... args) throws Exception {
        var before = Fds.snapshot();
        List<String> argv = new ArrayList<>(List.of("python3", "-c", "import socket, sys\n"
                + "s = socket.socket(fileno=3)\n" + script));
        argv.addAll(List.of(args));
        try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM); Pipe out = Pipe.open();
                ChildProcess child = Command.of(argv).fd(3, pair.second()).stdout(out.sink()).start()) {
            pair.second().close();
            out.sink().close();
            use.accept(pair.first().receiveDescriptors(ByteBuffer.allocate(4), 1).get(0), pair.first(), child.pid());
            String printed = new String(out.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertEquals(0, child.waitFor().code());
            return printed;
        } finally {
            Fds.assertNoneAdded(before);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"stream", "seqpacket", "dgram", "tcp"})
    void javaTalksOnAConnectedSocketPythonSentWithSendFds(String kind) throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            String printed = passedByPython("if sys.argv[1] == 'tcp':\n"
                    + "    l = socket.create_server(('127.0.0.1', 0))\n"
                    + "    a = socket.create_connection(l.getsockname())\n"
                    + "    b = l.accept()[0]\n"
                    + "    l.close()\n"
                    + "else:\n"
                    + "    t = {'stream': socket.SOCK_STREAM, 'seqpacket': socket.SOCK_SEQPACKET,\n"
                    + "         'dgram': socket.SOCK_DGRAM}[sys.argv[1]]\n"
                    + "    a, b = socket.socketpair(socket.AF_UNIX, t)\n"
                    + "socket.send_fds(s, [b'p'], [b.fileno()])\n"
                    + "b.close()\n"
                    + "a.sendall(b'from python')\n"
                    + "print(a.recv(64).decode())\n", (passed, toPython, pid) -> {
                        try (Socket s = Socket.of(passed)) {
                            assertEquals(kind.equals("tcp") ? "STREAM" : kind.replace("dgram", "datagram")
                                    .toUpperCase(java.util.Locale.ROOT), s.type().name());
                            if (kind.equals("tcp")) {
                                s.setNoDelay(true); // refused but for TCP: the domain was found
                            } else {
                                assertEquals(pid, s.peerCredentials().pid(), "python made the pair");
                            }
                            assertEquals("from python", readAscii(s, 11));
                            s.write(ByteBuffer.wrap("from java".getBytes(StandardCharsets.US_ASCII)));
                        }
                    }, kind);
            assertEquals("from java\n", printed);
        });
    }

    @Test
    void javaAcceptsOnAListeningSocketPythonSentAndLeavesItsFile() throws Exception {
        Path path = dir.resolve("passed.sock");
        assertTimeoutPreemptively(LIMIT, () -> {
            String printed = passedByPython("l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
                    + "l.bind(sys.argv[1])\n"
                    + "l.listen()\n"
                    + "socket.send_fds(s, [b'p'], [l.fileno()])\n"
                    + "l.close()\n"
                    + "s.recv(1)\n" // java's go: it has looked for a connection
                    + "c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
                    + "c.connect(sys.argv[1])\n"
                    + "c.sendall(b'hello')\n"
                    + "print(c.recv(64).decode())\n", (passed, toPython, pid) -> {
                        try (ServerSocket server = ServerSocket.of(passed)) {
                            // python's listening socket was blocking: a timed accept needs it non-blocking
                            assertEquals(Optional.empty(), server.accept(Duration.ZERO), "nobody has connected yet");
                            toPython.write(ByteBuffer.wrap(new byte[] {1}));
                            try (Socket s = server.accept()) {
                                assertEquals("hello", readAscii(s, 5));
                                s.write(ByteBuffer.wrap("accepted".getBytes(StandardCharsets.US_ASCII)));
                            }
                            assertEquals(Address.unix(path), server.localAddress());
                        }
                        assertTrue(Files.exists(path), "the socket file is python's: closing leaves it");
                    }, path.toString());
            assertEquals("accepted\n", printed);
        });
    }

    @Test
    @DisplayName("FD-11: a received descriptor of the wrong kind, or not connected, is refused as a socket and closed")
    void aReceivedDescriptorThatIsNotTheRightSocketIsRefused() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            var before = Fds.snapshot();
            // a pipe end, a listening socket, a connected one, a netlink socket; then not connected: an
            // AF_UNIX stream, a seqpacket and a TCP socket, and an AF_UNIX datagram one, which needs no
            // connection (sendTo, receiveFrom) and is taken
            List<Descriptor> fds = sentByPython("r, w = os.pipe()\n"
                    + "a, b = socket.socketpair()\n"
                    + "kept = [socket.create_server(('127.0.0.1', 0)), a,\n"
                    + "        socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM),\n"
                    + "        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM),\n"
                    + "        socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET), socket.socket(),\n"
                    + "        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)]\n"
                    + "fds = [r] + [k.fileno() for k in kept]\n");
            assertEquals(8, fds.size());
            ErrnoException notSocket = assertThrows(ErrnoException.class, () -> Socket.of(fds.get(0)));
            assertEquals("ENOTSOCK", notSocket.failure().errnoName(), notSocket.getMessage());
            assertTrue(notSocket.getMessage().startsWith("getsockopt("), notSocket.getMessage());
            IpcSecurityException listening = assertThrows(IpcSecurityException.class, () -> Socket.of(fds.get(1)));
            assertTrue(listening.getMessage().contains("ServerSocket.of"), listening.getMessage());
            IpcSecurityException connected = assertThrows(IpcSecurityException.class,
                    () -> ServerSocket.of(fds.get(2)));
            assertTrue(connected.getMessage().contains("not a listening socket"), connected.getMessage());
            IpcSecurityException netlink = assertThrows(IpcSecurityException.class, () -> Socket.of(fds.get(3)));
            assertTrue(netlink.getMessage().contains("domain 16"), netlink.getMessage());
            for (Descriptor d : fds.subList(4, 7)) {
                ErrnoException e = assertThrows(ErrnoException.class, () -> Socket.of(d));
                assertTrue(e.getMessage().startsWith("getpeername(" + d.name() + "): ENOTCONN"), e.getMessage());
            }
            try (Socket dgram = Socket.of(fds.get(7))) {
                assertEquals(Socket.Type.DATAGRAM, dgram.type());
            }
            for (Descriptor d : fds) {
                assertFalse(d.isOpen(), "the refused descriptor is closed");
            }
            Fds.assertNoneAdded(before);
        });
    }

    /** What a test does with the Java end of {@link #withPythonDatagramPeer}. */
    @FunctionalInterface
    private interface DatagramUse {
        void accept(Socket server) throws Exception;
    }

    /**
     * Runs {@code script} (Python, with {@code socket} and {@code sys} imported, an autobound AF_UNIX
     * datagram socket {@code s}, and the path of Java's in {@code sys.argv[1]}) while {@code use}
     * works on Java's socket, bound to that path; returns what Python printed once it exited 0.
     */
    private String withPythonDatagramPeer(String script, DatagramUse use) throws Exception {
        Path path = dir.resolve("dgram.sock");
        try (Socket server = Socket.bind(Address.unix(path)); Pipe out = Pipe.open();
                ChildProcess child = Command.of("python3", "-c", "import socket, sys\n"
                        + "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
                        + "s.bind('')\n" // autobind: an abstract name the kernel picks
                        + script, path.toString()).stdout(out.sink()).start()) {
            out.sink().close();
            use.accept(server);
            String printed = new String(out.source().inputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, child.waitFor().code());
            return printed;
        }
    }

    @Test
    void aPythonDatagramPeerTalksToAJavaDatagramSocket() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            String printed = withPythonDatagramPeer("s.sendto(b'hello from python', sys.argv[1])\n"
                    + "print(s.recv(64).decode())\n", server -> {
                        ByteBuffer b = ByteBuffer.allocate(64);
                        Address from = server.receiveFrom(b);
                        assertEquals("hello from python", StandardCharsets.UTF_8.decode(b.flip()).toString());
                        server.sendTo(ByteBuffer.wrap("hello from java".getBytes(StandardCharsets.UTF_8)), from);
                    });
            assertEquals("hello from java\n", printed);
        });
    }

    @Test
    @DisplayName("UDS-09: a datagram server can answer the sender of a truncated datagram, or of one with descriptors")
    void aDatagramServerCanAnswerTheSenderOfATruncatedDatagramOrOneWithDescriptors() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            String printed = withPythonDatagramPeer("s.sendto(b'x' * 100, sys.argv[1])\n"
                    + "print(s.recv(64).decode())\n"
                    + "fd0 = (0).to_bytes(4, sys.byteorder)\n" // python's send_fds takes no address
                    + "s.sendmsg([b'fd'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fd0)], 0, sys.argv[1])\n"
                    + "print(s.recv(64).decode())\n", server -> {
                        MessageTruncatedException tooLong = assertThrows(MessageTruncatedException.class,
                                () -> server.receiveFrom(ByteBuffer.allocate(10)));
                        assertTrue(tooLong.sender() instanceof Address.Abstract, "the sender: " + tooLong.sender());
                        server.sendTo(ByteBuffer.wrap("too long".getBytes(StandardCharsets.US_ASCII)),
                                tooLong.sender());
                        AncillaryDataTruncatedException withFds = assertThrows(AncillaryDataTruncatedException.class,
                                () -> server.receiveFrom(ByteBuffer.allocate(10)));
                        assertEquals(tooLong.sender(), withFds.sender(), "the same sender");
                        server.sendTo(ByteBuffer.wrap("no fds".getBytes(StandardCharsets.US_ASCII)), withFds.sender());
                    });
            assertEquals("too long\nno fds\n", printed);
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"unix", "abstract"})
    void aPythonDatagramServerAnswersAConnectedJavaDatagramSocket(String kind) throws Exception {
        Path path = dir.resolve("answering.sock");
        String name = "ipcbridge-answering-" + ProcessHandle.current().pid();
        assertTimeoutPreemptively(LIMIT, () -> {
            Command python = Command.of("python3", "-c", "import socket, sys\n"
                    + "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
                    + "s.bind(sys.argv[1] if sys.argv[1].startswith('/') else '\\0' + sys.argv[1])\n"
                    + "print('bound', flush=True)\n"
                    + "data, sender = s.recvfrom(64)\n"
                    + "s.sendto(b'answer to ' + data, sender)\n",
                    kind.equals("unix") ? path.toString() : name);
            try (Pipe out = Pipe.open(); ChildProcess child = python.stdout(out.sink()).start()) {
                out.sink().close();
                InputStream printed = out.source().inputStream();
                assertEquals("bound\n", new String(printed.readNBytes(6), StandardCharsets.US_ASCII));
                try (Socket s = Socket.connect(kind.equals("unix") ? Address.unix(path) : Address.abstractName(name),
                        Socket.Type.DATAGRAM)) {
                    // unbound, it would send as an unnamed socket: python's sendto would have nowhere to go
                    assertTrue(s.localAddress() instanceof Address.Abstract, "autobound: " + s.localAddress());
                    s.write(ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII)));
                    ByteBuffer b = ByteBuffer.allocate(64);
                    s.read(b);
                    assertEquals("answer to ping", StandardCharsets.US_ASCII.decode(b.flip()).toString());
                }
                assertEquals(0, child.waitFor().code());
            }
        });
    }

    @Test
    @DisplayName("FD-11: a listening socket placed on a child's fd 3 is one the child's blocking accept waits on")
    void pythonAcceptsOnAListeningSocketJavaPlacedOnItsFd3() throws Exception {
        // socket activation as systemd does it: the child inherits the listener and accepts, waiting
        Address address = Address.unix(dir.resolve("inherited.sock"));
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket server = ServerSocket.listen(address, Socket.Type.STREAM); Pipe out = Pipe.open();
                    Pipe err = Pipe.open();
                    ChildProcess child = Command.of("python3", "-c", "import socket\n"
                            + "c = socket.socket(fileno=3).accept()[0]\n"
                            + "c.sendall(b'python accepted ' + c.recv(64))\n")
                            .fd(3, server).stdout(out.sink()).stderr(err.sink()).start()) {
                out.sink().close();
                err.sink().close();
                if (!PeerState.awaitInSyscall(child.pid(), Blocked.ACCEPT4)) {
                    fail("python ended instead of waiting in accept4: "
                            + new String(err.source().inputStream().readAllBytes(), StandardCharsets.UTF_8));
                }
                try (Socket s = Socket.connect(address, Socket.Type.STREAM)) {
                    s.write(ByteBuffer.wrap("java".getBytes(StandardCharsets.US_ASCII)));
                    assertEquals("python accepted java", readAscii(s, 20));
                }
                assertEquals(0, child.waitFor().code());
                assertEquals(Optional.empty(), server.accept(Duration.ZERO), "python took the only connection");
            }
        });
    }

    @Test
    void socatTalksToJavaOverAnAbstractAddressAndAFilesystemPath() throws Exception {
        String name = "ipcbridge-socat-" + ProcessHandle.current().pid();
        Path path = dir.resolve("socat.sock");
        assertTimeoutPreemptively(LIMIT, () -> {
            for (Address address : new Address[] {Address.abstractName(name), Address.unix(path)}) {
                String target = address instanceof Address.Abstract ? "ABSTRACT-CONNECT:" + name
                        : "UNIX-CONNECT:" + path;
                try (ServerSocket server = ServerSocket.listen(address, Socket.Type.STREAM);
                        Pipe in = Pipe.open(); Pipe out = Pipe.open();
                        ChildProcess socat = Command.of("socat", "-", target).stdin(in.source()).stdout(out.sink())
                                .start()) {
                    in.source().close();
                    out.sink().close();
                    try (Socket s = server.accept()) {
                        in.sink().write(ByteBuffer.wrap("to java\n".getBytes(StandardCharsets.US_ASCII)));
                        ByteBuffer b = ByteBuffer.allocate(16);
                        while (b.position() < 8) {
                            s.read(b);
                        }
                        assertEquals("to java\n", StandardCharsets.US_ASCII.decode(b.flip()).toString());
                        s.write(ByteBuffer.wrap("from java\n".getBytes(StandardCharsets.US_ASCII)));
                        in.sink().close();
                    }
                    assertEquals("from java\n", new String(out.source().inputStream().readAllBytes(),
                            StandardCharsets.US_ASCII));
                    socat.waitFor();
                }
            }
        });
    }

    @Test
    @DisplayName("FD-13, SEC-05: over one connection each end's SO_PEERPIDFD names the other, Java's and Python's")
    void javaAndPythonEachPinTheOtherWithSoPeerPidfd() throws Exception {
        Path path = dir.resolve("pidfd.sock");
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket server = ServerSocket.listen(Address.unix(path), Socket.Type.STREAM);
                    ChildProcess python = Command.of("python3", "-c", "import socket, sys\n"
                            + "c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
                            + "c.connect(sys.argv[1])\n"
                            + "fd = c.getsockopt(socket.SOL_SOCKET, 77)\n" // SO_PEERPIDFD
                            + "pid = [l.split()[1] for l in open('/proc/self/fdinfo/%d' % fd) if l.startswith('Pid:')]\n"
                            + "c.sendall(('%-16s' % pid[0]).encode())\n"
                            + "c.recv(1)\n", path.toString()).start();
                    Socket s = server.accept(); Descriptor pidfd = s.peerPidfd()) {
                assertEquals(python.pid(), Socket.pidOf(pidfd), "Java's pidfd names the Python client");
                assertEquals(Long.toString(ProcessHandle.current().pid()), readAscii(s, 16).trim(),
                        "Python's pidfd names this JVM, which listened");
                s.write(ByteBuffer.wrap(new byte[] {1}));
                assertEquals(0, python.waitFor().code());
                assertTrue(pidfd.awaitReadable(Duration.ZERO), "readable once Python has ended");
                assertEquals(-1, Socket.pidOf(pidfd), "and Python, reaped, has no pid");
            }
        });
    }
}
