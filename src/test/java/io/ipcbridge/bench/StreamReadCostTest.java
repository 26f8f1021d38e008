package io.ipcbridge.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Peers;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code scripts/bench-stream-read} in its smallest mode, against real C echoes: every route's round
 * trips arrive (each echo exits after exactly its count) and the table is well-formed; no timing is
 * asserted.
 */
class StreamReadCostTest {
    @Test
    void threeRoutesAgainstTheirEchoesPrintATableAndLeaveNothingOpen() throws Exception {
        Path peer = Path.of(Peers.path("bench_peer")); // skips without the C peers
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Map<Integer, String> before = assertTimeoutPreemptively(Duration.ofMinutes(1), () -> {
            StreamReadCost.run(peer, 3, 1, out); // first: the libraries load what they keep open for good
            bytes.reset();
            Map<Integer, String> fds = Fds.snapshot();
            StreamReadCost.run(peer, 3, 10, out);
            return fds;
        });
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(5, lines.size(), String.join("\n", lines));
        assertTrue(lines.get(0).startsWith("# ") && lines.get(0).contains("3 rounds of 10 round trips"), lines.get(0));
        String number = "\\s+\\d+\\.\\d\\d\\s+";
        assertTrue(lines.get(2).matches("Socket\\.read \\(recvmsg\\)" + number + "\\d\\.\\d{3}x \\(95% CI .+\\)"),
                lines.get(2));
        assertTrue(lines.get(3).matches("Descriptor\\.read \\(read\\)" + number + "\\d\\.\\d{3}x \\(95% CI .+\\)"),
                lines.get(3));
        assertTrue(lines.get(4).matches("JDK SocketChannel\\.read \\(read\\)" + number + "-"), lines.get(4));
        Fds.assertNoneAdded(before);
    }
}
