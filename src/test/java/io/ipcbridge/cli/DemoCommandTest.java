package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.testing.Peers;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code ipcbridge demo}: every exchange runs against the real C peers and shell tools, and is OK. */
class DemoCommandTest {
    @Test
    void everyExchangeIsOk() {
        Peers.path("pipe_peer"); // skips the test when the C peers were not built
        Peers.path("fifo_peer");
        Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> Cli.run("demo", "--size", "4MiB"));
        assertEquals(0, r.status(), r::toString);
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(0).startsWith("MECHANISM"), r::toString);
        List<String> rows = lines.subList(1, lines.size());
        assertEquals(6, rows.size(), r::toString);
        for (String row : rows) {
            assertTrue(row.endsWith("  OK"), () -> "exchange OK: " + row + "\n" + r.err());
        }
        assertTrue(rows.get(0).contains(" 4194304 "), () -> "the size went through: " + rows.get(0));
        assertEquals("", r.err(), "no notes: the peers were found");
    }
}
