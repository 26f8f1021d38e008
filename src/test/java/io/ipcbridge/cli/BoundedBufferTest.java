package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import java.nio.file.FileAlreadyExistsException;
import io.ipcbridge.testing.Created;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The demo's bounded buffer matches native-tests/include/ipcb_bounded.h, and works Java to Java. */
class BoundedBufferTest {
    private static final Path HEADER = Path.of("native-tests/include/ipcb_bounded.h");
    private final Created created = new Created("clibb", SharedMemory::unlink);

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    @Test
    void aCreateThatFailsLeavesNothingBehindAndTheObjectInTheWayAlone() throws Exception {
        // SHM-02 / SEM-02 for the buffer: the "-full" semaphore of named mode exists already, so the
        // create fails; nothing it made itself (the segment, "-empty") may stay, nothing of others goes
        String name = created.name();
        Created sems = new Created("clibbsem", Semaphore::unlink);
        sems.add(name + "-empty");
        sems.add(name + "-full");
        sems.add(name + "-mutex");
        try (Semaphore inTheWay = Semaphore.createExclusively(name + "-full", 5)) {
            assertThrows(FileAlreadyExistsException.class, () -> BoundedBuffer.create(name, 4, 16, true));
            assertThrows(NoSuchFileException.class, () -> SharedMemory.open(name).close(), "the segment stays");
            assertThrows(NoSuchFileException.class, () -> Semaphore.open(name + "-empty").close(),
                    "the -empty semaphore stays");
            try (Semaphore again = Semaphore.open(name + "-full")) {
                assertEquals(5, again.value(), "the semaphore in the way is untouched");
            }
        } finally {
            sems.unlinkAll();
        }
    }

    @Test
    void aPeerThatOpensTheSegmentFindsItsHeaderWritten() throws Exception {
        // SHM-21 / SEC-02: a python3 peer opens the name over and over while it is created (unnamed
        // and named mode) and removed 500 times, and reads the magic with pread (no mapping, so no
        // SIGBUS); a segment that has its name must hold a whole buffer, never a zero header
        String name = created.name();
        Process peer = new ProcessBuilder("python3", "-c", String.join("\n",
                "import os, select, sys",
                "seen = half = 0",
                "print('ready', flush=True)",
                "while not select.select([sys.stdin], [], [], 0)[0]:",
                "    try:",
                "        fd = os.open(sys.argv[1], os.O_RDONLY)",
                "    except FileNotFoundError:",
                "        continue",
                "    magic = int.from_bytes(os.pread(fd, 4, 0), sys.byteorder)",
                "    os.close(fd)",
                "    seen += 1",
                "    half += magic != " + BoundedBuffer.MAGIC,
                "print(half, 'of', seen, 'opens found no magic')"), "/dev/shm" + name)
                .redirectErrorStream(true).start();
        java.io.BufferedReader lines = new java.io.BufferedReader(new java.io.InputStreamReader(peer.getInputStream(),
                java.nio.charset.StandardCharsets.UTF_8));
        assertEquals("ready", lines.readLine(), "the peer looks before the first create");
        for (int i = 0; i < 500; i++) {
            boolean named = i % 2 == 1;
            try (BoundedBuffer bb = BoundedBuffer.create(name, 4, 16, named)) {
                assertTrue(bb.produce(i, Duration.ZERO));
            } finally {
                BoundedBuffer.unlink(name);
            }
        }
        peer.getOutputStream().close();
        String out = lines.readLine();
        assertEquals(0, peer.waitFor(), out);
        assertTrue(out.matches("0 of [1-9][0-9]* opens found no magic"), out);
    }

    @Test
    void offsetsAndMagicAreTheHeaders() throws Exception {
        Map<String, Long> defines = new HashMap<>();
        Matcher m = Pattern.compile("#define IPCB_BB_(\\w+)\\s+(?:UINT32_C\\()?(0x[0-9A-Fa-f]+|\\d+)")
                .matcher(Files.readString(HEADER));
        while (m.find()) {
            defines.put(m.group(1), Long.decode(m.group(2)));
        }
        assertEquals(defines.get("MAGIC"), (long) BoundedBuffer.MAGIC);
        assertEquals(defines.get("OFF_MAGIC"), (long) BoundedBuffer.OFF_MAGIC);
        assertEquals(defines.get("OFF_SLOTS"), (long) BoundedBuffer.OFF_SLOTS);
        assertEquals(defines.get("OFF_RECORD_SIZE"), (long) BoundedBuffer.OFF_RECORD_SIZE);
        assertEquals(defines.get("OFF_RESERVED"), (long) BoundedBuffer.OFF_RESERVED);
        assertEquals(defines.get("OFF_EMPTY"), (long) BoundedBuffer.OFF_EMPTY);
        assertEquals(defines.get("OFF_FULL"), (long) BoundedBuffer.OFF_FULL);
        assertEquals(defines.get("OFF_MUTEX"), (long) BoundedBuffer.OFF_MUTEX);
        assertEquals(defines.get("OFF_HEAD"), (long) BoundedBuffer.OFF_HEAD);
        assertEquals(defines.get("OFF_TAIL"), (long) BoundedBuffer.OFF_TAIL);
        assertEquals(defines.get("OFF_DATA"), (long) BoundedBuffer.OFF_DATA);
        assertEquals(defines.get("SEQ_SIZE"), (long) BoundedBuffer.SEQ_SIZE);
    }

    @Test
    void recordsGoThroughInOrderAcrossTheWrap() {
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            String name = created.name();
            try (BoundedBuffer bb = BoundedBuffer.create(name, 3, 16, false)) {
                assertEquals(BoundedBuffer.OFF_DATA + 48, BoundedBuffer.size(3, 16));
                for (long n = 0; n < 10; n++) {
                    assertTrue(bb.produce(n, Duration.ofSeconds(1)));
                    assertTrue(bb.consume(n, Duration.ofSeconds(1)).orElseThrow().ok());
                }
                assertTrue(bb.produce(10, Duration.ofSeconds(1)));
                assertEquals("expected record 11, got record 10",
                        bb.consume(11, Duration.ofSeconds(1)).orElseThrow().wrong());
                assertTrue(bb.consume(11, Duration.ofMillis(50)).isEmpty(), "empty: no record within the wait");
                for (long n = 0; n < 3; n++) {
                    assertTrue(bb.produce(n, Duration.ZERO));
                }
                assertTrue(!bb.produce(3, Duration.ofMillis(50)), "full: no slot within the wait");
            }
        });
    }
}
