package io.ipcbridge.socket;

import static io.ipcbridge.socket.SocketTest.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.IpcResourceLimitException;
import io.ipcbridge.internal.posix.Errors;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.testing.Fds;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * FD-10: descriptors received at the receiver's RLIMIT_NOFILE. This JVM's soft limit is lowered
 * with prlimit(1) for the one receive, to just above the descriptors open now, and then restored.
 */
class DescriptorLimitTest {
    private static final int SLACK = 16;

    /** Sets this process's soft RLIMIT_NOFILE (the hard one stays) with prlimit(1). */
    private static void setSoftLimit(long soft, long hard) throws Exception {
        Process p = new ProcessBuilder("prlimit", "--pid", Long.toString(ProcessHandle.current().pid()),
                "--nofile=" + soft + ":" + hard).redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        assertEquals(0, p.waitFor(), "prlimit --nofile=" + soft + ":" + hard);
    }

    /** {soft, hard} RLIMIT_NOFILE of this process, from /proc/self/limits. */
    private static long[] limits() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (line.startsWith("Max open files")) {
                String[] f = line.substring("Max open files".length()).trim().split("\\s+");
                return new long[] {Long.parseLong(f[0]), Long.parseLong(f[1])};
            }
        }
        throw new IllegalStateException("no open-files line in /proc/self/limits");
    }

    @Test
    @DisplayName("FD-10: descriptors beyond the receiver's RLIMIT_NOFILE are reported, and those that arrived are closed")
    void descriptorsBeyondTheReceiversLimitAreReportedAndNoneLeaks() throws Exception {
        long[] saved = limits();
        try (Socket.Pair p = Socket.pair(Socket.Type.STREAM); Pipe pipe = Pipe.open()) {
            Map<Integer, String> before = Fds.snapshot();
            int highest = Collections.max(before.keySet());
            long soft = highest + 1 + SLACK; // numbers 0..soft-1; SLACK of them above the highest are free
            int free = (int) (soft - before.size() - 1); // less one for the listing's own descriptor
            int sent = Math.min(253, free + 20);
            assertTrue(free < sent, "more are sent than fit: " + free + " free, " + sent + " sent");
            p.first().sendDescriptors(text("x"), Collections.nCopies(sent, pipe.sink().descriptor()));
            ByteBuffer data = ByteBuffer.allocate(1);
            setSoftLimit(soft, saved[1]);
            AncillaryDataTruncatedException e;
            try {
                e = assertThrows(AncillaryDataTruncatedException.class,
                        () -> p.second().receiveDescriptors(data, sent));
            } finally {
                setSoftLimit(saved[0], saved[1]);
            }
            assertEquals(1, e.dataLength(), "the data byte was kept");
            Fds.assertNoneAdded(before);
            p.first().sendDescriptors(text("y"), List.of(pipe.sink().descriptor()));
            p.second().receiveDescriptors(data.clear(), 1).get(0).close(); // with room again, it works
        }
    }

    @Test
    @DisplayName("FD-10: ETOOMANYREFS (too many descriptors in flight) is a resource-limit exception")
    void tooManyDescriptorsInFlightIsAResourceLimit() {
        // the kernel raises it only for a sender without CAP_SYS_ADMIN and CAP_SYS_RESOURCE: root skips the check
        IpcResourceLimitException e = assertThrows(IpcResourceLimitException.class, () -> {
            throw Errors.exception("sendmsg", "socketpair", Errors.ETOOMANYREFS);
        });
        assertEquals("ETOOMANYREFS", e.errnoName());
        assertTrue(e.getMessage().startsWith("sendmsg(socketpair): ETOOMANYREFS (Too many references"), e.getMessage());
    }
}
