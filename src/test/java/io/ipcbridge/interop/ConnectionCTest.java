package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.conn.Connection;
import io.ipcbridge.conn.ProtocolException;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.cli.PatternStream;
import io.ipcbridge.testing.Peers;
import java.io.EOFException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/** A C program using native-tests/include/ipcb_conn.h at the other end of a connection. */
class ConnectionCTest {
    private static final Duration LIMIT = Duration.ofMinutes(2);

    private static String run(Command command, Runnable javaSide) throws Exception {
        try (Pipe out = Pipe.open(); ChildProcess child = command.stdout(out.sink()).start()) {
            out.sink().close();
            javaSide.run();
            String text = new String(out.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            assertEquals(0, child.waitFor().code(), text);
            return text;
        }
    }

    @Test
    void theCPeerEchoesEveryMessageAndItsSendsArriveWithTheirChecksum() throws Exception {
        String peer = Peers.path("conn_peer");
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM); Connection c = Connection.over(pair.first())) {
                Command echo = Command.of(peer, "echo", "3").fd(3, pair.second());
                String out = run(echo, () -> {
                    try {
                        pair.second().close();
                        for (int size : new int[] {0, 1, 16384, 16385, 1 << 20}) {
                            byte[] m = new PatternStream(size).bytes(size);
                            c.sendBytes(m);
                            assertTrue(java.util.Arrays.equals(m, c.recvBytes()), "echo of " + size + " bytes");
                        }
                        c.close();
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                assertEquals("echoed 5", out);
            }
            try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM); Connection c = Connection.over(pair.first())) {
                CRC32 crc = new CRC32();
                String out = run(Command.of(peer, "send", "3", "300", "9").fd(3, pair.second()), () -> {
                    try {
                        pair.second().close();
                        for (int i = 0; i < 300; i++) {
                            byte[] m = c.recvBytes();
                            int size = (int) ((i * 7919L) % 70001);
                            assertEquals(size, m.length);
                            assertTrue(java.util.Arrays.equals(new PatternStream(9 + i).bytes(size), m), "message " + i);
                            crc.update(m);
                        }
                        assertThrows(EOFException.class, c::recvBytes, "a clean end after the last message");
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                assertEquals(String.format("sent 300 %08x", crc.getValue()), out);
            }
        });
    }

    @Test
    void theCPeerReceivesWhatJavaSendsOverAPipe() throws Exception {
        String peer = Peers.path("conn_peer");
        assertTimeoutPreemptively(LIMIT, () -> {
            Connection.Pair p = Connection.pipe(false);
            CRC32 crc = new CRC32();
            String out = run(Command.of(peer, "recv", "3").fd(3, p.first()), () -> {
                try {
                    p.first().close();
                    for (int i = 0; i < 1000; i++) {
                        byte[] m = new PatternStream(i).bytes(i * 37);
                        crc.update(m);
                        p.second().sendBytes(m);
                    }
                    p.second().close();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            assertEquals(String.format("received 1000 %08x", crc.getValue()), out);
        });
    }

    @Test
    void hostileFramesFromCAreRefused() throws Exception {
        String peer = Peers.path("conn_peer");
        // a frame announcing 2 GiB (the 8-byte form) to a receiver with the default 64 MiB limit
        try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM); Connection c = Connection.over(pair.first())) {
            run(Command.of(peer, "raw", "3", "ffffffff0000000080000000").fd(3, pair.second()), () -> { });
            pair.second().close();
            ProtocolException e = assertThrows(ProtocolException.class, c::recvBytes);
            assertTrue(e.getMessage().contains("2147483648 bytes announced"), e.getMessage());
        }
        // a peer that closes in the middle of a message
        try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM); Connection c = Connection.over(pair.first())) {
            run(Command.of(peer, "raw", "3", "0000000a616263").fd(3, pair.second()), () -> { });
            pair.second().close();
            EOFException e = assertThrows(EOFException.class, c::recvBytes);
            assertTrue(e.getMessage().contains("expected 10 bytes, got 3"), e.getMessage());
        }
    }

    @Test
    void theCHeadersCleanEndLeavesErrnoAsItWasAfterARetriedInterruptedRead() throws Exception {
        // ipcb_conn.h documents errno unchanged at -2; a SIGUSR1 that interrupts the blocked read first
        // (EINTR, retried) used to be left in errno
        assertEquals("end -2 errno 0", run(Command.of(Peers.path("conn_peer"), "eof-eintr"), () -> { }));
    }
}
