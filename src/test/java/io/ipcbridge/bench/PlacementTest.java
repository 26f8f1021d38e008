package io.ipcbridge.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.testing.Peers;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The bench keeps the two sides of a latency run on one CPU by pinning the thread that starts them:
 * what it starts inherits the pin, and the thread gets its CPUs back afterwards.
 */
class PlacementTest {
    @Test
    void whatAPinnedThreadStartsRunsOnItsOneCpuAndTheThreadGetsItsCpusBack() throws Exception {
        long[] before = Syscalls.cpuAffinity();
        String first = Integer.toString(firstCpu(before));
        AtomicReference<String> thread = new AtomicReference<>();
        String child = Bench.onOneCpu(() -> {
            Thread t = new Thread(() -> thread.set(allowed(Path.of("/proc/thread-self/status"))));
            t.start();
            t.join();
            try (Pipe out = Pipe.open();
                    ChildProcess grep = Command.of("grep", "Cpus_allowed_list", "/proc/self/status").stdout(out.sink())
                            .start()) {
                out.sink().close();
                String line = new String(out.source().inputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
                assertTrue(grep.waitFor().success());
                return line;
            }
        });
        assertEquals(first, thread.get(), "a thread started meanwhile");
        assertEquals("Cpus_allowed_list:\t" + first, child, "a process spawned meanwhile");
        assertArrayEquals(before, Syscalls.cpuAffinity(), "the thread's CPUs, back");
    }

    @Test
    void aLatencyRunLeavesTheThreadItsCpus() throws Exception {
        Path peers = Path.of(Peers.path("bench_peer")).getParent(); // skips without the C peers
        long[] before = Syscalls.cpuAffinity();
        StringWriter progress = new StringWriter();
        List<Result> results = Bench.run(new Bench.Options(List.of("pipe"), Bench.MIN_BYTES, 20, 5, 1, peers, "python3",
                false), new PrintWriter(progress));
        assertEquals(8, results.size(), progress::toString);
        assertArrayEquals(before, Syscalls.cpuAffinity());
    }

    private static int firstCpu(long[] mask) {
        for (int i = 0; i < mask.length; i++) {
            if (mask[i] != 0) {
                return i * 64 + Long.numberOfTrailingZeros(mask[i]);
            }
        }
        throw new AssertionError("no CPU");
    }

    private static String allowed(Path status) {
        try {
            return Files.readAllLines(status).stream().filter(l -> l.startsWith("Cpus_allowed_list:"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElseThrow();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
