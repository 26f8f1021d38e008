package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.Descriptor;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.pipe.PipeSource;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.AncillaryDataTruncatedException;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.cli.PatternStream;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Peers;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Java and the C peer native-tests/sock_peer.c at the two ends of every kind of socket. */
class SocketInteropTest {
    private static final Duration LIMIT = Duration.ofMinutes(2);

    @TempDir
    Path dir;

    /** A started C peer with its stdout. */
    private record Peer(ChildProcess child, InputStream out, Pipe pipe) implements AutoCloseable {
        String line() throws Exception {
            StringBuilder b = new StringBuilder();
            for (int c; (c = out.read()) >= 0 && c != '\n'; ) {
                b.append((char) c);
            }
            return b.toString();
        }

        String rest() throws Exception {
            return new String(out.readAllBytes(), StandardCharsets.UTF_8);
        }

        void succeeded() throws Exception {
            assertTrue(child.waitFor().success(), "the C peer succeeded");
        }

        @Override
        public void close() throws Exception {
            child.close();
            pipe.close();
        }
    }

    private static Peer start(Command command) throws Exception {
        Pipe out = Pipe.open();
        ChildProcess child = command.stdout(out.sink()).start();
        out.sink().close();
        return new Peer(child, out.source().inputStream(), out);
    }

    private static Command peer(String... args) {
        List<String> argv = new ArrayList<>(List.of(Peers.path("sock_peer")));
        argv.addAll(List.of(args));
        return Command.of(argv);
    }

    private Address address(String kind) {
        return kind.equals("unix") ? Address.unix(dir.resolve("s.sock"))
                : Address.abstractName("ipcbridge-it-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    }

    private static ByteBuffer text(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII));
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"unix,stream", "unix,seqpacket", "unix,dgram", "abstract,stream", "abstract,seqpacket",
        "abstract,dgram"})
    void javaTalksToACEchoServer(String kind, String type) throws Exception {
        Address a = address(kind);
        assertTimeoutPreemptively(LIMIT, () -> {
            // a datagram server answers COUNT datagrams; a stream or seqpacket one COUNT connections
            try (Peer server = start(peer("echo-server", a.toString(), type, type.equals("dgram") ? "100" : "1"))) {
                assertEquals("ready", server.line());
                Socket s = type.equals("dgram") ? Socket.bind(null)
                        : Socket.connect(a, type.equals("stream") ? Socket.Type.STREAM : Socket.Type.SEQPACKET);
                try (s) {
                    for (int i = 0; i < 100; i++) {
                        ByteBuffer msg = text("java-" + i);
                        if (type.equals("dgram")) {
                            s.sendTo(msg, a);
                        } else {
                            s.write(msg);
                        }
                        ByteBuffer echo = ByteBuffer.allocate(64);
                        while (echo.position() < ("java-" + i).length()) {
                            s.read(echo);
                        }
                        assertEquals("java-" + i, StandardCharsets.US_ASCII.decode(echo.flip()).toString());
                    }
                }
                server.succeeded();
            }
        });
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"unix,stream", "unix,seqpacket", "abstract,stream", "abstract,seqpacket"})
    void aCClientTalksToAJavaEchoServer(String kind, String type) throws Exception {
        Address a = address(kind);
        Socket.Type t = type.equals("stream") ? Socket.Type.STREAM : Socket.Type.SEQPACKET;
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket server = ServerSocket.listen(a, t);
                    Peer client = start(peer("echo-client", a.toString(), type, "100"))) {
                try (Socket s = server.accept()) {
                    ByteBuffer b = ByteBuffer.allocateDirect(4096);
                    for (int n; (n = s.read(b.clear())) > 0; ) {
                        s.write(b.flip());
                    }
                }
                assertEquals("ok 100", client.line());
                client.succeeded();
            }
        });
    }

    @Test
    void aCDatagramClientTalksToAJavaDatagramServer() throws Exception {
        Address a = address("unix");
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket server = Socket.bind(a); Peer client = start(peer("echo-client", a.toString(), "dgram", "50"))) {
                ByteBuffer b = ByteBuffer.allocate(256);
                for (int i = 0; i < 50; i++) {
                    Address from = server.receiveFrom(b.clear());
                    server.sendTo(b.flip(), from);
                }
                assertEquals("ok 50", client.line());
                client.succeeded();
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"tcp:127.0.0.1:0,stream", "tcp:[::1]:0,stream", "udp:127.0.0.1:0,dgram", "udp:[::1]:0,dgram"})
    void tcpAndUdpOverLoopbackWithACPeer(String spec, String type) throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Peer server = start(peer("echo-server", spec, type, "1"))) {
                String ready = server.line();
                assertTrue(ready.startsWith("ready "), ready);
                String host = spec.substring(4, spec.lastIndexOf(':'));
                Address a = Address.parse(spec.substring(0, spec.lastIndexOf(':') + 1) + ready.substring(6));
                Socket s = type.equals("dgram") ? Socket.bind(Address.parse("udp:" + host + ":0"))
                        : Socket.connect(a, Socket.Type.STREAM);
                try (s) {
                    ByteBuffer msg = text("over " + spec);
                    if (type.equals("dgram")) {
                        s.sendTo(msg, a);
                    } else {
                        s.write(msg);
                        s.shutdownOutput();
                    }
                    ByteBuffer echo = ByteBuffer.allocate(64);
                    while (echo.position() < ("over " + spec).length()) {
                        s.read(echo);
                    }
                    assertEquals("over " + spec, StandardCharsets.US_ASCII.decode(echo.flip()).toString());
                }
                server.succeeded();
            }
        });
    }

    @Test
    void oneGibThroughAStreamSocketEachWayWithEqualChecksums() throws Exception {
        long bytes = 1L << 30;
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM);
                    Peer sink = start(peer("sink-fd", "3").fd(3, pair.second()))) {
                pair.second().close();
                PatternStream pattern = new PatternStream(5);
                CRC32 crc = new CRC32();
                ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
                for (long left = bytes; left > 0; left -= buf.capacity()) {
                    pattern.fill(buf.clear());
                    crc.update(buf.flip().duplicate());
                    pair.first().write(buf);
                }
                pair.first().shutdownOutput();
                assertEquals(bytes + " " + String.format("%08x", crc.getValue()), sink.line());
                sink.succeeded();
            }
            try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM);
                    Peer source = start(peer("source-fd", "3", Long.toString(bytes), "6").fd(3, pair.second()))) {
                pair.second().close();
                CRC32 got = new CRC32();
                CRC32 expected = new CRC32();
                PatternStream pattern = new PatternStream(6);
                ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
                ByteBuffer ref = ByteBuffer.allocate(64 * 1024);
                long total = 0;
                for (int n; (n = pair.first().read(buf.clear())) > 0; total += n) {
                    got.update(buf.flip());
                    pattern.fill(ref.clear().limit(n));
                    expected.update(ref.flip());
                }
                assertEquals(bytes, total);
                assertEquals(expected.getValue(), got.getValue());
                source.succeeded();
            }
        });
    }

    @Test
    void javaPassesAPipeEndAndASharedMemorySegmentThatTheCPeerUses() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM); Pipe pipe = Pipe.open();
                    SharedMemory shm = SharedMemory.memfd("passed", 4096, true);
                    Peer c = start(peer("recv-fds", "3").fd(3, pair.second()))) {
                pair.second().close();
                pair.first().sendDescriptors(text("from-java"), List.of(pipe.sink().descriptor(), shm.descriptor()));
                assertEquals("0 fifo\n1 regular\ndata from-java\n", c.rest());
                c.succeeded();
                pipe.sink().close();
                assertEquals("from-c\n", new String(pipe.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII));
                byte[] written = new byte[10];
                shm.buffer().get(0, written);
                assertEquals("c-was-here", new String(written, StandardCharsets.US_ASCII));
            }
        });
    }

    @Test
    void theCPeerPassesDescriptorsThatJavaUses() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM);
                    Peer c = start(peer("send-pipe", "3").fd(3, pair.second()))) {
                pair.second().close();
                ByteBuffer data = ByteBuffer.allocate(4);
                List<Descriptor> fds = pair.first().receiveDescriptors(data, 4);
                assertEquals(1, fds.size());
                try (PipeSource source = PipeSource.of(fds.get(0))) {
                    assertEquals("via-pipe\n", new String(source.inputStream().readAllBytes(), StandardCharsets.US_ASCII));
                }
                c.succeeded();
            }
            Path file = Files.writeString(dir.resolve("file.txt"), "file contents");
            try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM);
                    Peer c = start(peer("send-fds", "3", file.toString()).fd(3, pair.second()))) {
                pair.second().close();
                ByteBuffer data = ByteBuffer.allocate(4);
                List<Descriptor> fds = pair.first().receiveDescriptors(data, 4);
                assertEquals("fds", StandardCharsets.US_ASCII.decode(data.flip()).toString());
                try (Descriptor d = fds.get(0)) {
                    ByteBuffer contents = ByteBuffer.allocate(64);
                    d.read(contents);
                    assertEquals("file contents", StandardCharsets.US_ASCII.decode(contents.flip()).toString());
                }
                c.succeeded();
            }
        });
    }

    @Test
    void moreDescriptorsFromCThanRoomAreClosedAndReported() throws Exception {
        try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM);
                Peer c = start(peer("send-many-fds", "3", "8").fd(3, pair.second()))) {
            pair.second().close();
            c.succeeded();
            AncillaryDataTruncatedException e = assertThrows(AncillaryDataTruncatedException.class,
                    () -> pair.first().receiveDescriptors(ByteBuffer.allocate(1), 2));
            assertEquals(1, e.dataLength());
        }
    }

    @Test
    void peerCredentialsMatchOnBothSides() throws Exception {
        try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM);
                Peer c = start(peer("creds", "3").fd(3, pair.second()))) {
            pair.second().close();
            String[] own = c.line().split(" ");
            String[] peer = c.line().split(" ");
            c.succeeded();
            assertEquals(Integer.toString(c.child().pid()), own[1], "the C peer's own pid");
            assertEquals(Long.toString(ProcessHandle.current().pid()), peer[1], "the C peer sees this JVM");
            Socket.Credentials creds = pair.first().peerCredentials();
            // socketpair credentials are those of the process that made the pair: this JVM
            assertEquals(ProcessHandle.current().pid(), creds.pid());
            assertEquals(Integer.parseInt(own[3]), creds.uid());
        }
    }

    @Test
    void aConnectedCPeerIsSeenWithItsOwnPid() throws Exception {
        Path path = dir.resolve("creds.sock");
        try (ServerSocket server = ServerSocket.listen(Address.unix(path), Socket.Type.STREAM);
                Peer c = start(peer("echo-client", "unix:" + path, "stream", "1"))) {
            try (Socket s = server.accept()) {
                assertEquals(c.child().pid(), s.peerCredentials().pid());
                ByteBuffer b = ByteBuffer.allocate(16);
                for (int n; (n = s.read(b.clear())) > 0; ) {
                    s.write(b.flip());
                }
            }
            c.succeeded();
        }
    }

    @Test
    @DisplayName("FD-13, SEC-05: the peer's pidfd pins the C client; once it is reaped the pidfd polls readable with "
            + "no pid, while SO_PEERCRED still names the pid taken at connect()")
    void thePeerPidfdOutlivesTheCClientWhileItsCredentialsKeepTheOldPid() throws Exception {
        Path path = dir.resolve("pidfd.sock");
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket server = ServerSocket.listen(Address.unix(path), Socket.Type.STREAM);
                    Peer c = start(peer("echo-client", "unix:" + path, "stream", "1")); Socket s = server.accept()) {
                int pid = c.child().pid();
                var before = Fds.snapshot();
                try (Descriptor pidfd = s.peerPidfd()) {
                    // the client waits for the echo of its message: it runs
                    assertEquals(pid, Socket.pidOf(pidfd), "the pidfd's fdinfo names the C client");
                    assertEquals(pid, s.peerCredentials().pid());
                    assertFalse(pidfd.awaitReadable(Duration.ZERO), "not readable while the client runs");
                    ByteBuffer b = ByteBuffer.allocate(16);
                    for (int n; (n = s.read(b.clear())) > 0; ) {
                        s.write(b.flip());
                    }
                    s.shutdownOutput(); // the client's end of stream; the socket stays open
                    c.succeeded(); // reaps it
                    int revents = pidfd.withFd(f -> Syscalls.poll(f, Syscalls.POLLIN, 0, "pidfd"));
                    assertTrue((revents & Syscalls.POLLIN) != 0, "POLLIN once the client has ended: " + revents);
                    assertEquals(-1, Socket.pidOf(pidfd), "a reaped process has no pid");
                    assertEquals(pid, s.peerCredentials().pid(), "SO_PEERCRED keeps the pid it took at connect()");
                }
                Fds.assertNoneAdded(before);
            }
        });
    }
}
