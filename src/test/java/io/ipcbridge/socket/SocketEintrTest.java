package io.ipcbridge.socket;

import static io.ipcbridge.socket.SocketTest.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.ipcbridge.Descriptor;
import io.ipcbridge.conn.Connection;
import io.ipcbridge.internal.posix.NativeThread;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.testing.Backlogs;
import io.ipcbridge.testing.Blocked;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** an EINTR storm against timed socket calls: each retry keeps the same absolute deadline. */
class SocketEintrTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final int CONNECT = 42;

    @TempDir
    Path dir;

    @Test
    @DisplayName("X-05, X-08: a timed AF_UNIX connect to a full backlog ends at its deadline under an EINTR storm")
    void aTimedConnectEndsAtItsDeadlineUnderAnEintrStorm() throws Exception {
        Address a = Address.unix(dir.resolve("full.sock"));
        List<Socket> clients = new ArrayList<>();
        try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM)) {
            Backlogs.fill(a, clients);
            AtomicLong handle = new AtomicLong();
            AtomicInteger tid = new AtomicInteger();
            CompletableFuture<Socket> result = new CompletableFuture<>();
            CountDownLatch signalled = new CountDownLatch(1);
            Thread t = new Thread(() -> {
                handle.set(NativeThread.current());
                tid.set(Blocked.currentTid());
                try {
                    result.complete(Socket.connect(a, Socket.Type.STREAM, Duration.ofMillis(200)));
                } catch (Throwable e) {
                    result.completeExceptionally(e);
                }
                // the thread lives on until the signalling is over: a signal sent as its connect
                // ended must not go to an exited thread's handle
                try {
                    signalled.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "timed-connect");
            t.start();
            try {
                assertTimeoutPreemptively(LIMIT, () -> {
                    int signals = 0;
                    while (!result.isDone()) {
                        // each time the connect sleeps, a signal without SA_RESTART makes it return EINTR
                        if (tid.get() != 0 && Integer.valueOf(CONNECT).equals(Blocked.sleepingIn(tid.get()))) {
                            NativeThread.signal(handle.get());
                            signals++;
                        }
                        Thread.onSpinWait();
                    }
                    ExecutionException e = assertThrows(ExecutionException.class, result::get);
                    assertInstanceOf(SocketTimeoutException.class, e.getCause(), "after " + signals + " signals");
                }, "the connect kept waiting past its deadline: each EINTR started the whole timeout again");
            } finally {
                signalled.countDown();
            }
            t.join();
            for (Socket c : clients) {
                c.write(text("x")); // all still connected
            }
        } finally {
            for (Socket c : clients) {
                c.close();
            }
        }
    }

    @Test
    @DisplayName("X-05: an untimed AF_UNIX connect waiting on a full backlog retries each EINTR and connects once "
            + "there is room")
    void anUntimedConnectRetriesEintrAndConnectsWhenTheBacklogHasRoom() throws Exception {
        Address a = Address.unix(dir.resolve("full.sock"));
        List<Socket> clients = new ArrayList<>();
        try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM)) {
            Backlogs.fill(a, clients);
            assertTimeoutPreemptively(LIMIT, () -> {
                AtomicLong handle = new AtomicLong();
                Blocked.Call<Socket> connect = Blocked.start(() -> {
                    handle.set(NativeThread.current());
                    return Socket.connect(a, Socket.Type.STREAM);
                }, CONNECT);
                for (int i = 0; i < 1_000 && !connect.result().isDone(); i++) {
                    NativeThread.signal(handle.get());
                }
                assertFalse(connect.result().isDone(), "still waiting for room: " + connect.result());
                int queued = clients.size();
                clients.add(server.accept()); // makes room
                try (Socket s = connect.result().get()) {
                    assertEquals(a, s.remoteAddress());
                    s.write(text("late"));
                    for (int i = 0; i < queued - 1; i++) {
                        clients.add(server.accept());
                    }
                    try (Socket late = server.accept()) {
                        ByteBuffer b = ByteBuffer.allocate(8);
                        assertEquals(4, late.read(b), "the late connection is queued last, and works");
                    }
                }
            });
        } finally {
            for (Socket c : clients) {
                c.close();
            }
        }
    }

    /** The system calls a blocked socket call may sleep in: read, poll, recvfrom, recvmsg, accept4. */
    private static final int[] WAITS = {Blocked.READ, Blocked.POLL, 45, 47, 288};

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"accept", "timed accept", "read with a read timeout", "receiveFrom", "receiveDescriptors",
        "connection receive"})
    void aBlockedSocketCallRetriesEintrAndReturnsWhatComesAfter(String kind) throws Exception {
        // X-05, UDS-13: each blocking socket call, signalled 1,000 times as it waits (a read timeout,
        // SO_RCVTIMEO, makes even restartable calls return EINTR), neither fails nor returns early
        Address a = Address.unix(dir.resolve("s.sock"));
        try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM); Socket.Pair stream = Socket.pair(
                Socket.Type.STREAM); Socket.Pair dgram = Socket.pair(Socket.Type.DATAGRAM); Pipe passed = Pipe.open()) {
            java.util.concurrent.Callable<String> call = switch (kind) {
                case "accept", "timed accept" -> () -> {
                    try (Socket in = kind.equals("accept") ? server.accept()
                            : server.accept(Duration.ofMinutes(5)).orElseThrow()) {
                        ByteBuffer b = ByteBuffer.allocate(8);
                        in.read(b);
                        return text(b);
                    }
                };
                case "read with a read timeout" -> () -> {
                    stream.first().setReadTimeout(Duration.ofMinutes(5));
                    ByteBuffer b = ByteBuffer.allocate(8);
                    stream.first().read(b);
                    return text(b);
                };
                case "receiveFrom" -> () -> {
                    ByteBuffer b = ByteBuffer.allocate(8);
                    dgram.first().receiveFrom(b);
                    return text(b);
                };
                case "receiveDescriptors" -> () -> {
                    ByteBuffer b = ByteBuffer.allocate(8);
                    for (Descriptor d : stream.first().receiveDescriptors(b, 1)) {
                        d.close();
                    }
                    return text(b);
                };
                default -> () -> new String(Connection.over(stream.first()).recvBytes(), StandardCharsets.UTF_8);
            };
            assertTimeoutPreemptively(LIMIT, () -> {
                AtomicLong handle = new AtomicLong();
                Blocked.Call<String> blocked = Blocked.start(() -> {
                    handle.set(NativeThread.current());
                    return call.call();
                }, WAITS);
                for (int i = 0; i < 1_000 && !blocked.result().isDone(); i++) {
                    NativeThread.signal(handle.get());
                }
                assertFalse(blocked.result().isDone(), "still waiting: " + blocked.result());
                switch (kind) {
                    case "accept", "timed accept" -> {
                        try (Socket client = Socket.connect(a, Socket.Type.STREAM)) {
                            client.write(text("hi"));
                        }
                    }
                    case "receiveFrom" -> dgram.second().write(text("hi"));
                    case "receiveDescriptors" -> stream.second().sendDescriptors(text("hi"),
                            List.of(passed.sink().descriptor()));
                    case "connection receive" -> Connection.over(stream.second()).sendBytes(text("hi"));
                    default -> stream.second().write(text("hi"));
                }
                assertEquals("hi", blocked.result().get());
            });
        }
    }
}
