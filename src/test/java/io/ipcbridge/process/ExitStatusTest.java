package io.ipcbridge.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** What an exit status can be. */
class ExitStatusTest {
    @Test
    void aStatusNoProcessCanEndWithIsRefused() {
        // bad input is refused: exit codes are 0 to 255 (exit(256) ends with 0), and a signal (1 to 64)
        // comes with code -1. exited(256) was kept as "exit 256" (shell status 256), exited(-1) as an
        // "exit -1" whose code said "killed by a signal" and whose signal said "exited"
        int[][] bad = {{-1, 0}, {256, 0}, {Integer.MIN_VALUE, 0}, {0, 9}, {-1, 65}, {-1, -9}};
        for (int[] status : bad) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new ExitStatus(status[0], status[1]));
            assertTrue(e.getMessage().contains("code " + status[0]) && e.getMessage().contains("signal " + status[1]),
                    e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> ExitStatus.exited(256));
        assertEquals(255, ExitStatus.exited(255).shellStatus());
        assertEquals(128 + 64, new ExitStatus(-1, 64).shellStatus());
    }
}
