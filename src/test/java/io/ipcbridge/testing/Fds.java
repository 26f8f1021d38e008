package io.ipcbridge.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ipcbridge.socket.Socket;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * This process's open descriptors, read from /proc/self/fd, for leak checks. A check compares
 * what is open (number and target) with a snapshot taken before, so that a descriptor some other
 * test left to the garbage collector, closed meanwhile, cannot make it fail or pass wrongly.
 */
public final class Fds {
    /** The name of the ring peer watcher's thread (io.ipcbridge.ring.PeerWatch). */
    private static final String RING_WATCHER = "ipcbridge-ring-watcher";
    /** O_CLOEXEC as /proc/self/fdinfo shows it in "flags" (octal): the descriptor's FD_CLOEXEC. */
    private static final int O_CLOEXEC = 02000000;

    static {
        // What the library and the JDK open once and keep for the life of the JVM (the dead socket a
        // close swaps in, the JDK's own pre-close socket, JNA's closure file) is opened here, before
        // any snapshot, so that a test run alone does not count it as its leak.
        try (Socket.Pair warmUp = Socket.pair(Socket.Type.STREAM)) {
            warmUp.first().write(ByteBuffer.wrap(new byte[] {1}));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Fds() {
    }

    /** The open descriptors: number to link target ("pipe:[1234]", "/dev/shm/x", ...). */
    public static Map<Integer, String> snapshot() {
        try (Stream<Path> entries = Files.list(Path.of("/proc/self/fd"))) {
            Map<Integer, String> fds = new TreeMap<>();
            String listing = "/proc/" + ProcessHandle.current().pid() + "/fd";
            entries.forEach(p -> {
                try {
                    String target = Files.readSymbolicLink(p).toString();
                    // not the listing's own descriptor, whatever its number, nor the cgroup files the
                    // JVM itself reads now and then (memory.stat, when it looks at the memory available)
                    if (!target.equals(listing) && !target.startsWith("/sys/fs/cgroup/")) {
                        fds.put(Integer.parseInt(p.getFileName().toString()), target);
                    }
                } catch (IOException closedMeanwhile) {
                    // closed by another thread while listed
                }
            });
            return fds;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The descriptors open now that were not open, with the same target, in {@code before}. The
     * library's ring peer watcher (a daemon thread) closes its wake-up pipe itself once the last
     * watching ring has closed, shortly after that close returns: while some are added and the
     * watcher still runs, it is waited for (at most 10 s) before they are counted.
     */
    public static Map<Integer, String> addedSince(Map<Integer, String> before) {
        Map<Integer, String> added = added(before);
        if (!added.isEmpty()) {
            long deadline = System.nanoTime() + 10_000_000_000L;
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().equals(RING_WATCHER)) {
                    try {
                        t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return added;
                    }
                }
            }
            added = added(before);
        }
        return added;
    }

    private static Map<Integer, String> added(Map<Integer, String> before) {
        Map<Integer, String> added = snapshot();
        added.entrySet().removeIf(e -> e.getValue().equals(before.get(e.getKey())));
        return added;
    }

    /** Whether descriptor {@code fd} has FD_CLOEXEC, read from /proc/self/fdinfo (O_CLOEXEC in "flags"). */
    public static boolean closeOnExec(int fd) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
            if (line.startsWith("flags:")) {
                return (Integer.parseInt(line.substring(6).trim(), 8) & O_CLOEXEC) != 0;
            }
        }
        throw new IllegalStateException("no flags line for fd " + fd);
    }

    /** Fails if a descriptor was opened since {@code before} and is still open. */
    public static void assertNoneAdded(Map<Integer, String> before) {
        assertEquals(Map.of(), addedSince(before), "descriptors left open");
    }
}
