package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.conn.Connection;
import io.ipcbridge.socket.Address;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code ipcbridge conn send|receive|listen} as real commands in child JVMs against CPython's own
 * {@code multiprocessing.connection} (python3 on the machine: 3.11, the legacy HMAC-MD5 handshake):
 * framing both ways, the authkey handshake both ways and its failure on both sides, binary payloads
 * with all 256 byte values (CLI-03), --timeout (CLI-02), a peer that closes early (UDS-04).
 *
 * <p>No sleeps: a Python Listener is used once it printed "ready" on its stdout, the CLI listener once
 * it wrote "ipcbridge: listening on ADDRESS" on its stderr.
 */
class ConnStdioTest {
    private static final Duration BOUND = Duration.ofSeconds(90);
    private static final String LISTENING = "ipcbridge: listening on ";
    private static final int AUTH_FAILED = 7;

    /** Python's address for argv[1]: tcp:HOST:PORT as a tuple, abstract:NAME with its NUL, unix:PATH as PATH. */
    private static final String ADDRESS = String.join("\n",
            "import sys",
            "from multiprocessing import AuthenticationError",
            "from multiprocessing.connection import Listener, Client",
            "def address(a):",
            "    if a.startswith('tcp:'):",
            "        host, port = a[4:].rsplit(':', 1)",
            "        return (host, int(port))",
            "    if a.startswith('abstract:'):",
            "        return '\\0' + a[9:]",
            "    return a[5:]  # unix:PATH",
            "");

    /** Listens at argv[1] with the key argv[2]; prints each message received as a hex line until EOF. */
    private static final String LISTENER_PRINTS = ADDRESS + String.join("\n",
            "l = Listener(address(sys.argv[1]), authkey=sys.argv[2].encode())",
            "print('ready' + (' %d' % l.address[1] if isinstance(l.address, tuple) else ''), flush=True)",
            "try:",
            "    c = l.accept()",
            "except AuthenticationError as e:",
            "    print('auth-failed', e, flush=True)",
            "    sys.exit(7)",
            "while True:",
            "    try:",
            "        m = c.recv_bytes()",
            "    except EOFError:",
            "        break",
            "    print('m ' + m.hex(), flush=True)",
            "print('eof', flush=True)",
            "");

    /**
     * Listens at argv[1] with the key argv[2]; sends the messages argv[4:] (hex), then with argv[3]
     * "hold" waits for the client's end of file, with "close" closes at once.
     */
    private static final String LISTENER_SENDS = ADDRESS + String.join("\n",
            "l = Listener(address(sys.argv[1]), authkey=sys.argv[2].encode())",
            "print('ready' + (' %d' % l.address[1] if isinstance(l.address, tuple) else ''), flush=True)",
            "try:",
            "    c = l.accept()",
            "except AuthenticationError as e:",
            "    print('auth-failed', e, flush=True)",
            "    sys.exit(7)",
            "for h in sys.argv[4:]:",
            "    c.send_bytes(bytes.fromhex(h))",
            "if sys.argv[3] == 'hold':",
            "    try:",
            "        c.recv_bytes()",
            "    except EOFError:",
            "        pass",
            "c.close()",
            "print('done', flush=True)",
            "");

    /** Connects to argv[1] with the key argv[2] and sends the messages argv[3:] (hex). */
    private static final String CLIENT_SENDS = ADDRESS + String.join("\n",
            "try:",
            "    c = Client(address(sys.argv[1]), authkey=sys.argv[2].encode())",
            "except AuthenticationError as e:",
            "    print('auth-failed', e, flush=True)",
            "    sys.exit(7)",
            "for h in sys.argv[3:]:",
            "    c.send_bytes(bytes.fromhex(h))",
            "c.close()",
            "print('done', flush=True)",
            "");

    @TempDir
    Path dir;

    private final List<Process> started = new ArrayList<>();

    @BeforeAll
    static void python3IsThere() {
        boolean there;
        try {
            Process p = new ProcessBuilder("python3", "-c", "import multiprocessing.connection")
                    .redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            there = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            there = false;
        }
        Assumptions.assumeTrue(there, "python3 with multiprocessing.connection is needed");
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    private static String hex(String s) {
        return hex(s.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] allByteValues() {
        byte[] data = new byte[256];
        for (int v = 0; v < 256; v++) {
            data[v] = (byte) v;
        }
        return data;
    }

    private Path key(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }

    /** Starts python3 with {@code script} and {@code args}; stdout is for the caller, stderr goes to a file. */
    private Process python(String script, String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("python3", "-c", script));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectError(dir.resolve("python-" + started.size() + ".err").toFile())
                .start();
        started.add(p);
        return p;
    }

    /** The port of the last Python Listener on tcp (its "ready PORT" line), -1 for a unix or abstract one. */
    private int pythonPort = -1;

    /**
     * Starts a Python Listener script and waits for its "ready" line ("ready PORT" on tcp, where the
     * Listener binds the port it is given, 0 for one the kernel picks: {@link #pythonPort}).
     */
    private BufferedReader pythonListener(Process[] holder, String script, String... args) throws IOException {
        holder[0] = python(script, args);
        BufferedReader out = new BufferedReader(new InputStreamReader(holder[0].getInputStream(),
                StandardCharsets.UTF_8));
        Path err = dir.resolve("python-" + (started.size() - 1) + ".err");
        String ready = out.readLine();
        assertTrue(ready != null && ready.matches("ready( \\d+)?"),
                () -> "the Python Listener is listening: " + ready + " " + MqStdioTest.read(err));
        pythonPort = ready.length() > 5 ? Integer.parseInt(ready.substring(6)) : -1;
        return out;
    }

    /** Starts {@code ipcbridge ARGS} with stdin from {@code in} (null: none), stdout to {@code out}. */
    private Process cli(Path in, Path out, Path err, String... args) throws IOException {
        ProcessBuilder pb = Cli.command(err, args).redirectOutput(out.toFile());
        pb.redirectInput(in != null ? ProcessBuilder.Redirect.from(in.toFile())
                : ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        Process p = pb.start();
        started.add(p);
        return p;
    }

    /** Starts {@code ipcbridge conn listen ARGS}, stdout to {@code out}; returns the address of its stderr line. */
    private String listen(Process[] listener, Path out, String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("conn", "listen"));
        argv.addAll(List.of(args));
        listener[0] = Cli.command(dir.resolve("unused"), argv.toArray(String[]::new))
                .redirectError(ProcessBuilder.Redirect.PIPE).redirectOutput(out.toFile()).start();
        started.add(listener[0]);
        String first = line(listener[0].getErrorStream());
        assertTrue(first.startsWith(LISTENING), () -> "the listening line: " + first);
        return first.substring(LISTENING.length());
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c; (c = in.read()) >= 0 && c != '\n'; ) {
            b.write(c);
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    private static int exit(Process p) throws InterruptedException {
        assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "ends");
        return p.exitValue();
    }

    private static List<String> rest(BufferedReader r) throws IOException {
        List<String> lines = new ArrayList<>();
        for (String l; (l = r.readLine()) != null; ) {
            lines.add(l);
        }
        return lines;
    }

    private void run(org.junit.jupiter.api.function.Executable body) {
        try {
            assertTimeoutPreemptively(BOUND, body);
        } finally {
            started.forEach(Cli::destroy);
        }
    }

    // --- send: the CLI is the Client of a Python Listener ---------------------------------------------

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"unix", "abstract", "tcp"})
    void sendFramesEachArgumentAsOneMessageForAPythonListener(String kind) {
        run(() -> {
            // tcp: the Python Listener binds port 0 and says which port it got (a port learnt from a
            // listener closed again before Python binds it could be taken meanwhile: EADDRINUSE)
            String address = kind.equals("unix") ? "unix:" + dir.resolve("py.sock")
                    : kind.equals("abstract") ? "abstract:ipcb-conntest-" + ProcessHandle.current().pid() + "-"
                            + System.nanoTime()
                    : "tcp:127.0.0.1:0";
            Process[] py = new Process[1];
            BufferedReader pyOut = pythonListener(py, LISTENER_PRINTS, address, "key");
            if (kind.equals("tcp")) {
                address = "tcp:127.0.0.1:" + pythonPort;
            }
            Path err = dir.resolve("err");
            Process cli = cli(null, dir.resolve("out"), err, "conn", "send", address, "--authkey-file",
                    key("key", "key\n").toString(), "one", "", "three");
            assertEquals(0, exit(cli), () -> MqStdioTest.read(err));
            assertEquals("", MqStdioTest.read(err), "nothing on stderr");
            assertEquals(List.of("m " + hex("one"), "m ", "m " + hex("three"), "eof"), rest(pyOut),
                    "Python got three messages (one empty) and then the clean end");
            assertEquals(0, exit(py[0]));
        });
    }

    @Test
    void sendWithoutMessagesSendsAllOfStdinAsOneBinaryMessage() {
        // CLI-03: NUL, \n, 0xff... as one message, byte for byte
        run(() -> {
            String address = "unix:" + dir.resolve("py.sock");
            Process[] py = new Process[1];
            BufferedReader pyOut = pythonListener(py, LISTENER_PRINTS, address, "key");
            byte[] data = allByteValues();
            Path in = Files.write(dir.resolve("in"), data);
            Path err = dir.resolve("err");
            Process cli = cli(in, dir.resolve("out"), err, "conn", "send", address, "--authkey-file",
                    key("key", "key").toString());
            assertEquals(0, exit(cli), () -> MqStdioTest.read(err));
            assertEquals(List.of("m " + hex(data), "eof"), rest(pyOut));
            assertEquals(0, exit(py[0]));
        });
    }

    @Test
    void sendWithAnotherKeyFailsOnBothSides() {
        run(() -> {
            String address = "unix:" + dir.resolve("py.sock");
            Process[] py = new Process[1];
            BufferedReader pyOut = pythonListener(py, LISTENER_PRINTS, address, "key");
            Path err = dir.resolve("err");
            Path out = dir.resolve("out");
            Process cli = cli(null, out, err, "conn", "send", address, "--authkey-file",
                    key("wrong", "nope\n").toString(), "secret");
            assertEquals(1, exit(cli));
            assertEquals("ipcbridge: " + address + ": authentication failed: the peer rejected our digest "
                    + "(another authkey)" + System.lineSeparator(), MqStdioTest.read(err), "one line");
            assertEquals(AUTH_FAILED, exit(py[0]), "Python's Listener raised AuthenticationError");
            assertTrue(rest(pyOut).get(0).startsWith("auth-failed"));
            assertEquals(0, Files.size(out));
        });
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"--authkey-file ", "--authkey-file="})
    void anAuthkeyFileWhoseNameIsNotUtf8IsAUsageErrorNotAnotherFile(String option) {
        // CLI.md exit 2, "binary-safe": in a UTF-8 locale the JVM decodes argv's 0xff as U+FFFD, and the
        // key was read from k-U+FFFD (bytes ef bf bd), another file, as fifo PATH and sock ADDRESS are not
        run(() -> {
            key("k-\uFFFD", "another key\n");
            boolean separate = option.endsWith(" ");
            List<String> args = new ArrayList<>(List.of("conn", "send", "abstract:ipcb-nobody-"
                    + ProcessHandle.current().pid(), "message"));
            if (separate) {
                args.add(option.strip());
            }
            Cli.Child cli = Cli.withLastArgumentNotUtf8(dir, (separate ? "" : option) + dir.resolve("k-"),
                    args.toArray(String[]::new));
            assertEquals(0, cli.out().length, "nothing on stdout");
            assertEquals(2, cli.status(), cli.err());
            assertTrue(cli.err().startsWith("ipcbridge: ") && cli.err().contains("not UTF-8")
                    && cli.err().indexOf('\n') == cli.err().length() - 1, cli.err());
        });
    }

    // --- receive: the CLI is the Client, Python sends ------------------------------------------------

    @Test
    void receiveWritesEachMessageFollowedByANewline() {
        run(() -> {
            String address = "unix:" + dir.resolve("py.sock");
            Process[] py = new Process[1];
            BufferedReader pyOut = pythonListener(py, LISTENER_SENDS, address, "key", "hold", hex("first"), "",
                    hex("third line"));
            Path out = dir.resolve("out");
            Path err = dir.resolve("err");
            Process cli = cli(null, out, err, "conn", "receive", address, "--authkey-file",
                    key("key", "key\n").toString(), "--count", "3");
            assertEquals(0, exit(cli), () -> MqStdioTest.read(err));
            assertEquals("first\n\nthird line\n", Files.readString(out));
            assertEquals("", MqStdioTest.read(err));
            assertEquals(List.of("done"), rest(pyOut), "Python saw our clean end");
            assertEquals(0, exit(py[0]));
        });
    }

    @Test
    void listenWaitingForAMessageEndsWhenStdoutCloses() {
        // CLI-04: stdout's reader goes while conn listen waits for the next message: it ends at once,
        // quietly (141), and closes the connection (the client sees its end) without taking more.
        run(() -> {
            Path socket = dir.resolve("cli.sock");
            Process p = Cli.command(dir.resolve("unused"), "conn", "listen", "unix:" + socket, "--authkey-file",
                    key("key", "key\n").toString(), "--count", "10")
                    .redirectError(ProcessBuilder.Redirect.PIPE).start();
            started.add(p);
            String first = line(p.getErrorStream());
            assertTrue(first.startsWith(LISTENING), () -> "the listening line: " + first);
            try (Connection client = Connection.connect(Address.unix(socket), "key".getBytes(StandardCharsets.US_ASCII))) {
                client.sendBytes("m1".getBytes(StandardCharsets.US_ASCII));
                try (InputStream stdout = p.getInputStream()) {
                    assertEquals("m1\n", new String(stdout.readNBytes(3), StandardCharsets.US_ASCII));
                }
                assertEquals(141, exit(p));
                assertEquals("", new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8), "quietly");
                assertThrows(java.io.EOFException.class, client::recvBytes, "the listener closed the connection");
            }
        });
    }

    @Test
    void listenWaitingForAClientEndsWhenStdoutCloses() {
        // CLI-04 and the README ("conn receive/listen ... stops as soon as stdout's reader goes, even
        // while it waits"): stdout's reader goes while conn listen still waits for its client. It ends
        // at once, quietly (141), and its socket file goes. Before, it waited on (for ever), then
        // accepted the first client and took its message, lost on EPIPE while the client saw success.
        run(() -> {
            Path socket = dir.resolve("cli.sock");
            Process p = Cli.command(dir.resolve("unused"), "conn", "listen", "unix:" + socket, "--authkey-file",
                    key("key", "key\n").toString())
                    .redirectError(ProcessBuilder.Redirect.PIPE).start();
            started.add(p);
            String first = line(p.getErrorStream());
            assertTrue(first.startsWith(LISTENING), () -> "the listening line: " + first);
            p.getInputStream().close(); // `| true`: stdout's reader is gone before any client came
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "conn listen ends without a client once stdout's reader has gone");
            assertEquals(141, p.exitValue());
            assertEquals("", new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8), "quietly");
            assertFalse(Files.exists(socket), "the socket file is removed");
        });
    }

    @Test
    void receiveRawWritesTheBytesAlone() {
        // CLI-03: all 256 byte values, nothing added
        run(() -> {
            String address = "unix:" + dir.resolve("py.sock");
            byte[] data = allByteValues();
            Process[] py = new Process[1];
            pythonListener(py, LISTENER_SENDS, address, "key", "hold", hex(data));
            Path out = dir.resolve("out");
            Path err = dir.resolve("err");
            Process cli = cli(null, out, err, "conn", "receive", address, "--authkey-file",
                    key("key", "key").toString(), "--raw");
            assertEquals(0, exit(cli), () -> MqStdioTest.read(err));
            assertArrayEquals(data, Files.readAllBytes(out));
            assertEquals(0, exit(py[0]));
        });
    }

    @Test
    void receiveTimesOutWithExitThree() {
        // CLI-02 in the errno form: --timeout bounds the wait for each message
        run(() -> {
            String address = "unix:" + dir.resolve("py.sock");
            Process[] py = new Process[1];
            BufferedReader pyOut = pythonListener(py, LISTENER_SENDS, address, "key", "hold", hex("only"));
            Path out = dir.resolve("out");
            Path err = dir.resolve("err");
            Process cli = cli(null, out, err, "conn", "receive", address, "--authkey-file",
                    key("key", "key").toString(), "--count", "2", "--timeout", "200ms");
            assertEquals(3, exit(cli), () -> MqStdioTest.read(err));
            assertEquals("only\n", Files.readString(out), "what came before the timeout was written");
            assertEquals("ipcbridge: poll(" + address + "): ETIMEDOUT (Connection timed out): no message within "
                    + "200ms; 1 of 2 messages received" + System.lineSeparator(), MqStdioTest.read(err));
            assertEquals(List.of("done"), rest(pyOut));
            assertEquals(0, exit(py[0]));
        });
    }

    @Test
    void aPeerThatClosesBeforeCountMessagesIsExitOne() {
        // UDS-04: the clean end between messages is not a timeout and not success
        run(() -> {
            String address = "unix:" + dir.resolve("py.sock");
            Process[] py = new Process[1];
            pythonListener(py, LISTENER_SENDS, address, "key", "close", hex("a"), hex("b"));
            Path out = dir.resolve("out");
            Path err = dir.resolve("err");
            Process cli = cli(null, out, err, "conn", "receive", address, "--authkey-file",
                    key("key", "key").toString(), "--count", "3");
            assertEquals(1, exit(cli), () -> MqStdioTest.read(err));
            assertEquals("a\nb\n", Files.readString(out));
            assertEquals("ipcbridge: " + address + ": the peer closed after 2 of 3 messages" + System.lineSeparator(),
                    MqStdioTest.read(err));
            assertEquals(0, exit(py[0]));
        });
    }

    // --- listen: a Python Client connects to the CLI -------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"unix", "tcp"})
    void listenTakesMessagesFromAPythonClient(String kind) {
        run(() -> {
            Path socket = dir.resolve("cli.sock");
            String given = kind.equals("unix") ? "unix:" + socket : "tcp:127.0.0.1:0";
            Path out = dir.resolve("out");
            Process[] listener = new Process[1];
            String address = listen(listener, out, given, "--authkey-file", key("key", "key\n").toString(),
                    "--count", "2");
            if (kind.equals("unix")) {
                assertEquals(given, address);
                assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                        Files.getPosixFilePermissions(socket)), "SEC-01: the socket file is 0600");
            } else {
                assertTrue(address.matches("tcp:127\\.0\\.0\\.1:[1-9]\\d*"), address);
            }
            Process client = python(CLIENT_SENDS, address, "key", hex("hello"), hex(allByteValues()));
            assertEquals(0, exit(client));
            assertEquals(0, exit(listener[0]), () -> new String(readAll(listener[0].getErrorStream()),
                    StandardCharsets.UTF_8));
            byte[] expected = ("hello\n" + new String(allByteValues(), StandardCharsets.ISO_8859_1) + "\n")
                    .getBytes(StandardCharsets.ISO_8859_1);
            assertArrayEquals(expected, Files.readAllBytes(out));
            assertEquals("", new String(readAll(listener[0].getErrorStream()), StandardCharsets.UTF_8));
            assertFalse(Files.exists(socket), "the socket file was removed");
        });
    }

    @Test
    void listenWithAnotherKeyFailsOnBothSides() {
        run(() -> {
            Path socket = dir.resolve("cli.sock");
            Path out = dir.resolve("out");
            Process[] listener = new Process[1];
            String address = listen(listener, out, "unix:" + socket, "--authkey-file", key("key", "key").toString());
            Process client = python(CLIENT_SENDS, address, "other", hex("never"));
            assertEquals(AUTH_FAILED, exit(client), "Python's Client raised AuthenticationError");
            assertEquals(1, exit(listener[0]));
            assertEquals("ipcbridge: " + address + ": authentication failed: the peer's digest was wrong (another "
                    + "authkey)" + System.lineSeparator(), new String(readAll(listener[0].getErrorStream()),
                    StandardCharsets.UTF_8));
            assertEquals(0, Files.size(out));
            assertFalse(Files.exists(socket), "the socket file was removed");
        });
    }

    private static byte[] readAll(InputStream in) {
        try {
            return in.readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }
}
