package io.ipcbridge.socket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.ConnectionRefusedException;
import io.ipcbridge.Descriptor;
import io.ipcbridge.IpcError;
import io.ipcbridge.PeerClosedException;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.pipe.PipeSink;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.OwnThreads;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Sockets between Java threads: the cases of RELIABILITY.md §3.6-3.8 one process can show. */
class SocketTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    static ByteBuffer text(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    static String text(ByteBuffer b) {
        return StandardCharsets.UTF_8.decode(b.flip()).toString();
    }

    @ParameterizedTest
    @EnumSource(Socket.Type.class)
    void aSocketPairCarriesDataBothWays(Socket.Type type) throws Exception {
        try (Socket.Pair p = Socket.pair(type)) {
            p.first().write(text("ping"));
            ByteBuffer got = ByteBuffer.allocate(16);
            assertEquals(4, p.second().read(got));
            assertEquals("ping", text(got));
            p.second().write(text("pong!"));
            got.clear();
            assertEquals(5, p.first().read(got));
            assertEquals("pong!", text(got));
        }
    }

    @Test
    void seqpacketKeepsMessageBoundariesAndReportsTruncation() throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.SEQPACKET)) {
            p.first().write(text("one"));
            p.first().write(text("two-two"));
            ByteBuffer b = ByteBuffer.allocate(64);
            assertEquals(3, p.second().read(b));
            assertEquals("one", text(b));
            MessageTruncatedException e = assertThrows(MessageTruncatedException.class,
                    () -> p.second().read(ByteBuffer.allocate(3)));
            assertEquals(7, e.length(), "the real length is reported, never a silent cut");
            p.first().close();
            assertEquals(-1, p.second().read(ByteBuffer.allocate(8)), "end of stream");
        }
    }

    @Test
    void aDatagramLargerThanTheSocketTakesIsEmsgsize() throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.DATAGRAM)) {
            IOException e = assertThrows(IOException.class, () -> p.first().write(ByteBuffer.allocateDirect(1 << 22)));
            assertEquals("EMSGSIZE", ((IpcError) e).errnoName());
        }
    }

    @Test
    void aPipeEndPassedOverASocketIsUsableByTheReceiver() throws Exception {
        // FD passing, SCM_RIGHTS with MSG_CMSG_CLOEXEC
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM); Pipe pipe = Pipe.open()) {
            p.first().sendDescriptors(text("fd"), List.of(pipe.sink().descriptor()));
            ByteBuffer data = ByteBuffer.allocate(8);
            List<Descriptor> got = p.second().receiveDescriptors(data, 4);
            assertEquals("fd", text(data));
            assertEquals(1, got.size());
            try (PipeSink sink = PipeSink.of(got.get(0))) {
                sink.write(text("through a passed descriptor"));
            }
            pipe.sink().close();
            assertEquals("through a passed descriptor",
                    new String(pipe.source().inputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void moreDescriptorsThanRoomAreAllClosedAndReported() throws Exception {
        // MSG_CTRUNC: the descriptors that did arrive are closed, the data is kept
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM); Pipe a = Pipe.open(); Pipe b = Pipe.open()) {
            var before = Fds.snapshot();
            p.first().sendDescriptors(text("x"), List.of(a.source().descriptor(), a.sink().descriptor(),
                    b.source().descriptor(), b.sink().descriptor()));
            ByteBuffer data = ByteBuffer.allocate(4);
            AncillaryDataTruncatedException e = assertThrows(AncillaryDataTruncatedException.class,
                    () -> p.second().receiveDescriptors(data, 2));
            assertEquals(1, e.dataLength());
            Fds.assertNoneAdded(before);
        }
    }

    @Test
    void peerCredentialsAreThisProcess() throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM)) {
            Socket.Credentials c = p.first().peerCredentials();
            assertEquals(ProcessHandle.current().pid(), c.pid());
            assertEquals(Long.parseLong(new String(new ProcessBuilder("id", "-u").start().getInputStream()
                    .readAllBytes()).trim()), c.uid());
        }
    }

    @Test
    void aFilesystemServerGetsMode0600AndRemovesItsFileOnClose() throws Exception {
        Path path = dir.resolve("s.sock");
        try (ServerSocket server = ServerSocket.listen(Address.unix(path), Socket.Type.STREAM);
                Socket client = Socket.connect(Address.unix(path), Socket.Type.STREAM);
                Socket accepted = server.accept()) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(path)));
            client.write(text("hi"));
            ByteBuffer b = ByteBuffer.allocate(4);
            accepted.read(b);
            assertEquals("hi", text(b));
            assertEquals(Address.unix(path), client.remoteAddress());
        }
        assertFalse(Files.exists(path));
    }

    @Test
    void connectAndBindFailuresHaveTheirTypesAndErrnos() throws Exception {
        // UDS-01 (a missing path, a file that is no socket, a bound socket nobody listens on), UDS-02
        Path missing = dir.resolve("missing.sock");
        for (Socket.Type type : Socket.Type.values()) {
            ConnectionRefusedException e = assertThrows(ConnectionRefusedException.class,
                    () -> Socket.connect(Address.unix(missing), type), type::toString);
            assertEquals("connect(unix:" + missing + "): ENOENT (No such file or directory)", e.getMessage());
            assertEquals("ENOENT", e.errnoName());
        }
        Path file = Files.writeString(dir.resolve("file.sock"), "not a socket");
        for (Socket.Type type : Socket.Type.values()) {
            ConnectException notASocket = assertThrows(ConnectException.class,
                    () -> Socket.connect(Address.unix(file), type), type::toString);
            assertEquals("ECONNREFUSED", ((IpcError) notASocket).errnoName());
        }
        assertEquals("not a socket", Files.readString(file), "the file is untouched");
        Path path = dir.resolve("s.sock");
        try (ServerSocket server = ServerSocket.listen(Address.unix(path), Socket.Type.STREAM)) {
            BindException inUse = assertThrows(BindException.class,
                    () -> ServerSocket.listen(Address.unix(path), Socket.Type.STREAM));
            assertEquals("EADDRINUSE", ((IpcError) inUse).errnoName());
            assertTrue(server.isOpen());
        }
        // a stale file: a server that died without removing its socket (here: Python, bound, then gone)
        Path stale = dir.resolve("stale.sock");
        Process py = new ProcessBuilder("python3", "-c", "import socket, sys; socket.socket(socket.AF_UNIX)"
                + ".bind(sys.argv[1])", stale.toString()).inheritIO().start();
        assertEquals(0, py.waitFor());
        ConnectException refused = assertThrows(ConnectException.class,
                () -> Socket.connect(Address.unix(stale), Socket.Type.STREAM));
        assertEquals("ECONNREFUSED", ((IpcError) refused).errnoName());
        assertThrows(BindException.class, () -> ServerSocket.listen(Address.unix(stale), Socket.Type.STREAM));
        try (ServerSocket replaced = ServerSocket.listen(Address.unix(stale), Socket.Type.STREAM, 0600, true)) {
            assertTrue(replaced.isOpen(), "a stale socket file is replaced on request");
        }
        assertThrows(IllegalArgumentException.class, () -> Address.unix(dir.resolve("x".repeat(120))));
        assertThrows(IllegalArgumentException.class, () -> Address.parse("tcp:nohostport"));
        for (String port : new String[] {"+80", "-1", " 80", "", "65536", "123456"}) {
            assertThrows(IllegalArgumentException.class, () -> Address.parse("tcp:127.0.0.1:" + port), port);
        }
        assertEquals(Address.inet("127.0.0.1", 80), Address.parse("tcp:127.0.0.1:80"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"1.2.3.4.5", "1.2.3.256", "1.2.3.4.", "1..2", "4294967296"})
    void aHostOfDigitsAndDotsThatIsNoIpv4AddressIsRefusedNotLookedUp(String host) throws Exception {
        // before, InetAddress asked DNS (and a resolver's search domains) for it: UnknownHostException,
        // at best after the resolver's timeout on a machine without DNS
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Address.parse("tcp:" + host + ":80"));
        assertEquals("not an IPv4 address: " + host, e.getMessage());
        assertEquals(Address.inet("127.0.0.1", 80), Address.parse("tcp:127.1:80"), "inet_aton's short form stays");
    }

    @Test
    void abstractAddressesConnectWithoutAFile() throws Exception {
        Address a = Address.abstractName("ipcbridge-test-" + ProcessHandle.current().pid());
        try (ServerSocket server = ServerSocket.listen(a, Socket.Type.SEQPACKET);
                Socket client = Socket.connect(a, Socket.Type.SEQPACKET); Socket accepted = server.accept()) {
            client.write(text("abstract"));
            ByteBuffer b = ByteBuffer.allocate(16);
            accepted.read(b);
            assertEquals("abstract", text(b));
            assertEquals(a, server.localAddress());
        }
    }

    @Test
    void tcpAndUdpOverLoopbackOnIpv4AndIpv6() throws Exception {
        for (String host : new String[] {"127.0.0.1", "::1"}) {
            try (ServerSocket server = ServerSocket.listen(Address.inet(host, 0), Socket.Type.STREAM)) {
                Address bound = server.localAddress();
                try (Socket client = Socket.connect(bound, Socket.Type.STREAM, Duration.ofSeconds(5));
                        Socket accepted = server.accept()) {
                    client.setNoDelay(true);
                    client.write(text("tcp " + host));
                    client.shutdownOutput();
                    assertEquals("tcp " + host, new String(accepted.inputStream().readAllBytes(),
                            StandardCharsets.UTF_8));
                }
            }
            try (Socket receiver = Socket.bind(Address.inet(host, 0)); Socket sender = Socket.bind(Address.inet(host, 0))) {
                sender.sendTo(text("udp"), receiver.localAddress());
                ByteBuffer b = ByteBuffer.allocate(16);
                Address from = receiver.receiveFrom(b);
                assertEquals("udp", text(b));
                assertEquals(sender.localAddress(), from);
            }
        }
    }

    @Test
    void writingToAClosedPeerIsEpipeAndReadingIsEndOfStream() throws Exception {
        // UDS-04, UDS-05: EPIPE on the first write (AF_UNIX, unlike TCP), no SIGPIPE; end of file on
        // every read; for a pair, and for each end of a path connection
        Address a = Address.unix(dir.resolve("uds05.sock"));
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM); ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM);
                Socket client = Socket.connect(a, Socket.Type.STREAM); Socket accepted = server.accept();
                Socket client2 = Socket.connect(a, Socket.Type.STREAM); Socket accepted2 = server.accept()) {
            for (Socket[] survivorAndPeer : List.of(new Socket[] {p.first(), p.second()},
                    new Socket[] {client, accepted}, new Socket[] {accepted2, client2})) {
                Socket survivor = survivorAndPeer[0];
                survivorAndPeer[1].close();
                PeerClosedException e = assertThrows(PeerClosedException.class,
                        () -> survivor.write(ByteBuffer.allocate(10)), survivor::toString);
                assertEquals("EPIPE", e.errnoName());
                for (int i = 0; i < 3; i++) {
                    assertEquals(-1, survivor.read(ByteBuffer.allocate(10)), "the end stays the end");
                }
            }
        }
    }

    @Test
    @DisplayName("X-06: a server whose accept an interrupt ended still removes its socket file on close")
    void anInterruptedServerStillRemovesItsFileOnClose() throws Exception {
        // The interrupt closes the listening descriptor (as the JDK's channels do) and stays set; the
        // close that follows, in that thread (try-with-resources), must still remove the file. Before,
        // its staleness probe (a connect) failed with ClosedByInterruptException and the file was left,
        // so that the next listen at the path found EADDRINUSE.
        Path path = dir.resolve("i.sock");
        assertTimeoutPreemptively(LIMIT, () -> {
            ServerSocket server = ServerSocket.listen(Address.unix(path), Socket.Type.STREAM);
            Blocked.Call<Socket> accept = Blocked.start(() -> {
                try (ServerSocket s = server) {
                    return s.accept();
                }
            }, Blocked.ACCEPT4);
            accept.thread().interrupt();
            ExecutionException e = assertThrows(ExecutionException.class, () -> accept.result().get(5, TimeUnit.SECONDS));
            assertEquals(ClosedByInterruptException.class, e.getCause().getClass());
        });
        assertFalse(Files.exists(path), "the socket file went with the server");
        ServerSocket.listen(Address.unix(path), Socket.Type.STREAM).close();
    }

    @Test
    void closeAndInterruptEndBlockedAcceptsAndReads() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            ServerSocket server = ServerSocket.listen(Address.unix(dir.resolve("a.sock")), Socket.Type.STREAM);
            Blocked.Call<Socket> accept = Blocked.start(server::accept, Blocked.ACCEPT4);
            server.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> accept.result().get(5, TimeUnit.SECONDS));
            assertEquals(AsynchronousCloseException.class, e.getCause().getClass());
            try (Socket.Pair p = Socket.pair(Socket.Type.STREAM)) {
                Blocked.Call<Integer> read = Blocked.start(() -> p.first().read(ByteBuffer.allocateDirect(4)),
                        Blocked.READ, 47 /* recvmsg: stream reads report passed descriptors */);
                read.thread().interrupt();
                e = assertThrows(ExecutionException.class, () -> read.result().get(5, TimeUnit.SECONDS));
                assertEquals(ClosedByInterruptException.class, e.getCause().getClass());
            }
        });
    }

    @Test
    @DisplayName("X-02, X-06: a TCP stream, read with read(2), ends a blocked read on interrupt and on close, and reads EOF")
    void aTcpReadIsARead2ThatInterruptCloseAndEndOfStreamEnd() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket server = ServerSocket.listen(Address.inet("127.0.0.1", 0), Socket.Type.STREAM);
                    Socket client = Socket.connect(server.localAddress(), Socket.Type.STREAM, Duration.ofSeconds(5));
                    Socket accepted = server.accept()) {
                Blocked.Call<Integer> read = Blocked.start(() -> client.read(ByteBuffer.allocateDirect(4)),
                        Blocked.READ);
                read.thread().interrupt();
                ExecutionException e = assertThrows(ExecutionException.class, () -> read.result().get(5, TimeUnit.SECONDS));
                assertEquals(ClosedByInterruptException.class, e.getCause().getClass());
                assertFalse(client.isOpen(), "an interrupt closes the socket, as the JDK's channels do");
            }
            try (ServerSocket server = ServerSocket.listen(Address.inet("127.0.0.1", 0), Socket.Type.STREAM);
                    Socket client = Socket.connect(server.localAddress(), Socket.Type.STREAM, Duration.ofSeconds(5));
                    Socket accepted = server.accept()) {
                Blocked.Call<Integer> read2 = Blocked.start(() -> accepted.read(ByteBuffer.allocateDirect(4)),
                        Blocked.READ);
                accepted.close();
                ExecutionException e = assertThrows(ExecutionException.class, () -> read2.result().get(5, TimeUnit.SECONDS));
                assertEquals(AsynchronousCloseException.class, e.getCause().getClass());
            }
            try (ServerSocket server = ServerSocket.listen(Address.inet("::1", 0), Socket.Type.STREAM);
                    Socket client = Socket.connect(server.localAddress(), Socket.Type.STREAM, Duration.ofSeconds(5));
                    Socket accepted = server.accept()) {
                client.write(text("abc"));
                client.close();
                ByteBuffer heap = ByteBuffer.allocate(8);
                assertEquals(3, accepted.read(heap), "a heap buffer is read through a direct one");
                assertEquals("abc", new String(heap.array(), 0, 3, StandardCharsets.US_ASCII));
                assertEquals(-1, accepted.read(heap));
            }
        });
    }

    @Test
    @DisplayName("X-06: with the open file made non-blocking elsewhere, an interrupt still ends a read with ClosedByInterruptException")
    void anInterruptEndsAReadWaitingInPollOnAFileMadeNonBlockingElsewhere() throws Exception {
        for (Socket.Type type : Socket.Type.values()) {
            assertTimeoutPreemptively(LIMIT, () -> {
                try (Socket.Pair p = Socket.pair(type)) {
                    // O_NONBLOCK set on the open file behind the Descriptor's back, as a child sharing it would
                    p.first().descriptor().withFd(f -> {
                        Syscalls.setNonBlocking(f, true, "test");
                        return null;
                    });
                    Blocked.Call<Integer> read = Blocked.start(() -> p.first().read(ByteBuffer.allocateDirect(4)),
                            Blocked.POLL);
                    read.thread().interrupt();
                    ExecutionException e = assertThrows(ExecutionException.class,
                            () -> read.result().get(5, TimeUnit.SECONDS));
                    assertEquals(ClosedByInterruptException.class, e.getCause().getClass(), type.toString());
                }
            });
        }
    }

    /** A call that cannot wait, made on a thread with its interrupt set; the interrupt must stay set. */
    private static <T> T withInterruptPending(Callable<T> call) throws Exception {
        Thread.currentThread().interrupt();
        try {
            return call.call();
        } finally {
            assertTrue(Thread.interrupted(), "the interrupt is kept");
        }
    }

    @ParameterizedTest
    @EnumSource(Socket.Type.class)
    @DisplayName("X-06, UDS-10: calls of a non-blocking socket never wait, so a pending interrupt neither ends nor closes them")
    void nonBlockingCallsTakeNoPendingInterruptAndLeaveTheSocketOpenAsTheJdksChannelsDo(Socket.Type type)
            throws Exception {
        // As the JDK's non-blocking SocketChannel (and Descriptor's non-blocking reads and writes):
        // there is no blocked call for an interrupt to end. A read, write, sendmsg or recvmsg threw
        // ClosedByInterruptException and closed the socket (a stream's write, through Descriptor, did not)
        try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)
                        .bind(UnixDomainSocketAddress.of(dir.resolve("jdk.sock")));
                SocketChannel jdk = SocketChannel.open(listener.getLocalAddress());
                SocketChannel peer = listener.accept()) {
            jdk.configureBlocking(false);
            assertEquals(0, withInterruptPending(() -> jdk.read(ByteBuffer.allocate(8))), "the JDK: nothing there");
            assertEquals(3, withInterruptPending(() -> jdk.write(text("one"))), "the JDK: written");
            assertTrue(jdk.isOpen(), "the JDK keeps it open");
        }
        try (Socket.Pair p = Socket.pair(type); Pipe pipe = Pipe.open()) {
            p.first().descriptor().setNonBlocking(true);
            p.second().descriptor().setNonBlocking(true);
            assertEquals(0, withInterruptPending(() -> p.second().read(ByteBuffer.allocate(8))), "nothing there");
            assertEquals(List.of(), withInterruptPending(() -> p.second().receiveDescriptors(ByteBuffer.allocate(8), 1)));
            assertEquals(3, withInterruptPending(() -> p.first().write(text("one"))));
            assertEquals(1, withInterruptPending(() -> p.first().sendDescriptors(text("d"), List.of(pipe.sink().descriptor()))));
            ByteBuffer got = ByteBuffer.allocate(8);
            assertEquals(3, withInterruptPending(() -> p.second().read(got.limit(3))));
            assertEquals("one", text(got));
            List<Descriptor> passed = withInterruptPending(() -> p.second().receiveDescriptors(got.clear(), 1));
            assertEquals(1, passed.size(), "the pipe's end came");
            passed.get(0).close();
            assertTrue(p.first().isOpen() && p.second().isOpen(), "both ends stay open");
        }
    }

    @Test
    @DisplayName("X-06: a datagram sendTo and receiveFrom in non-blocking mode take no pending interrupt")
    void nonBlockingDatagramsToAndFromAnAddressTakeNoPendingInterrupt() throws Exception {
        try (DatagramChannel jdk = DatagramChannel.open()) { // UDP: the JDK has no AF_UNIX datagrams
            jdk.configureBlocking(false);
            jdk.bind(new java.net.InetSocketAddress("127.0.0.1", 0));
            assertEquals(null, withInterruptPending(() -> jdk.receive(ByteBuffer.allocate(8))), "the JDK: none");
            assertTrue(jdk.isOpen(), "the JDK keeps it open");
        }
        try (Socket server = Socket.bind(Address.unix(dir.resolve("d.sock"))); Socket client = Socket.bind(null)) {
            server.descriptor().setNonBlocking(true);
            client.descriptor().setNonBlocking(true);
            assertEquals(null, withInterruptPending(() -> server.receiveFrom(ByteBuffer.allocate(8))), "none yet");
            assertEquals(2, withInterruptPending(() -> client.sendTo(text("hi"), server.localAddress())));
            ByteBuffer got = ByteBuffer.allocate(8);
            assertEquals(client.localAddress(), withInterruptPending(() -> server.receiveFrom(got)));
            assertEquals("hi", text(got));
            assertTrue(server.isOpen() && client.isOpen());
        }
    }

    @Test
    @DisplayName("X-06: accept(ZERO), connect(ZERO) and a read with a zero read timeout take no pending interrupt")
    void zeroTimeoutsTakeNoPendingInterruptAsTheJdksNonBlockingChannelsDo() throws Exception {
        try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)
                        .bind(UnixDomainSocketAddress.of(dir.resolve("jdk.sock")));
                SocketChannel jdk = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.configureBlocking(false);
            jdk.configureBlocking(false);
            assertEquals(null, withInterruptPending(listener::accept), "the JDK: none queued");
            withInterruptPending(() -> jdk.connect(listener.getLocalAddress()));
            withInterruptPending(listener::accept).close();
            assertTrue(listener.isOpen() && jdk.isOpen(), "the JDK keeps both open");
        }
        for (Address address : List.of(Address.unix(dir.resolve("z.sock")), Address.inet("127.0.0.1", 0))) {
            try (ServerSocket server = ServerSocket.listen(address, Socket.Type.STREAM)) {
                assertEquals(Optional.empty(), withInterruptPending(() -> server.accept(Duration.ZERO)), "none queued");
                assertTrue(server.isOpen(), address + " stays open");
            }
        }
        // an AF_UNIX connect that finds room in the backlog is queued when it returns
        try (ServerSocket server = ServerSocket.listen(Address.unix(dir.resolve("c.sock")), Socket.Type.STREAM);
                Socket client = withInterruptPending(() -> Socket.connect(server.localAddress(),
                        Socket.Type.STREAM, Duration.ZERO));
                Socket accepted = withInterruptPending(() -> server.accept(Duration.ZERO)).orElseThrow()) {
            accepted.setReadTimeout(Duration.ZERO);
            assertThrows(SocketTimeoutException.class,
                    () -> withInterruptPending(() -> accepted.read(ByteBuffer.allocate(8))));
            assertTrue(accepted.isOpen(), "a read that only looks stays open");
            client.write(text("x"));
            assertEquals(1, withInterruptPending(() -> accepted.read(ByteBuffer.allocate(8))));
            assertTrue(server.isOpen() && client.isOpen() && accepted.isOpen());
        }
    }

    @Test
    void timeoutsOnConnectAcceptAndRead() throws Exception {
        try (ServerSocket server = ServerSocket.listen(Address.unix(dir.resolve("t.sock")), Socket.Type.STREAM);
                Socket.Pair p = Socket.pair(Socket.Type.STREAM)) {
            assertEquals(Optional.empty(), server.accept(Duration.ofMillis(50)));
            p.first().setReadTimeout(Duration.ofMillis(50));
            assertThrows(java.net.SocketTimeoutException.class, () -> p.first().read(ByteBuffer.allocate(4)));
        }
    }

    @Test
    void aServerCanAcceptOnlyGivenUsers() throws Exception {
        Path path = dir.resolve("u.sock");
        try (ServerSocket server = ServerSocket.listen(Address.unix(path), Socket.Type.STREAM)) {
            server.allowUids(12345);
            try (Socket client = Socket.connect(Address.unix(path), Socket.Type.STREAM)) {
                assertEquals(Optional.empty(), server.accept(Duration.ofMillis(200)), "our uid is not allowed");
                assertEquals(-1, client.read(ByteBuffer.allocate(1)), "the refused connection was closed");
            }
        }
    }

    @Test
    void useAfterCloseIsClosedChannel() throws Exception {
        Socket.Pair p = Socket.pair(Socket.Type.STREAM);
        p.close();
        p.close();
        assertThrows(ClosedChannelException.class, () -> p.first().write(text("x")));
        assertThrows(ClosedChannelException.class, p.first()::peerCredentials);
    }

    @Test
    void twoHundredConcurrentClientsEachSendAThousandMessagesAndNoneIsLost() throws Exception {
        // NL-05 style load over seqpacket: every (client, seq) arrives exactly once
        Path path = dir.resolve("load.sock");
        int clients = 200;
        int messages = 1_000;
        assertTimeoutPreemptively(Duration.ofMinutes(3), () -> {
            try (ServerSocket server = ServerSocket.listen(Address.unix(path), Socket.Type.SEQPACKET)) {
                ExecutorService pool = Executors.newFixedThreadPool(16);
                ExecutorService drains = Executors.newCachedThreadPool();
                try {
                    List<Future<Long>> received = new ArrayList<>();
                    CompletableFuture<Void> acceptor = CompletableFuture.runAsync(() -> {
                        try {
                            for (int i = 0; i < clients; i++) {
                                Socket s = server.accept();
                                received.add(drains.submit(() -> drain(s, messages)));
                            }
                        } catch (IOException e) {
                            throw new RuntimeException(e);
                        }
                    }, OwnThreads.EACH);
                    List<CompletableFuture<Void>> senders = new ArrayList<>();
                    for (int c = 0; c < clients; c++) {
                        int id = c;
                        senders.add(CompletableFuture.runAsync(() -> {
                            try (Socket s = Socket.connect(Address.unix(path), Socket.Type.SEQPACKET)) {
                                ByteBuffer m = ByteBuffer.allocateDirect(8);
                                for (int i = 0; i < messages; i++) {
                                    s.write(m.clear().putInt(0, id).putInt(4, i));
                                }
                            } catch (IOException e) {
                                throw new RuntimeException(e);
                            }
                        }, pool));
                    }
                    acceptor.get();
                    CompletableFuture.allOf(senders.toArray(new CompletableFuture<?>[0])).get();
                    long total = 0;
                    for (Future<Long> f : received) {
                        total += f.get();
                    }
                    assertEquals((long) clients * messages, total);
                } finally {
                    pool.shutdownNow();
                    drains.shutdownNow();
                }
            }
        });
    }

    @ParameterizedTest
    @EnumSource(value = Socket.Type.class, names = {"DATAGRAM", "SEQPACKET"})
    void messagesSentWithNonBlockingBackpressureAllArriveWholeAndInOrder(Socket.Type type) throws Exception {
        // NL-05 at 200,000 messages of 8 to 263 bytes per type: the sender is non-blocking, so a full
        // socket refuses a message whole (0) and the sender waits for room and sends it again; the
        // receiver's buffer has room for any message, so a truncation (MSG_TRUNC) would throw
        int messages = 200_000;
        assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
            try (Socket.Pair pair = Socket.pair(type)) {
                CompletableFuture<Long> receiver = CompletableFuture.supplyAsync(() -> {
                    ByteBuffer m = ByteBuffer.allocateDirect(512);
                    try {
                        for (long seq = 0; seq < messages; seq++) {
                            int n = pair.second().read(m.clear());
                            assertEquals(8 + seq % 256, n, "message " + seq + " whole");
                            assertEquals(seq, m.getLong(0), "in order, none dropped or repeated");
                            for (int i = 8; i < n; i++) {
                                assertEquals((byte) seq, m.get(i), "message " + seq + " intact");
                            }
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    return (long) messages;
                }, OwnThreads.EACH);
                Socket sender = pair.first();
                sender.descriptor().setNonBlocking(true);
                ByteBuffer m = ByteBuffer.allocateDirect(512);
                long refused = 0;
                for (long seq = 0; seq < messages; seq++) {
                    m.clear().putLong(seq);
                    while (m.position() < 8 + seq % 256) {
                        m.put((byte) seq);
                    }
                    m.flip();
                    int length = m.remaining();
                    int n;
                    while ((n = sender.write(m)) == 0) {
                        refused++;
                        assertEquals(length, m.remaining(), "a refused message is not sent in part");
                        assertTrue(sender.descriptor().awaitWritable(Duration.ofMinutes(1)), "room came");
                    }
                    assertEquals(length, n, "sent whole");
                }
                assertEquals(messages, receiver.join(), "as many received as sent");
                assertTrue(refused > 0, "the backpressure path was taken");
            }
        });
    }

    /** Reads one client's messages to its end, checking the sequence; returns how many arrived. */
    private static long drain(Socket s, int expected) throws IOException {
        try (s) {
            ByteBuffer m = ByteBuffer.allocateDirect(8);
            int next = 0;
            int client = -1;
            while (s.read(m.clear()) > 0) {
                if (client < 0) {
                    client = m.getInt(0);
                }
                assertEquals(client, m.getInt(0));
                assertEquals(next++, m.getInt(4), "in order, none lost or repeated");
            }
            assertEquals(expected, next);
            return next;
        }
    }

    @Test
    void tenThousandConnectsAndDescriptorPassesLeaveNoDescriptorBehind() throws Exception {
        Path path = dir.resolve("leak.sock");
        var before = Fds.snapshot();
        try (ServerSocket server = ServerSocket.listen(Address.unix(path), Socket.Type.STREAM);
                Socket.Pair pair = Socket.pair(Socket.Type.STREAM); Pipe pipe = Pipe.open()) {
            for (int i = 0; i < 10_000; i++) {
                Socket.connect(Address.unix(path), Socket.Type.STREAM).close();
                server.accept().close();
                pair.first().sendDescriptors(text("x"), List.of(pipe.sink().descriptor()));
                for (Descriptor d : pair.second().receiveDescriptors(ByteBuffer.allocate(1), 1)) {
                    d.close();
                }
            }
        }
        Fds.assertNoneAdded(before);
    }

    @Test
    void aDatagramSocketBoundToAPathGetsMode0600AndRemovesItsFile() throws Exception {
        Path path = dir.resolve("d.sock");
        try (Socket s = Socket.bind(Address.unix(path))) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(path)));
            assertTrue(s.isOpen());
        }
        assertFalse(Files.exists(path));
        assertThrows(IllegalArgumentException.class,
                () -> Socket.connect(Address.parse("tcp:127.0.0.1:1"), Socket.Type.SEQPACKET));
    }

    @ParameterizedTest
    @EnumSource(Socket.Type.class)
    @DisplayName("UDS-04: the input stream of a socket in non-blocking mode waits for data, never reads a false end")
    void theInputStreamOfANonBlockingSocketWaitsInsteadOfEndingEarly(Socket.Type type) throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair p = Socket.pair(type)) {
                p.second().descriptor().setNonBlocking(true);
                var in = p.second().inputStream();
                Blocked.Call<Integer> read = Blocked.start(in::read, Blocked.POLL, Blocked.READ);
                assertFalse(read.result().isDone(), "nothing was sent and the peer is open: no end yet, got "
                        + (read.result().isDone() ? read.result().get() : null));
                p.first().write(text("z"));
                assertEquals('z', read.result().get(10, TimeUnit.SECONDS), "the byte sent once the reader waited");
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Socket.Type.class)
    @DisplayName("UDS-10: the output stream of a socket in non-blocking mode waits for room, never fails unchecked")
    void theOutputStreamOfANonBlockingSocketWaitsForRoom(Socket.Type type) throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            int chunk = 4096;
            int chunks = 1000; // far more than the socket buffer holds (277 datagrams, about 200 KiB)
            try (Socket.Pair p = Socket.pair(type)) {
                p.first().descriptor().setNonBlocking(true);
                CompletableFuture<Long> reader = CompletableFuture.supplyAsync(() -> {
                    ByteBuffer b = ByteBuffer.allocateDirect(2 * chunk);
                    long total = 0;
                    try {
                        while (total < (long) chunk * chunks) {
                            total += p.second().read(b.clear());
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    return total;
                }, OwnThreads.EACH);
                var out = p.first().outputStream();
                byte[] data = new byte[chunk];
                for (int i = 0; i < chunks; i++) {
                    out.write(data); // one message each on a datagram or seqpacket socket
                }
                assertEquals((long) chunk * chunks, reader.get(30, TimeUnit.SECONDS), "every byte arrived once");
            }
        });
    }
}
