package io.ipcbridge.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.ipcbridge.testing.Created;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** createOrOpen against a peer that creates and removes the same name over and over. */
class SharedMemoryCreateOrOpenRaceTest {
    private final Created created = new Created("shmcoo", SharedMemory::unlink);

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    @Test
    void anObjectRemovedBetweenTheCreateAndTheOpenIsCreatedAgainNotReportedMissing() throws Exception {
        // createOrOpen's O_EXCL create says EEXIST, then the peer unlinks, then the open says ENOENT:
        // the name existed at neither moment only by accident of timing, so createOrOpen must retry
        String n = created.name();
        String script = "import os,sys\n"
                + "p='/dev/shm'+sys.argv[1]\n"
                + "while sys.stdin.readline():\n"
                + "    for i in range(200):\n"
                + "        try:\n"
                + "            os.close(os.open(p, os.O_CREAT|os.O_EXCL|os.O_RDWR, 0o600))\n"
                + "        except FileExistsError:\n"
                + "            pass\n"
                + "        try:\n"
                + "            os.unlink(p)\n"
                + "        except FileNotFoundError:\n"
                + "            pass\n"
                + "    print('ok', flush=True)\n";
        Process peer = new ProcessBuilder("python3", "-c", script, n).redirectErrorStream(true).start();
        try {
            int missing = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                int nosuch = 0;
                for (int round = 0; round < 100; round++) {
                    peer.getOutputStream().write('\n');
                    peer.getOutputStream().flush();
                    for (int i = 0; i < 200; i++) {
                        try (SharedMemory s = SharedMemory.createOrOpen(n, 4096, 0600)) {
                            s.isOpen();
                        } catch (NoSuchFileException e) {
                            nosuch++;
                        }
                    }
                    peer.getInputStream().read(new byte[3]);
                }
                return nosuch;
            });
            assertEquals(0, missing, "createOrOpen reported NoSuchFileException for an object it may create");
        } finally {
            peer.destroyForcibly().waitFor();
        }
    }
}
