package io.ipcbridge.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.Socket;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;

/** Fills a listening AF_UNIX stream socket's backlog, so that a further connect waits for room. */
public final class Backlogs {
    private Backlogs() {
    }

    /**
     * Connects to {@code a} into {@code clients} (which the caller closes) until its backlog is full:
     * then a bounded connect times out.
     */
    public static void fill(Address a, List<Socket> clients) throws IOException {
        try {
            for (;;) {
                clients.add(Socket.connect(a, Socket.Type.STREAM, Duration.ofMillis(20)));
                assertTrue(clients.size() < 10_000, "the backlog is bounded");
            }
        } catch (SocketTimeoutException full) {
            // full
        }
    }
}
