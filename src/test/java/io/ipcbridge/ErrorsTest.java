package io.ipcbridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.internal.posix.Errors;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Names;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
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

    /** One failing call: the errno name it failed with, or "EAGAIN" for a try that returned false. */
    private interface Failing {
        String errnoName() throws Exception;
    }

    /** The errno name of the IpcError that {@code call} throws. */
    private static Failing throwing(IoCall call) {
        return () -> {
            try {
                call.run();
            } catch (IOException e) {
                return ((IpcError) e).errnoName();
            }
            throw new AssertionError("the call succeeded");
        };
    }

    @Test
    void eachThreadSeesItsOwnErrnoUnderConcurrency() throws Exception {
        // X-01: 16 threads, each failing with its own errno 100,000 times, through each of the three
        // stubs that save errno (JNA's: sockets, mq_open; jnr-ffi's: read, write, sendto, sem_*;
        // jnr-posix's: mkfifo, fcntl), so that an errno read late, or from another stub's copy, shows
        int rounds = 100_000;
        Path file = Files.writeString(dir.resolve("file"), "");
        Path fifo = dir.resolve("fifo");
        Fifo.create(fifo);
        Files.createSymbolicLink(dir.resolve("loop-a"), dir.resolve("loop-b"));
        Files.createSymbolicLink(dir.resolve("loop-b"), dir.resolve("loop-a"));
        Address listening = Address.unix(dir.resolve("stream.sock"));
        String queue = Names.unique("x01");
        String sem = Names.unique("x01");
        String empty = Names.unique("x01");
        int directory = Syscalls.open(dir.toString(), Syscalls.O_RDONLY, 0, "dir");
        try (ServerSocket server = ServerSocket.listen(listening, Socket.Type.STREAM);
                Socket bound = Socket.bind(Address.unix(dir.resolve("dgram.sock")));
                Socket.Pair closedPeer = Socket.pair(Socket.Type.STREAM);
                Socket.Pair datagrams = Socket.pair(Socket.Type.DATAGRAM);
                Pipe pipe = Pipe.open();
                Descriptor dirFd = Descriptor.adopt(directory, "dir");
                MessageQueue q = MessageQueue.createExclusively(queue, 1, 16, 0600);
                Semaphore full = Semaphore.createExclusively(sem, Semaphore.VALUE_MAX);
                Semaphore none = Semaphore.createExclusively(empty, 0)) {
            closedPeer.second().close();
            Map<String, Failing> failing = new LinkedHashMap<>();
            failing.put("ENOENT", throwing(() -> Socket.connect(Address.unix(dir.resolve("missing")),
                    Socket.Type.STREAM)));
            failing.put("ECONNREFUSED", throwing(() -> Socket.connect(Address.unix(file), Socket.Type.STREAM)));
            failing.put("ENOTDIR", throwing(() -> Socket.connect(Address.unix(file.resolve("x")), Socket.Type.STREAM)));
            failing.put("ELOOP", throwing(() -> Socket.connect(Address.unix(dir.resolve("loop-a")), Socket.Type.STREAM)));
            failing.put("EADDRINUSE", throwing(() -> Socket.bind(bound.localAddress())));
            failing.put("ENAMETOOLONG", throwing(() -> Fifo.create(dir.resolve("n".repeat(256)))));
            failing.put("ENETUNREACH", throwing(() -> Socket.connect(Address.inet("255.255.255.255", 9),
                    Socket.Type.STREAM)));
            failing.put("EEXIST", throwing(() -> MessageQueue.createExclusively(queue, 1, 16, 0600)));
            failing.put("EPIPE", throwing(() -> closedPeer.first().write(ByteBuffer.allocateDirect(8))));
            ByteBuffer tooLarge = ByteBuffer.allocateDirect(400_000);
            failing.put("EMSGSIZE", throwing(() -> datagrams.first().write(tooLarge)));
            failing.put("EPROTOTYPE", throwing(() -> bound.sendTo(ByteBuffer.allocateDirect(8), listening)));
            failing.put("EISDIR", throwing(() -> dirFd.read(ByteBuffer.allocateDirect(8))));
            failing.put("EOVERFLOW", throwing(full::release));
            failing.put("EAGAIN", () -> none.tryAcquire() ? "acquired" : "EAGAIN");
            failing.put("EEXIST (mkfifo)", throwing(() -> Fifo.create(fifo)));
            failing.put("EPERM", throwing(() -> pipe.sink().setCapacity(64 << 20)));
            ExecutorService pool = Executors.newFixedThreadPool(failing.size());
            try {
                Map<String, Future<String>> mismatches = new LinkedHashMap<>();
                for (Map.Entry<String, Failing> f : failing.entrySet()) {
                    String expected = f.getKey().split(" ")[0];
                    assertEquals(expected, f.getValue().errnoName(), f.getKey() + ", alone");
                    mismatches.put(f.getKey(), pool.submit(() -> {
                        Map<String, Integer> seen = new java.util.TreeMap<>();
                        for (int i = 0; i < rounds; i++) {
                            String got = f.getValue().errnoName();
                            if (!got.equals(expected)) {
                                seen.merge(got, 1, Integer::sum);
                            }
                        }
                        return seen.toString();
                    }));
                }
                assertEquals(16, mismatches.size(), "16 threads, each with its own errno");
                for (Map.Entry<String, Future<String>> m : mismatches.entrySet()) {
                    assertEquals("{}", m.getValue().get(), m.getKey() + ": the other errnos seen");
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(Semaphore.VALUE_MAX, full.value(), "no release went through");
            assertEquals(0, q.attributes().currentMessages());
        } finally {
            MessageQueue.unlink(queue);
            Semaphore.unlink(sem);
            Semaphore.unlink(empty);
        }
    }

    private interface IoCall {
        void run() throws IOException;
    }
}
