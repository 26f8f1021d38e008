package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.CreateEveryKind;
import io.ipcbridge.testing.Names;
import java.net.Inet4Address;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * RELIABILITY.md §5 defaults that hold for this process alone: SEC-01, SEC-11, SEC-12 (SEC-06 and CLI-07: see
 * EveryHandleKindTest).
 */
class SecurityDefaultsTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "umask {0}")
    @ValueSource(strings = {"000", "077"})
    @DisplayName("SEC-01: under umask 000 and 077, every object is created with exactly the mode asked for, or 0600")
    void everyObjectGetsExactlyItsModeWhateverTheUmask(String umask) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> kinds = List.of("mq", "sem", "shm", "ring", "fifo", "listener", "datagram");
        for (String mode : List.of("default", "640", "666")) {
            Path in = Files.createDirectories(dir.resolve(umask + "-" + mode));
            Process p = new ProcessBuilder("sh", "-c", "umask " + umask + "; exec \"$@\"", "sh", java,
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    CreateEveryKind.class.getName(), in.toString(), mode).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), out);
            String expected = mode.equals("default") ? "600" : mode;
            StringBuilder want = new StringBuilder();
            for (String kind : kinds) {
                want.append(kind).append(' ').append(expected).append('\n');
            }
            if (mode.equals("default")) {
                want.append("connection listener 600\n");
            }
            assertEquals(want.toString(), out, "umask " + umask + ", mode " + mode);
        }
    }

    @Test
    @DisplayName("SEC-11: an IP address always names its host (no implicit any-address); loopback binds loopback only")
    void anIpAddressAlwaysNamesItsHost() throws Exception {
        for (String spec : List.of("tcp::0", "udp::0", "tcp:0")) {
            assertThrows(IllegalArgumentException.class, () -> Address.parse(spec), spec);
        }
        try (ServerSocket server = ServerSocket.listen(Address.parse("tcp:localhost:0"), Socket.Type.STREAM)) {
            Address.Inet bound = (Address.Inet) server.localAddress();
            assertTrue(bound.address().isLoopbackAddress(), bound.toString());
            String table = Files.readString(Path.of(bound.address() instanceof Inet4Address ? "/proc/net/tcp"
                    : "/proc/net/tcp6"));
            String port = String.format(":%04X ", bound.port());
            List<String> listening = table.lines().filter(l -> l.contains(port) && l.contains(" 0A ")).toList();
            assertEquals(1, listening.size(), table);
            assertTrue(listening.get(0).contains("0100007F" + port)
                    || listening.get(0).contains("00000000000000000000000001000000" + port), "loopback only: " + listening);
        }
    }

    @Test
    @DisplayName("SEC-12: the mq_notify registration is SIGEV_NONE: no signal and no thread in the JVM")
    void mqNotifyRegistersSigevNone() throws Exception {
        String name = Names.unique("sec12");
        Path entry = Path.of("/dev/mqueue", name.substring(1));
        try (MessageQueue q = MessageQueue.createExclusively(name)) {
            assumeTrue(Files.exists(entry), "no mqueue filesystem mounted at /dev/mqueue to read the registration from");
            try (MessageQueue.Notification n = q.requestNotification()) {
                String status = Files.readString(entry);
                // the kernel prints sigev_notify: 0 SIGEV_SIGNAL, 1 SIGEV_NONE, 2 SIGEV_THREAD
                assertTrue(status.contains("NOTIFY:1 ") && status.contains("NOTIFY_PID:" + ProcessHandle.current().pid()),
                        status);
            }
            assertTrue(Files.readString(entry).contains("NOTIFY_PID:0"), "withdrawn on close");
        } finally {
            MessageQueue.unlink(name);
        }
    }

    @Test
    @DisplayName("SEC-15: a default semaphore or segment is 0600: only its owner can write, so only it can corrupt it")
    void defaultSegmentsAndSemaphoresAreOwnerOnly() throws Exception {
        String shm = Names.unique("sec15");
        try (SharedMemory s = SharedMemory.createExclusively(shm, 4096);
                io.ipcbridge.sem.Semaphore sem = io.ipcbridge.sem.Semaphore.createExclusively(shm, 0)) {
            assertEquals(0600, s.info().mode() & 0777);
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(Path.of("/dev/shm/sem." + shm.substring(1)))));
            assertTrue(Files.readString(Path.of("README.md")).contains("Mode 0600 matters most for semaphores and segments"),
                    "the README says why the mode matters");
        } finally {
            SharedMemory.unlink(shm);
            io.ipcbridge.sem.Semaphore.unlink(shm);
        }
    }
}
