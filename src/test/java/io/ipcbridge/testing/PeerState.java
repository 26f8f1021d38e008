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
            String stat = read(task.resolve("stat"));
            String syscall = read(task.resolve("syscall"));
            if (stat == null || syscall == null) {
                return false;
            }
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            if (state == 'Z' || state == 'X') {
                return false;
            }
            if (state == 'S' && syscall.split(" ", 2)[0].trim().equals(Integer.toString(nr))) {
                return true;
            }
            Thread.onSpinWait();
        }
    }

    /**
     * The text of {@code file} in /proc/PID or /proc/PID/task/TID, or null if that process or thread
     * is gone: the file is missing, or it was reaped between the open and the read (which then fails
     * with ESRCH, as a plain IOException).
     */
    public static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (NoSuchFileException gone) {
            return null;
        } catch (IOException e) {
            if (!Files.exists(file.getParent())) {
                return null;
            }
            throw new UncheckedIOException(e);
        }
    }
}
