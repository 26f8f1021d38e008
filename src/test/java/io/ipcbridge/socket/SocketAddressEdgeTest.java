package io.ipcbridge.socket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.testing.Backlogs;
import io.ipcbridge.testing.ConnectByName;
import io.ipcbridge.testing.DualStackLocalhost;
import io.ipcbridge.testing.RefusingPort;
import java.net.ConnectException;
import java.net.Inet6Address;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * UDS-03, UDS-14: addresses the kernel reports that {@link Address} itself would refuse to build;
 * INET-01: IPv4 literals that C peers read otherwise, and host names of several addresses.
 */
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
                + "s.sendto(b'odd sender', sys.argv[1])\n"
                + "if sa[2]: os.unlink(sa[2:].split(b'\\0')[0])\n", to).inheritIO().start();
        assertEquals(0, python.waitFor(), "the python peer sent its datagram");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"empty abstract name", "108-byte path", "abstract name not UTF-8", "path not UTF-8"})
    @DisplayName("UDS-03, UDS-14: a datagram from a sender Address cannot name is received whole, its sender null "
            + "(never a lenient decoding's other address, which a reply would reach)")
    void aSenderAddressCannotNameStillDeliversItsDatagram(String sender) throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            Path path = dir.resolve("in.sock");
            String bind;
            if (sender.startsWith("empty")) {
                bind = "b'\\0'";
            } else if (sender.endsWith("not UTF-8")) { // no UTF-8 sequence starts with 0xff
                bind = sender.startsWith("abstract") ? "b'\\0ipcb-" + ProcessHandle.current().pid() + "-\\xff\\xfe'"
                        : "b'" + dir + "/s-\\xff\\xfe'";
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

    /** A link-local IPv6 address of this host with its interface index as scope id, or null if none. */
    static Inet6Address linkLocal() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/net/if_inet6"))) {
            String[] f = line.trim().split("\\s+");
            if (f[0].startsWith("fe80") && f.length >= 6) {
                byte[] ip = HexFormat.of().parseHex(f[0]);
                return Inet6Address.getByAddress(null, ip, Integer.parseInt(f[1], 16));
            }
        }
        return null;
    }

    @Test
    @DisplayName("UDS-14 (IPv6): a link-local address keeps its scope id both ways: bind, sendTo, receiveFrom, localAddress")
    void aLinkLocalAddressKeepsItsScopeId() throws Exception {
        Inet6Address ll = linkLocal();
        assumeTrue(ll != null, "no link-local IPv6 address on this host");
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket s = Socket.bind(new Address.Inet(ll, 0))) {
                Address.Inet local = (Address.Inet) s.localAddress();
                assertEquals(ll.getScopeId(), ((Inet6Address) local.address()).getScopeId(), "getsockname's scope id");
                assertEquals(5, s.sendTo(ByteBuffer.wrap("scope".getBytes(StandardCharsets.UTF_8)), local));
                ByteBuffer b = ByteBuffer.allocate(8);
                Address.Inet from = (Address.Inet) s.receiveFrom(b);
                assertEquals("scope", StandardCharsets.UTF_8.decode(b.flip()).toString());
                assertEquals(local, from, "the sender");
                assertEquals(ll.getScopeId(), ((Inet6Address) from.address()).getScopeId(), "the sender's scope id");
            }
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"0177.0.0.1", "127.0.0.010", "0127.1", "08.0.0.1", "127.00.0.1", "::ffff:0177.0.0.1"})
    @DisplayName("INET-01: an IPv4 literal with a leading zero, which inet_aton(3) reads as octal and InetAddress as "
            + "decimal, is refused before any call, never taken for another host than a C peer would reach")
    void anIpv4PartWithALeadingZeroIsRefusedAsAmbiguous(String host) throws Exception {
        // glibc's getaddrinfo (so C peers, socat, nc, Python) reads 0177.0.0.1 as 127.0.0.1, and
        // ::ffff:0177.0.0.1 as no address at all; InetAddress read both as 177.0.0.1, and connected there
        Process python = new ProcessBuilder("python3", "-c",
                "import socket; print(socket.getaddrinfo('0177.0.0.1', 80, socket.AF_INET)[0][4][0])").start();
        assertEquals("127.0.0.1", new String(python.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim(),
                "what the literal means to a C peer");
        assertEquals(0, python.waitFor());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Address.parse("tcp:" + (host.contains(":") ? "[" + host + "]" : host) + ":80"));
        assertEquals("ambiguous IPv4 address: " + host + " (a part with a leading zero is octal to inet_aton(3), "
                + "decimal to Java)", e.getMessage());
        assertEquals(new Address.Inet(java.net.InetAddress.getByAddress(new byte[] {127, 0, 0, 0}), 80),
                Address.parse("tcp:127.0.0.0:80"), "a part that is 0 alone stays");
        assertEquals(Address.inet("::1", 80), Address.parse("tcp:[::01]:80"), "an IPv6 hextet's leading zero stays");
    }

    @ParameterizedTest
    @ValueSource(strings = {"0x7f.0.0.1", "0x7f000001", "127.0.0.0x1", "0X7F.1"})
    @DisplayName("INET-01: an IPv4 literal with a part in hex, which inet_aton(3) reads as a number and InetAddress "
            + "as a host name to look up, is refused before any call")
    void anIpv4PartInHexIsRefusedAsAmbiguous(String host) throws Exception {
        Process python = new ProcessBuilder("python3", "-c",
                "import socket, sys; print(socket.getaddrinfo(sys.argv[1], 80, socket.AF_INET)[0][4][0])", host).start();
        assertTrue(new String(python.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim().startsWith("127."),
                "what the literal means to a C peer");
        assertEquals(0, python.waitFor());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Address.parse("tcp:" + host + ":80"));
        assertEquals("ambiguous IPv4 address: " + host + " (a part in hex is a number to inet_aton(3), a host name "
                + "to Java)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Socket.connect(host, 80, Duration.ZERO));
    }

    @Test
    @DisplayName("FAULT-07: a port outside 0..65535 is refused before the host name is looked up")
    void aBadPortIsRefusedBeforeTheHostIsLookedUp() {
        // a name that cannot resolve: a lookup (nscd, DNS) before the check would end in UnknownHostException
        String host = "no-such-host.invalid";
        for (Executable call : List.<Executable>of(() -> Address.inet(host, 65536),
                () -> Address.parse("tcp:" + host + ":99999"), () -> Socket.connect(host, -1, Duration.ZERO))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, "the port, not the lookup");
            assertTrue(e.getMessage().startsWith("port outside 0..65535: "), e.getMessage());
        }
    }

    /**
     * The output of {@link ConnectByName} {@code host port timeout}, run in a child JVM where localhost
     * is 127.0.0.1 and ::1 ({@link DualStackLocalhost}).
     */
    private String connectByName(String host, int port, String timeout) throws Exception {
        List<String> java = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                ConnectByName.class.getName(), host, Integer.toString(port), timeout);
        Process p = new ProcessBuilder(DualStackLocalhost.command(dir, java)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    @ParameterizedTest(name = "timeout {0}")
    @ValueSource(strings = {"none", "PT30S"})
    @DisplayName("INET-01: a TCP connect to a host name tries each of its addresses in turn, as nc and Python's "
            + "create_connection do: localhost (127.0.0.1 first to Java) reaches a server on ::1 alone")
    void aConnectToAHostNameTriesEachOfItsAddressesInTurn(String timeout) throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            // the port is held on 127.0.0.1, where another process might listen on a port free on ::1
            try (RefusingPort refusing = RefusingPort.on("127.0.0.1", "::1")) {
                int port = refusing.port();
                refusing.release("::1");
                try (ServerSocket server = ServerSocket.listen(Address.inet("::1", port), Socket.Type.STREAM)) {
                    assertEquals("resolved 127.0.0.1 0:0:0:0:0:0:0:1\nconnected [0:0:0:0:0:0:0:1]:" + port + "\n",
                            connectByName("localhost", port, timeout), "refused on 127.0.0.1, connected on ::1");
                    server.accept().close(); // the child's connection, queued
                }
            }
        });
    }

    @Test
    @DisplayName("INET-01: a zero timeout tries each address of a host name once, without waiting: one whose "
            + "connect would wait (127.0.0.1's full backlog drops the SYN) does not end the tries")
    void aZeroTimeoutTriesEveryAddressOnceWithoutWaiting() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            List<Socket> clients = new java.util.ArrayList<>();
            try (ServerSocket full = ServerSocket.listen(Address.inet("127.0.0.1", 0), Socket.Type.STREAM)) {
                int port = ((Address.Inet) full.localAddress()).port();
                try (ServerSocket server = ServerSocket.listen(Address.inet("::1", port), Socket.Type.STREAM)) {
                    Backlogs.fill(Address.inet("127.0.0.1", port), clients);
                    assertEquals("resolved 127.0.0.1 0:0:0:0:0:0:0:1\nconnected [0:0:0:0:0:0:0:1]:" + port + "\n",
                            connectByName("localhost", port, "PT0S"), "127.0.0.1 would wait, ::1 connected");
                    server.accept().close(); // the child's connection, queued
                }
            } finally {
                for (Socket c : clients) {
                    c.close();
                }
            }
        });
    }

    @Test
    @DisplayName("INET-01: when no address of a host name connects, the last one's failure is thrown with the "
            + "earlier ones suppressed in it (create_connection raises the last); a literal is its one address")
    void whenNoAddressConnectsTheLastFailureIsThrownWithTheEarlierOnesSuppressed() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (RefusingPort refusing = RefusingPort.on("127.0.0.1", "::1")) {
                int port = refusing.port();
                assertEquals("resolved 127.0.0.1 0:0:0:0:0:0:0:1\n"
                        + "failed connect([0:0:0:0:0:0:0:1]:" + port + "): ECONNREFUSED (Connection refused)\n"
                        + "suppressed connect(127.0.0.1:" + port + "): ECONNREFUSED (Connection refused)\n",
                        connectByName("localhost", port, "none"));
                for (String literal : new String[] {"127.0.0.1", "::1"}) {
                    ConnectException e = assertThrows(ConnectException.class,
                            () -> Socket.connect(literal, port, Duration.ofSeconds(10)));
                    assertEquals("connect(" + Address.inet(literal, port) + "): ECONNREFUSED (Connection refused)",
                            e.getMessage());
                    assertEquals(0, e.getSuppressed().length, "one address, one try");
                }
            }
        });
    }
}
