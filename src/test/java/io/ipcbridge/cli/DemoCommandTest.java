package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.testing.Peers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** {@code ipcbridge demo}: every exchange runs against the real C peers and shell tools, and is OK. */
class DemoCommandTest {
    @Test
    void everyExchangeIsOk() throws IOException {
        Peers.path("pipe_peer"); // skips the test when the C peers were not built
        Peers.path("fifo_peer");
        Peers.path("mq_peer");
        Peers.path("shm_peer");
        Peers.path("sock_peer");
        Peers.path("conn_peer");
        Peers.path("ring_peer");
        Peers.path("owned_peer");
        Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> Cli.run("demo", "--size", "4MiB"));
        assertEquals(0, r.status(), r::toString);
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(0).startsWith("MECHANISM"), r::toString);
        List<String> rows = lines.subList(1, lines.size());
        assertEquals(17, rows.size(), r::toString);
        assertTrue(rows.stream().anyMatch(row -> row.startsWith("reap ")), () -> "the reaper's row: " + rows);
        assertEquals(2, rows.stream().filter(row -> row.startsWith("ring ")).count(), () -> "both ring rows: " + rows);
        for (String row : rows) {
            assertTrue(row.endsWith("  OK"), () -> "exchange OK: " + row + "\n" + r.err());
        }
        assertTrue(rows.get(0).contains(" 4194304 "), () -> "the size went through: " + rows.get(0));
        for (String mechanism : new String[] {"mq ", "shm+sem ", "unix-stream "}) {
            assertEquals(2, rows.stream().filter(row -> row.startsWith(mechanism) && row.contains(" 4194304 ")).count(),
                    () -> "both directions of " + mechanism + "moved 4 MiB: " + rows);
        }
        // the AF_UNIX rows: stream both ways through socketpair(2) on the peer's fd 3, seqpacket echoed (UDS-11)
        assertTrue(rows.stream().anyMatch(row -> row.startsWith("unix-stream ") && row.contains("Java -> C")
                && row.contains(" 4194304 ")), () -> rows.toString());
        assertTrue(rows.stream().anyMatch(row -> row.startsWith("unix-stream ") && row.contains("C -> Java")
                && row.contains(" 4194304 ")), () -> rows.toString());
        assertTrue(rows.stream().anyMatch(row -> row.startsWith("unix-seqpacket ") && row.contains(" 4194304 ")),
                () -> rows.toString());
        // multiprocessing.connection framing, echoed by C: 0, 2^k - 1, 2^k, 2^k + 1 up to 1 MiB
        long connBytes = DemoCommand.connSizes(1 << 20).stream().mapToLong(Integer::longValue).sum();
        assertTrue(rows.stream().anyMatch(row -> row.startsWith("conn ") && row.contains(" " + connBytes + " ")),
                () -> rows.toString());
        assertEquals("", r.err(), "no notes: the peers were found");
        String mine = "ipcb-demo-" + ProcessHandle.current().pid() + "-";
        for (String dir : new String[] {"/dev/shm", "/dev/mqueue"}) {
            if (!Files.isDirectory(Path.of(dir))) {
                continue; // no mqueue filesystem here: nothing to list
            }
            try (Stream<Path> left = Files.list(Path.of(dir))) {
                assertEquals(List.of(), left.map(p -> p.getFileName().toString()).filter(f -> f.contains(mine)).toList(),
                        "the demo removed its queues and segments from " + dir);
            }
        }
    }
}
