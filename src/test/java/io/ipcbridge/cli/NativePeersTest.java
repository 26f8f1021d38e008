package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.Descriptor;
import io.ipcbridge.pipe.Fifo;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Building the C peers for the demo and the benchmark: {@link NativePeers}. */
class NativePeersTest {
    @TempDir
    Path dir;

    @Test
    void aMakeThatNeverEndsIsGivenUpAtTheTimeoutThoughItsOutputStaysOpen() throws Exception {
        // a hung build (here a recipe blocked reading a FIFO, holding make's stdout) used to keep the
        // demo waiting for the end of make's output, for ever: the timeout was only applied after it
        Path fifo = dir.resolve("never");
        Fifo.create(fifo);
        Files.writeString(dir.resolve("Makefile"), "all:\n\t@echo compiling; exec cat " + fifo + "\n");
        StringWriter err = new StringWriter();
        try (Descriptor held = Fifo.openReadWrite(fifo)) { // a writer that never writes: cat waits
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertFalse(
                    NativePeers.build(dir, dir.resolve("out"), new PrintWriter(err, true), Duration.ofMillis(100))));
        }
        assertTrue(err.toString().contains("ipcbridge: note: make timed out after 100ms"), err::toString);
    }

    @Test
    void aMakeThatEndsInTimeIsASuccessAndItsOutputIsPassedOn() throws Exception {
        Files.writeString(dir.resolve("Makefile"), "all:\n\t@echo built $(OUT)\n");
        StringWriter err = new StringWriter();
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertTrue(
                NativePeers.build(dir, dir.resolve("out"), new PrintWriter(err, true), Duration.ofSeconds(20))));
        assertEquals("built " + dir.resolve("out") + "\n", err.toString());
    }
}
