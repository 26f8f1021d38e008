package io.ipcbridge.socket;

import static io.ipcbridge.socket.SocketTest.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.internal.posix.NativeThread;
import io.ipcbridge.testing.Blocked;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
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
            SocketFaultTest.fillBacklog(a, clients);
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
            SocketFaultTest.fillBacklog(a, clients);
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
}
