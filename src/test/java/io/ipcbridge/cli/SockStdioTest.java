package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.DualStackLocalhost;
import io.ipcbridge.testing.Peers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code ipcbridge sock listen|connect} as real commands in child JVMs, with raw stdin and stdout,
 * against the C peer native-tests/sock_peer.c: every address kind (unix, abstract, tcp with port 0,
 * udp) and type, both directions, binary payloads with all 256 byte values (CLI-03).
 *
 * <p>No sleeps: a C server is used once it printed "ready" on its stdout, the CLI listener once it
 * wrote "ipcbridge: listening on ADDRESS" on its stderr.
 */
class SockStdioTest {
    private static final Duration BOUND = Duration.ofSeconds(90);
    private static final String LISTENING = "ipcbridge: listening on ";

    @TempDir
    Path dir;

    private final List<Process> started = new ArrayList<>();

    /** All 256 byte values first (NUL, \n, 0xff among them), then {@code extra} bytes of pattern(11). */
    private static byte[] payload(int extra) {
        byte[] data = new byte[256 + extra];
        for (int v = 0; v < 256; v++) {
            data[v] = (byte) v;
        }
        new PatternStream(11).fill(ByteBuffer.wrap(data, 256, extra));
        return data;
    }

    private static byte[] pattern(long seed, int bytes) {
        byte[] data = new byte[bytes];
        new PatternStream(seed).fill(ByteBuffer.wrap(data));
        return data;
    }

    private String abstractName() {
        return "abstract:ipcb-clitest-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    }

    /** Starts the C peer with {@code args}; its stdout is for the caller, its stderr goes to a file. */
    private Process cPeer(String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of(Peers.path("sock_peer")));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectError(dir.resolve("peer-" + started.size() + ".err").toFile())
                .start();
        started.add(p);
        return p;
    }

    /** Starts a C echo-server and waits for its "ready" line; returns the address to connect to. */
    private String echoServer(Process[] server, String address, String type, int count) throws IOException {
        server[0] = cPeer("echo-server", address, type, Integer.toString(count));
        String ready = line(server[0].getInputStream());
        assertTrue(ready.equals("ready") || ready.startsWith("ready "), ready);
        if (address.endsWith(":0")) { // tcp:/udp: port 0: the port the peer was given
            return address.substring(0, address.length() - 1) + ready.substring("ready ".length());
        }
        return address;
    }

    /** Starts {@code ipcbridge ARGS} with stdin from {@code in}, stdout to {@code out}, stderr to a file. */
    private Process cli(Path in, Path out, Path err, String... args) throws IOException {
        ProcessBuilder pb = Cli.command(err, args).redirectOutput(out.toFile());
        if (in != null) {
            pb.redirectInput(in.toFile());
        }
        Process p = pb.start();
        started.add(p);
        return p;
    }

    /**
     * Starts {@code ipcbridge sock listen ARGS} with stdout to {@code out} (null: a pipe), and waits for
     * its "listening on" line on stderr; returns the address named there.
     */
    private String listen(Process[] listener, Path out, String... args) throws Exception {
        return listen(listener, out, pb -> pb, args);
    }

    /** {@link #listen(Process[], Path, String...)} with the command's ProcessBuilder changed by {@code how}. */
    private String listen(Process[] listener, Path out, Cli.Change how, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of("sock", "listen"));
        argv.addAll(List.of(args));
        ProcessBuilder pb = how.apply(Cli.command(dir.resolve("unused"), argv.toArray(String[]::new))
                .redirectError(ProcessBuilder.Redirect.PIPE));
        if (out != null) {
            pb.redirectOutput(out.toFile());
        }
        listener[0] = pb.start();
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

    private void stopAll() {
        started.forEach(Cli::destroy);
    }

    private void run(org.junit.jupiter.api.function.Executable body) {
        try {
            assertTimeoutPreemptively(BOUND, body);
        } finally {
            stopAll();
        }
    }

    // --- connect: the CLI is the client of a C server ----------------------------------------------

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"unix,", "abstract,", "tcp,", "unix,--timeout=30s", "abstract,--timeout=30s", "tcp,--timeout=30s"})
    void connectStreamSendsStdinAndCopiesTheEchoBack(String kind, String timeout) {
        // CLI-03 through a C echo-server: 256 byte values plus 3 MiB, far more than the socket buffers,
        // so it works only if the reply is read while stdin is still being sent. UDS-04: the half-close
        // lets the server see EOF and close, and the CLI then sees EOF. --timeout bounds the connect
        // alone; a tcp: name with it is resolved and tried as without.
        run(() -> {
            String address = kind.equals("unix") ? "unix:" + dir.resolve("echo.sock")
                    : kind.equals("abstract") ? abstractName() : "tcp:127.0.0.1:0";
            Process[] server = new Process[1];
            String target = echoServer(server, address, "stream", 1);
            byte[] data = payload(3 << 20);
            Path in = Files.write(dir.resolve("in"), data);
            Path out = dir.resolve("out");
            Path err = dir.resolve("err");
            Process client = timeout == null ? cli(in, out, err, "sock", "connect", target)
                    : cli(in, out, err, "sock", "connect", target.replace("127.0.0.1", "localhost"), timeout);
            assertEquals(0, exit(client), () -> MqStdioTest.read(err));
            assertArrayEquals(data, Files.readAllBytes(out), "stdout = stdin, echoed by C");
            assertEquals("", MqStdioTest.read(err), "nothing on stderr");
            assertEquals(0, exit(server[0]), "the C echo-server served one connection");
        });
    }

    @Test
    void connectToAHostNameTriesEachOfItsAddressesAsNcDoes() {
        // INET-01: where localhost is 127.0.0.1 and ::1 (127.0.0.1 first to Java), a C echo-server on
        // ::1 alone is reached, as nc, socat and Python's create_connection reach it: the first address
        // alone was ECONNREFUSED. With nobody on either, the line names the last address tried, as
        // create_connection raises the last failure.
        run(() -> {
            Process[] server = new Process[1];
            String target = echoServer(server, "tcp:[::1]:0", "stream", 1);
            byte[] data = payload(1 << 16);
            Path in = Files.write(dir.resolve("in"), data);
            Path out = dir.resolve("out");
            Path err = dir.resolve("err");
            ProcessBuilder pb = Cli.command(err, "sock", "connect", "tcp:localhost:" + target.substring(
                    "tcp:[::1]:".length())).redirectInput(in.toFile()).redirectOutput(out.toFile());
            Process client = pb.command(DualStackLocalhost.command(dir, pb.command())).start();
            started.add(client);
            assertEquals(0, exit(client), () -> MqStdioTest.read(err));
            assertArrayEquals(data, Files.readAllBytes(out), "echoed by the C server on ::1");
            assertEquals("", MqStdioTest.read(err));
            assertEquals(0, exit(server[0]), "the C echo-server served one connection");

            pb = Cli.command(err, "sock", "connect", "tcp:localhost:1").redirectInput(in.toFile());
            Process refused = pb.command(DualStackLocalhost.command(dir, pb.command())).start();
            started.add(refused);
            assertEquals(1, exit(refused), () -> MqStdioTest.read(err));
            assertEquals("ipcbridge: connect(tcp:[0:0:0:0:0:0:0:1]:1): ECONNREFUSED (Connection refused)\n",
                    MqStdioTest.read(err));
        });
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"unix", "abstract"})
    void connectSeqpacketSendsMessagesAndCopiesTheEchoedMessages(String kind) {
        // UDS-11: seqpacket messages of at most 64 KiB (one per read of stdin; a file reads in 64 KiB
        // pieces), each echoed as one message by C; stdout is their bytes in order.
        run(() -> {
            String address = kind.equals("unix") ? "unix:" + dir.resolve("echo.sock") : abstractName();
            Process[] server = new Process[1];
            String target = echoServer(server, address, "seqpacket", 1);
            byte[] data = payload(200 * 1024);
            Path in = Files.write(dir.resolve("in"), data);
            Path out = dir.resolve("out");
            Path err = dir.resolve("err");
            Process client = cli(in, out, err, "sock", "connect", target, "--type", "seqpacket");
            assertEquals(0, exit(client), () -> MqStdioTest.read(err));
            assertArrayEquals(data, Files.readAllBytes(out));
            assertEquals("", MqStdioTest.read(err));
            assertEquals(0, exit(server[0]));
        });
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"udp:127.0.0.1:0", "udp:[::1]:0"})
    void connectUdpSendsStdinAsOneDatagram(String address) {
        // udp implies dgram: one datagram, no reply read. The C echo-server exits 0 once it has
        // received its one datagram (its echo goes to a socket that is gone: nobody reads it).
        run(() -> {
            Process[] server = new Process[1];
            String target = echoServer(server, address, "dgram", 1);
            Path in = Files.write(dir.resolve("in"), payload(1000));
            Path out = dir.resolve("out");
            Path err = dir.resolve("err");
            Process client = cli(in, out, err, "sock", "connect", target);
            assertEquals(0, exit(client), () -> MqStdioTest.read(err));
            assertEquals(0, exit(server[0]), "the C server received the datagram");
            assertEquals(0, Files.size(out), "no reply is read");
            assertEquals("", MqStdioTest.read(err));
        });
    }

    @Test
    void connectSeqpacketMakesEachReadOfStdinOneMessageOfAtMost64KiB() {
        // UDS-11 seen from the server's side (a Java one, to see the boundaries): "first" written and
        // received before anything else is written is one message; 100 KiB written at once arrive as
        // messages of at most 64 KiB (a longer one would throw MessageTruncatedException here, UDS-09).
        // Then the end of stdin is the end of file, and the server's reply message goes to stdout.
        run(() -> {
            Address a = Address.abstractName("ipcb-clitest-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
            try (ServerSocket server = ServerSocket.listen(a, Socket.Type.SEQPACKET)) {
                Path out = dir.resolve("out");
                Path err = dir.resolve("err");
                Process client = Cli.command(err, "sock", "connect", a.toString(), "--type", "seqpacket")
                        .redirectOutput(out.toFile()).start();
                started.add(client);
                try (Socket s = server.accept(); OutputStream stdin = client.getOutputStream()) {
                    ByteBuffer message = ByteBuffer.allocateDirect(64 * 1024);
                    stdin.write("first".getBytes(StandardCharsets.US_ASCII));
                    stdin.flush();
                    assertEquals(5, s.read(message.clear()));
                    assertEquals("first", StandardCharsets.US_ASCII.decode(message.flip()).toString());
                    byte[] big = payload(100 * 1024 - 256);
                    stdin.write(big);
                    stdin.flush();
                    ByteArrayOutputStream got = new ByteArrayOutputStream();
                    while (got.size() < big.length) {
                        int n = s.read(message.clear());
                        assertTrue(n > 0 && n <= 64 * 1024, "a message of 1 to 64 KiB: " + n);
                        byte[] bytes = new byte[n];
                        message.flip().get(bytes);
                        got.write(bytes);
                    }
                    assertArrayEquals(big, got.toByteArray());
                    stdin.close();
                    assertEquals(-1, s.read(message.clear()), "end of stdin -> end of file (shutdown)");
                    s.write(ByteBuffer.wrap("reply".getBytes(StandardCharsets.US_ASCII)));
                }
                assertEquals(0, exit(client), () -> MqStdioTest.read(err));
                assertEquals("reply", Files.readString(out));
                assertEquals("", MqStdioTest.read(err));
            }
        });
    }

    @Test
    void connectReportsAPeerThatLeavesWithOneErrnoLine() {
        // UDS-05 / UDS-06: the server closes at once while 8 MiB are still to go: the send fails with
        // EPIPE, or the reply with ECONNRESET (whichever the kernel reports first): exit 1, one line.
        run(() -> {
            Path socket = dir.resolve("rude.sock");
            try (ServerSocket server = ServerSocket.listen(Address.unix(socket), Socket.Type.STREAM)) {
                Path in = Files.write(dir.resolve("in"), new byte[8 << 20]);
                Path err = dir.resolve("err");
                Process client = cli(in, dir.resolve("out"), err, "sock", "connect", "unix:" + socket);
                server.accept().close();
                assertEquals(1, exit(client), () -> MqStdioTest.read(err));
                String line = MqStdioTest.read(err);
                assertTrue(line.matches("ipcbridge: \\w+\\(" + Pattern.quote("unix:" + socket) + "\\): (EPIPE \\(Broken pipe\\)"
                        + "|ECONNRESET \\(Connection reset by peer\\)).*\\R"), line);
                assertEquals(1, line.lines().count(), line);
            }
        });
    }

    // --- listen: C clients connect to the CLI ------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"unix", "abstract", "tcp"})
    void listenCopiesWhatCSourcesSendToStdout(String kind) {
        // Two connections one after another (--count 2), each a C `source` writing pattern(SEED);
        // stdout holds both, in order. A unix: socket is 0600 while listening and removed after.
        run(() -> {
            Path socket = dir.resolve("l.sock");
            String address = kind.equals("unix") ? "unix:" + socket
                    : kind.equals("abstract") ? abstractName() : "tcp:127.0.0.1:0";
            Path out = dir.resolve("out");
            Process[] listener = new Process[1];
            String target = listen(listener, out, address, "--count", "2");
            if (kind.equals("tcp")) {
                assertTrue(target.matches("tcp:127\\.0\\.0\\.1:[1-9]\\d*"), target);
            } else {
                assertEquals(address, target);
            }
            if (kind.equals("unix")) {
                assertEquals(0140600, (int) Files.getAttribute(socket, "unix:mode", LinkOption.NOFOLLOW_LINKS),
                        "a socket of mode 0600");
            }
            assertEquals(0, exit(cPeer("source", target, "1000000", "21")));
            assertEquals(0, exit(cPeer("source", target, "65537", "22")));
            assertEquals(0, exit(listener[0]), () -> rest(listener[0]));
            ByteArrayOutputStream expected = new ByteArrayOutputStream();
            expected.write(pattern(21, 1_000_000));
            expected.write(pattern(22, 65537));
            assertArrayEquals(expected.toByteArray(), Files.readAllBytes(out));
            assertEquals("", rest(listener[0]), "only the listening line on stderr");
            assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the socket file was removed");
        });
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"unix", "abstract"})
    void listenSeqpacketCopiesTheMessagesOfACClient(String kind) {
        // UDS-11: a C echo-client sends "msg-0" as one message; the listener copies it (it echoes
        // nothing: the client is stopped once the bytes are out, and its close is the end of file).
        run(() -> {
            String address = kind.equals("unix") ? "unix:" + dir.resolve("l.sock") : abstractName();
            Process[] listener = new Process[1];
            String target = listen(listener, null, address, "--type", "seqpacket");
            Process client = cPeer("echo-client", target, "seqpacket", "1");
            byte[] got = listener[0].getInputStream().readNBytes(5);
            assertEquals("msg-0", new String(got, StandardCharsets.US_ASCII));
            client.destroy();
            assertEquals(0, exit(listener[0]), () -> rest(listener[0]));
            assertEquals(-1, listener[0].getInputStream().read(), "nothing more on stdout");
            assertEquals("", rest(listener[0]));
        });
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"unix", "abstract", "udp"})
    void listenDatagramCopiesADatagramOfACClient(String kind) {
        // A C echo-client sends "msg-0" as one datagram (unix: from an autobound address); --count 1
        // takes it and ends. The client then waits for an echo that does not come, and is stopped.
        run(() -> {
            Path socket = dir.resolve("d.sock");
            String address = kind.equals("unix") ? "unix:" + socket
                    : kind.equals("abstract") ? abstractName() : "udp:127.0.0.1:0";
            Path out = dir.resolve("out");
            Process[] listener = new Process[1];
            String target = kind.equals("udp") ? listen(listener, out, address)
                    : listen(listener, out, address, "--type", "dgram");
            if (kind.equals("unix")) {
                assertEquals(0140600, (int) Files.getAttribute(socket, "unix:mode", LinkOption.NOFOLLOW_LINKS),
                        "a datagram socket file of mode 0600 too");
            }
            Process client = cPeer("echo-client", target, "dgram", "1");
            assertEquals(0, exit(listener[0]), () -> rest(listener[0]));
            client.destroy();
            assertEquals("msg-0", Files.readString(out));
            assertEquals("", rest(listener[0]));
            assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the socket file was removed");
        });
    }

    // --- the CLI at both ends ----------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"stream", "seqpacket", "dgram"})
    void connectToListenCarriesEveryByteValue(String type) {
        // CLI-03: 256 byte values (and, but for dgram, more than one seqpacket message) from connect's
        // stdin to listen's stdout, byte-identical; listen answers nothing, so connect's stdout is empty.
        run(() -> {
            Path socket = dir.resolve("x.sock");
            Path out = dir.resolve("out");
            Process[] listener = new Process[1];
            String target = listen(listener, out, "unix:" + socket, "--type", type);
            byte[] data = payload(type.equals("dgram") ? 0 : 150_000);
            Path in = Files.write(dir.resolve("in"), data);
            Path reply = dir.resolve("reply");
            Path err = dir.resolve("err");
            Process client = cli(in, reply, err, "sock", "connect", target, "--type", type);
            assertEquals(0, exit(client), () -> MqStdioTest.read(err));
            assertEquals(0, exit(listener[0]), () -> rest(listener[0]));
            assertArrayEquals(data, Files.readAllBytes(out));
            assertEquals(0, Files.size(reply), "no reply");
            assertEquals("", MqStdioTest.read(err) + rest(listener[0]));
        });
    }

    @ParameterizedTest(name = "{0} {1} on SIG{2}")
    @CsvSource({"sock, stream, TERM, 15", "sock, stream, INT, 2", "sock, dgram, TERM, 15", "conn, stream, TERM, 15",
        "conn, stream, INT, 2"})
    void aSignalWhileListeningRemovesTheSocketFileQuietly(String command, String type, String signal, int number) {
        // A listener stopped by SIGTERM (kill, Process.destroy) or SIGINT leaves no socket file behind
        // and prints nothing after its "listening" line (the hook's close under accept is no error);
        // a few rounds, since the close races with the accept.
        run(() -> {
            for (int round = 0; round < 4; round++) {
                Path socket = dir.resolve("t" + round + ".sock");
                List<String> args = new ArrayList<>(List.of(command, "listen", "unix:" + socket));
                if (command.equals("sock")) {
                    args.addAll(List.of("--type", type));
                }
                ProcessBuilder b = Cli.command(dir.resolve("unused"), args.toArray(String[]::new))
                        .redirectError(ProcessBuilder.Redirect.PIPE).redirectOutput(dir.resolve("out").toFile());
                // The signal's default disposition, as an interactive job gets it: a JVM started with it
                // ignored (under nohup, or as a script's background job) rightly keeps ignoring it, and
                // this test's JVM would hand that on.
                b.command().addAll(0, List.of("env", "--default-signal=" + signal));
                Process p = b.start();
                started.add(p);
                String first = line(p.getErrorStream());
                assertTrue(first.startsWith(LISTENING), () -> "the listening line: " + first);
                assertTrue(Files.exists(socket, LinkOption.NOFOLLOW_LINKS));
                Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start();
                assertEquals(0, kill.waitFor());
                assertEquals(128 + number, exit(p));
                assertEquals("", rest(p), "nothing after the listening line");
                assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "removed on SIG" + signal);
            }
        });
    }

    @Test
    void listenStopsQuietlyWhenStdoutIsClosed() {
        // CLI-04 for a socket (`ipcbridge sock listen ... | head -c 10`): exit 141 (or 0), no message,
        // and it stops reading: the C source then fails on its writes (EPIPE / reset) instead of
        // having its 8 MiB taken.
        run(() -> {
            Process[] listener = new Process[1];
            String target = listen(listener, null, abstractName());
            Process source = cPeer("source", target, Integer.toString(8 << 20), "5");
            try (InputStream stdout = listener[0].getInputStream()) {
                assertArrayEquals(pattern(5, 10), stdout.readNBytes(10));
            }
            assertStoppedQuietly(listener[0]);
            assertEquals(1, exit(source), "the C source was refused (EPIPE/ECONNRESET: its exit 1)");
        });
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"unix stream", "udp"})
    void listenStopsWaitingForTheNextClientOnceStdoutIsClosed(String kind) {
        // CLI-04 (`ipcbridge sock listen ... --count 2 | head -c 5`): once stdout's reader has gone, no
        // further connection or datagram is waited for or taken. Before, the listener stayed in accept
        // (recvmsg) with its address held, for ever if no client came, and the next client's data was
        // taken only to be lost, where the client would otherwise have been refused.
        run(() -> {
            Path socket = dir.resolve("l.sock");
            Process[] listener = new Process[1];
            String target = kind.equals("udp") ? listen(listener, null, "udp:127.0.0.1:0", "--count", "2")
                    : listen(listener, null, "unix:" + socket, "--count", "2");
            Process client = kind.equals("udp") ? cPeer("echo-client", target, "dgram", "1")
                    : cPeer("source", target, "5", "5");
            try (InputStream stdout = listener[0].getInputStream()) {
                byte[] first = stdout.readNBytes(5);
                assertArrayEquals(kind.equals("udp") ? "msg-0".getBytes(StandardCharsets.UTF_8) : pattern(5, 5), first);
            }
            assertStoppedQuietly(listener[0]);
            assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the socket file was removed");
            client.destroy(); // the echo-client waits for an echo that does not come
        });
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"stream", "seqpacket", "dgram"})
    void listenWaitingForAClientEndsWhenStdoutCloses(String type) {
        // CLI-04, as conn listen: stdout's reader goes (`| true`) before any client came; each type's
        // listener ends at once, quietly, and its socket file goes
        run(() -> {
            Path socket = dir.resolve("cli.sock");
            Process[] listener = new Process[1];
            listen(listener, null, "unix:" + socket, "--type", type, "--count", "2");
            listener[0].getInputStream().close();
            assertEquals(141, exit(listener[0]), () -> rest(listener[0]));
            assertEquals("", rest(listener[0]), "nothing on stderr");
            assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the socket file is removed");
        });
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"EHOSTUNREACH", "ENETUNREACH", "EPROTO", "ECONNABORTED"})
    void aNetworkErrorThatAcceptPassesOnIsRetriedNotTheEndOfTheListener(String errno) {
        // man accept(2): Linux passes a network error pending on a new TCP connection as accept's own,
        // and a server should try again (the JDK does for ECONNABORTED); it ended the listener, exit 1.
        // strace fails the first accept4 with the error, before the client's connection is taken.
        run(() -> {
            Path out = dir.resolve("out");
            Process[] listener = new Process[1];
            String target = listen(listener, out, pb -> Cli.failingFirst(pb, "accept4", errno), "tcp:127.0.0.1:0",
                    "--count", "1");
            assertEquals(0, exit(cPeer("source", target, "1000", "23")));
            assertEquals(0, exit(listener[0]), () -> rest(listener[0]));
            assertArrayEquals(pattern(23, 1000), Files.readAllBytes(out));
        });
    }

    @Test
    void aDatagramSocketFileIsNeverOpenToOthersBetweenItsBindAndItsMode() {
        // SEC-01, UDS-16: a datagram socket receives from the moment of its bind, and a sender that
        // connect(2)s then keeps its access whatever the mode becomes: the file had 0777 & ~umask
        // (0777 under umask 0) until the chmod that followed. strace stops the CLI (SIGSTOP) as its
        // bind returns, before any other call: the file is already 0600.
        run(() -> {
            Path socket = dir.resolve("d.sock");
            assumeTrue(new ProcessBuilder("strace", "-qq", "-o", "/dev/null", "true").start().waitFor() == 0,
                    "no strace(1) that may trace here");
            List<String> argv = new ArrayList<>(List.of("sh", "-c", "umask 0; exec \"$@\"", "sh", "strace", "-f",
                    "-qq", "-e", "trace=bind", "-e", "inject=bind:signal=SIGSTOP:when=1"));
            argv.addAll(Cli.command(dir.resolve("unused"), "sock", "listen", "unix:" + socket, "--type", "dgram")
                    .command());
            Process p = new ProcessBuilder(argv).redirectInput(new java.io.File("/dev/null")).start();
            started.add(p);
            try {
                java.io.BufferedReader trace = new java.io.BufferedReader(new java.io.InputStreamReader(
                        p.getErrorStream(), StandardCharsets.UTF_8));
                for (String l = trace.readLine(); !l.contains("stopped by SIGSTOP"); l = trace.readLine()) {
                    assertFalse(l.contains("+++ exited"), l);
                }
                assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                        Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS)), "the mode as bind made it");
            } finally {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
            }
        });
    }

    /** CLI-04: a command whose stdout's reader has gone ends with 141 (or 0) and nothing on stderr. */
    private static void assertStoppedQuietly(Process p) throws InterruptedException {
        int status = exit(p);
        assertTrue(status == 141 || status == 0, "exit 141 or 0, got " + status + ": " + rest(p));
        assertEquals("", rest(p), "nothing on stderr");
    }

    private static String rest(Process p) {
        try {
            return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(" + e + ")";
        }
    }

    @ParameterizedTest(name = "--mode {0}")
    @ValueSource(strings = {"", "0660"})
    void listenDgramGivesTheSocketFileItsModeAndRemovesIt(String mode) {
        // SEC-01: Socket.bind makes a unix: datagram socket file 0600; --mode widens it exactly; it goes at the end
        run(() -> {
            Path socket = dir.resolve("dgram.sock");
            Process[] listener = new Process[1];
            List<String> args = new ArrayList<>(List.of("unix:" + socket, "--type", "dgram"));
            if (!mode.isEmpty()) {
                args.addAll(List.of("--mode", mode));
            }
            Path out = dir.resolve("out");
            listen(listener, out, args.toArray(String[]::new));
            assertEquals(mode.isEmpty() ? "rw-------" : "rw-rw----", java.nio.file.attribute.PosixFilePermissions
                    .toString(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS)));
            try (Socket s = Socket.connect(Address.unix(socket), Socket.Type.DATAGRAM)) {
                s.write(ByteBuffer.wrap(payload(0)));
            }
            assertEquals(0, exit(listener[0]));
            assertArrayEquals(payload(0), Files.readAllBytes(out));
            assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the socket file was removed");
        });
    }

    /**
     * {@code sock listen} with ADDRESS's PATH or NAME ending in {@code bytes} (octal escapes for
     * printf), put into argv through {@code sh -c}, with LANG and LC_* unset when {@code noLocale}.
     */
    private Process listenWithBytes(String prefix, String bytes, boolean noLocale, String... more) throws IOException {
        List<String> argv = new ArrayList<>(List.of("sh", "-c",
                "exec \"$@\" \"$0$(printf '" + bytes + "')\"", prefix));
        argv.addAll(Cli.command(dir.resolve("unused"), "sock", "listen").command());
        argv.addAll(List.of(more));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.PIPE);
        if (noLocale) {
            pb.environment().keySet().removeIf(k -> k.equals("LANG") || k.startsWith("LC_"));
        }
        Process p = pb.start();
        started.add(p);
        return p;
    }

    @Test
    void listenAtAnAbstractNameInUtf8WithoutALocaleListensAtThoseBytes() {
        // UDS-14, CLI.md "binary-safe": the JVM decodes argv as ASCII without a locale; the name is not '??'
        run(() -> {
            String name = "ipcb-" + ProcessHandle.current().pid() + "-";
            Process listener = listenWithBytes("abstract:" + name, "\\303\\251", true);
            String first = line(listener.getErrorStream());
            assertTrue(first.startsWith(LISTENING), () -> "the listening line: " + first);
            Process client = new ProcessBuilder("python3", "-c", "import socket, sys\n"
                    + "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
                    + "s.connect(b'\\0' + sys.argv[1].encode() + b'\\xc3\\xa9')\n"
                    + "s.sendall(b'at the name given')\n", name).inheritIO().start();
            started.add(client);
            assertEquals(0, exit(client), "the client found the listener at the bytes given");
            assertEquals("at the name given", new String(listener.getInputStream().readAllBytes(),
                    StandardCharsets.UTF_8));
            assertEquals(0, exit(listener));
        });
    }

    @Test
    void listenAtAPathThatIsNotUtf8IsAUsageErrorNotAnotherPath() {
        // UDS-03, CLI.md exit 2: 0xff cannot reach the kernel through Address; U+FFFD would be another file
        run(() -> {
            Process listener = listenWithBytes("unix:" + dir + "/s-", "\\377", false, "--timeout", "0");
            String first = line(listener.getErrorStream());
            assertEquals(2, exit(listener), first);
            assertTrue(first.startsWith("ipcbridge: ") && first.contains("not UTF-8"), first);
            try (var files = Files.list(dir)) {
                assertEquals(List.of(), files.filter(f -> f.getFileName().toString().startsWith("s-")).toList(),
                        "no socket file at another path");
            }
        });
    }
}
