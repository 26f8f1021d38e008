package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.pipe.PipeSink;
import io.ipcbridge.pipe.PipeSource;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.cli.PatternStream;
import io.ipcbridge.testing.Peers;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Java and a real C program exchange data over a pipe on fd 3 and over a FIFO, checksums compared. */
class PipeInteropTest {
    private static final long GIB = 1L << 30;
    private static final int CHUNK = 64 * 1024;
    private static final Duration LIMIT = Duration.ofMinutes(3);

    @TempDir
    Path dir;

    /** Writes {@code bytes} of pattern(seed) to {@code sink}; returns the CRC-32 of what was sent. */
    private static String send(PipeSink sink, long bytes, long seed) throws Exception {
        PatternStream pattern = new PatternStream(seed);
        CRC32 crc = new CRC32();
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        for (long left = bytes; left > 0; ) {
            buf.clear().limit((int) Math.min(CHUNK, left));
            pattern.fill(buf);
            buf.flip();
            crc.update(buf.duplicate());
            left -= sink.write(buf);
        }
        return bytes + " " + String.format("%08x", crc.getValue());
    }

    /** Reads {@code source} to end of file; returns "count crc" as the C sink prints it. */
    private static String receive(PipeSource source) throws Exception {
        CRC32 crc = new CRC32();
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        long total = 0;
        for (int n; (n = source.read(buf.clear())) >= 0; ) {
            buf.flip();
            crc.update(buf);
            total += n;
        }
        return total + " " + String.format("%08x", crc.getValue());
    }

    private static String expected(long bytes, long seed) {
        PatternStream pattern = new PatternStream(seed);
        CRC32 crc = new CRC32();
        ByteBuffer buf = ByteBuffer.allocate(CHUNK);
        for (long left = bytes; left > 0; left -= buf.limit()) {
            buf.clear().limit((int) Math.min(CHUNK, left));
            pattern.fill(buf);
            crc.update(buf.flip());
        }
        return bytes + " " + String.format("%08x", crc.getValue());
    }

    private static String stdoutOf(ChildProcess child, Pipe out) throws Exception {
        String text = new String(out.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        assertTrue(child.waitFor().success(), "the C peer succeeded");
        return text;
    }

    @Test
    void oneGibFromJavaToACPeerOnFd3ArrivesIntact() throws Exception {
        String peer = Peers.path("pipe_peer");
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe data = Pipe.open(); Pipe out = Pipe.open();
                    ChildProcess child = Command.of(peer, "sink", "3").fd(3, data.source()).stdout(out.sink()).start()) {
                data.source().close();
                out.sink().close();
                String sent = send(data.sink(), GIB, 11);
                data.sink().close();
                assertEquals(sent, stdoutOf(child, out));
            }
        });
    }

    @Test
    void oneGibFromACPeerOnFd3ToJavaArrivesIntact() throws Exception {
        String peer = Peers.path("pipe_peer");
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe data = Pipe.open();
                    ChildProcess child = Command.of(peer, "source", "3", Long.toString(GIB), "12")
                            .fd(3, data.sink()).start()) {
                data.sink().close();
                assertEquals(expected(GIB, 12), receive(data.source()));
                assertTrue(child.waitFor().success());
            }
        });
    }

    @Test
    void aFifoCarriesDataBetweenJavaAndACPeerBothWays() throws Exception {
        String peer = Peers.path("fifo_peer");
        Path fifo = dir.resolve("fifo");
        Fifo.create(fifo);
        long bytes = 64L << 20;
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe out = Pipe.open();
                    ChildProcess child = Command.of(peer, "sink", fifo.toString()).stdout(out.sink()).start()) {
                out.sink().close();
                String sent;
                try (PipeSink w = Fifo.openWriter(fifo)) {
                    sent = send(w, bytes, 21);
                }
                assertEquals(sent, stdoutOf(child, out));
            }
            try (ChildProcess child = Command.of(peer, "source", fifo.toString(), Long.toString(bytes), "22").start()) {
                try (PipeSource r = Fifo.openReader(fifo)) {
                    assertEquals(expected(bytes, 22), receive(r));
                }
                assertTrue(child.waitFor().success());
            }
        });
    }
}
