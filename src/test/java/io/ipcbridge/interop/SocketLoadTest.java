package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Peers;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One ipcbridge AF_UNIX stream server (a thread per connection) against many concurrent C
 * clients (native-tests/sock_peer pingpong), each doing request/replies of 64 bytes and checking
 * every reply: RELIABILITY.md LOAD-01 (256 clients) and LOAD-02 (1,024 clients; AF_UNIX connects
 * wait for the backlog instead of being refused). The wall time is printed, never asserted.
 */
class SocketLoadTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("LOAD-01: 256 concurrent C clients x 1,000 round trips of 64 B, 0 errors, descriptors back to baseline")
    void twoHundredFiftySixClientsAThousandRoundTripsEach() throws Exception {
        serve(256, 1_000);
    }

    @Test
    @DisplayName("LOAD-02: 1,024 concurrent C clients x 1,000 round trips of 64 B, 0 errors, none refused")
    void aThousandTwentyFourClients() throws Exception {
        serve(1_024, 1_000);
    }

    /** Runs the load after a small warm-up, which opens what the JVM and the bindings open once. */
    private void serve(int clients, int roundTrips) throws Exception {
        run(2, 10);
        var before = Fds.snapshot();
        run(clients, roundTrips);
        Fds.assertNoneAdded(before);
    }

    private void run(int clients, int roundTrips) throws Exception {
        String pingpong = Peers.path("sock_peer");
        Address a = Address.unix(dir.resolve("load.sock"));
        assertTimeoutPreemptively(Duration.ofMinutes(5), () -> {
            ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            List<Thread> echoes = new ArrayList<>();
            CountDownLatch served = new CountDownLatch(clients);
            long start = System.nanoTime();
            try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM)) {
                Thread acceptor = new Thread(() -> {
                    try {
                        for (int i = 0; i < clients; i++) {
                            Socket s = server.accept();
                            Thread t = new Thread(() -> echo(s, errors, served), "echo-" + i);
                            echoes.add(t);
                            t.start();
                        }
                    } catch (IOException | RuntimeException e) {
                        errors.add(e);
                    }
                }, "acceptor");
                acceptor.start();
                List<Process> peers = new ArrayList<>();
                for (int i = 0; i < clients; i++) {
                    peers.add(new ProcessBuilder(pingpong, "pingpong", a.toString(), Integer.toString(roundTrips), "64")
                            .redirectInput(new File("/dev/null"))
                            .redirectOutput(dir.resolve("out-" + i).toFile())
                            .redirectError(dir.resolve("err-" + i).toFile()).start());
                }
                for (int i = 0; i < clients; i++) {
                    Path err = dir.resolve("err-" + i);
                    assertEquals(0, peers.get(i).waitFor(), () -> "client failed: " + read(err));
                    assertTrue(Files.readString(dir.resolve("out-" + i)).startsWith(roundTrips + " "),
                            "every reply of client " + i + " matched");
                }
                acceptor.join();
                served.await();
                for (Thread t : echoes) {
                    t.join();
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("LOAD: %d clients x %d round trips: %.2f s, %.0f round trips/s%n", clients, roundTrips,
                    seconds, clients * (double) roundTrips / seconds);
            assertEquals(List.of(), List.copyOf(errors), "no server-side error");
        });
    }

    /** Echoes what {@code s} sends until its end, then closes it. */
    private static void echo(Socket s, ConcurrentLinkedQueue<Throwable> errors, CountDownLatch served) {
        try (s) {
            ByteBuffer b = ByteBuffer.allocateDirect(4096);
            while (s.read(b.clear()) > 0) {
                s.write(b.flip());
            }
        } catch (IOException | RuntimeException e) {
            errors.add(e);
        } finally {
            served.countDown();
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
