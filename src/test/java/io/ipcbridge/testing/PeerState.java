package io.ipcbridge.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * What a child process is doing, read from /proc/PID: synchronisation on the kernel's own state
 * (like {@link Blocked} for this process's threads), never a sleep.
 */
public final class PeerState {
    private PeerState() {
    }

    /**
     * Returns once the main thread of process {@code pid} sleeps inside system call {@code nr}
     * (e.g. {@link Blocked#WRITE} on a full pipe); false if the process ended first.
     */
    public static boolean awaitInSyscall(long pid, int nr) {
        Path task = Path.of("/proc/" + pid + "/task/" + pid);
        for (;;) {
            try {
                String stat = Files.readString(task.resolve("stat"));
                char state = stat.charAt(stat.lastIndexOf(')') + 2);
                if (state == 'Z' || state == 'X') {
                    return false;
                }
                String call = Files.readString(task.resolve("syscall")).split(" ", 2)[0].trim();
                if (state == 'S' && call.equals(Integer.toString(nr))) {
                    return true;
                }
            } catch (NoSuchFileException gone) {
                return false;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Thread.onSpinWait();
        }
    }
}
