package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.Peers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ipcbridge shm write|read} as real commands in child JVMs with raw stdin and stdout, against
 * the C peer native-tests/shm_peer.c (read, write) on the same segment.
 */
class ShmStdioTest {
    private static final Duration BOUND = Duration.ofSeconds(60);
    private final Created created = new Created("clishm", SharedMemory::unlink);

    @TempDir
    Path dir;

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    /** Runs shm_peer to its end; returns its stdout, asserting exit 0. */
    private String peer(String... args) throws Exception {
        return Peers.run(dir.resolve("peer.err"), "shm_peer", args);
    }

    /** Runs the CLI in a child JVM with {@code stdin} as its stdin, to its end. */
    private Cli.Child cli(byte[] stdin, String... args) throws Exception {
        return Cli.child(dir, BOUND, stdin, args);
    }

    private static byte[] everyByteValue() {
        byte[] data = new byte[256];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) i;
        }
        return data;
    }

    @Test
    void writeAtAnOffsetIsWhatTheCPeerReads() {
        // Binary-safe (every byte value) from stdin into the segment, seen by C at the same offset.
        assertTimeoutPreemptively(BOUND, () -> {
            String name = created.name();
            assertEquals(0, Cli.run("shm", "create", name, "--size", "1k").status());
            byte[] data = everyByteValue();
            Cli.Child r = cli(data, "shm", "write", name, "--offset", "512");
            assertEquals(0, r.status(), r::err);
            assertEquals("", r.err());
            assertEquals(HexFormat.of().formatHex(data) + "\n", peer("read", name, "512", "256"));
            assertEquals("00".repeat(512) + "\n", peer("read", name, "0", "512"), "nothing before the offset changed");
        });
    }

    @Test
    void readGivesWhatTheCPeerWrote() {
        assertTimeoutPreemptively(BOUND, () -> {
            String name = created.name();
            assertEquals(0, Cli.run("shm", "create", name, "--size", "300").status());
            byte[] data = everyByteValue();
            peer("write", name, "44", HexFormat.of().formatHex(data));
            Cli.Child part = cli(new byte[0], "shm", "read", name, "--offset", "44", "--length", "256");
            assertEquals(0, part.status(), part::err);
            assertArrayEquals(data, part.out());
            Cli.Child all = cli(new byte[0], "shm", "read", name);
            assertEquals(0, all.status(), all::err);
            assertEquals(300, all.out().length, "the whole segment by default");
            assertArrayEquals(data, Arrays.copyOfRange(all.out(), 44, 300));
            Cli.Child tail = cli(new byte[0], "shm", "read", name, "--offset", "290");
            assertArrayEquals(Arrays.copyOfRange(data, 246, 256), tail.out(), "from the offset to the end");
        });
    }

    @Test
    void writePastTheEndIsExitOneAndTheSegmentIsUnchanged() {
        // CLI.md: refuses data past the end and then writes nothing (SHM-10: never past the mapping).
        assertTimeoutPreemptively(BOUND, () -> {
            String name = created.name();
            assertEquals(0, Cli.run("shm", "create", name, "--size", "64").status());
            peer("write", name, "0", "ab".repeat(64));
            byte[] tooMuch = new byte[33];
            Arrays.fill(tooMuch, (byte) 0x11);
            Cli.Child r = cli(tooMuch, "shm", "write", name, "--offset", "32");
            assertEquals(1, r.status(), r::err);
            assertEquals("ipcbridge: " + name + ": stdin holds more than the 32 bytes from offset 32 to the end of the "
                    + "segment (64 bytes); nothing was written\n", r.err());
            assertEquals("ab".repeat(64) + "\n", peer("read", name, "0", "64"), "not a byte changed");
            try (SharedMemory shm = SharedMemory.open(name, true)) {
                byte[] now = new byte[64];
                shm.buffer().get(now);
                byte[] before = new byte[64];
                Arrays.fill(before, (byte) 0xab);
                assertArrayEquals(before, now);
            }

            Cli.Child exact = cli(Arrays.copyOf(tooMuch, 32), "shm", "write", name, "--offset", "32");
            assertEquals(0, exact.status(), "exactly to the end is fine: " + exact.err());
            Cli.Child past = cli(new byte[0], "shm", "write", name, "--offset", "65");
            assertEquals(1, past.status(), past::err);
            assertTrue(past.err().startsWith("ipcbridge: " + name + ": offset 65 is past the end"), past::err);
        });
    }

    @Test
    void readPastTheEndIsExitOneAndWritesNothing() {
        assertTimeoutPreemptively(BOUND, () -> {
            String name = created.name();
            assertEquals(0, Cli.run("shm", "create", name, "--size", "16").status());
            Cli.Child r = cli(new byte[0], "shm", "read", name, "--offset", "8", "--length", "9");
            assertEquals(1, r.status(), r::err);
            assertEquals(0, r.out().length);
            assertEquals("ipcbridge: " + name + ": 9 bytes at offset 8 pass the end of the segment (16 bytes); "
                    + "nothing was read\n", r.err());
            Cli.Child empty = cli(new byte[0], "shm", "read", name, "--offset", "16");
            assertEquals(0, empty.status(), "reading nothing at the very end is fine: " + empty.err());
            assertEquals(0, empty.out().length);
        });
    }
}
