package io.ipcbridge.socket;

import static io.ipcbridge.socket.SocketTest.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ipcbridge.Descriptor;
import io.ipcbridge.testing.Fds;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * FAULT-05 for sockets: every open/close path of the socket package, repeated many times,
 * including the failing ones, leaves /proc/self/fd and this test's entries of /proc/net/unix
 * exactly as they were. The catalogue's 100,000 cycles run for every path but the four that bind
 * a name or pass descriptors into a plain read, which run 20,000 (a path listen with connect and
 * accept takes about 75 us on an idle 2-CPU machine and several times that on a busy one).
 */
class SocketCycleLeakTest {
    private static final int CYCLES = 100_000;
    private static final int COSTLY = 20_000;

    @TempDir
    Path dir;

    /** The /proc/net/unix paths that belong to this test: its directory and its abstract prefix. */
    private String ours(String prefix) throws IOException {
        StringBuilder b = new StringBuilder();
        for (String path : SocketFaultTest.unixTable().split("\n")) {
            if (path.startsWith(dir.toString()) || path.startsWith("@" + prefix)) {
                b.append(path).append('\n');
            }
        }
        return b.toString();
    }

    private interface Cycle {
        void run(int i) throws Exception;
    }

    private void cycles(String what, int count, Cycle cycle) throws Exception {
        String prefix = "ipcb-cycle-" + ProcessHandle.current().pid();
        cycle.run(-1); // a warm-up: what the JVM and the bindings open once
        Map<Integer, String> before = Fds.snapshot();
        String unixBefore = ours(prefix);
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            cycle.run(i);
        }
        System.out.printf("cycles: %s x %d in %.2f s%n", what, count, (System.nanoTime() - start) / 1e9);
        Fds.assertNoneAdded(before);
        assertEquals(unixBefore, ours(prefix), what + ": /proc/net/unix entries as before");
    }

    @Test
    @DisplayName("FAULT-05: socketpair of each type, and a descriptor pass, open and close with no leak")
    void socketPairsAndDescriptorPassesLeaveNothing() throws Exception {
        for (Socket.Type type : Socket.Type.values()) {
            cycles("socketpair " + type, CYCLES, i -> Socket.pair(type).close());
        }
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM); Socket.Pair carried = Socket.pair(Socket.Type.DATAGRAM)) {
            ByteBuffer one = ByteBuffer.allocateDirect(1);
            cycles("send and receive a descriptor", CYCLES, i -> {
                p.first().sendDescriptors(text("d"), List.of(carried.first().descriptor()));
                for (Descriptor d : p.second().receiveDescriptors(one.clear(), 1)) {
                    d.close();
                }
            });
            cycles("descriptors refused by a plain read", COSTLY, i -> {
                p.first().sendDescriptors(text("d"), List.of(carried.first().descriptor()));
                assertThrows(AncillaryDataTruncatedException.class, () -> p.second().read(one.clear()));
            });
        }
    }

    @Test
    @DisplayName("FAULT-05: listen, connect, accept and close on a path and an abstract name, and failed connects")
    void listenConnectAcceptAndFailuresLeaveNothing() throws Exception {
        Path path = dir.resolve("c.sock");
        Address unix = Address.unix(path);
        Address abstractName = Address.abstractName("ipcb-cycle-" + ProcessHandle.current().pid());
        for (Address a : List.of(unix, abstractName)) {
            cycles("listen/connect/accept/close " + a, COSTLY, i -> {
                try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM);
                        Socket client = Socket.connect(a, Socket.Type.STREAM); Socket in = server.accept()) {
                    client.write(text("x"));
                }
            });
        }
        try (ServerSocket server = ServerSocket.listen(unix, Socket.Type.SEQPACKET)) {
            cycles("connect/accept/close to one server", CYCLES, i -> {
                Socket.connect(unix, Socket.Type.SEQPACKET).close();
                server.accept().close();
            });
        }
        cycles("connect to a missing path (ENOENT)", CYCLES,
                i -> assertThrows(ConnectException.class, () -> Socket.connect(unix, Socket.Type.STREAM)));
        cycles("connect to nobody (ECONNREFUSED)", CYCLES,
                i -> assertThrows(ConnectException.class, () -> Socket.connect(abstractName, Socket.Type.STREAM)));
        cycles("bind a datagram socket to a path", COSTLY, i -> Socket.bind(unix).close());
        Files.writeString(path, "not a socket");
        cycles("listen on a taken path (EADDRINUSE)", CYCLES, i -> assertThrows(java.net.BindException.class,
                () -> ServerSocket.listen(unix, Socket.Type.STREAM)));
    }
}
