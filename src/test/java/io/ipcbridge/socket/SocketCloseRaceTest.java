package io.ipcbridge.socket;

import static io.ipcbridge.socket.SocketTest.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.Descriptor;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Fds;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * X-02 with FD-06's "no leak": a call that completed in the kernel just as {@code close()} came. A
 * thread blocked in the call is suspended ({@link Thread#suspend} stops it on its way back from
 * native code), the call is made to complete in the kernel, the thread is seen to have left the
 * system call, the socket is closed, and only then is the thread resumed: the order is fixed by
 * the kernel's own state, not by timing.
 */
class SocketCloseRaceTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final int RECVFROM = 45;
    private static final int RECVMSG = 47;
    private static final int ACCEPT4 = 288;

    @TempDir
    Path dir;

    /** Skips where {@link Thread#suspend} is gone: it throws from JDK 20 and is removed from JDK 23. */
    static void assumeSuspendable() {
        assumeTrue(Runtime.version().feature() < 20,
                "Thread.suspend, which holds the thread between its system call and what follows, is gone from JDK 20");
    }

    /** Waits until thread {@code tid}, suspended, sleeps outside system call {@code syscall}. */
    static void awaitLeft(int tid, int syscall) {
        for (Integer call; (call = Blocked.sleepingIn(tid)) == null || call == syscall; ) {
            Thread.onSpinWait();
        }
    }

    @Test
    @SuppressWarnings("removal") // Thread.suspend: the one way to hold a thread between its system call and what follows
    @DisplayName("X-02, FD-06: descriptors received as close() comes are returned with their data, never leaked")
    void descriptorsReceivedAsACloseComesAreNotLeaked() throws Exception {
        assumeSuspendable();
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair p = Socket.pair(Socket.Type.STREAM); Pipe pipe = Pipe.open()) {
                var before = Fds.snapshot();
                ByteBuffer data = ByteBuffer.allocateDirect(8);
                Blocked.Call<List<Descriptor>> call = Blocked.start(() -> p.second().receiveDescriptors(data, 2),
                        RECVMSG);
                call.thread().suspend();
                try {
                    p.first().sendDescriptors(text("fd"), List.of(pipe.sink().descriptor()));
                    awaitLeft(call.tid(), RECVMSG); // recvmsg has returned with the descriptor
                    p.second().close();
                } finally {
                    call.thread().resume();
                }
                List<Descriptor> got;
                try {
                    got = call.result().get();
                } catch (ExecutionException e) {
                    assertInstanceOf(AsynchronousCloseException.class, e.getCause());
                    got = List.of();
                }
                assertEquals(1, got.size(), "the receive completed: its descriptor and data are returned");
                assertEquals("fd", text(data));
                got.get(0).close();
                Fds.assertNoneAdded(before);
            }
        });
    }

    @Test
    @SuppressWarnings("removal")
    @DisplayName("X-02, UDS-12: a connection accepted as close() comes is returned, as a read returns its data, never leaked")
    void aConnectionAcceptedAsACloseComesIsNotLeaked() throws Exception {
        assumeSuspendable();
        assertTimeoutPreemptively(LIMIT, () -> {
            Address a = Address.unix(dir.resolve("race.sock"));
            ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM);
            try {
                server.descriptor().setNonBlocking(false); // so that the thread sleeps in accept4 itself
                var before = Fds.snapshot();
                Blocked.Call<Socket> call = Blocked.start(server::accept, ACCEPT4);
                call.thread().suspend();
                Socket client;
                try {
                    client = Socket.connect(a, Socket.Type.STREAM);
                    awaitLeft(call.tid(), ACCEPT4); // accept4 has returned the new connection
                    server.close();
                } finally {
                    call.thread().resume();
                }
                try (Socket accepted = call.result().get()) {
                    accepted.write(text("in")); // the connection accept4 took is returned, and works
                    ByteBuffer got = ByteBuffer.allocate(2);
                    while (got.hasRemaining() && client.read(got) >= 0) {
                        // both bytes
                    }
                    assertEquals("in", text(got));
                }
                client.close();
                Fds.assertNoneAdded(before);
            } finally {
                server.close();
            }
        });
    }

    @Test
    @DisplayName("X-06, SEC-14: a bound datagram socket whose receive was interrupted still removes its file on close()")
    void anInterruptedBoundSocketRemovesItsFileOnClose() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path path = dir.resolve("dgram.sock");
            Socket s = Socket.bind(Address.unix(path));
            try {
                Blocked.Call<Address> call = Blocked.start(() -> s.receiveFrom(ByteBuffer.allocate(8)), RECVMSG);
                call.thread().interrupt(); // closes the descriptor, as the JDK's channels do
                ExecutionException e = assertThrows(ExecutionException.class, () -> call.result().get());
                assertInstanceOf(java.nio.channels.ClosedByInterruptException.class, e.getCause());
            } finally {
                s.close();
            }
            assertFalse(Files.exists(path, LinkOption.NOFOLLOW_LINKS), "the socket file is removed");
        });
    }

    @Test
    @DisplayName("SEC-14: a bound datagram socket whose descriptor was closed directly still removes its file on close()")
    void aBoundSocketClosedThroughItsDescriptorRemovesItsFileOnClose() throws Exception {
        Path path = dir.resolve("dgram2.sock");
        Socket s = Socket.bind(Address.unix(path));
        s.descriptor().close();
        s.close();
        assertFalse(Files.exists(path, LinkOption.NOFOLLOW_LINKS), "the socket file is removed");
    }

    @Test
    @DisplayName("X-03: a reader woken by a socket's close never reads from the socket that reuses its number")
    void aClosedNumberReusedByANewSocketIsNeverReadByTheWokenReader() throws Exception {
        // a pair (blocking underneath: read(2)) and a connected socket (non-blocking underneath: poll(2))
        Address a = Address.unix(dir.resolve("x03.sock"));
        try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM)) {
            assertTimeoutPreemptively(Duration.ofSeconds(150), () -> {
                for (int i = 0; i < 1_000; i++) {
                    Socket reader;
                    Socket peer;
                    if (i % 2 == 0) {
                        Socket.Pair p = Socket.pair(Socket.Type.STREAM);
                        reader = p.first();
                        peer = p.second();
                    } else {
                        reader = Socket.connect(a, Socket.Type.STREAM);
                        peer = server.accept();
                    }
                    Blocked.Call<Integer> read = Blocked.start(() -> reader.read(ByteBuffer.allocate(8)), Blocked.READ,
                            Blocked.POLL, RECVFROM, RECVMSG);
                    reader.close();
                    try (Socket.Pair other = Socket.pair(Socket.Type.STREAM)) {
                        other.second().write(text("new"));
                        ExecutionException e = assertThrows(ExecutionException.class, () -> read.result().get());
                        assertInstanceOf(AsynchronousCloseException.class, e.getCause());
                        ByteBuffer b = ByteBuffer.allocate(8);
                        assertEquals(3, other.first().read(b), "the new socket's bytes are all still there");
                    }
                    peer.close();
                }
            });
        }
    }
}
