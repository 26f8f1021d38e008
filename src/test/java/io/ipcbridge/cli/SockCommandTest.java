package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Backlogs;
import io.ipcbridge.testing.RefusingPort;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code ipcbridge sock listen|connect} in this JVM: the exit statuses and the exact one-line stderr
 * of what fails before any data moves (nothing here reads stdin or writes stdout; the data paths
 * against the C peer are in {@link SockStdioTest}).
 */
class SockCommandTest {
    private static final String NL = System.lineSeparator();

    @TempDir
    Path dir;

    @Test
    void connectingToAMissingPathIsExitOneWithTheErrnoLine() {
        // CLI-05 (peer gone) and UDS-01: nobody there -> exit 1, one line `connect(ADDRESS): ENOENT (...)`.
        Path missing = dir.resolve("nobody.sock");
        for (String type : new String[] {"stream", "seqpacket", "dgram"}) {
            Cli.Result r = Cli.run("sock", "connect", "unix:" + missing, "--type", type);
            assertEquals(1, r.status(), r::toString);
            assertEquals("ipcbridge: connect(unix:" + missing + "): ENOENT (No such file or directory)" + NL, r.err());
            assertEquals("", r.out());
        }
    }

    @Test
    void connectingToTheExampleOfTheBriefGivesExactlyItsLine() {
        // CLI-05, as CLI.md's convention writes it.
        Cli.Result r = Cli.run("sock", "connect", "unix:/x");
        assertEquals(1, r.status(), r::toString);
        assertEquals("ipcbridge: connect(unix:/x): ENOENT (No such file or directory)" + NL, r.err());
    }

    @Test
    void connectingWhereNobodyListensIsRefused() throws IOException {
        // UDS-01 (bound, not listening -> ECONNREFUSED) for an abstract name nobody holds; INET-01 for
        // TCP, written with its scheme as the user gave it.
        String name = "ipcb-none-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        Cli.Result r = Cli.run("sock", "connect", "abstract:" + name);
        assertEquals(1, r.status(), r::toString);
        assertEquals("ipcbridge: connect(abstract:" + name + "): ECONNREFUSED (Connection refused)" + NL, r.err());
        try (RefusingPort refusing = RefusingPort.on("127.0.0.1")) {
            String target = "tcp:127.0.0.1:" + refusing.port();
            Cli.Result tcp = Cli.run("sock", "connect", target);
            assertEquals(1, tcp.status(), tcp::toString);
            assertEquals("ipcbridge: connect(" + target + "): ECONNREFUSED (Connection refused)" + NL, tcp.err());
        }
    }

    @Test
    void aPathOf107BytesIsTriedAnd108IsAUsageError() {
        // UDS-03 / SEC-09: sun_path holds 107 bytes and the NUL; 108 is refused before any call (exit 2).
        String base = dir.toString() + "/";
        String ok = base + "p".repeat(107 - base.length());
        assertEquals(107, ok.length());
        Cli.Result fine = Cli.run("sock", "connect", "unix:" + ok);
        assertEquals(1, fine.status(), fine::toString);
        assertEquals("ipcbridge: connect(unix:" + ok + "): ENOENT (No such file or directory)" + NL, fine.err());
        String tooLong = ok + "p";
        for (String command : new String[] {"connect", "listen"}) {
            Cli.Result r = Cli.run("sock", command, "unix:" + tooLong);
            assertEquals(2, r.status(), r::toString);
            assertEquals(List.of("ipcbridge: Invalid value for positional parameter at index 0 (ADDRESS): an AF_UNIX "
                    + "path has 1 to 107 bytes and no NUL: 108 bytes in " + tooLong), r.err().lines().toList());
            assertEquals("", r.out());
            assertFalse(Files.exists(Path.of(tooLong)), "nothing created");
        }
        Cli.Result empty = Cli.run("sock", "connect", "unix:"); // said "... no NUL: 0 bytes in ", naming nothing
        assertEquals(2, empty.status(), empty::toString);
        assertEquals(List.of("ipcbridge: Invalid value for positional parameter at index 0 (ADDRESS): an AF_UNIX "
                + "path has 1 to 107 bytes and no NUL: the path is empty"), empty.err().lines().toList());
        Cli.Result name = Cli.run("sock", "listen", "abstract:" + "n".repeat(108));
        assertEquals(2, name.status(), name::toString);
        assertTrue(name.err().startsWith("ipcbridge: Invalid value for positional parameter at index 0 (ADDRESS): an "
                + "abstract name has 1 to 107 bytes: 108" + NL), name::toString);
    }

    @ParameterizedTest(name = "ipcbridge {0}")
    @ValueSource(strings = {"sock", "sock connect", "sock listen", "sock connect x", "sock connect unix",
        "sock connect unix:", "sock connect abstract:", "sock connect file:/tmp/s", "sock connect tcp:127.0.0.1",
        "sock connect tcp:127.0.0.1:", "sock connect tcp::80", "sock connect tcp:127.0.0.1:http",
        "sock connect tcp:127.0.0.1:65536", "sock connect tcp:127.0.0.1:-1", "sock connect tcp:::1:80",
        "sock connect tcp:[::zz]:80", "sock connect udp:1.2.3.4.5.6:53", "sock listen tcp:0177.0.0.1:0", "sock connect tcp:127.0.0.1:80 --type dgram",
        "sock connect tcp:127.0.0.1:80 --type seqpacket", "sock connect udp:127.0.0.1:53 --type stream",
        "sock listen udp:127.0.0.1:0 --type seqpacket", "sock connect unix:/x --type bogus",
        "sock connect unix:/x --type", "sock listen unix:/x --count 0", "sock listen unix:/x --count -1",
        "sock listen unix:/x --count many", "sock listen unix:/x --mode 0800", "sock listen tcp:127.0.0.1:0 --mode 0600",
        "sock listen abstract:x --mode 0600", "sock listen unix:/x --timeout soon", "sock connect unix:/x --bogus",
        "sock connect unix:/x unix:/y", "sock frobnicate"})
    void whatDoesNotParseIsExitTwo(String args) {
        // CLI.md: a malformed address, a contradicting --type, a bad value -> exit 2, before any call.
        Cli.Result r = Cli.run(args.split(" "));
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: "), r::toString);
        assertEquals("ipcbridge: ", r.err().lines().findFirst().orElseThrow().substring(0, 11));
        assertEquals("", r.out(), "nothing on stdout for a usage error");
    }

    @Test
    void aContradictingTypeSaysSoInOneLine() {
        Cli.Result r = Cli.run("sock", "connect", "tcp:127.0.0.1:80", "--type", "dgram");
        assertEquals(2, r.status(), r::toString);
        assertEquals("ipcbridge: tcp: addresses are stream sockets: --type dgram contradicts tcp:127.0.0.1:80",
                r.err().lines().findFirst().orElseThrow());
        Cli.Result udp = Cli.run("sock", "listen", "udp:127.0.0.1:0", "--type", "stream");
        assertEquals(2, udp.status(), udp::toString);
        assertEquals("ipcbridge: udp: addresses are dgram sockets: --type stream contradicts udp:127.0.0.1:0",
                udp.err().lines().findFirst().orElseThrow());
    }

    @Test
    void aHostThatDoesNotResolveIsExitOne() {
        // It parses (CLI.md: 2 is for what does not parse); the lookup failing is the operation failing.
        Cli.Result r = Cli.run("sock", "connect", "tcp:no-such-host.invalid:80");
        assertEquals(1, r.status(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: tcp:no-such-host.invalid:80: unknown host: "), r::toString);
        assertEquals(1, r.err().lines().count(), "one line");
    }

    @Test
    void listeningOverAnExistingFileIsExitOneAndLeavesTheFile() throws Exception {
        // UDS-02: bind over an existing path -> EADDRINUSE; nothing is replaced or removed.
        Path taken = Files.writeString(dir.resolve("taken"), "keep me");
        for (String type : new String[] {"stream", "seqpacket", "dgram"}) {
            Cli.Result r = Cli.run("sock", "listen", "unix:" + taken, "--type", type);
            assertEquals(1, r.status(), r::toString);
            assertEquals("ipcbridge: bind(unix:" + taken + "): EADDRINUSE (Address already in use)" + NL, r.err());
            assertEquals("keep me", Files.readString(taken));
        }
    }

    @ParameterizedTest(name = "--type {0}")
    @ValueSource(strings = {"stream", "seqpacket", "dgram"})
    void listenTimesOutWithExitThreeAndRemovesItsSocketFile(String type) {
        // CLI.md exit 3 (timed out), in the errno form of CLI-02; the unix: socket file is removed.
        Path socket = dir.resolve("l.sock");
        Cli.Result r = Cli.run("sock", "listen", "unix:" + socket, "--type", type, "--timeout", "100ms",
                "--count", "2");
        assertEquals(3, r.status(), r::toString);
        boolean dgram = type.equals("dgram");
        assertEquals("ipcbridge: listening on unix:" + socket + NL
                + "ipcbridge: " + (dgram ? "recvmsg" : "accept") + "(unix:" + socket + "): ETIMEDOUT (Connection "
                + "timed out): no " + (dgram ? "datagram" : "connection") + " within 100ms; 0 of 2 "
                + (dgram ? "datagrams received" : "connections accepted") + NL, r.err());
        assertEquals("", r.out());
        assertFalse(Files.exists(socket), "the socket file was removed");
    }

    @Test
    void listenWithTimeoutZeroWouldBlockOnTcpPortZeroAndNamesThePortChosen() {
        // INET-05 style loopback listener; tcp port 0: the stderr line says the real port.
        Cli.Result r = Cli.run("sock", "listen", "tcp:127.0.0.1:0", "--timeout", "0");
        assertEquals(3, r.status(), r::toString);
        List<String> lines = r.err().lines().toList();
        assertEquals(2, lines.size(), r::toString);
        assertTrue(lines.get(0).matches("ipcbridge: listening on tcp:127\\.0\\.0\\.1:[1-9]\\d*"), r::toString);
        String address = lines.get(0).substring("ipcbridge: listening on ".length());
        assertEquals("ipcbridge: accept(" + address + "): EAGAIN (Resource temporarily unavailable): no connection "
                + "was waiting; 0 of 1 connection accepted", lines.get(1));
        Cli.Result udp = Cli.run("sock", "listen", "udp:[::1]:0", "--timeout", "0");
        assertEquals(3, udp.status(), udp::toString);
        assertTrue(udp.err().startsWith("ipcbridge: listening on udp:[::1]:"), udp::toString);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"unix", "abstract"})
    void connectToAFullBacklogEndsAtItsTimeoutWithExitThree(String kind) throws Exception {
        // CLI-02, LOAD-02: nobody accepts and the backlog is full, so the connect waits for room; it
        // waited for ever before --timeout. 0 is one try without waiting (EAGAIN, exit 3 too).
        String text = kind.equals("unix") ? "unix:" + dir.resolve("full.sock")
                : "abstract:ipcb-full-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        Address a = Address.parse(text);
        List<Socket> clients = new java.util.ArrayList<>();
        try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM)) {
            Backlogs.fill(a, clients);
            Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> Cli.run("sock", "connect", text, "--timeout", "100ms"));
            assertEquals(3, r.status(), r::toString);
            assertEquals("ipcbridge: connect(" + text + "): ETIMEDOUT (Connection timed out): no connection was made "
                    + "within 100ms" + NL, r.err());
            Cli.Result now = Cli.run("sock", "connect", text, "--timeout", "0");
            assertEquals(3, now.status(), now::toString);
            assertEquals("ipcbridge: connect(" + text + "): EAGAIN (Resource temporarily unavailable): no connection "
                    + "was made without waiting" + NL, now.err());
            assertEquals("", r.out() + now.out());
        } finally {
            for (Socket c : clients) {
                c.close();
            }
        }
        Cli.Result bad = Cli.run("sock", "connect", text, "--timeout", "-1s");
        assertEquals(2, bad.status(), bad::toString);
    }

    @Test
    void anIpv6LiteralIsNamedInTheErrorLineAsItWasGiven() throws Exception {
        // CLI-05, INET-01: the address is written as it was given, as the listening line writes it,
        // never as the JDK spells the address ([0:0:0:0:0:0:0:1]).
        Cli.Result r = Cli.run("sock", "connect", "tcp:[::1]:1");
        assertEquals(1, r.status(), r::toString);
        assertEquals("ipcbridge: connect(tcp:[::1]:1): ECONNREFUSED (Connection refused)" + NL, r.err());
        try (ServerSocket taken = ServerSocket.listen(Address.inet("::1", 0), Socket.Type.STREAM)) {
            int port = ((Address.Inet) taken.localAddress()).port();
            Cli.Result busy = Cli.run("sock", "listen", "tcp:[::1]:" + port, "--timeout", "0");
            assertEquals(1, busy.status(), busy::toString);
            assertEquals("ipcbridge: bind(tcp:[::1]:" + port + "): EADDRINUSE (Address already in use)" + NL,
                    busy.err());
        }
    }

    @Test
    void helpNamesTheAddressForms() {
        for (String[] args : new String[][] {{"sock", "--help"}, {"help", "sock"}, {"sock", "listen", "--help"},
            {"sock", "connect", "-h"}, {"sock", "help", "connect"}}) {
            Cli.Result r = Cli.run(args);
            assertEquals(0, r.status(), r::toString);
            assertTrue(r.out().startsWith("Usage: ipcbridge sock"), r::toString);
            assertEquals("", r.err());
        }
        Cli.Result r = Cli.run("sock", "--help");
        assertTrue(r.out().contains("unix:PATH | abstract:NAME | tcp:HOST:PORT | udp:HOST:PORT"), r::toString);
    }

    @Test
    void listenDgramModeNeverLandsOnASymbolicLinkSwappedInAfterTheBind() throws Exception {
        // SEC-01, UDS-16: someone who may write the directory swaps a link in for the socket file just
        // bound; --mode must go to the socket through its own descriptor or fail, never to the link's target
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            Path socket = dir.resolve("raced.sock");
            Path target = dir.resolve("target");
            Path link = dir.resolve("link");
            Files.writeString(target, "not yours");
            for (int round = 0; round < 300; round++) {
                Files.setPosixFilePermissions(target,
                        PosixFilePermissions.fromString("rw-------"));
                AtomicBoolean done = new AtomicBoolean();
                Thread racer = new Thread(() -> {
                    try {
                        while (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
                            if (done.get()) {
                                return; // the command came and went unseen
                            }
                            Thread.onSpinWait(); // the bind makes the file: kernel state, no sleep
                        }
                        Files.createSymbolicLink(link, target);
                        Files.move(link, socket, StandardCopyOption.ATOMIC_MOVE);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
                racer.start();
                Cli.Result r = Cli.run("sock", "listen", "unix:" + socket, "--type", "dgram", "--mode", "0666",
                        "--timeout", "0");
                done.set(true);
                racer.join();
                assertEquals("rw-------", PosixFilePermissions.toString(
                        Files.getPosixFilePermissions(target)), "round " + round + ", " + r);
                Files.deleteIfExists(socket);
                Files.deleteIfExists(link);
            }
        });
    }
}
