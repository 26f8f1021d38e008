package io.ipcbridge.socket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** UDS-03, UDS-14: addresses the kernel reports that {@link Address} itself would refuse to build. */
class SocketAddressEdgeTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    /**
     * A Python peer bound to the sun_path bytes {@code name} (a Python expression) sends one datagram to {@code to};
     * Linux takes the empty abstract name and a 108-byte path without a NUL, which {@link Address}
     * refuses to build.
     */
    private static void pythonSendsFrom(String name, String to) throws Exception {
        // bind(2) through ctypes: Python's own bind refuses a 108-byte path, which Linux takes
        Process python = new ProcessBuilder("python3", "-c", "import ctypes, os, socket, sys\n"
                + "libc = ctypes.CDLL(None, use_errno=True)\n"
                + "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
                + "sa = b'\\x01\\x00' + " + name + "\n"
                + "if libc.bind(s.fileno(), sa, len(sa)) != 0: sys.exit(os.strerror(ctypes.get_errno()))\n"
                + "s.sendto(b'odd sender', sys.argv[1])\n", to).inheritIO().start();
        assertEquals(0, python.waitFor(), "the python peer sent its datagram");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"empty abstract name", "108-byte path"})
    @DisplayName("UDS-03, UDS-14: a datagram from a sender Address cannot name is received whole, its sender null")
    void aSenderAddressCannotNameStillDeliversItsDatagram(String sender) throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path path = dir.resolve("in.sock");
            String bind;
            if (sender.startsWith("empty")) {
                bind = "b'\\0'";
            } else {
                String p = dir.toString() + "/";
                p += "p".repeat(108 - p.length());
                bind = "b'" + p + "'";
            }
            try (Socket s = Socket.bind(Address.unix(path))) {
                pythonSendsFrom(bind, path.toString());
                ByteBuffer b = ByteBuffer.allocate(32);
                Address from = s.receiveFrom(b);
                assertEquals("odd sender", StandardCharsets.UTF_8.decode(b.flip()).toString());
                assertNull(from, "no Address names it");
            }
        });
    }
}
