package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.ring.Ring;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Names;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * SEC-14: {@code unlinkOnClose()} of a segment, a named semaphore, a queue and a ring. A Python
 * peer sees the name through the C calls (shm_open, sem_open, mq_open through ctypes), and
 * replaces the object under it (unlink, then an exclusive create) as another process would.
 */
class UnlinkOnCloseTest {
    /** argv: KIND NAME present|create|replace; prints "present"/"absent", or "created". */
    private static final String PEER = String.join("\n",
            "import ctypes, os, sys",
            "c = ctypes.CDLL(None, use_errno=True)",
            "c.sem_open.restype = ctypes.c_void_p",
            "kind, name, action = sys.argv[1], sys.argv[2].encode(), sys.argv[3]",
            "def check(ok, call):",
            "    if not ok:",
            "        e = ctypes.get_errno()",
            "        raise OSError(e, call + '(' + sys.argv[2] + '): ' + os.strerror(e))",
            "def present():",
            "    if kind == 'shm':",
            "        h = c.shm_open(name, os.O_RDONLY, 0); ok = h >= 0; ok and os.close(h)",
            "    elif kind == 'sem':",
            "        h = c.sem_open(name, 0); ok = h is not None; ok and c.sem_close(ctypes.c_void_p(h))",
            "    else:",
            "        h = c.mq_open(name, os.O_RDONLY); ok = h >= 0; ok and c.mq_close(h)",
            "    if not ok and ctypes.get_errno() != 2:",
            "        check(False, kind + '_open')",
            "    return ok",
            "if action == 'present':",
            "    print('present' if present() else 'absent')",
            "    sys.exit()",
            "if action == 'replace':",
            "    check(getattr(c, kind + '_unlink')(name) == 0, kind + '_unlink')",
            "flags = os.O_RDWR | os.O_CREAT | os.O_EXCL",
            "if kind == 'shm':",
            "    h = c.shm_open(name, flags, 0o600); check(h >= 0, 'shm_open'); os.ftruncate(h, 8192); os.close(h)",
            "elif kind == 'sem':",
            "    h = c.sem_open(name, os.O_CREAT | os.O_EXCL, 0o600, 7); check(h is not None, 'sem_open')",
            "    c.sem_close(ctypes.c_void_p(h))",
            "else:",
            "    h = c.mq_open(name, flags, 0o600, None); check(h >= 0, 'mq_open'); c.mq_close(h)",
            "print('created')");

    /** A handle the tests close and ask {@code unlinkOnClose()} of. */
    @FunctionalInterface
    private interface Make {
        AutoCloseable make(String name) throws IOException;
    }

    /** {@code unlinkOnClose()} of a handle of the kind. */
    @FunctionalInterface
    private interface OptIn {
        AutoCloseable unlinkOnClose(AutoCloseable handle) throws IOException;
    }

    enum Kind {
        SHM(n -> SharedMemory.createExclusively(n, 4096), SharedMemory::open,
                h -> ((SharedMemory) h).unlinkOnClose(), SharedMemory::unlink),
        SEM(n -> Semaphore.createExclusively(n, 0), Semaphore::open,
                h -> ((Semaphore) h).unlinkOnClose(), Semaphore::unlink),
        MQ(MessageQueue::createExclusively, n -> MessageQueue.open(n, MessageQueue.Access.READ),
                h -> ((MessageQueue) h).unlinkOnClose(), MessageQueue::unlink),
        RING(n -> Ring.create(n, 1024), Ring::open, h -> ((Ring) h).unlinkOnClose(), Ring::unlink);

        private final Make create;
        private final Make open;
        private final OptIn optIn;
        private final Created.Unlink unlink;

        Kind(Make create, Make open, OptIn optIn, Created.Unlink unlink) {
            this.create = create;
            this.open = open;
            this.optIn = optIn;
            this.unlink = unlink;
        }

        /** What the peer calls it: shm (a ring is a shm object), sem or mq. */
        String word() {
            return this == RING ? "shm" : name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final List<Runnable> cleanups = new ArrayList<>();

    @AfterEach
    void unlinkAll() {
        cleanups.forEach(Runnable::run);
    }

    private String name(Kind kind) {
        Created created = new Created("unl", kind.unlink);
        cleanups.add(created::unlinkAll);
        return created.add(Names.unique("unl"));
    }

    /** Runs the peer on {@code name} and returns its one line of output. */
    private static String peer(Kind kind, String name, String action) throws Exception {
        Process p = new ProcessBuilder("python3", "-c", PEER, kind.word(), name, action).redirectErrorStream(true)
                .start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), "peer " + action + " " + name + ": " + out);
            return out.trim();
        } finally {
            p.destroyForcibly();
            io.ipcbridge.testing.Peers.closeStreams(p);
        }
    }

    /** Runs {@code body} (at most 60 s) and fails if it left a descriptor open. */
    private static void leavesNoDescriptorOpen(Executable body) {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            var fds = Fds.snapshot();
            body.execute();
            Fds.assertNoneAdded(fds);
        });
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void theFirstCloseOfAHandleThatOptedInRemovesTheNameTheSecondNothing(Kind kind) throws Exception {
        // SEC-14: the opted-in handle (here one that opened the object) removes the name at its
        // close, which the peer then no longer finds; a handle that did not opt in leaves it; a
        // second close removes nothing (not the object the peer made under the name meanwhile);
        // nothing stays open.
        String n = name(kind);
        leavesNoDescriptorOpen(() -> {
            try (AutoCloseable creator = kind.create.make(n)) {
                AutoCloseable opener = kind.open.make(n);
                assertSame(opener, kind.optIn.unlinkOnClose(opener), "unlinkOnClose() returns the handle");
                try (AutoCloseable other = kind.open.make(n)) {
                    assertEquals("present", peer(kind, n, "present"), "the name is there while open");
                }
                assertEquals("present", peer(kind, n, "present"), "a handle that did not opt in leaves the name");
                opener.close();
                assertEquals("absent", peer(kind, n, "present"), "the opted-in handle's close removed the name");
                assertEquals("created", peer(kind, n, "create"));
                opener.close();
                assertEquals("present", peer(kind, n, "present"), "a second close removes nothing");
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void anObjectAPeerPutUnderTheNameMeanwhileIsLeftAlone(Kind kind) throws Exception {
        // SEC-14: another process unlinked the object this handle created and made a new one under
        // the name; the close, whose lstat finds another inode there, leaves it.
        String n = name(kind);
        leavesNoDescriptorOpen(() -> {
            try (AutoCloseable h = kind.optIn.unlinkOnClose(kind.create.make(n))) {
                assertEquals("created", peer(kind, n, "replace"));
            }
            assertEquals("present", peer(kind, n, "present"), "the peer's object keeps its name");
        });
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void aNameAlreadyGoneIsNoFailureAndAClosedHandleCannotOptIn(Kind kind) throws Exception {
        // SEC-14
        String n = name(kind);
        AutoCloseable h = kind.optIn.unlinkOnClose(kind.create.make(n));
        kind.unlink.unlink(n);
        h.close();
        assertEquals("absent", peer(kind, n, "present"));
        try (AutoCloseable closed = kind.create.make(n)) {
            closed.close();
            assertThrows(ClosedChannelException.class, () -> kind.optIn.unlinkOnClose(closed));
        }
        assertEquals("present", peer(kind, n, "present"), "a closed handle's refused opt-in removes nothing");
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"SHM", "SEM"})
    void aFailedUnlinkIsThrownFromCloseNamingTheCallOnceTheHandleIsClosed(Kind kind) throws Exception {
        // SEC-14: the object's file made immutable (chattr +i; tmpfs has the flag since Linux 6.0,
        // the mqueue filesystem has not) refuses the unlink with EPERM, root's too. The close
        // throws it, having closed the handle all the same; a second close tries nothing more.
        String n = name(kind);
        Path file = Path.of(kind == Kind.SHM ? "/dev/shm" + n : "/dev/shm/sem." + n.substring(1));
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            var fds = Fds.snapshot();
            AutoCloseable h = kind.optIn.unlinkOnClose(kind.create.make(n));
            String set = chattr("+i", file);
            try {
                assumeTrue(set.isEmpty(), "chattr +i " + file + ": " + set);
                IOException e = assertThrows(IOException.class, h::close);
                assertEquals(kind.word() + "_unlink(" + n + "): EPERM (Operation not permitted)", e.getMessage());
                Fds.assertNoneAdded(fds);
                h.close();
            } finally {
                chattr("-i", file);
            }
            assertEquals("present", peer(kind, n, "present"), "the name stays where the unlink failed");
        });
    }

    /** chattr(1) {@code flag} of {@code file}: its output, empty if it succeeded. */
    private static String chattr(String flag, Path file) throws Exception {
        Process p = new ProcessBuilder("chattr", flag, file.toString()).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.waitFor() == 0 ? "" : "exit " + p.exitValue() + ": " + out;
        } finally {
            io.ipcbridge.testing.Peers.closeStreams(p);
        }
    }

    @Test
    void aQueueClosedByAnInterruptIsStillUnlinkedByItsClose() throws Exception {
        // SEC-14: an interrupt closed the queue's descriptor, as the JDK's channels do; the close
        // of the handle after it, as try-with-resources makes it, still removes the name.
        String n = name(Kind.MQ);
        MessageQueue q = MessageQueue.createExclusively(n).unlinkOnClose();
        Thread.currentThread().interrupt();
        try {
            assertThrows(java.nio.channels.ClosedByInterruptException.class, q::receive);
        } finally {
            Thread.interrupted();
        }
        assertEquals("present", peer(Kind.MQ, n, "present"));
        q.close();
        assertEquals("absent", peer(Kind.MQ, n, "present"), "the close after the interrupt removed the name");
    }

    @Test
    void objectsWithoutANameRefuseToOptIn() throws Exception {
        // SEC-14: a memfd, a mapped descriptor and the semaphores in a segment have no name to remove
        try (SharedMemory memfd = SharedMemory.memfd("unl", 4096, false);
                SharedMemory mapped = SharedMemory.map(SharedMemory.memfd("unl", 4096, false).descriptor(), false);
                Semaphore initialized = Semaphore.initialize(memfd, 0, 1);
                Semaphore attached = Semaphore.attach(memfd, 0)) {
            assertEquals("memfd:unl has no name in /dev/shm to unlink",
                    assertThrows(IllegalStateException.class, memfd::unlinkOnClose).getMessage());
            assertThrows(IllegalStateException.class, mapped::unlinkOnClose);
            assertEquals("semaphore memfd:unl+0 lies in a segment and has no name to unlink",
                    assertThrows(IllegalStateException.class, initialized::unlinkOnClose).getMessage());
            assertThrows(IllegalStateException.class, attached::unlinkOnClose);
        }
        try (Ring ring = Ring.memfd("unl", 1024, 100, false)) {
            assertEquals("memfd:unl has no name in /dev/shm to unlink",
                    assertThrows(IllegalStateException.class, ring::unlinkOnClose).getMessage());
        }
    }
}
