package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.Descriptor;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Fds;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Memfds a Python peer created and sealed (fcntl(2) "File sealing"), sent over a socket and mapped,
 * and one Java sealed and handed to a Python peer (SEC-13).
 */
class SharedMemorySealedMemfdTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final int F_SEAL_SHRINK = 0x2;
    private static final int F_SEAL_GROW = 0x4;
    private static final int F_SEAL_WRITE = 0x8;
    private static final int F_SEAL_FUTURE_WRITE = 0x10;

    /** A memfd of {@code size} bytes with {@code seals} added, as a Python peer sends it. */
    private static Descriptor sealedByPython(int size, int seals) throws Exception {
        try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM)) {
            try (ChildProcess child = Command.of("python3", "-c", "import socket, os, sys, fcntl\n"
                    + "fd = os.memfd_create('sealed', os.MFD_ALLOW_SEALING)\n"
                    + "os.ftruncate(fd, int(sys.argv[1]))\n"
                    + "os.pwrite(fd, b'peer', 0)\n"
                    + "fcntl.fcntl(fd, fcntl.F_ADD_SEALS, int(sys.argv[2]))\n"
                    + "socket.send_fds(socket.socket(fileno=3), [b'p'], [fd])\n",
                    Integer.toString(size), Integer.toString(seals)).fd(3, pair.second()).start()) {
                pair.second().close();
                List<Descriptor> fds = pair.first().receiveDescriptors(ByteBuffer.allocate(4), 4);
                assertEquals(0, child.waitFor().code(), "the Python peer sealed and sent its memfd");
                assertEquals(1, fds.size());
                return fds.get(0);
            }
        }
    }

    @Test
    void aPeerHandedASizeSealedMemfdCannotShrinkItUnderTheReader() throws Exception {
        // SEC-13: the mode offered for untrusted peers, the other way round: Java seals its memfd
        // (F_SEAL_SHRINK | F_SEAL_GROW) and hands it over on fd 3; the peer's ftruncate(2) to 0 (a SIGBUS in
        // every reader of an unsealed object) and to 1 MiB are EPERM, and Java reads the whole of it
        assertTimeoutPreemptively(LIMIT, () -> {
            try (SharedMemory shm = SharedMemory.memfd("untrusted", 8192, true); Pipe out = Pipe.open()) {
                shm.setLong(8184, 42);
                try (ChildProcess peer = Command.of("python3", "-c", "import errno, os\n"
                        + "for size in (0, 1 << 20):\n"
                        + "    try:\n"
                        + "        os.ftruncate(3, size)\n"
                        + "        print(size, 'resized')\n"
                        + "    except OSError as e:\n"
                        + "        print(size, errno.errorcode[e.errno])\n"
                        + "print(os.fstat(3).st_size, os.pread(3, 8, 8184)[0])\n")
                        .fd(3, shm).stdout(out.sink()).start()) {
                    out.sink().close();
                    String said = new String(out.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII);
                    assertEquals(0, peer.waitFor().code(), said);
                    assertEquals("0 EPERM\n1048576 EPERM\n8192 42\n", said);
                }
                assertEquals(8192, shm.info().size());
                assertEquals(42, shm.getLong(8184), "the last word is still there to read");
            }
        });
    }

    @ParameterizedTest
    @ValueSource(ints = {F_SEAL_WRITE, F_SEAL_FUTURE_WRITE})
    void aMemfdSealedAgainstWritingIsRefusedReadWriteWithMmapAndEpermAndMapsReadOnly(int seal) throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            var fds = Fds.snapshot();
            Descriptor sealed = sealedByPython(4096, seal);
            AccessDeniedException e = assertThrows(AccessDeniedException.class, () -> SharedMemory.map(sealed, false),
                    "mmap(PROT_WRITE, MAP_SHARED) of a write-sealed memfd is EPERM");
            assertTrue(e.getMessage().startsWith("mmap(") && e.getMessage().contains("EPERM"), e.getMessage());
            assertFalse(sealed.isOpen(), "the refused descriptor is closed");
            Fds.assertNoneAdded(fds);
            try (SharedMemory ro = SharedMemory.map(sealedByPython(4096, seal), true)) {
                assertEquals('p', ro.buffer().get(0), "a read-only mapping shows the peer's bytes");
                assertThrows(ReadOnlyBufferException.class, () -> ro.setInt(0, 1));
                assertThrows(ReadOnlyBufferException.class, () -> ro.compareAndSetInt(0, 0, 1));
            }
        });
    }

    @ParameterizedTest
    @ValueSource(ints = {F_SEAL_SHRINK, F_SEAL_GROW})
    void aMemfdSealedAgainstResizingRefusesTheResizeAndKeepsItsSize(int seal) throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (SharedMemory s = SharedMemory.map(sealedByPython(8192, seal), false)) {
                long refused = seal == F_SEAL_SHRINK ? 4096 : 16384;
                AccessDeniedException e = assertThrows(AccessDeniedException.class, () -> s.resize(refused));
                assertTrue(e.getMessage().startsWith("ftruncate(") && e.getMessage().contains("EPERM"),
                        e.getMessage());
                assertEquals(8192, s.info().size(), "the object keeps its size");
                assertTrue(s.compareAndSetInt(8188, 0, 7), "updates up to the kept end still work");
                assertEquals(7, s.getInt(8188));
            }
        });
    }
}
