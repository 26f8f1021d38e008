package io.ipcbridge.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.ConnectionResetException;
import io.ipcbridge.PeerClosedException;
import io.ipcbridge.process.ChildProcess;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.time.Duration;

/** A C peer SIGKILLed in the middle of a transfer, for every channel kind (RELIABILITY.md FAULT-01). */
public final class PeerDeath {
    /** FAULT-01's bound: a dead peer surfaces within 1 s. */
    private static final Duration SURFACES = Duration.ofSeconds(1);

    private PeerDeath() {
    }

    /** Reads up to end of file; returns everything read. */
    public static byte[] drain(ReadableByteChannel in) throws IOException {
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocateDirect(1 << 17);
        while (in.read(b.clear()) >= 0) {
            byte[] chunk = new byte[b.flip().remaining()];
            b.get(chunk);
            all.write(chunk, 0, chunk.length);
        }
        return all.toByteArray();
    }

    /** Kills the writer after the first bytes came; the reader must then reach end of file within 1 s. */
    public static void writerKilledMidTransferSurfacesAsEndOfFile(ReadableByteChannel in, ChildProcess writer)
            throws Exception {
        ByteBuffer first = ByteBuffer.allocateDirect(1 << 17); // room for a whole seqpacket message
        assertTrue(in.read(first) > 0, "the transfer has started");
        writer.kill();
        assertTimeoutPreemptively(SURFACES, () -> drain(in), "end of file within 1 s of the kill");
        assertEquals(-1, in.read(first.clear()), "and again");
        assertEquals(9, writer.waitFor().signal());
    }

    /** Kills the reader after the first write; the next writes must fail as the peer gone within 1 s. */
    public static void readerKilledMidTransferSurfacesAsPeerClosed(WritableByteChannel out, ChildProcess reader)
            throws Exception {
        ByteBuffer chunk = ByteBuffer.allocateDirect(4096);
        assertEquals(4096, out.write(chunk), "the transfer has started");
        reader.kill();
        assertEquals(9, reader.waitFor().signal());
        IOException e = assertTimeoutPreemptively(SURFACES, () -> assertThrows(IOException.class, () -> {
            for (;;) {
                out.write(chunk.clear());
            }
        }), "a peer-closed error within 1 s of the kill");
        // EPIPE; or ECONNRESET where the killed socket reader left data unread (UDS-06)
        assertTrue(e instanceof PeerClosedException || e instanceof ConnectionResetException, e.toString());
    }

}
