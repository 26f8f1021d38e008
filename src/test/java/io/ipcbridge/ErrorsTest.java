package io.ipcbridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.internal.posix.Errors;
import io.ipcbridge.pipe.Fifo;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The errno mapping: JDK types, the message format, and errno read in the call's own stub. */
class ErrorsTest {
    @TempDir
    Path dir;

    @Test
    void errnoMapsToTheJdkTypesAndNamesTheCallTheObjectAndTheErrno() {
        // X-09: message "call(object): ENAME (text)", payload set
        assertInstanceOf(NoSuchFileException.class, Errors.exception("mq_open", "/orders", Errors.ENOENT));
        assertInstanceOf(FileAlreadyExistsException.class, Errors.exception("mq_open", "/orders", Errors.EEXIST));
        assertInstanceOf(AccessDeniedException.class, Errors.exception("mq_open", "/orders", Errors.EACCES));
        assertInstanceOf(AccessDeniedException.class, Errors.exception("kill", "1", Errors.EPERM));
        assertInstanceOf(PeerClosedException.class, Errors.exception("write", "pipe", Errors.EPIPE));
        assertInstanceOf(IpcResourceLimitException.class, Errors.exception("pipe2", "", Errors.EMFILE));
        IOException e = Errors.exception("mq_open", "/orders", Errors.EEXIST);
        assertEquals("mq_open(/orders): EEXIST (File exists)", e.getMessage());
        IpcError info = (IpcError) e;
        assertEquals(17, info.errno());
        assertEquals("EEXIST", info.errnoName());
        assertEquals("mq_open", info.call());
        assertEquals("/orders", info.object());
        IOException other = Errors.exception("poll", "fd 3", Errors.EINVAL);
        assertEquals(ErrnoException.class, other.getClass());
        assertTrue(other.getMessage().matches("^\\w+\\(.*\\): E[A-Z]+ \\(.*"), other.getMessage());
        assertTrue(Errors.exception("pipe2", "", Errors.EMFILE).getMessage().contains("RLIMIT_NOFILE"));
    }

    @Test
    void socketErrnosMapToTheJdkSocketExceptionTypes() {
        // as sun.nio.ch.Net's handleSocketError, ENETUNREACH aside (a NoRouteToHostException here)
        IOException timedOut = Errors.exception("connect", "192.0.2.9:80", Errors.ETIMEDOUT);
        assertEquals(ConnectTimedOutException.class, timedOut.getClass(), "not ConnectionRefusedException");
        assertInstanceOf(java.net.ConnectException.class, timedOut);
        assertEquals("connect(192.0.2.9:80): ETIMEDOUT (Connection timed out)", timedOut.getMessage());
        assertEquals(ErrnoException.class, Errors.exception("recvmsg", "192.0.2.9:80", Errors.ETIMEDOUT).getClass(),
                "a read's ETIMEDOUT (keepalive gave up) is no connect failure");
        for (int errno : new int[] {Errors.EHOSTUNREACH, Errors.ENETUNREACH}) {
            IOException e = Errors.exception("connect", "192.0.2.9:80", errno);
            assertInstanceOf(java.net.NoRouteToHostException.class, e);
            assertEquals(errno, ((IpcError) e).errno());
        }
        IOException notMine = Errors.exception("bind", "192.0.2.9:0", Errors.EADDRNOTAVAIL);
        assertInstanceOf(java.net.BindException.class, notMine);
        assertEquals("bind(192.0.2.9:0): EADDRNOTAVAIL (Cannot assign requested address)", notMine.getMessage());
    }

    @Test
    void ebadfOnAnOwnedDescriptorIsABugNotACondition() {
        assertThrows(IllegalStateException.class, () -> Errors.exception("read", "fd 3", Errors.EBADF));
    }

    @Test
    void eachThreadSeesItsOwnErrnoUnderConcurrency() throws Exception {
        // X-01: 16 threads, each expecting a different errno from its own failing calls
        Path existing = dir.resolve("exists");
        Fifo.create(existing);
        Path file = Files.writeString(dir.resolve("file"), "");
        List<Callable<IOException>> failing = List.of(
                () -> expectFailure(() -> Fifo.create(existing)),                      // EEXIST
                () -> expectFailure(() -> Fifo.create(dir.resolve("none/x"))),         // ENOENT
                () -> expectFailure(() -> Fifo.create(file.resolve("x"))),             // ENOTDIR
                () -> expectFailure(() -> Fifo.create(Path.of("/proc/x"))));          // ENOENT or EACCES-like
        String[] expected = new String[failing.size()];
        for (int i = 0; i < failing.size(); i++) {
            expected[i] = ((IpcError) failing.get(i).call()).errnoName();
        }
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<Integer>> mismatches = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int kind = t % failing.size();
                mismatches.add(pool.submit(() -> {
                    int bad = 0;
                    for (int i = 0; i < 5_000; i++) {
                        if (!expected[kind].equals(((IpcError) failing.get(kind).call()).errnoName())) {
                            bad++;
                        }
                    }
                    return bad;
                }));
            }
            for (Future<Integer> m : mismatches) {
                assertEquals(0, m.get(), "errno mismatches");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private interface Failing {
        void run() throws IOException;
    }

    private static IOException expectFailure(Failing call) {
        try {
            call.run();
        } catch (IOException e) {
            return e;
        }
        throw new AssertionError("the call succeeded");
    }
}
