package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.conn.AuthenticationException;
import io.ipcbridge.conn.Connection;
import io.ipcbridge.conn.Listener;
import io.ipcbridge.conn.ProtocolException;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.OwnThreads;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CPython 3.11's multiprocessing.connection at the other end of ipcbridge connections. */
class ConnectionPythonTest {
    private static final Duration LIMIT = Duration.ofMinutes(3);
    private static final int MESSAGES = 100_000;
    /** Message i's size, shared with the Python side: mostly small, every 1000th exactly 1 MiB, some 0. */
    private static final String SIZES = "def size(i): return 1 << 20 if i % 1000 == 999 else (i * 7919) % 4099\n";

    @TempDir
    Path dir;

    private static int size(int i) {
        return i % 1000 == 999 ? 1 << 20 : (int) ((i * 7919L) % 4099);
    }

    private static byte[] message(int i) {
        byte[] m = new byte[size(i)];
        Arrays.fill(m, (byte) (i % 251));
        return m;
    }

    @Test
    void aHundredThousandMessagesEachWayWithPythonOnFd3() throws Exception {
        String script = "import sys, zlib\n"
                + "from multiprocessing.connection import Connection\n" + SIZES
                + "c = Connection(3)\n"
                + "n = int(sys.argv[1]); crc = 0\n"
                + "for i in range(n):\n"
                + "    m = c.recv_bytes()\n"
                + "    assert len(m) == size(i), (i, len(m))\n"
                + "    crc = zlib.crc32(m, crc)\n"
                + "print('%08x' % crc, flush=True)\n"
                + "for i in range(n):\n"
                + "    c.send_bytes(bytes([i % 251]) * size(i))\n"
                + "c.close()\n";
        assertTimeoutPreemptively(LIMIT, () -> withPythonOnFd3(script, Integer.toString(MESSAGES), (c, output) -> {
            CRC32 sent = new CRC32();
            for (int i = 0; i < MESSAGES; i++) {
                byte[] m = message(i);
                sent.update(m);
                c.sendBytes(m);
            }
            CRC32 received = new CRC32();
            for (int i = 0; i < MESSAGES; i++) {
                byte[] m = c.recvBytes();
                assertEquals(size(i), m.length, "message " + i);
                received.update(m);
            }
            assertEquals(String.format("%08x", sent.getValue()), output.call(), "Python's checksum of what Java sent");
            CRC32 expected = new CRC32();
            for (int i = 0; i < MESSAGES; i++) {
                expected.update(message(i));
            }
            assertEquals(expected.getValue(), received.getValue(), "Java's checksum of what Python sent");
        }));
    }

    @Test
    void messagesSentByTwoThreadsOnOneConnectionReachPythonWhole() throws Exception {
        // Connection's contract: sends are serialised, so no frame of one thread comes inside another's;
        // message (t, i) is t, i (2 bytes, big-endian), then 40 KiB for every 7th, else i bytes, all t * 31 + i
        String script = "import sys\n"
                + "from multiprocessing.connection import Connection\n"
                + "c = Connection(3)\n"
                + "n = int(sys.argv[1]); nxt = [0, 0]\n"
                + "for _ in range(2 * n):\n"
                + "    m = c.recv_bytes()\n"
                + "    t, i = m[0], int.from_bytes(m[1:3], 'big')\n"
                + "    assert i == nxt[t], ('out of order or torn', t, i, nxt, len(m))\n"
                + "    nxt[t] += 1\n"
                + "    assert len(m) == 3 + (40960 if i % 7 == 0 else i), ('torn', t, i, len(m))\n"
                + "    assert m[3:] == bytes([(t * 31 + i) % 256]) * (len(m) - 3), ('mixed', t, i)\n"
                + "print(nxt[0] + nxt[1], flush=True)\n";
        int n = 500;
        assertTimeoutPreemptively(LIMIT, () -> withPythonOnFd3(script, Integer.toString(n), (c, output) -> {
            List<CompletableFuture<Void>> senders = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int thread = t;
                senders.add(CompletableFuture.runAsync(() -> {
                    try {
                        for (int i = 0; i < n; i++) {
                            byte[] m = new byte[3 + (i % 7 == 0 ? 40960 : i)];
                            Arrays.fill(m, (byte) (thread * 31 + i));
                            m[0] = (byte) thread;
                            m[1] = (byte) (i >> 8);
                            m[2] = (byte) i;
                            c.sendBytes(m);
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }, OwnThreads.EACH));
            }
            senders.forEach(CompletableFuture::join);
            assertEquals(Integer.toString(2 * n), output.call(),
                    "Python read every message whole, in order per thread");
        }));
    }

    /** What Java does with Python on fd 3: {@code output} reads Python's stdout to its end, trimmed. */
    @FunctionalInterface
    private interface OnFd3 {
        void run(Connection c, Callable<String> output) throws Exception;
    }

    /**
     * Runs {@code script} with the argument {@code arg}, its end of a stream socket pair on fd 3, and
     * {@code body} with this end as a connection; Python must then exit 0.
     */
    private static void withPythonOnFd3(String script, String arg, OnFd3 body) throws Exception {
        try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM); Pipe out = Pipe.open();
                ChildProcess python = Command.of("python3", "-c", script, arg).fd(3, pair.second())
                        .stdout(out.sink()).start();
                Connection c = Connection.over(pair.first())) {
            pair.second().close();
            out.sink().close();
            body.run(c, () -> new String(out.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII).trim());
            assertEquals(0, python.waitFor().code());
        }
    }

    private static String python(String script, String... args) throws Exception {
        String[] argv = new String[args.length + 3];
        argv[0] = "python3";
        argv[1] = "-c";
        argv[2] = script;
        System.arraycopy(args, 0, argv, 3, args.length);
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out.trim();
    }

    @Test
    void aPythonClientAuthenticatesToAJavaListenerOnlyWithTheRightKey() throws Exception {
        Path path = dir.resolve("listener.sock");
        String client = "import sys\n"
                + "from multiprocessing.connection import Client\n"
                + "try:\n"
                + "    c = Client(sys.argv[1], authkey=sys.argv[2].encode())\n"
                + "    c.send_bytes(b'hello from python'); print(c.recv_bytes().decode())\n"
                + "except Exception as e:\n"
                + "    print(type(e).__name__)\n";
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Listener listener = Listener.listen(Address.unix(path), "key".getBytes(StandardCharsets.US_ASCII))) {
                Thread server = new Thread(() -> {
                    try (Connection c = listener.accept()) {
                        c.sendBytes(("java got: " + c.recv()).getBytes(StandardCharsets.UTF_8));
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                server.start();
                assertEquals("java got: hello from python", python(client, path.toString(), "key"));
                server.join();
                CompletableFuture<Throwable> refusing = CompletableFuture
                        .supplyAsync(() -> {
                            try {
                                listener.accept().close();
                                return null;
                            } catch (Exception e) {
                                return e;
                            }
                        }, OwnThreads.EACH);
                assertEquals("AuthenticationError", python(client, path.toString(), "wrong"));
                assertEquals(AuthenticationException.class, refusing.get().getClass());
            }
        });
    }

    @Test
    void aJavaClientAuthenticatesToAPythonListenerOnlyWithTheRightKey() throws Exception {
        Path path = dir.resolve("py.sock");
        String server = "import sys\n"
                + "from multiprocessing.connection import Listener\n"
                + "l = Listener(sys.argv[1], authkey=b'key')\n"
                + "print('ready', flush=True)\n"
                + "for _ in range(2):\n"
                + "    try:\n"
                + "        c = l.accept(); c.send_bytes(b'python got: ' + c.recv_bytes()); c.close()\n"
                + "    except Exception as e:\n"
                + "        print(type(e).__name__, flush=True)\n"
                + "l.close()\n";
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe out = Pipe.open();
                    ChildProcess py = Command.of("python3", "-c", server, path.toString()).stdout(out.sink()).start()) {
                out.sink().close();
                var lines = new java.io.BufferedReader(new java.io.InputStreamReader(out.source().inputStream(),
                        StandardCharsets.UTF_8));
                assertEquals("ready", lines.readLine());
                try (Connection c = Connection.connect(Address.unix(path), "key".getBytes(StandardCharsets.US_ASCII))) {
                    c.send("hello from java");
                    assertEquals("python got: hello from java", c.recv());
                }
                AuthenticationException e = assertThrows(AuthenticationException.class,
                        () -> Connection.connect(Address.unix(path), "wrong".getBytes(StandardCharsets.US_ASCII)));
                assertTrue(e.getMessage().contains("rejected"), e.getMessage());
                assertEquals("AuthenticationError", lines.readLine());
                assertEquals(0, py.waitFor().code());
            }
        });
    }

    @Test
    void pythonsLongFormHeaderIsReadAndRefusedBeforeItsPayload() throws Exception {
        // CPython frames a message over 0x7FFFFFFF bytes as -1 and an 8-byte length; no Java array
        // holds one, so the header is refused before any payload is allocated, the connection
        // closed, and Python's send fails (an untouched anonymous mapping: no memory on either side)
        String script = "import mmap\n"
                + "from multiprocessing.connection import Connection\n"
                + "c = Connection(3)\n"
                + "m = mmap.mmap(-1, (1 << 31) + 1)\n"
                + "try:\n"
                + "    c.send_bytes(m); print('sent')\n"
                + "except OSError as e:\n"
                + "    print(type(e).__name__)\n";
        assertTimeoutPreemptively(LIMIT, () -> withPythonOnFd3(script, "", (c, output) -> {
            ProtocolException e = assertThrows(ProtocolException.class, c::recvBytes);
            assertTrue(e.getMessage().contains("a frame of 2147483649 bytes announced"), e.getMessage());
            assertFalse(c.isOpen(), "the connection is closed");
            String outcome = output.call();
            assertTrue(outcome.equals("BrokenPipeError") || outcome.equals("ConnectionResetError"), outcome);
        }));
    }
}
