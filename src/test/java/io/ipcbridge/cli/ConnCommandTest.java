package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Backlogs;
import io.ipcbridge.testing.OwnThreads;
import io.ipcbridge.testing.RefusingPort;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code ipcbridge conn} in this JVM: usage errors, refused inputs and failed connects (no peer needed). */
class ConnCommandTest {
    private static final String NL = System.lineSeparator();

    @TempDir
    Path dir;

    @ParameterizedTest(name = "ipcbridge {0}")
    @ValueSource(strings = {"conn", "conn send", "conn send nope:x", "conn receive udp:127.0.0.1:5",
        "conn listen tcp:localhost", "conn receive unix:/x --count 0", "conn receive unix:/x --raw --count 2",
        "conn listen unix:/x --raw --count 3", "conn receive unix:/x --timeout soon", "conn send unix:/x --bogus",
        "conn listen abstract:"})
    void whatDoesNotParseIsExitTwo(String args) {
        // CLI.md: usage errors are exit 2, one ipcbridge: line first, nothing on stdout
        Cli.Result r = Cli.run(args.split(" "));
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: "), r::toString);
        assertEquals("", r.out());
    }

    @Test
    void aPathOf108BytesIsAUsageError() {
        // UDS-03, before any call
        Cli.Result r = Cli.run("conn", "listen", "unix:/" + "a".repeat(107));
        assertEquals(2, r.status(), r::toString);
    }

    @Test
    void nobodyThereIsExitOneWithTheErrnoLine() throws IOException {
        // CLI-05, UDS-01
        Path missing = dir.resolve("nobody.sock");
        for (String command : new String[] {"send", "receive"}) {
            Cli.Result r = Cli.run("conn", command, "unix:" + missing, "x");
            if (command.equals("receive")) {
                r = Cli.run("conn", command, "unix:" + missing);
            }
            assertEquals(1, r.status(), r::toString);
            assertEquals("ipcbridge: connect(unix:" + missing + "): ENOENT (No such file or directory)" + NL, r.err());
        }
        try (RefusingPort refusing = RefusingPort.on("127.0.0.1")) {
            String target = "tcp:127.0.0.1:" + refusing.port();
            Cli.Result tcp = Cli.run("conn", "receive", target);
            assertEquals("ipcbridge: connect(" + target + "): ECONNREFUSED (Connection refused)" + NL, tcp.err());
        }
    }

    @Test
    void anEmptyOrMissingAuthkeyFileIsRefused() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty"), "\n");
        Cli.Result r = Cli.run("conn", "send", "unix:" + dir.resolve("s"), "--authkey-file", empty.toString(), "m");
        assertEquals(1, r.status(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: " + empty + ": the authkey file is empty"), r::toString);
        assertEquals(1, r.err().lines().count());
        Path missing = dir.resolve("missing");
        Cli.Result m = Cli.run("conn", "listen", "unix:" + dir.resolve("s"), "--authkey-file", missing.toString());
        assertEquals(1, m.status(), m::toString);
        assertEquals("ipcbridge: open(" + missing + "): ENOENT (No such file or directory)" + NL, m.err());
        assertTrue(Files.notExists(dir.resolve("s")), "nothing was listening");
    }

    @Test
    void helpNamesTheAddressFormsAndTheKeyRule() {
        for (String[] args : new String[][] {{"conn", "--help"}, {"help", "conn"}, {"conn", "send", "-h"},
            {"conn", "receive", "--help"}, {"conn", "help", "listen"}}) {
            Cli.Result r = Cli.run(args);
            assertEquals(0, r.status(), r::toString);
            assertTrue(r.out().startsWith("Usage: ipcbridge conn"), r::toString);
            assertEquals("", r.err());
        }
        assertTrue(Cli.run("conn", "--help").out().contains("unix:PATH | abstract:NAME | tcp:HOST:PORT"));
        assertTrue(Cli.run("conn", "send", "--help").out().contains("less one"));
    }

    @Test
    void aMessageThatBeginsAndStallsIsExitThreeAfterTheTimeout() throws Exception {
        // CLI-02, LOAD-08: --timeout bounds the wait for each whole message; the listener sends a
        // header announcing 10 bytes and 3 of them, then nothing (receive waited for ever)
        Path socket = dir.resolve("stall.sock");
        try (ServerSocket server = ServerSocket.listen(Address.unix(socket), Socket.Type.STREAM)) {
            CompletableFuture<Socket> peer = CompletableFuture.supplyAsync(() -> {
                try {
                    Socket s = server.accept();
                    s.write(ByteBuffer.wrap(new byte[] {0, 0, 0, 10, 'a', 'b', 'c'}));
                    return s;
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, OwnThreads.EACH);
            Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
                Cli.Result result = Cli.run("conn", "receive", "unix:" + socket, "--timeout", "200ms");
                peer.join().close();
                return result;
            });
            assertEquals(3, r.status(), r::toString);
            assertEquals("ipcbridge: read(unix:" + socket + "): ETIMEDOUT (Connection timed out): a message began"
                    + " but did not end within 200ms" + NL, r.err());
            assertEquals("", r.out());
        }
    }

    @Test
    void aListenerThatNeverChallengesIsExitThreeAfterTheHandshakeTimeout() throws Exception {
        // CLI-02, SEC-08: the connection is queued and never accepted; takes the default 10 s
        Path socket = dir.resolve("silent.sock");
        Path key = Files.writeString(dir.resolve("key"), "secret\n");
        try (ServerSocket silent = ServerSocket.listen(Address.unix(socket), Socket.Type.STREAM)) {
            Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> Cli.run("conn", "receive", "unix:" + socket, "--authkey-file", key.toString()));
            assertEquals(3, r.status(), r::toString);
            assertEquals("ipcbridge: poll(unix:" + socket + "): ETIMEDOUT (Connection timed out): the handshake did"
                    + " not complete within 10s" + NL, r.err());
            assertEquals("", r.out());
        }
    }

    @Test
    void aConnectNobodyAcceptsIsExitThreeNamingTheConnectNotAHandshake() throws Exception {
        // CLI-02, LOAD-02: no key, so no handshake; the listener's backlog is full and the connect
        // waits for room for 10 s (the line said "poll(...): the handshake did not complete")
        Address a = Address.unix(dir.resolve("full.sock"));
        List<Socket> clients = new ArrayList<>();
        try (ServerSocket server = ServerSocket.listen(a, Socket.Type.STREAM)) {
            Backlogs.fill(a, clients);
            Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> Cli.run("conn", "send", "unix:" + dir.resolve("full.sock"), "m"));
            assertEquals(3, r.status(), r::toString);
            assertEquals("ipcbridge: connect(unix:" + dir.resolve("full.sock") + "): ETIMEDOUT (Connection timed out): "
                    + "the listener did not accept the connection within 10s" + NL, r.err());
        } finally {
            for (Socket c : clients) {
                c.close();
            }
        }
    }
}
