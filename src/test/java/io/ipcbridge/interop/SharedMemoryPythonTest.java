package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Names;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import org.junit.jupiter.api.Test;

/**
 * Python's multiprocessing.shared_memory and ipcbridge attach to each other's segments. Python
 * 3.11's resource tracker unlinks every segment it has seen when the Python process ends (gh-82300),
 * so the Python side unregisters the segment right after attaching or creating it.
 */
class SharedMemoryPythonTest {
    private static final String UNTRACK =
            "from multiprocessing import resource_tracker, shared_memory\n"
            + "def untrack(shm): resource_tracker.unregister(shm._name, 'shared_memory')\n";

    private static String python(String script, String... args) throws Exception {
        String[] argv = new String[args.length + 3];
        argv[0] = "python3";
        argv[1] = "-c";
        argv[2] = UNTRACK + script;
        System.arraycopy(args, 0, argv, 3, args.length);
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    @Test
    void pythonReadsWhatJavaWroteInASegmentJavaCreated() throws Exception {
        String name = Names.unique("py");
        try (SharedMemory shm = SharedMemory.createExclusively(name, 4096)) {
            shm.buffer().put(0, "hello from java".getBytes(StandardCharsets.US_ASCII));
            shm.setLongRelease(64, 0x1122334455667788L);
            String out = python("import sys\n"
                    + "shm = shared_memory.SharedMemory(name=sys.argv[1])\n"
                    + "untrack(shm)\n"
                    + "print(bytes(shm.buf[:15]).decode(), int.from_bytes(bytes(shm.buf[64:72]), 'little'), shm.size)\n"
                    + "shm.buf[100:106] = b'python'\n"
                    + "shm.close()\n", name.substring(1));
            assertEquals("hello from java " + 0x1122334455667788L + " 4096\n", out);
            byte[] back = new byte[6];
            shm.buffer().get(100, back);
            assertEquals("python", new String(back, StandardCharsets.US_ASCII));
        } finally {
            SharedMemory.unlink(name);
        }
    }

    @Test
    void javaReadsASegmentPythonCreated() throws Exception {
        String name = Names.unique("py");
        try {
            python("import sys\n"
                    + "shm = shared_memory.SharedMemory(name=sys.argv[1], create=True, size=8192)\n"
                    + "untrack(shm)\n"
                    + "shm.buf[:11] = b'from python'\n"
                    + "shm.buf[8000:8004] = (123456).to_bytes(4, 'little')\n"
                    + "shm.close()\n", name.substring(1));
            try (SharedMemory shm = SharedMemory.open(name, true)) {
                assertEquals(8192, shm.size());
                byte[] got = new byte[11];
                shm.buffer().get(0, got);
                assertEquals("from python", new String(got, StandardCharsets.US_ASCII));
                assertEquals(123456, shm.getIntAcquire(8000));
            }
        } finally {
            try {
                SharedMemory.unlink(name);
            } catch (NoSuchFileException notCreated) {
                // the script failed before creating it: its assertion is the report
            }
        }
    }
}
