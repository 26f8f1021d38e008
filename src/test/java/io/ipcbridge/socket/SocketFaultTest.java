package io.ipcbridge.socket;

import static io.ipcbridge.socket.SocketTest.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.ConnectionRefusedException;
import io.ipcbridge.AddressInUseException;
import io.ipcbridge.ConnectionResetException;
import io.ipcbridge.Descriptor;
import io.ipcbridge.HasDescriptor;
import io.ipcbridge.IpcError;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.PeerClosedException;
import io.ipcbridge.internal.posix.SocketCalls;
import io.ipcbridge.MessageTooLargeException;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Backlogs;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.OwnThreads;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.Channel;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * RELIABILITY.md §3.6-3.8: the faults, bounds and descriptor-passing cases of AF_UNIX and loopback
 * sockets that one process can provoke, each against the real kernel.
 */
class SocketFaultTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    /** The kernel's limit of descriptors per message. */
    private static final int SCM_MAX_FD = 253;

    @TempDir
    Path dir;

    /** Asserts that nothing is there to read on {@code s} now. */
    private static void assertNothingQueued(Socket s) throws IOException {
        s.setReadTimeout(Duration.ZERO);
        assertThrows(SocketTimeoutException.class, () -> s.read(ByteBuffer.allocate(1)), "nothing was sent");
        s.setReadTimeout(null);
    }

    @Test
    @DisplayName("UDS-07: out-of-bounds offsets are refused before any call and consume nothing")
    void outOfBoundsReadsAndWritesAreRefusedAndConsumeNothing() throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM)) {
            p.first().write(text("abc"));
            InputStream in = p.second().inputStream();
            byte[] b = new byte[4];
            assertThrows(IndexOutOfBoundsException.class, () -> in.read(b, 0, b.length + 1));
            assertThrows(IndexOutOfBoundsException.class, () -> in.read(b, -1, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> in.read(b, 3, Integer.MAX_VALUE));
            assertThrows(IndexOutOfBoundsException.class, () -> p.first().outputStream().write(b, 2, 3));
            assertEquals(3, in.read(b, 0, 4), "the refused reads took nothing from the socket");
            assertEquals("abc", new String(b, 0, 3, StandardCharsets.UTF_8));
            assertNothingQueued(p.second());
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Socket.Type.class, names = {"DATAGRAM", "SEQPACKET"})
    @DisplayName("UDS-08: a 400 000-byte datagram is MessageTooLargeException (EMSGSIZE), its limit SO_SNDBUF less "
            + "32 bytes, and nothing is sent")
    void anOversizedDatagramIsEmsgsizeAndNothingIsSent(Socket.Type type) throws Exception {
        try (Socket.Pair p = Socket.pair(type); Pipe pipe = Pipe.open()) {
            int limit = p.first().sendBufferSize() - 32;
            assertTrue(limit < 400_000, "larger than SO_SNDBUF");
            ByteBuffer message = ByteBuffer.allocate(400_000);
            MessageTooLargeException e = assertThrows(MessageTooLargeException.class, () -> p.first().write(message));
            assertEquals("EMSGSIZE", e.errnoName(), e.getMessage());
            assertEquals(limit, e.limit());
            assertEquals("sendto(socketpair): EMSGSIZE (Message too long): a message of 400000 bytes is longer than "
                    + "this socket sends (SO_SNDBUF less 32 bytes), " + limit + " bytes; nothing was sent", e.getMessage());
            assertEquals(400_000, message.remaining(), "nothing was taken");
            assertEquals(limit, assertThrows(MessageTooLargeException.class, () -> p.first().sendDescriptors(
                    ByteBuffer.allocateDirect(limit + 1), List.of(pipe.sink().descriptor()))).limit(), "sendmsg too");
            assertNothingQueued(p.second());
            assertEquals(limit, p.first().write(ByteBuffer.allocateDirect(limit)), "the limit itself is sent");
            assertEquals(limit, p.second().read(ByteBuffer.allocateDirect(limit)));
            p.first().write(text("still usable"));
            ByteBuffer b = ByteBuffer.allocate(64);
            p.second().read(b);
            assertEquals("still usable", text(b));
        }
    }

    @Test
    @DisplayName("UDS-10: a datagram sender that outruns its receiver blocks; none is dropped")
    void aFastDatagramSenderBlocksAndNoDatagramIsDropped() throws Exception {
        int total = 2_000;
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair p = Socket.pair(Socket.Type.DATAGRAM)) {
                AtomicInteger sent = new AtomicInteger();
                Blocked.Call<Integer> sender = Blocked.start(() -> {
                    ByteBuffer m = ByteBuffer.allocateDirect(4);
                    for (int i = 0; i < total; i++) {
                        p.first().write(m.clear().putInt(0, i));
                        sent.incrementAndGet();
                    }
                    return total;
                }, Blocked.POLL, 44 /* sendto */);
                int queued = sent.get();
                assertTrue(queued > 0 && queued < total, "the sender blocked once the queue was full: " + queued);
                ByteBuffer m = ByteBuffer.allocateDirect(8);
                for (int i = 0; i < total; i++) {
                    assertEquals(4, p.second().read(m.clear()));
                    assertEquals(i, m.getInt(0), "in order, none dropped");
                }
                assertEquals(total, sender.result().get());
                assertNothingQueued(p.second());
            }
        });
    }

    @Test
    @DisplayName("UDS-12: close ends a blocked accept with AsynchronousCloseException; later connects are refused")
    void closingAServerEndsItsBlockedAcceptAndLaterConnectsFail() throws Exception {
        Address abstractAddress = Address.abstractName("ipcb-uds12-" + ProcessHandle.current().pid());
        Address pathAddress = Address.unix(dir.resolve("uds12.sock"));
        for (Address a : List.of(abstractAddress, pathAddress)) {
            assertTimeoutPreemptively(LIMIT, () -> {
                ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM);
                Blocked.Call<Socket> accept = Blocked.start(server::accept, Blocked.ACCEPT4);
                server.close();
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> accept.result().get(5, TimeUnit.SECONDS));
                assertEquals(AsynchronousCloseException.class, e.getCause().getClass());
                // abstract: ECONNREFUSED; a path: the server removed its file, so ENOENT; both a ConnectException
                ConnectionRefusedException refused = assertThrows(ConnectionRefusedException.class,
                        () -> Socket.connect(a, Socket.Type.STREAM));
                assertEquals(a == abstractAddress ? "ECONNREFUSED" : "ENOENT", refused.errnoName());
            });
        }
    }

    @Test
    @DisplayName("UDS-12: a close racing another close of the same socket returns only once its socket file is gone")
    void aCloseRacingAnotherReturnsOnlyOnceTheSocketFileIsGone() throws Exception {
        // A shutdown hook's close() raced the main thread's (SockStdioTest's SIGTERM case left the file
        // in about 1 round in 16 under load): the other close had claimed the removal, the hook's returned
        // before the unlink, and the JVM halted with the file still there. Rounds, as the race is short.
        Path path = dir.resolve("closed-twice.sock");
        Address a = Address.unix(path);
        assertTimeoutPreemptively(LIMIT, () -> {
            for (int round = 0; round < 2_000; round++) {
                boolean server = round % 2 == 0;
                Channel c = server ? ServerSocket.listen(a, Socket.Type.STREAM) : Socket.bind(a);
                java.util.concurrent.CompletableFuture<Void> other = java.util.concurrent.CompletableFuture.runAsync(() -> {
                    try {
                        c.close();
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, OwnThreads.EACH);
                while (c.isOpen()) {
                    Thread.onSpinWait(); // until the other close is under way: its descriptor is closed
                }
                c.close();
                assertFalse(Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS),
                        "round " + round + (server ? " (server)" : " (datagram)") + ": close() returned, the file remains");
                other.get(5, TimeUnit.SECONDS);
            }
        });
    }

    @Test
    @DisplayName("UDS-13: a read timeout with a silent peer throws SocketTimeoutException and the socket stays usable")
    void aReadTimeoutLeavesTheSocketUsable() throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM)) {
            p.first().setReadTimeout(Duration.ofMillis(100));
            assertThrows(SocketTimeoutException.class, () -> p.first().read(ByteBuffer.allocate(4)));
            assertThrows(SocketTimeoutException.class, () -> p.first().read(ByteBuffer.allocate(4)));
            p.second().write(text("late"));
            ByteBuffer b = ByteBuffer.allocate(8);
            assertEquals(4, p.first().read(b), "the timed-out socket still reads");
            assertEquals("late", text(b));
            p.first().write(text("and writes"));
            assertThrows(IllegalArgumentException.class, () -> p.first().setReadTimeout(Duration.ofMillis(-1)));
        }
    }

    @Test
    @DisplayName("UDS-14: abstract names differing in trailing NULs are distinct; 107 bytes; gone on close")
    void abstractNamesAreExactAndVanishOnClose() throws Exception {
        String base = "ipcb-uds14-" + ProcessHandle.current().pid();
        Address plain = Address.abstractName(base);
        Address nul = Address.abstractName(base + "\0");
        Address longest = Address.abstractName((base + "-" + "x".repeat(107)).substring(0, 107));
        assertThrows(IllegalArgumentException.class, () -> Address.abstractName("y".repeat(108)));
        try (ServerSocket a = ServerSocket.listen(plain, Socket.Type.STREAM);
                ServerSocket b = ServerSocket.listen(nul, Socket.Type.STREAM);
                ServerSocket c = ServerSocket.listen(longest, Socket.Type.STREAM)) {
            assertEquals(plain, a.localAddress());
            assertEquals(nul, b.localAddress(), "the trailing NUL is part of the name");
            assertEquals(longest, c.localAddress());
            for (ServerSocket server : List.of(a, b, c)) {
                Address bound = server.localAddress();
                try (Socket client = Socket.connect(bound, Socket.Type.STREAM); Socket in = server.accept()) {
                    assertEquals(bound, client.remoteAddress());
                    assertEquals(bound, in.localAddress());
                }
            }
            assertTrue(unixTable().contains("@" + base + "\n"), "listed in /proc/net/unix");
        }
        assertFalse(unixTable().contains("@" + base), "no abstract name is left after close");
        assertThrows(ConnectException.class, () -> Socket.connect(plain, Socket.Type.STREAM));
        ServerSocket.listen(plain, Socket.Type.STREAM).close(); // free again, with no unlink
    }

    @Test
    @DisplayName("UDS-14: an abstract name that UTF-8 cannot encode (a lone surrogate) is refused, never bound as '?'")
    void anAbstractNameWithALoneSurrogateIsRefusedNotBoundAsAQuestionMark() throws Exception {
        String base = "ipcb-surrogate-" + ProcessHandle.current().pid() + "-";
        for (String bad : List.of("\uD800", "\uDC00", "x\uD83D")) {
            try (ServerSocket ignored = ServerSocket.listen(Address.abstractName(base + bad), Socket.Type.STREAM)) {
                // a Python client connects to the name with '?' where the surrogate was: it finds this server
                Process py = new ProcessBuilder("python3", "-c", "import socket, sys; socket.socket(socket.AF_UNIX)"
                        + ".connect(b'\\0' + sys.argv[1].encode())", base + bad.replaceAll("[\uD800-\uDFFF]", "?"))
                        .inheritIO().start();
                assertTimeoutPreemptively(LIMIT, () -> py.waitFor());
                org.junit.jupiter.api.Assertions.fail("a name with U+"
                        + Integer.toHexString(bad.charAt(bad.length() - 1)) + " was bound; a client of the name "
                        + "with '?' there exited " + py.exitValue() + " (0: connected)");
            } catch (IllegalArgumentException refused) {
                // before any call
            }
        }
    }

    /** The path column of /proc/net/unix, one entry per line (abstract names as '@' + name, NULs as '@'). */
    static String unixTable() throws IOException {
        StringBuilder b = new StringBuilder();
        for (String line : Files.readAllLines(Path.of("/proc/net/unix"))) {
            String[] f = line.trim().split("\\s+", 8);
            if (f.length == 8) {
                b.append(f[7]).append('\n');
            }
        }
        return b.toString();
    }

    @Test
    @DisplayName("UDS-17, FD-09: every socket ipcbridge makes or receives is close-on-exec")
    void everySocketAndReceivedDescriptorIsCloseOnExec() throws Exception {
        Address a = Address.unix(dir.resolve("uds17.sock"));
        try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM);
                Socket client = Socket.connect(a, Socket.Type.STREAM);
                Socket accepted = server.accept();
                Socket.Pair pair = Socket.pair(Socket.Type.SEQPACKET);
                Socket dgram = Socket.bind(Address.unix(dir.resolve("uds17d.sock")));
                Socket udp = Socket.bind(Address.inet("127.0.0.1", 0));
                Pipe pipe = Pipe.open()) {
            for (var h : List.of(server, client, accepted, pair.first(), pair.second(), dgram, udp)) {
                assertTrue(Fds.closeOnExec(h.descriptor().fd()), h + " is close-on-exec");
            }
            client.sendDescriptors(text("x"), List.of(pipe.sink().descriptor()));
            List<Descriptor> got = accepted.receiveDescriptors(ByteBuffer.allocate(1), 1);
            try {
                assertTrue(Fds.closeOnExec(got.get(0).fd()), "a received descriptor is close-on-exec (MSG_CMSG_CLOEXEC)");
            } finally {
                got.get(0).close();
            }
        }
    }

    @Test
    @DisplayName("UDS-18: seqpacket over IP and a listening datagram socket are refused before any call")
    void invalidDomainAndTypeCombinationsAreRefusedBeforeTheCall() throws Exception {
        var before = Fds.snapshot();
        Address tcp = Address.inet("127.0.0.1", 1);
        assertThrows(IllegalArgumentException.class, () -> Socket.connect(tcp, Socket.Type.SEQPACKET));
        assertThrows(IllegalArgumentException.class, () -> ServerSocket.listen(tcp, Socket.Type.SEQPACKET));
        assertThrows(IllegalArgumentException.class,
                () -> ServerSocket.listen(Address.unix(dir.resolve("d.sock")), Socket.Type.DATAGRAM));
        assertThrows(IllegalArgumentException.class,
                () -> ServerSocket.listen(Address.unix(dir.resolve("m.sock")), Socket.Type.STREAM, 01777, false));
        assertFalse(Files.exists(dir.resolve("d.sock")) || Files.exists(dir.resolve("m.sock")), "nothing was bound");
        Fds.assertNoneAdded(before);
    }

    @Test
    @DisplayName("INET-02: a TCP write after shutdown(SHUT_WR) is PeerClosedException (EPIPE)")
    void aTcpWriteAfterShutdownIsPeerClosed() throws Exception {
        try (ServerSocket server = ServerSocket.listen(Address.inet("127.0.0.1", 0), Socket.Type.STREAM);
                Socket client = Socket.connect(server.localAddress(), Socket.Type.STREAM, Duration.ofSeconds(5));
                Socket accepted = server.accept()) {
            client.shutdownOutput();
            PeerClosedException e = assertThrows(PeerClosedException.class, () -> client.write(text("x")));
            assertEquals("EPIPE", ((IpcError) e).errnoName());
            assertEquals(-1, accepted.read(ByteBuffer.allocate(1)), "the peer saw the end");
            accepted.write(text("reply"));
            ByteBuffer b = ByteBuffer.allocate(8);
            assertEquals(5, client.read(b), "the other direction still works");
        }
    }

    @Test
    @DisplayName("INET-03: a UDP datagram over 65 507 bytes is MessageTooLargeException (EMSGSIZE)")
    void anOversizedUdpDatagramIsEmsgsize() throws Exception {
        try (Socket receiver = Socket.bind(Address.inet("127.0.0.1", 0));
                Socket sender = Socket.bind(Address.inet("127.0.0.1", 0))) {
            Address to = receiver.localAddress();
            MessageTooLargeException e = assertThrows(MessageTooLargeException.class,
                    () -> sender.sendTo(ByteBuffer.allocate(65_508), to));
            assertEquals("EMSGSIZE", e.errnoName(), e.getMessage());
            assertEquals(65_507, e.limit(), "what one IPv4 UDP datagram holds");
            receiver.setReadTimeout(Duration.ZERO);
            assertThrows(SocketTimeoutException.class, () -> receiver.receiveFrom(ByteBuffer.allocate(16)));
            receiver.setReadTimeout(null);
            sender.sendTo(ByteBuffer.allocate(65_507), to);
            ByteBuffer b = ByteBuffer.allocate(65_507);
            assertEquals(sender.localAddress(), receiver.receiveFrom(b));
            assertEquals(65_507, b.position(), "the largest UDP datagram arrives whole");
        }
    }

    @Test
    void aSocketWhoseAddressTheKernelChoseIsNamedByThatAddressInItsErrors() throws Exception {
        // port 0 and autobind: a message naming "127.0.0.1:0" or "autobind" would not tell which socket failed
        var fds = Fds.snapshot();
        for (Address asked : new Address[] {Address.inet("127.0.0.1", 0), null}) {
            try (Socket s = Socket.bind(asked)) {
                Address got = s.localAddress();
                assertTrue(asked == null ? got.toString().startsWith("abstract:") : ((Address.Inet) got).port() > 0,
                        got.toString());
                assertEquals("Socket[DATAGRAM " + got + "]", s.toString());
                MessageTooLargeException e = assertThrows(MessageTooLargeException.class,
                        () -> s.sendTo(ByteBuffer.allocate(1 << 20), got));
                assertEquals(got.toString(), e.object(), e.getMessage());
            }
        }
        try (ServerSocket server = ServerSocket.listen(Address.inet("127.0.0.1", 0), Socket.Type.STREAM)) {
            Address got = server.localAddress();
            assertEquals("ServerSocket[STREAM " + got + "]", server.toString());
            assertEquals(got.toString(), server.descriptor().name());
            try (Socket client = Socket.connect(got, Socket.Type.STREAM); Socket accepted = server.accept()) {
                assertEquals("Socket[STREAM " + got + " (accepted)]", accepted.toString());
            }
        }
        Fds.assertNoneAdded(fds);
    }

    @Test
    @DisplayName("INET-03: over IPv6 the UDP limit is 65 527 bytes")
    void anOversizedUdpDatagramOverIpv6IsEmsgsize() throws Exception {
        Socket receiver;
        try {
            receiver = Socket.bind(Address.inet("::1", 0));
        } catch (IOException noIpv6) {
            assumeTrue(false, "no IPv6 loopback here: " + noIpv6);
            return;
        }
        try (receiver; Socket sender = Socket.bind(Address.inet("::1", 0))) {
            receiver.setReceiveBufferSize(1 << 20);
            MessageTooLargeException e = assertThrows(MessageTooLargeException.class,
                    () -> sender.sendTo(ByteBuffer.allocate(65_528), receiver.localAddress()));
            assertEquals(65_527, e.limit(), e.getMessage());
            sender.sendTo(ByteBuffer.allocate(65_527), receiver.localAddress());
            assertEquals(sender.localAddress(), receiver.receiveFrom(ByteBuffer.allocate(65_527)));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Socket.Type.class, names = {"STREAM", "SEQPACKET"})
    @DisplayName("UDS-06: a peer that closes with our data unread is a connection reset on the next read, never a "
            + "clean end; the end follows")
    void aPeerClosingWithDataUnreadIsAResetThenTheEnd(Socket.Type type) throws Exception {
        Address a = Address.unix(dir.resolve("uds06.sock"));
        try (Socket.Pair p = Socket.pair(type); ServerSocket server = ServerSocket.listen(a, type);
                Socket client = Socket.connect(a, type); Socket accepted = server.accept();
                Socket client2 = Socket.connect(a, type); Socket accepted2 = server.accept();
                Socket.Pair framed = Socket.pair(type)) {
            for (Socket[] survivorAndPeer : List.of(new Socket[] {p.first(), p.second()},
                    new Socket[] {client, accepted}, new Socket[] {accepted2, client2})) {
                Socket survivor = survivorAndPeer[0];
                survivor.write(text("ten bytes!"));
                survivorAndPeer[1].close();
                ConnectionResetException e = assertThrows(ConnectionResetException.class,
                        () -> survivor.read(ByteBuffer.allocate(16)), survivor::toString);
                assertEquals("ECONNRESET", e.errnoName());
                assertEquals(-1, survivor.read(ByteBuffer.allocate(16)), "then the end");
            }
            if (type == Socket.Type.STREAM) {
                io.ipcbridge.conn.Connection c = io.ipcbridge.conn.Connection.over(framed.first());
                c.send("unread");
                framed.second().close();
                assertThrows(ConnectionResetException.class, c::recvBytes, "a reset, not the clean end between messages");
            }
        }
    }

    @Test
    @DisplayName("INET-05, SEC-11: a TCP server or UDP socket given no host binds the loopback address, never any")
    void aSocketGivenNoHostBindsLoopbackOnly() throws Exception {
        try (ServerSocket server = ServerSocket.listen(Address.inet("", 0), Socket.Type.STREAM);
                Socket udp = Socket.bind(Address.inet("", 0))) {
            for (Address bound : List.of(server.localAddress(), udp.localAddress())) {
                InetAddress ip = ((Address.Inet) bound).address();
                assertTrue(ip.isLoopbackAddress(), "bound to " + bound);
                assertFalse(ip.isAnyLocalAddress(), "bound to " + bound);
            }
            try (Socket client = Socket.connect(server.localAddress(), Socket.Type.STREAM); Socket in = server.accept()) {
                assertTrue(((Address.Inet) in.remoteAddress()).address().isLoopbackAddress());
            }
        }
    }

    @Test
    @DisplayName("FD-01: one and 253 descriptors round-trip; the file offset is shared; closing a copy keeps ours")
    void descriptorsRoundTripAndShareTheFileOffset() throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM);
                SharedMemory file = SharedMemory.memfd("fd01", 16, false)) {
            Descriptor mine = file.descriptor();
            mine.write(text("0123456789"));
            p.first().sendDescriptors(text("f"), List.of(mine));
            List<Descriptor> got = p.second().receiveDescriptors(ByteBuffer.allocate(1), 1);
            assertEquals(1, got.size());
            try (Descriptor theirs = got.get(0)) {
                assertNotEquals(mine.fd(), theirs.fd(), "a new descriptor for the same open file");
                theirs.write(text("abc")); // at the shared offset 10, not at 0
            }
            assertTrue(mine.isOpen(), "closing the received copy leaves ours open");
            mine.write(text("!"));
            byte[] content = Files.readAllBytes(Path.of("/proc/self/fd/" + mine.fd()));
            assertEquals("0123456789abc!", new String(content, 0, 14, StandardCharsets.UTF_8));

            var before = Fds.snapshot();
            p.first().sendDescriptors(text("many"), Collections.nCopies(SCM_MAX_FD, mine));
            ByteBuffer data = ByteBuffer.allocate(8);
            List<Descriptor> many = p.second().receiveDescriptors(data, SCM_MAX_FD);
            assertEquals("many", text(data));
            assertEquals(SCM_MAX_FD, many.size());
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + mine.fd())).toString();
            for (Descriptor d : many) {
                assertEquals(target, Files.readSymbolicLink(Path.of("/proc/self/fd/" + d.fd())).toString());
                d.close();
            }
            Fds.assertNoneAdded(before);
        }
    }

    @Test
    @DisplayName("FD-02, FD-03, FD-04: a closed descriptor, 254 descriptors or no data are refused before the call")
    void badDescriptorSendsAreRefusedBeforeTheCallAndSendNothing() throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM); Pipe pipe = Pipe.open()) {
            Descriptor open = pipe.source().descriptor();
            Pipe closed = Pipe.open();
            closed.close();
            assertThrows(ClosedChannelException.class,
                    () -> p.first().sendDescriptors(text("x"), List.of(open, closed.sink().descriptor())));
            assertThrows(IllegalArgumentException.class,
                    () -> p.first().sendDescriptors(text("x"), Collections.nCopies(254, open)));
            assertThrows(IllegalArgumentException.class,
                    () -> p.first().sendDescriptors(ByteBuffer.allocate(0), List.of(open)));
            assertThrows(IllegalArgumentException.class,
                    () -> p.first().sendDescriptors(text("x"), List.of()));
            assertThrows(IllegalArgumentException.class,
                    () -> p.second().receiveDescriptors(ByteBuffer.allocate(1), 254));
            assertNothingQueued(p.second());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"STREAM", "SEQPACKET", "DATAGRAM"})
    @DisplayName("FD-05, SEC-07: descriptors sent to a plain read are discarded and reported, the data kept")
    void descriptorsSentToAPlainReadAreReportedAndNotLeaked(String type) throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.valueOf(type)); Pipe pipe = Pipe.open()) {
            var before = Fds.snapshot();
            p.first().sendDescriptors(text("data"), List.of(pipe.sink().descriptor(), pipe.source().descriptor()));
            ByteBuffer b = ByteBuffer.allocate(16);
            AncillaryDataTruncatedException e = assertThrows(AncillaryDataTruncatedException.class,
                    () -> p.second().read(b));
            assertEquals(4, e.dataLength());
            assertEquals("data", text(b), "the in-band bytes are kept");
            Fds.assertNoneAdded(before);
            p.first().write(text("next"));
            assertEquals(4, p.second().read(b.clear()), "the stream goes on");
        }
    }

    @Test
    @DisplayName("FD-05: a non-blocking stream read still returns 0 when nothing is there, and reports pushed descriptors")
    void aNonBlockingReadReturnsZeroAndStillReportsDescriptors() throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM); Pipe pipe = Pipe.open()) {
            p.second().descriptor().setNonBlocking(true);
            ByteBuffer b = ByteBuffer.allocate(8);
            assertEquals(0, p.second().read(b));
            p.first().sendDescriptors(text("fd"), List.of(pipe.source().descriptor()));
            assertThrows(AncillaryDataTruncatedException.class, () -> p.second().read(b));
            assertEquals("fd", text(b));
            assertEquals(0, p.second().read(b.clear()));
        }
    }

    @Test
    @DisplayName("FD-06, FD-07: for every room size, extra descriptors are all closed and reported, the data kept")
    void everyTruncationSizeClosesWhatArrivedAndKeepsTheData() throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM); Pipe pipe = Pipe.open()) {
            Descriptor d = pipe.sink().descriptor();
            int[] sent = {2, 3, 4, 17, 253};
            for (int n : sent) {
                for (int room : new int[] {1, 2, 3, n - 1}) {
                    if (room < 1 || room >= n) {
                        continue;
                    }
                    var before = Fds.snapshot();
                    p.first().sendDescriptors(text("d" + n), Collections.nCopies(n, d));
                    ByteBuffer data = ByteBuffer.allocate(8);
                    AncillaryDataTruncatedException e = assertThrows(AncillaryDataTruncatedException.class,
                            () -> p.second().receiveDescriptors(data, room), n + " descriptors into room for " + room);
                    assertEquals(("d" + n).length(), e.dataLength());
                    assertEquals("d" + n, text(data), "the in-band data is intact");
                    Fds.assertNoneAdded(before);
                }
                // exactly enough room: all arrive
                p.first().sendDescriptors(text("ok"), Collections.nCopies(n, d));
                List<Descriptor> all = p.second().receiveDescriptors(ByteBuffer.allocate(2), n);
                assertEquals(n, all.size());
                for (Descriptor x : all) {
                    x.close();
                }
            }
        }
    }

    @Test
    @DisplayName("FD-08: descriptors are a barrier in a stream: they come with the read of their own bytes")
    void descriptorsArriveWithTheReadOfTheirBytes() throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM); Pipe pipe = Pipe.open()) {
            p.first().write(text("AAAA"));
            p.first().sendDescriptors(text("B"), List.of(pipe.sink().descriptor()));
            p.first().write(text("CCCC"));
            ByteBuffer b = ByteBuffer.allocate(20);
            List<Descriptor> got = p.second().receiveDescriptors(b, 4);
            assertEquals("AAAAB", text(b), "the read stops after the bytes the descriptor came with");
            assertEquals(1, got.size());
            got.get(0).close();
            b.clear();
            assertEquals(List.of(), p.second().receiveDescriptors(b, 4));
            assertEquals("CCCC", text(b));
        }
    }

    @Test
    @DisplayName("FD-11, SEC-07: a received descriptor of the wrong kind is refused at use, never mapped")
    void aReceivedDescriptorOfTheWrongKindIsRefusedWhenMapped() throws Exception {
        Path fifo = dir.resolve("fd11.fifo");
        Fifo.create(fifo);
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM); Pipe pipe = Pipe.open();
                Descriptor f = Fifo.openReadWrite(fifo); Socket.Pair other = Socket.pair(Socket.Type.STREAM)) {
            var before = Fds.snapshot();
            p.first().sendDescriptors(text("k"), List.of(pipe.source().descriptor(), f, other.first().descriptor()));
            List<Descriptor> got = p.second().receiveDescriptors(ByteBuffer.allocate(1), 3);
            assertEquals(3, got.size());
            for (Descriptor d : got) {
                assertThrows(IpcSecurityException.class, () -> SharedMemory.map(d, false),
                        "a pipe, FIFO or socket is not mapped as a segment");
                assertFalse(d.isOpen(), "map took it over and closed it");
            }
            Fds.assertNoneAdded(before);
        }
    }

    @Test
    @DisplayName("FD-12: SO_PEERCRED gives this process at both ends of a pair and of a connection")
    void peerCredentialsMatchOnBothEnds() throws Exception {
        Address a = Address.unix(dir.resolve("fd12.sock"));
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM);
                ServerSocket server = ServerSocket.listen(a, Socket.Type.SEQPACKET);
                Socket client = Socket.connect(a, Socket.Type.SEQPACKET); Socket accepted = server.accept()) {
            Socket.Credentials first = p.first().peerCredentials();
            assertEquals(first, p.second().peerCredentials(), "the same process on both ends");
            assertEquals(ProcessHandle.current().pid(), first.pid());
            assertEquals(first, client.peerCredentials());
            assertEquals(first, accepted.peerCredentials());
            assertEquals(Map.of("uid", first.uid(), "gid", first.gid()), Map.of("uid", ids("-u"), "gid", ids("-g")));
        }
    }

    @Test
    @DisplayName("FD-12, FD-14, FD-13, SEC-05: a socket the kernel keeps no peer credentials for (TCP, a bound "
            + "datagram socket) fails closed, never reports uid -1; its SO_PEERPIDFD is ENODATA, no descriptor made")
    void peerCredentialsWithoutAPeerFailInsteadOfReportingUidMinusOne() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket server = ServerSocket.listen(Address.inet("127.0.0.1", 0), Socket.Type.STREAM);
                    Socket client = Socket.connect(server.localAddress(), Socket.Type.STREAM);
                    Socket in = server.accept(); Socket bound = Socket.bind(Address.unix(dir.resolve("fd12.dgram")))) {
                var before = Fds.snapshot();
                for (Socket s : List.of(client, in, bound)) {
                    IOException e = assertThrows(IOException.class, s::peerCredentials,
                            () -> "no credentials to report for " + s);
                    assertTrue(e.getMessage().startsWith("getsockopt(SO_PEERCRED)("), e.getMessage());
                    e = assertThrows(IOException.class, s::peerPidfd, () -> "no peer process for " + s);
                    assertEquals("ENODATA", ((IpcError) e).errnoName(), e.getMessage());
                    assertTrue(e.getMessage().startsWith("getsockopt(SO_PEERPIDFD)("), e.getMessage());
                }
                Fds.assertNoneAdded(before);
            }
        });
    }

    @Test
    @DisplayName("FD-13, SEC-05: SO_PEERPIDFD of a socketpair is a close-on-exec pidfd of this process, left to the caller")
    void peerPidfdOfAPairIsThisProcess() throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.SEQPACKET)) {
            var before = Fds.snapshot();
            try (Descriptor pidfd = p.first().peerPidfd()) {
                assertEquals(ProcessHandle.current().pid(), Socket.pidOf(pidfd), "the pid in its fdinfo");
                assertEquals(p.first().peerCredentials().pid(), Socket.pidOf(pidfd), "the process SO_PEERCRED names");
                assertTrue(Fds.closeOnExec(pidfd.fd()), "close-on-exec");
                assertFalse(pidfd.awaitReadable(Duration.ZERO), "a running process's pidfd is not readable");
            }
            Fds.assertNoneAdded(before);
        }
    }

    @Test
    @DisplayName("FD-13, SEC-05: SO_PEERPIDFD of a closed socket is ClosedChannelException; pidOf refuses a closed "
            + "pidfd and what is no pidfd")
    void peerPidfdOfAClosedSocketAndPidOfWhatIsNoPidfdFail() throws Exception {
        try (Pipe pipe = Pipe.open()) {
            assertThrows(IllegalArgumentException.class, () -> Socket.pidOf(pipe.source().descriptor()));
        }
        Socket.Pair p = Socket.pair(Socket.Type.STREAM);
        Descriptor pidfd = p.first().peerPidfd();
        p.close();
        pidfd.close();
        assertThrows(ClosedChannelException.class, p.first()::peerPidfd);
        assertThrows(ClosedChannelException.class, () -> Socket.pidOf(pidfd));
    }

    static int ids(String flag) throws IOException {
        return Integer.parseInt(new String(new ProcessBuilder("id", flag).start().getInputStream().readAllBytes(),
                StandardCharsets.US_ASCII).trim());
    }

    @Test
    @DisplayName("LOAD-02 (backlog overflow): a connect to a full backlog waits for room, never returns unconnected")
    void aConnectToAFullBacklogWaitsAndNeverReturnsUnconnected() throws Exception {
        Address a = Address.unix(dir.resolve("backlog.sock"));
        assertTimeoutPreemptively(LIMIT, () -> {
            List<Socket> clients = new java.util.ArrayList<>();
            try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM)) {
                Backlogs.fill(a, clients);
                assertTrue(clients.size() > 1, "some connects fit: " + clients.size());
                assertThrows(SocketTimeoutException.class, () -> Socket.connect(a, Socket.Type.STREAM, Duration.ZERO));
                for (Socket c : clients) {
                    c.write(text("x")); // each one returned is connected
                }
                Blocked.Call<Socket> waiting = Blocked.start(() -> Socket.connect(a, Socket.Type.STREAM),
                        42 /* connect */);
                server.accept().close(); // room for one
                try (Socket late = waiting.result().get(5, TimeUnit.SECONDS)) {
                    late.write(text("in"));
                    assertTrue(late.isOpen());
                }
            } finally {
                for (Socket c : clients) {
                    c.close();
                }
            }
        });
    }

    @Test
    @DisplayName("LOAD-02: a listener's backlog holds 1,024 connections, so that 1,024 clients connecting at once "
            + "without waiting (O_NONBLOCK, as Go and asyncio connect) are all queued, none refused with EAGAIN")
    void aListenersBacklogHoldsAThousandAndTwentyFourConnections() throws Exception {
        assumeTrue(Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/net/core/somaxconn")).get(0).trim()) >= 1024,
                "net.core.somaxconn caps every backlog below 1,024 here");
        Address a = Address.unix(dir.resolve("backlog.sock"));
        assertTimeoutPreemptively(LIMIT, () -> {
            List<Socket> clients = new java.util.ArrayList<>();
            try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM)) {
                try {
                    for (;;) {
                        clients.add(Socket.connect(a, Socket.Type.STREAM, Duration.ZERO));
                        assertTrue(clients.size() < 10_000, "the backlog is bounded");
                    }
                } catch (SocketTimeoutException full) {
                    assertTrue(clients.size() >= 1024, "queued before the backlog was full: " + clients.size());
                }
            } finally {
                for (Socket c : clients) {
                    c.close();
                }
            }
        });
    }

    @Test
    @DisplayName("UDS-16 (paths): a symbolic link at a socket path is never followed, replaced or removed")
    void aSymbolicLinkAtASocketPathIsNeverFollowedOrRemoved() throws Exception {
        Path target = dir.resolve("target.sock");
        Path link = dir.resolve("link.sock");
        try (Socket stale = Socket.bind(Address.unix(target))) {
            Files.createSymbolicLink(link, target);
            // the link's target is a socket nobody listens on: "stale" only if the link were followed
            assertThrows(java.net.BindException.class,
                    () -> ServerSocket.listen(Address.unix(link), Socket.Type.STREAM, 0600, true));
            assertTrue(Files.isSymbolicLink(link), "the link is not removed");
            assertTrue(Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS), "nor its target");
        }
    }

    @ParameterizedTest(name = "live {0}, new {1}")
    @CsvSource({"SEQPACKET, SEQPACKET", "SEQPACKET, STREAM", "DATAGRAM, STREAM", "DATAGRAM, SEQPACKET"})
    @DisplayName("UDS-02: replacing a stale socket file never takes over a live socket of another type (EPROTOTYPE)")
    void replacingAStaleFileNeverTakesOverALiveSocketOfAnotherType(String live, String wanted) throws Exception {
        Path path = dir.resolve("live.sock");
        Address a = Address.unix(path);
        Socket.Type type = Socket.Type.valueOf(wanted);
        try (Channel owner = live.equals("DATAGRAM") ? Socket.bind(a) : ServerSocket.listen(a, Socket.Type.SEQPACKET)) {
            BindException e = assertThrows(BindException.class, () -> ServerSocket.listen(a, type, 0600, true),
                    "a STREAM probe answered EPROTOTYPE: someone lives there");
            assertEquals("EADDRINUSE", ((IpcError) e).errnoName());
            if (owner instanceof ServerSocket server) {
                try (Socket client = Socket.connect(a, Socket.Type.SEQPACKET); Socket in = server.accept()) {
                    client.write(text("still mine"));
                    assertEquals(10, in.read(ByteBuffer.allocate(16)), "the live server still answers on its file");
                }
            } else {
                try (Socket sender = Socket.bind(null)) {
                    sender.sendTo(text("still mine"), a);
                    assertEquals(10, ((Socket) owner).read(ByteBuffer.allocate(16)), "the live socket still receives");
                }
            }
        }
        // a stale file of another type is still replaced: connecting to it is ECONNREFUSED
        Process py = new ProcessBuilder("python3", "-c", "import socket, sys; socket.socket(socket.AF_UNIX, "
                + "socket.SOCK_" + (live.equals("DATAGRAM") ? "DGRAM" : live) + ").bind(sys.argv[1])",
                path.toString()).inheritIO().start();
        assertEquals(0, py.waitFor());
        try (ServerSocket replaced = ServerSocket.listen(a, type, 0600, true)) {
            assertTrue(replaced.isOpen(), "a stale " + live + " file is replaced");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"DATAGRAM", "SEQPACKET"})
    @DisplayName("UDS-10: a non-blocking message that does not fit returns 0 and sends nothing, never blocks")
    void aNonBlockingMessageThatDoesNotFitReturnsZeroAndSendsNothing(String type) throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair p = Socket.pair(Socket.Type.valueOf(type)); Pipe pipe = Pipe.open()) {
                p.first().descriptor().setNonBlocking(true);
                ByteBuffer m = ByteBuffer.allocateDirect(1024);
                int sent = 0;
                while (p.first().write(m.clear()) == 1024) {
                    sent++;
                    assertTrue(sent < 100_000, "the socket buffer is bounded");
                }
                assertEquals(1024, m.remaining(), "the refused message was not taken, even in part");
                ByteBuffer heap = ByteBuffer.allocate(1024);
                assertEquals(0, p.first().write(heap));
                assertEquals(0, heap.position());
                assertEquals(0, p.first().sendDescriptors(text("fd"), List.of(pipe.sink().descriptor())),
                        "no room: neither the data nor the descriptor went");
                p.first().descriptor().setNonBlocking(false);
                for (int i = 0; i < sent; i++) {
                    assertEquals(1024, p.second().read(ByteBuffer.allocateDirect(2048)), "only whole messages");
                }
                assertNothingQueued(p.second());
                assertEquals(1024, p.first().write(m.clear()), "room again");
            }
        });
    }

    @Test
    @DisplayName("UDS-10: a non-blocking sendTo a full receiver returns 0; a stream's sendDescriptors with no room too")
    void aNonBlockingSendToAndStreamSendDescriptorsWithNoRoomReturnZero() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            Address to = Address.unix(dir.resolve("full.sock"));
            try (Socket receiver = Socket.bind(to); Socket sender = Socket.bind(null)) {
                sender.descriptor().setNonBlocking(true);
                int sent = 0;
                while (sender.sendTo(text("m" + sent), to) > 0) {
                    sent++;
                    assertTrue(sent < 100_000, "the receiver's queue is bounded");
                }
                for (int i = 0; i < sent; i++) {
                    ByteBuffer b = ByteBuffer.allocate(16);
                    receiver.read(b);
                    assertEquals("m" + i, text(b), "in order, the refused one not among them");
                }
                assertNothingQueued(receiver);
            }
            try (Socket.Pair p = Socket.pair(Socket.Type.STREAM); Pipe pipe = Pipe.open()) {
                p.first().descriptor().setNonBlocking(true);
                while (p.first().write(ByteBuffer.allocateDirect(65536)) > 0) {
                    assertTrue(p.first().isOpen());
                }
                ByteBuffer data = text("fd");
                assertEquals(0, p.first().sendDescriptors(data, List.of(pipe.sink().descriptor())));
                assertEquals(2, data.remaining(), "nothing was taken");
            }
        });
    }

    @Test
    @DisplayName("LOAD-02, X-08: a connect timeout too long to count in nanoseconds is no bound; a negative or null one is refused before any call")
    void aConnectTimeoutTooLongToCountWaitsWithoutBound() throws Exception {
        Address a = Address.unix(dir.resolve("forever.sock"));
        assertTimeoutPreemptively(LIMIT, () -> {
            List<Socket> clients = new java.util.ArrayList<>();
            try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM)) {
                try {
                    for (;;) { // until the backlog is full
                        clients.add(Socket.connect(a, Socket.Type.STREAM, Duration.ofMillis(20)));
                        assertTrue(clients.size() < 10_000, "the backlog is bounded");
                    }
                } catch (SocketTimeoutException full) {
                    assertTrue(clients.size() > 1, "some connects fit: " + clients.size());
                }
                for (Duration forever : List.of(Duration.ofSeconds(Long.MAX_VALUE), Duration.ofNanos(Long.MAX_VALUE),
                        java.time.temporal.ChronoUnit.FOREVER.getDuration())) {
                    Blocked.Call<Socket> waiting = Blocked.start(() -> Socket.connect(a, Socket.Type.STREAM, forever),
                            42 /* connect */);
                    assertFalse(waiting.result().isDone(), forever + " waits in connect for room");
                    server.accept().close(); // room for one
                    clients.add(waiting.result().get(5, TimeUnit.SECONDS));
                }
                // the other Duration-taking calls saturate alike
                clients.add(server.accept(Duration.ofSeconds(Long.MAX_VALUE)).orElseThrow());
                try (Socket.Pair p = Socket.pair(Socket.Type.STREAM)) {
                    p.first().write(text("x"));
                    p.second().setReadTimeout(Duration.ofSeconds(Long.MAX_VALUE));
                    assertEquals(1, p.second().read(ByteBuffer.allocate(1)));
                }
            } finally {
                for (Socket c : clients) {
                    c.close();
                }
            }
        });
        var before = Fds.snapshot();
        assertThrows(IllegalArgumentException.class, () -> Socket.connect(a, Socket.Type.STREAM, Duration.ofNanos(-1)));
        NullPointerException none = assertThrows(NullPointerException.class,
                () -> Socket.connect(a, Socket.Type.STREAM, null));
        assertEquals("timeout", none.getMessage());
        Fds.assertNoneAdded(before);
    }

    @Test
    @DisplayName("FAULT-07: a non-positive socket buffer size is refused before the call and changes nothing")
    void aNonPositiveBufferSizeIsRefused() throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM)) {
            int receive = p.first().receiveBufferSize();
            int send = p.first().sendBufferSize();
            for (int bad : new int[] {-5, 0, Integer.MIN_VALUE}) {
                assertThrows(IllegalArgumentException.class, () -> p.first().setReceiveBufferSize(bad));
                assertThrows(IllegalArgumentException.class, () -> p.first().setSendBufferSize(bad));
            }
            assertEquals(receive, p.first().receiveBufferSize(), "SO_RCVBUF unchanged");
            assertEquals(send, p.first().sendBufferSize(), "SO_SNDBUF unchanged");
            p.first().setReceiveBufferSize(65536);
            assertEquals(2 * 65536, p.first().receiveBufferSize(), "a positive size still applies (doubled)");
        }
    }

    @Test
    @DisplayName("UDS-11: an empty seqpacket message is refused on send: the receiver would take it for the end")
    void anEmptySeqpacketMessageIsRefusedOnSend() throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.SEQPACKET)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> p.first().write(ByteBuffer.allocateDirect(0)));
            assertTrue(e.getMessage().contains("end of stream"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> p.first().write(ByteBuffer.allocate(0)));
            assertNothingQueued(p.second());
            p.first().write(text("x"));
            assertEquals(1, p.second().read(ByteBuffer.allocate(4)), "the stream goes on");
        }
    }

    @Test
    @DisplayName("UDS-11: an empty seqpacket message from another program reads as 0; -1 only once the peer has shut down")
    void anEmptySeqpacketMessageFromAnotherProgramIsNotTheEnd() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair p = Socket.pair(Socket.Type.SEQPACKET)) {
                // another program's empty message: sendto(2) of 0 bytes on the raw descriptor
                assertEquals(0, (int) p.first().descriptor().withFd(
                        f -> SocketCalls.sendPlain(f, ByteBuffer.allocateDirect(0), null, "peer")));
                p.first().write(text("x"));
                ByteBuffer b = ByteBuffer.allocate(4);
                assertEquals(0, p.second().read(b), "an empty message, the peer still connected");
                assertEquals(1, p.second().read(b), "then the message after it");
                p.second().descriptor().setNonBlocking(true);
                assertEquals(0, p.second().read(b.clear()), "non-blocking, nothing there: 0, not the end");
                p.second().descriptor().setNonBlocking(false);
                p.first().descriptor().withFd(f -> SocketCalls.sendPlain(f, ByteBuffer.allocateDirect(0), null, "peer"));
                p.first().shutdownOutput();
                assertEquals(-1, p.second().read(b), "documented: an empty message queued at the shutdown is the end");
                assertEquals(-1, p.second().read(b), "and the end repeats");
                p.second().write(text("back"));
                assertEquals(4, p.first().read(b.clear()), "the other direction still works");
            }
        });
    }

    @Test
    @DisplayName("SEC-01: the mode of a bound socket file is set through the file itself, never through a link put in its place")
    void theSocketFilesModeIsNeverSetThroughASymbolicLink() throws Exception {
        // the window between bind and chmod cannot be hit on purpose; what closes it is that the mode
        // goes through an O_PATH|O_NOFOLLOW descriptor checked to be a socket, shown here on the paths
        // an attacker's swap would leave
        Path target = Files.writeString(dir.resolve("private"), "secret");
        Files.setPosixFilePermissions(target, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Path link = Files.createSymbolicLink(dir.resolve("swapped.sock"), target);
        var before = Fds.snapshot();
        IpcSecurityException e = assertThrows(IpcSecurityException.class,
                () -> SocketFile.bound(link.toString(), 0666, "unix:" + link));
        assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(target)),
                "the link's target keeps its mode");
        assertThrows(IpcSecurityException.class, () -> SocketFile.bound(target.toString(), 0666, "unix:" + target));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(target)),
                "a regular file in its place keeps its mode");
        Fds.assertNoneAdded(before);
        Path real = dir.resolve("real.sock");
        try (ServerSocket server = ServerSocket.listen(Address.unix(real), Socket.Type.STREAM, 0660, false)) {
            assertEquals("rw-rw----", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(real, java.nio.file.LinkOption.NOFOLLOW_LINKS)), "a socket gets the mode asked");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Socket.Type.class, names = {"DATAGRAM", "SEQPACKET"})
    @DisplayName("X-08: two readers with a read timeout and one message: one gets it, the other times out, never blocks on")
    void aTimedReaderWhoseMessageAnotherTookStillTimesOut(Socket.Type type) throws Exception {
        // both readers sleep in poll when the one message comes; both wake, and the one that finds it
        // gone must not block in recvmsg past its timeout (it did: the receive after the poll blocked)
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (int round = 0; round < 5; round++) {
                try (Socket.Pair p = Socket.pair(type)) {
                    // long enough that the winner cannot time out before the message is sent
                    p.second().setReadTimeout(Duration.ofSeconds(1));
                    Blocked.Call<Integer> a = Blocked.start(() -> p.second().read(ByteBuffer.allocate(8)), Blocked.POLL);
                    Blocked.Call<Integer> b = Blocked.start(() -> p.second().read(ByteBuffer.allocate(8)), Blocked.POLL);
                    p.first().write(text("one"));
                    int got = 0;
                    int timedOut = 0;
                    for (Blocked.Call<Integer> c : List.of(a, b)) {
                        try {
                            assertEquals(3, c.result().get());
                            got++;
                        } catch (ExecutionException e) {
                            assertTrue(e.getCause() instanceof SocketTimeoutException, String.valueOf(e.getCause()));
                            timedOut++;
                        }
                    }
                    assertEquals(1, got, "one reader got the message");
                    assertEquals(1, timedOut, "the other timed out");
                }
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tcp", "udp"})
    @DisplayName("FD-04, INET-02: descriptors over TCP or UDP are refused before the call, never dropped silently")
    void descriptorsOverAnIpSocketAreRefusedBeforeTheCall(String scheme) throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            // a Python peer reads with room for descriptors: the kernel ignores SCM_RIGHTS on IP sockets
            // (sendmsg succeeds, the peer gets the byte and no descriptor)
            Process py = new ProcessBuilder("python3", "-c", String.join("\n",
                    "import socket, sys",
                    "udp = sys.argv[1] == 'udp'",
                    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)",
                    "s.bind(('127.0.0.1', 0))",
                    "if not udp: s.listen(1)",
                    "print(s.getsockname()[1], flush=True)",
                    "c = s if udp else s.accept()[0]",
                    "data, anc, flags, addr = c.recvmsg(16, socket.CMSG_SPACE(16))",
                    "print(len(data), len(anc), flush=True)"), scheme).start();
            try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(py.getInputStream(),
                    StandardCharsets.US_ASCII)); Pipe pipe = Pipe.open()) {
                Address a = Address.inet("127.0.0.1", Integer.parseInt(out.readLine().trim()));
                try (Socket s = Socket.connect(a, scheme.equals("udp") ? Socket.Type.DATAGRAM : Socket.Type.STREAM)) {
                    ByteBuffer one = text("x");
                    assertThrows(IllegalArgumentException.class,
                            () -> s.sendDescriptors(one, List.of(pipe.sink().descriptor())),
                            "an IP socket cannot carry descriptors: refused, not sent without them");
                    assertEquals(1, one.remaining(), "nothing was sent");
                    s.write(text("y"));
                }
                assertEquals("1 0", out.readLine(), "the peer got only the plain byte sent after");
            } finally {
                py.destroyForcibly().waitFor();
            }
        });
    }

    @Test
    @DisplayName("UDS-02: a stale socket file owned by another user is never removed to replace it")
    void aStaleSocketFileOfAnotherUserIsNeverReplaced() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(SocketFaultTest.ids("-u") == 0, "needs root to chown");
        assertTimeoutPreemptively(LIMIT, () -> {
            Path path = dir.resolve("others.sock");
            Process py = new ProcessBuilder("python3", "-c", "import socket, sys; "
                    + "socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).bind(sys.argv[1])", path.toString())
                    .inheritIO().start();
            assertEquals(0, py.waitFor());
            Files.setAttribute(path, "unix:uid", 65534, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            Object inode = Files.getAttribute(path, "unix:ino", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            BindException e = assertThrows(BindException.class,
                    () -> ServerSocket.listen(Address.unix(path), Socket.Type.STREAM, 0600, true),
                    "connect is refused there, but the file is not ours to remove");
            assertEquals("EADDRINUSE", ((IpcError) e).errnoName());
            assertEquals(inode, Files.getAttribute(path, "unix:ino", java.nio.file.LinkOption.NOFOLLOW_LINKS),
                    "the other user's file is left in place");
        });
    }

    @Test
    @DisplayName("TCP_NODELAY on a socket that is not TCP is UnsupportedOperationException before any call, as the "
            + "JDK's channels (cf. INET-04)")
    void noDelayOnASocketThatIsNotTcpIsUnsupported() throws Exception {
        try (Socket.Pair unixStream = Socket.pair(Socket.Type.STREAM);
                Socket unixDgram = Socket.bind(Address.unix(dir.resolve("nd.dgram")));
                Socket udp = Socket.bind(Address.inet("127.0.0.1", 0));
                ServerSocket server = ServerSocket.listen(Address.inet("127.0.0.1", 0), Socket.Type.STREAM);
                Socket tcp = Socket.connect(server.localAddress(), Socket.Type.STREAM)) {
            for (Socket s : List.of(unixStream.first(), unixDgram, udp)) {
                UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                        () -> s.setNoDelay(true), () -> "TCP_NODELAY means nothing on " + s);
                assertTrue(e.getMessage().startsWith("'TCP_NODELAY' not supported"), e.getMessage());
            }
            for (boolean on : new boolean[] {true, false}) {
                tcp.setNoDelay(on);
                int set = tcp.descriptor().withFd(
                        f -> SocketCalls.getInt(f, SocketCalls.IPPROTO_TCP, SocketCalls.TCP_NODELAY, "tcp"));
                assertEquals(on, set != 0, "a TCP socket takes it");
            }
        }
    }

    @Test
    @DisplayName("INET-02: sendTo on a TCP or seqpacket socket, which sends to its peer whatever the address, and on "
            + "an AF_UNIX stream socket (EISCONN) is UnsupportedOperationException before any call")
    void sendToOnAConnectionIsUnsupportedNeverSentToThePeer() throws Exception {
        try (ServerSocket server = ServerSocket.listen(Address.inet("127.0.0.1", 0), Socket.Type.STREAM);
                Socket tcp = Socket.connect(server.localAddress(), Socket.Type.STREAM);
                Socket accepted = server.accept(); Socket other = Socket.bind(Address.inet("127.0.0.1", 0));
                Socket.Pair seqpacket = Socket.pair(Socket.Type.SEQPACKET);
                Socket.Pair unixStream = Socket.pair(Socket.Type.STREAM)) {
            // Linux ignores the address of a sendto on a connected TCP or seqpacket socket: the message
            // went to the peer, and sendTo returned as if it had gone to `other`
            for (Socket[] fromAndPeer : List.of(new Socket[] {tcp, accepted},
                    new Socket[] {seqpacket.first(), seqpacket.second()},
                    new Socket[] {unixStream.first(), unixStream.second()})) {
                Socket from = fromAndPeer[0];
                ByteBuffer message = text("misdirected");
                UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                        () -> from.sendTo(message, other.localAddress()), from::toString);
                assertTrue(e.getMessage().startsWith("'sendTo' not supported"), e.getMessage());
                assertEquals(11, message.remaining(), "nothing was sent");
                assertNothingQueued(fromAndPeer[1]);
            }
            assertNothingQueued(other);
        }
    }

    @Test
    @DisplayName("SEC-05: allowUids on a TCP server (no SO_PEERCRED) is refused up front, not a server that refuses "
            + "every peer")
    void allowUidsOnATcpServerIsRefusedUpFront() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ServerSocket server = ServerSocket.listen(Address.inet("127.0.0.1", 0), Socket.Type.STREAM)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> server.allowUids(ids("-u")), "TCP peers have no credentials to check");
                assertTrue(e.getMessage().contains("SO_PEERCRED"), e.getMessage());
                try (Socket client = Socket.connect(server.localAddress(), Socket.Type.STREAM);
                        Socket in = server.accept(Duration.ZERO).orElseThrow()) {
                    in.write(text("served"));
                    assertEquals(6, client.read(ByteBuffer.allocate(8)), "no restriction was set: the peer is served");
                }
            }
        });
    }

    @Test
    @DisplayName("SEC-05, FD-14: a negative uid is refused by allowUids: -1 is no user (what a peer without "
            + "credentials reads as)")
    void allowUidsRefusesNegativeUids() throws Exception {
        try (ServerSocket server = ServerSocket.listen(Address.unix(dir.resolve("neg.sock")), Socket.Type.STREAM)) {
            for (int[] uids : new int[][] {{-1}, {0, -2}, {Integer.MIN_VALUE}}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> server.allowUids(uids),
                        () -> "no user has uid " + java.util.Arrays.toString(uids));
                assertTrue(e.getMessage().contains("uid"), e.getMessage());
            }
            server.allowUids(ids("-u"));
            try (Socket client = Socket.connect(server.localAddress(), Socket.Type.STREAM)) {
                assertTrue(server.accept(Duration.ZERO).isPresent(), "our own uid is allowed");
            }
        }
    }

    @Test
    @DisplayName("SEC-05: allowUids refuses the overflow uid (/proc/sys/kernel/overflowuid), which SO_PEERCRED gives "
            + "for every peer not mapped into this user namespace, and leaves the policy as it was: fail closed")
    void allowUidsRefusesTheOverflowUid() throws Exception {
        int overflow = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/kernel/overflowuid")).get(0).trim());
        try (ServerSocket server = ServerSocket.listen(Address.unix(dir.resolve("overflow.sock")),
                Socket.Type.STREAM)) {
            server.allowUids(ids("-u") + 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> server.allowUids(ids("-u"), overflow), "it would admit every unmapped peer");
            assertEquals("allowUids: " + overflow + " is the overflow uid (/proc/sys/kernel/overflowuid), which the "
                    + "kernel reports for every peer whose uid is not mapped into this user namespace: allowing it "
                    + "would admit them all", e.getMessage());
            try (Socket client = Socket.connect(server.localAddress(), Socket.Type.STREAM)) {
                assertEquals(java.util.Optional.empty(), server.accept(Duration.ZERO),
                        "the policy before the refused call still holds: our own uid is not allowed");
            }
        }
    }

    @Test
    @DisplayName("SEC-05, UDS-15: a timed accept looks at its deadline after each refused peer, so a flood of "
            + "refused peers cannot hold it past it")
    void aTimedAcceptEndsAtItsDeadlineThoughRefusedPeersAreQueued() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            Address a = Address.unix(dir.resolve("flood.sock"));
            List<Socket> refused = new java.util.ArrayList<>();
            try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM)) {
                server.allowUids(ids("-u") + 1);
                for (int i = 0; i < 10; i++) {
                    refused.add(Socket.connect(a, Socket.Type.STREAM));
                }
                assertEquals(java.util.Optional.empty(), server.accept(Duration.ZERO));
                int taken = 0;
                for (Socket s : refused) {
                    s.setReadTimeout(Duration.ZERO);
                    try {
                        assertEquals(-1, s.read(ByteBuffer.allocate(1)), "a refused peer is closed");
                        taken++;
                    } catch (SocketTimeoutException stillQueued) {
                        // not accepted yet
                    }
                }
                assertEquals(1, taken, "the deadline (now) had passed once the first was refused: the others, as "
                        + "a flood's next ones, are left for a later accept");
            } finally {
                for (Socket s : refused) {
                    s.close();
                }
            }
        });
    }

    @Test
    @DisplayName("INET-01: a TCP connect to a closed loopback port is a ConnectException (ECONNREFUSED) naming the "
            + "address, and leaves no descriptor")
    void aConnectToAClosedPortIsConnectionRefused() throws Exception {
        Address closed = Address.inet("127.0.0.1", 1);
        var before = Fds.snapshot();
        for (org.junit.jupiter.api.function.Executable connect : List.<org.junit.jupiter.api.function.Executable>of(
                () -> Socket.connect(closed, Socket.Type.STREAM), () -> Socket.connect(closed, Socket.Type.STREAM, LIMIT),
                () -> Socket.connect("127.0.0.1", 1, LIMIT))) {
            ConnectException e = assertThrows(ConnectException.class, connect);
            assertEquals(ConnectionRefusedException.class, e.getClass());
            assertEquals("ECONNREFUSED", ((IpcError) e).errnoName());
            assertEquals("connect(127.0.0.1:1): ECONNREFUSED (Connection refused)", e.getMessage());
        }
        Fds.assertNoneAdded(before);
    }

    @Test
    @DisplayName("INET-01: EADDRNOTAVAIL on bind is a BindException and ENETUNREACH on connect a "
            + "NoRouteToHostException, as the JDK's, in the call(object): ERRNO (text) form")
    void bindAndConnectFailuresHaveTheJdkSocketExceptionTypes() throws Exception {
        // TEST-NET-3 (RFC 5737): documentation only, so no interface of this host has it
        org.junit.jupiter.api.Assumptions.assumeTrue(
                java.net.NetworkInterface.getByInetAddress(java.net.InetAddress.getByName("203.0.113.1")) == null,
                "203.0.113.1 is not assigned here");
        Address foreign = Address.inet("203.0.113.1", 0);
        List<java.util.concurrent.Callable<Channel>> binds = List.of(
                () -> ServerSocket.listen(foreign, Socket.Type.STREAM), () -> Socket.bind(foreign));
        for (java.util.concurrent.Callable<Channel> bind : binds) {
            BindException e = assertThrows(BindException.class, bind::call, "not an address of this host");
            assertEquals("EADDRNOTAVAIL", ((IpcError) e).errnoName());
            assertEquals("bind(" + foreign + "): EADDRNOTAVAIL (Cannot assign requested address)", e.getMessage());
        }
        // TCP never connects to a broadcast address: the kernel says ENETUNREACH, whatever the routes
        Address broadcast = Address.inet("255.255.255.255", 9);
        java.net.NoRouteToHostException e = assertThrows(java.net.NoRouteToHostException.class,
                () -> Socket.connect(broadcast, Socket.Type.STREAM, LIMIT));
        assertEquals("ENETUNREACH", ((IpcError) e).errnoName());
        assertEquals("connect(" + broadcast + "): ENETUNREACH (Network is unreachable)", e.getMessage());
    }

    @Test
    @DisplayName("UDS-02: replacing a stale socket file waits for a listener between its bind and its listen (the "
            + "directory's flock), and then leaves its live file alone")
    void replacingAStaleFileWaitsForAListenerBetweenItsBindAndItsListen() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            Address a = Address.unix(dir.resolve("window.sock"));
            // this test plays a listener inside ServerSocket.listen: the lock, bind, then (below) listen
            int lock = Syscalls.lockDirectory(dir.toString(), Duration.ZERO, "test");
            int live = SocketCalls.socket(Sockaddrs.AF_UNIX, SocketCalls.SOCK_STREAM, "live");
            try {
                SocketCalls.bind(live, Sockaddrs.of(a), "live"); // not listening yet: connect is refused, as on a stale file
                Object inode = Files.getAttribute(dir.resolve("window.sock"), "unix:ino", LinkOption.NOFOLLOW_LINKS);
                // the replacer tries the lock a millisecond apart, parked (futex) in between
                Blocked.Call<ServerSocket> replacer = Blocked.start(
                        () -> ServerSocket.listen(a, Socket.Type.STREAM, 0600, true), Blocked.FUTEX);
                SocketCalls.listen(live, 8, "live");
                Syscalls.close(lock);
                lock = -1;
                ExecutionException e = assertThrows(ExecutionException.class, () -> replacer.result().get(),
                        "the file was live once the replacer could look at it");
                assertEquals("EADDRINUSE", ((IpcError) e.getCause()).errnoName(), e.getCause().toString());
                assertEquals(inode, Files.getAttribute(dir.resolve("window.sock"), "unix:ino",
                        LinkOption.NOFOLLOW_LINKS), "the live listener's file is left in place");
                try (Socket client = Socket.connect(a, Socket.Type.STREAM, LIMIT)) {
                    int in = SocketCalls.accept(live, "live");
                    assertTrue(in >= 0, "the live listener is still reached at its path");
                    Syscalls.close(in);
                }
            } finally {
                Syscalls.close(live);
                if (lock >= 0) {
                    Syscalls.close(lock);
                }
            }
        });
    }

    @Test
    @DisplayName("UDS-02: of two listeners replacing one stale socket file at once, one listens there and the other "
            + "gets EADDRINUSE; never both, one of them on a removed file")
    void twoListenersReplacingOneStaleFileNeverBothListen() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                for (int round = 0; round < 200; round++) {
                    Address a = Address.unix(dir.resolve("r" + round + ".sock"));
                    Socket.bind(a).descriptor().close(); // the file stays, nobody bound to it: stale
                    java.util.concurrent.CyclicBarrier go = new java.util.concurrent.CyclicBarrier(2);
                    java.util.concurrent.Callable<ServerSocket> replace = () -> {
                        go.await();
                        return ServerSocket.listen(a, Socket.Type.STREAM, 0600, true);
                    };
                    List<java.util.concurrent.Future<ServerSocket>> both = List.of(pool.submit(replace),
                            pool.submit(replace));
                    List<ServerSocket> listening = new java.util.ArrayList<>();
                    for (java.util.concurrent.Future<ServerSocket> f : both) {
                        try {
                            listening.add(f.get());
                        } catch (ExecutionException e) {
                            assertEquals("EADDRINUSE", ((IpcError) e.getCause()).errnoName(), e.getCause().toString());
                        }
                    }
                    try {
                        assertEquals(1, listening.size(), "round " + round + ": exactly one listens at the path");
                        try (Socket client = Socket.connect(a, Socket.Type.STREAM, LIMIT)) {
                            assertTrue(listening.get(0).accept(Duration.ZERO).isPresent(), "and is reached there");
                        }
                    } finally {
                        for (ServerSocket s : listening) {
                            s.descriptor().close(); // not close(): it would remove the file at the path
                        }
                        Files.deleteIfExists(dir.resolve("r" + round + ".sock"));
                    }
                }
            } finally {
                pool.shutdownNow();
            }
        });
    }

    @Test
    @DisplayName("UDS-02: closing a socket whose descriptor had closed before leaves alone the file of the "
            + "listener that replaced its stale file meanwhile")
    void aLateCloseNeverRemovesTheFileOfTheListenerThatReplacedIt() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            for (Socket.Type type : List.of(Socket.Type.STREAM, Socket.Type.DATAGRAM)) {
                Path path = dir.resolve("late-" + type + ".sock");
                Address a = Address.unix(path);
                Channel early = type == Socket.Type.STREAM ? ServerSocket.listen(a, type) : Socket.bind(a);
                ((HasDescriptor) early).descriptor().close(); // as an interrupt closes it: the file stays, stale
                try (ServerSocket second = ServerSocket.listen(a, Socket.Type.STREAM, 0600, true)) {
                    early.close();
                    assertTrue(Files.exists(path, LinkOption.NOFOLLOW_LINKS), early + ": its close must leave the new file");
                    try (Socket client = Socket.connect(a, Socket.Type.STREAM, LIMIT)) {
                        assertTrue(second.accept(Duration.ZERO).isPresent(), "the replacement is reached at " + a);
                    }
                }
                assertFalse(Files.exists(path, LinkOption.NOFOLLOW_LINKS), "the replacement's own close removed it");
            }
        });
    }

    @Test
    @DisplayName("UDS-02: a directory lock another process keeps holds neither listen nor close for ever: no "
            + "stale file is replaced without it, and a live socket's close needs none")
    void aDirectoryLockHeldElsewhereHoldsNeitherListenNorCloseForEver() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path stale = dir.resolve("stale.sock");
            Socket.bind(Address.unix(stale)).descriptor().close(); // the file stays, nobody bound to it
            Path live = dir.resolve("live.sock");
            try (ServerSocket listening = ServerSocket.listen(Address.unix(live), Socket.Type.STREAM)) {
                // as `flock -x DIR` by anyone who may read DIR: another open file description, so it
                // holds off this process's own takers too
                int lock = Syscalls.lockDirectory(dir.toString(), Duration.ZERO, "test");
                assertTrue(lock >= 0, "the test holds the directory's lock");
                try {
                    AddressInUseException e = assertThrows(AddressInUseException.class,
                            () -> ServerSocket.listen(Address.unix(stale), Socket.Type.STREAM, 0600, true));
                    assertTrue(Files.exists(stale, LinkOption.NOFOLLOW_LINKS), "not replaced without the lock: " + e);
                    listening.close(); // a live listener's close takes no lock
                    assertFalse(Files.exists(live, LinkOption.NOFOLLOW_LINKS), "a live listener's close removes its file");
                } finally {
                    Syscalls.close(lock);
                }
            }
        });
    }
}
