package io.ipcbridge.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The "&lt;count&gt; &lt;crc32&gt;" line a C sink prints, as the soak checks it: anything but the
 * expected line fails naming the peer and quoting what it printed, never with a
 * NumberFormatException that says neither.
 */
class SinkLineTest {
    private static final BenchSupport.Peer PIPE_PEER = new BenchSupport.Peer("/opt/peers/pipe_peer");

    @ParameterizedTest
    @ValueSource(strings = {"", "1048576", "sink: read: EIO", "1048576 zzzzzzzz", "99999999999999999999 0000abcd",
        "1048576 0000abcd trailing", "1048575 0000abcd", "1048576 0000abce"})
    void aLineThatIsNotTheExpectedCountAndCrcNamesThePeerAndQuotesIt(String line) {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> PIPE_PEER.checkSink("sink", line + "\n", 1048576, 0xabcd));
        assertEquals("pipe_peer sink printed '" + line + "', expected '1048576 0000abcd'", e.getMessage());
    }

    @Test
    void theExpectedLinePasses() {
        PIPE_PEER.checkSink("sink", "1048576 0000abcd\n", 1048576, 0xabcd);
        PIPE_PEER.checkSink("sink", "1048576 ffffffff", 1048576, -1);
    }
}
