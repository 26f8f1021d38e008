package io.ipcbridge.pipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.cli.PatternStream;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.testing.Peers;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/** Non-blocking writes to a slower reader lose and repeat nothing (RELIABILITY.md NL-07). */
class PipeNoLossTest {
    private static final Duration LIMIT = Duration.ofMinutes(2);

    @Test
    void nonBlockingWritesWithPartialCountsDeliverEveryByteOnce() throws Exception {
        // NL-07 at 256 MiB (the catalogue's 2 GiB through a pipe is LOAD-05's size): the writer is
        // non-blocking and writes 64 KiB at a time, so most writes are partial or refused (EAGAIN)
        // while the C sink drains; it waits for room with await and resends the rest. The sink's
        // byte count and CRC-32 equal the sent stream's.
        long total = 256L << 20;
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe p = Pipe.open(); Pipe out = Pipe.open();
                    ChildProcess sink = Command.of(Peers.path("pipe_peer"), "sink", "3").fd(3, p.source())
                            .stdout(out.sink()).start()) {
                p.source().close();
                out.sink().close();
                PipeSink w = p.sink();
                w.setNonBlocking(true);
                PatternStream pattern = new PatternStream(9);
                ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 16);
                CRC32 crc = new CRC32();
                long partial = 0;
                long refused = 0;
                for (long sent = 0; sent < total; ) {
                    chunk.clear().limit((int) Math.min(chunk.capacity(), total - sent));
                    pattern.fill(chunk);
                    chunk.flip();
                    crc.update(chunk.duplicate());
                    while (chunk.hasRemaining()) {
                        int before = chunk.remaining();
                        int n = w.write(chunk);
                        sent += n;
                        if (n == 0) {
                            refused++;
                            assertTrue(w.await(LIMIT), "room came");
                        } else if (n < before) {
                            partial++;
                        }
                    }
                }
                w.close();
                String line = new BufferedReader(new InputStreamReader(out.source().inputStream())).readLine();
                assertEquals(String.format("%d %08x", total, crc.getValue()), line, "every byte once, in order");
                assertTrue(sink.waitFor().success());
                assertTrue(partial + refused > 0, "the non-blocking path was taken: " + partial + " partial, "
                        + refused + " refused");
            }
        });
    }
}
