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
import io.ipcbridge.testing.Peers;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Memfds a Python peer created and sealed (fcntl(2) "File sealing"), sent over a socket and mapped,
 * and ones Java sealed or published read-only and handed to Python and C peers (SEC-13).
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

    /** {@code n} bytes that differ from page to page and from a segment of zeros. */
    private static ByteBuffer pattern(int n) {
        ByteBuffer b = ByteBuffer.allocate(n);
        for (int i = 0; i < n; i++) {
            b.put((byte) (i * 31 + (i >>> 12)));
        }
        return b.flip();
    }

    @Test
    void aPublishedSegmentIsReadOnlyForTheCPeerItIsHandedTo() throws Exception {
        // SEC-13 "+F_SEAL_WRITE for read-only publication": the C peer gets the memfd on fd 3 and every
        // change it tries (write, truncate, writable mapping, another seal) is EPERM; it reads the bytes
        assertTimeoutPreemptively(LIMIT, () -> {
            ByteBuffer contents = pattern(10_000);
            try (SharedMemory pub = SharedMemory.publish("published", contents); Pipe out = Pipe.open()) {
                try (ChildProcess peer = Command.of(Peers.path("shm_peer"), "probe-fd", "3", "8")
                        .fd(3, pub).stdout(out.sink()).start()) {
                    out.sink().close();
                    String said = new String(out.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII);
                    assertEquals(0, peer.waitFor().code(), said);
                    assertEquals("seals 0xf\nsize 10000\npwrite EPERM\nftruncate EPERM\nmmap-write EPERM\n"
                            + "add-seals EPERM\n001f3e5d7c9bbad9\n", said);
                }
                assertEquals(contents, pub.buffer(), "nothing changed");
            }
        });
    }

    @Test
    void aPublishedSegmentSentOverASocketIsReadOnlyForPython() throws Exception {
        // SEC-13: SCM_RIGHTS to python3, which maps and hashes it and is refused every change
        assertTimeoutPreemptively(LIMIT, () -> {
            ByteBuffer contents = pattern(3 << 20 | 5); // more than one pwrite chunk
            String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(contents.duplicate().array()));
            try (SharedMemory pub = SharedMemory.publish("published", contents);
                    Socket.Pair pair = Socket.pair(Socket.Type.STREAM); Pipe out = Pipe.open()) {
                try (ChildProcess peer = Command.of("python3", "-c", "import errno, fcntl, hashlib, mmap, os, socket\n"
                        + "_, fds, _, _ = socket.recv_fds(socket.socket(fileno=3), 1, 1)\n"
                        + "fd = fds[0]\n"
                        + "def attempt(what, f):\n"
                        + "    try:\n"
                        + "        f()\n"
                        + "        print(what, 'done')\n"
                        + "    except OSError as e:\n"
                        + "        print(what, errno.errorcode[e.errno])\n"
                        + "attempt('write', lambda: os.pwrite(fd, b'x', 0))\n"
                        + "attempt('truncate', lambda: os.ftruncate(fd, 1))\n"
                        + "attempt('map', lambda: mmap.mmap(fd, 0))\n"
                        + "attempt('unseal', lambda: fcntl.fcntl(fd, fcntl.F_ADD_SEALS, 0x10))\n"
                        + "print(hex(fcntl.fcntl(fd, fcntl.F_GET_SEALS)))\n"
                        + "print(hashlib.sha256(mmap.mmap(fd, 0, prot=mmap.PROT_READ)).hexdigest())\n")
                        .fd(3, pair.second()).stdout(out.sink()).start()) {
                    out.sink().close();
                    pair.second().close();
                    pair.first().sendDescriptors(ByteBuffer.wrap(new byte[] {'m'}), List.of(pub.descriptor()));
                    String said = new String(out.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII);
                    assertEquals(0, peer.waitFor().code(), said);
                    assertEquals("write EPERM\ntruncate EPERM\nmap EPERM\nunseal EPERM\n0xf\n" + sha + "\n", said);
                }
            }
        });
    }

    @Test
    void aPublishedSegmentHoldsTheContentsAndRefusesEveryChangeInJavaToo() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            var fds = Fds.snapshot();
            ByteBuffer contents = pattern(5000).position(1000);
            try (SharedMemory pub = SharedMemory.publish("published", contents)) {
                assertEquals(1000, contents.position(), "the caller's buffer is left as it was");
                assertEquals(4000, pub.size(), "exactly the remaining bytes");
                assertEquals(contents, pub.buffer());
                assertTrue(pub.isReadOnly());
                assertEquals(EnumSet.of(SharedMemory.Seal.SEAL, SharedMemory.Seal.SHRINK, SharedMemory.Seal.GROW,
                        SharedMemory.Seal.WRITE), pub.seals());
                assertThrows(ReadOnlyBufferException.class, () -> pub.setInt(0, 1));
                assertThrows(ReadOnlyBufferException.class, () -> pub.buffer().put(0, (byte) 1));
                assertThrows(NonWritableChannelException.class, () -> pub.resize(8192));
                try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM)) {
                    pair.first().sendDescriptors(ByteBuffer.wrap(new byte[] {'m'}), List.of(pub.descriptor()));
                    Descriptor again = pair.second().receiveDescriptors(ByteBuffer.allocate(1), 1).get(0);
                    AccessDeniedException e = assertThrows(AccessDeniedException.class,
                            () -> SharedMemory.map(again, false));
                    assertTrue(e.getMessage().startsWith("mmap(received from socketpair): EPERM"), e.getMessage());
                }
            }
            Fds.assertNoneAdded(fds);
        });
    }

    @Test
    void publishRefusesBadInputBeforeAnyCall() {
        var fds = Fds.snapshot();
        IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
                () -> SharedMemory.publish("empty", ByteBuffer.allocate(8).position(8)));
        assertEquals("nothing to publish: contents has no bytes remaining", empty.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SharedMemory.publish("x".repeat(250), pattern(8)));
        assertThrows(IllegalArgumentException.class, () -> SharedMemory.publish("a\0b", pattern(8)));
        assertThrows(NullPointerException.class, () -> SharedMemory.publish("x", null));
        Fds.assertNoneAdded(fds);
    }

    @Test
    void sealsAreWhatTheKernelReports() throws Exception {
        try (SharedMemory loose = SharedMemory.memfd("loose", 4096, false);
                SharedMemory sized = SharedMemory.memfd("sized", 4096, true)) {
            assertEquals(Set.of(), loose.seals());
            assertEquals(EnumSet.of(SharedMemory.Seal.SHRINK, SharedMemory.Seal.GROW), sized.seals());
            sized.close();
            assertThrows(ClosedChannelException.class, sized::seals);
        }
        for (int seal : new int[] {F_SEAL_FUTURE_WRITE, F_SEAL_WRITE | F_SEAL_SHRINK}) {
            try (SharedMemory fromPython = SharedMemory.map(sealedByPython(4096, seal), true)) {
                assertEquals(seal == F_SEAL_FUTURE_WRITE ? EnumSet.of(SharedMemory.Seal.FUTURE_WRITE)
                        : EnumSet.of(SharedMemory.Seal.WRITE, SharedMemory.Seal.SHRINK), fromPython.seals());
            }
        }
        String name = io.ipcbridge.testing.Names.unique("sealed");
        try (SharedMemory named = SharedMemory.createExclusively(name, 4096)) {
            assertEquals(EnumSet.of(SharedMemory.Seal.SEAL), named.seals(), "shm_open objects are sealed shut");
        } finally {
            SharedMemory.unlink(name);
        }
    }
}
