package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.ipcbridge.Descriptor;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.pipe.PipeSource;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real Python (socket.send_fds / recv_fds, AF_UNIX datagrams) and socat as peers of ipcbridge sockets. */
class SocketPythonTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    void pythonReceivesAPipeEndFromJavaWithRecvFdsAndWritesIntoIt() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM); Pipe pipe = Pipe.open()) {
                Command python = Command.of("python3", "-c", "import socket, os\n"
                        + "s = socket.socket(fileno=3)\n"
                        + "msg, fds, flags, addr = socket.recv_fds(s, 16, 4)\n"
                        + "os.write(fds[0], b'python got ' + msg)\n"
                        + "print(len(fds))\n").fd(3, pair.second());
                try (Pipe out = Pipe.open(); ChildProcess child = python.stdout(out.sink()).start()) {
                    out.sink().close();
                    pair.second().close();
                    pair.first().sendDescriptors(ByteBuffer.wrap("fds!".getBytes(StandardCharsets.US_ASCII)),
                            List.of(pipe.sink().descriptor()));
                    assertEquals("1\n", new String(out.source().inputStream().readAllBytes(), StandardCharsets.UTF_8));
                    assertEquals(0, child.waitFor().code());
                }
                pipe.sink().close();
                assertEquals("python got fds!", new String(pipe.source().inputStream().readAllBytes(),
                        StandardCharsets.US_ASCII));
            }
        });
    }

    @Test
    void javaReceivesADescriptorPythonSentWithSendFds() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM)) {
                Command python = Command.of("python3", "-c", "import socket, os\n"
                        + "s = socket.socket(fileno=3)\n"
                        + "r, w = os.pipe()\n"
                        + "os.write(w, b'written by python')\n"
                        + "os.close(w)\n"
                        + "socket.send_fds(s, [b'p'], [r])\n").fd(3, pair.second());
                try (ChildProcess child = python.start()) {
                    pair.second().close();
                    ByteBuffer data = ByteBuffer.allocate(4);
                    List<Descriptor> fds = pair.first().receiveDescriptors(data, 4);
                    assertEquals(1, fds.size());
                    try (PipeSource source = PipeSource.of(fds.get(0))) {
                        assertEquals("written by python", new String(source.inputStream().readAllBytes(),
                                StandardCharsets.US_ASCII));
                    }
                    assertEquals(0, child.waitFor().code());
                }
            }
        });
    }

    @Test
    void aPythonDatagramPeerTalksToAJavaDatagramSocket() throws Exception {
        Path path = dir.resolve("dgram.sock");
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket server = Socket.bind(Address.unix(path))) {
                Command python = Command.of("python3", "-c", "import socket, sys\n"
                        + "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
                        + "s.bind('')\n" // autobind: an abstract name the kernel picks
                        + "s.sendto(b'hello from python', sys.argv[1])\n"
                        + "print(s.recv(64).decode())\n", path.toString());
                try (Pipe out = Pipe.open(); ChildProcess child = python.stdout(out.sink()).start()) {
                    out.sink().close();
                    ByteBuffer b = ByteBuffer.allocate(64);
                    Address from = server.receiveFrom(b);
                    assertEquals("hello from python", StandardCharsets.UTF_8.decode(b.flip()).toString());
                    server.sendTo(ByteBuffer.wrap("hello from java".getBytes(StandardCharsets.UTF_8)), from);
                    assertEquals("hello from java\n", new String(out.source().inputStream().readAllBytes(),
                            StandardCharsets.UTF_8));
                    assertEquals(0, child.waitFor().code());
                }
            }
        });
    }

    @Test
    void socatTalksToJavaOverAnAbstractAddressAndAFilesystemPath() throws Exception {
        String name = "ipcbridge-socat-" + ProcessHandle.current().pid();
        Path path = dir.resolve("socat.sock");
        assertTimeoutPreemptively(LIMIT, () -> {
            for (Address address : new Address[] {Address.abstractName(name), Address.unix(path)}) {
                String target = address instanceof Address.Abstract ? "ABSTRACT-CONNECT:" + name
                        : "UNIX-CONNECT:" + path;
                try (ServerSocket server = ServerSocket.listen(address, Socket.Type.STREAM);
                        Pipe in = Pipe.open(); Pipe out = Pipe.open();
                        ChildProcess socat = Command.of("socat", "-", target).stdin(in.source()).stdout(out.sink())
                                .start()) {
                    in.source().close();
                    out.sink().close();
                    try (Socket s = server.accept()) {
                        in.sink().write(ByteBuffer.wrap("to java\n".getBytes(StandardCharsets.US_ASCII)));
                        ByteBuffer b = ByteBuffer.allocate(16);
                        while (b.position() < 8) {
                            s.read(b);
                        }
                        assertEquals("to java\n", StandardCharsets.US_ASCII.decode(b.flip()).toString());
                        s.write(ByteBuffer.wrap("from java\n".getBytes(StandardCharsets.US_ASCII)));
                        in.sink().close();
                    }
                    assertEquals("from java\n", new String(out.source().inputStream().readAllBytes(),
                            StandardCharsets.US_ASCII));
                    socat.waitFor();
                }
            }
        });
    }
}
