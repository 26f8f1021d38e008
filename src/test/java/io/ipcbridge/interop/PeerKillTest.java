package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.PeerClosedException;
import io.ipcbridge.cli.PatternStream;
import io.ipcbridge.conn.Connection;
import io.ipcbridge.conn.TruncatedMessageException;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.OwnThreads;
import io.ipcbridge.testing.PeerState;
import io.ipcbridge.testing.Peers;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A C peer SIGKILLed in the middle of a transfer over an AF_UNIX socket: the Java end gets exactly
 * what the peer wrote, then a clean end or a typed failure, quickly and without hanging (UDS-19,
 * UDS-20; NL-04, the stream-frame case of the "nothing lost" list). The peer is killed while it
 * sleeps in a known system call, read from /proc, so no timing decides the outcome.
 */
class PeerKillTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final int READ = 0;
    private static final int WRITE = 1;

    /** Waits until process {@code pid} sleeps in system call {@code nr} (or has ended). */
    static void awaitSleepingIn(long pid, int nr) {
        Path proc = Path.of("/proc/" + pid);
        for (;;) {
            String stat = PeerState.read(proc.resolve("stat"));
            String syscall = PeerState.read(proc.resolve("syscall"));
            if (stat == null || syscall == null) {
                return;
            }
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            if (state == 'Z' || state == 'S' && syscall.startsWith(nr + " ")) {
                return;
            }
            Thread.onSpinWait();
        }
    }

    private static Command peer(String name, String... args) {
        String[] argv = new String[args.length + 1];
        argv[0] = Peers.path(name);
        System.arraycopy(args, 0, argv, 1, args.length);
        return Command.of(argv);
    }

    @Test
    @DisplayName("UDS-19: a C writer SIGKILLed with a full socket: Java drains an exact prefix, then EOF")
    void aKilledWriterLeavesAnExactPrefixThenEndOfStream() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair p = Socket.pair(Socket.Type.STREAM);
                    ChildProcess writer = peer("sock_peer", "source-fd", "3", Long.toString(1L << 40), "19")
                            .fd(3, p.second()).start()) {
                p.second().close();
                awaitSleepingIn(writer.pid(), WRITE); // the socket is full: it waits for us
                writer.kill();
                assertFalse(writer.waitFor().success());
                PatternStream expected = new PatternStream(19);
                ByteBuffer got = ByteBuffer.allocateDirect(65536);
                long total = 0;
                for (int n; (n = p.first().read(got.clear())) > 0; total += n) {
                    byte[] chunk = new byte[n];
                    got.flip().get(chunk);
                    assertArrayEquals(expected.bytes(n), chunk, "bytes " + total + ".. are what the peer wrote");
                }
                assertTrue(total > 0, "what was buffered is drained");
                assertEquals(-1, p.first().read(got.clear()), "the end stays the end");
            }
        });
    }

    @Test
    @DisplayName("UDS-20: a C reader SIGKILLed: the next Java write is PeerClosedException (EPIPE)")
    void aKilledReaderMakesTheNextWriteFail() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair p = Socket.pair(Socket.Type.STREAM);
                    ChildProcess reader = peer("sock_peer", "sink-fd", "3").fd(3, p.second()).start()) {
                p.second().close();
                p.first().write(ByteBuffer.wrap(new byte[100_000]));
                awaitSleepingIn(reader.pid(), READ); // it has read all that and waits for more
                reader.kill();
                assertFalse(reader.waitFor().success());
                PeerClosedException e = assertThrows(PeerClosedException.class,
                        () -> p.first().write(ByteBuffer.wrap(new byte[10])));
                assertEquals("EPIPE", e.errnoName());
            }
        });
    }

    @Test
    @DisplayName("NL-04, UDS-19: a framed writer SIGKILLed mid-frame: Java receives the whole messages, then "
            + "EOFException, and the cut one never")
    void aWriterKilledMidFrameLeavesWholeMessagesThenATruncatedOne() throws Exception {
        int count = 40;
        long seed = 77;
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair p = Socket.pair(Socket.Type.STREAM); Pipe out = Pipe.open(); Pipe in = Pipe.open();
                    Connection c = Connection.over(p.first());
                    ChildProcess writer = peer("conn_peer", "send-cut", "3", Integer.toString(count), Long.toString(seed))
                            .fd(3, p.second()).stdout(out.sink()).stdin(in.source()).start()) {
                p.second().close();
                out.sink().close();
                CompletableFuture<String> cut = CompletableFuture.supplyAsync(() -> line(out.source().inputStream()), OwnThreads.EACH);
                for (int i = 0; i < count; i++) {
                    int length = (int) ((long) i * 7919 % 70001);
                    assertArrayEquals(new PatternStream(seed + i).bytes(length), c.recvBytes(), "message " + i);
                }
                int length = (int) ((long) count * 7919 % 70001);
                assertEquals("cut " + count + " " + length + " " + length / 2, cut.get());
                awaitSleepingIn(writer.pid(), READ); // waiting on its stdin, the frame half written
                writer.kill();
                EOFException e = assertThrows(TruncatedMessageException.class, c::recvBytes);
                assertTrue(e.getMessage().contains("expected " + length + " bytes, got " + length / 2), e.getMessage());
                assertFalse(c.isOpen(), "closed: the stream's place inside the cut frame is lost");
                assertThrows(ClosedChannelException.class, c::recvBytes, "no part of the cut frame follows");
                assertFalse(writer.waitFor().success());
            }
        });
    }

    private static String line(InputStream in) {
        try {
            byte[] b = new byte[256];
            int n = 0;
            for (int ch; (ch = in.read()) >= 0 && ch != '\n'; ) {
                b[n++] = (byte) ch;
            }
            return new String(Arrays.copyOf(b, n), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
