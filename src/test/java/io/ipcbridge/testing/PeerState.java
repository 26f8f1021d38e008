package io.ipcbridge.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
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
            Boolean sleeps = sleepsIn(task, nr);
            if (sleeps == null) {
                return false;
            }
            if (sleeps) {
                return true;
            }
            Thread.onSpinWait();
        }
    }

    /**
     * Returns once any thread of process {@code pid} sleeps inside system call {@code nr}: for a JVM,
     * whose main thread is not the one that runs {@code main}, and whose own threads sleep in futex(2)
     * and poll(2), so that {@code nr} must be another (e.g. {@link Blocked#OPENAT} on a FIFO no
     * writer opened, {@link Blocked#READ} on an empty one); false if the process ended first.
     */
    public static boolean awaitAnyThreadInSyscall(long pid, int nr) {
        Path proc = Path.of("/proc/" + pid);
        for (;;) {
            if (sleepsIn(proc, -1) == null) {
                return false;
            }
            try (DirectoryStream<Path> tasks = Files.newDirectoryStream(proc.resolve("task"))) {
                for (Path task : tasks) {
                    if (Boolean.TRUE.equals(sleepsIn(task, nr))) {
                        return true;
                    }
                }
            } catch (NoSuchFileException gone) {
                return false;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Thread.onSpinWait();
        }
    }

    /**
     * Whether thread (or process) {@code task}, a /proc directory, sleeps inside system call
     * {@code nr}; null if it has ended (or is a zombie).
     */
    private static Boolean sleepsIn(Path task, int nr) {
        String stat = read(task.resolve("stat"));
        String syscall = read(task.resolve("syscall"));
        if (stat == null || syscall == null) {
            return null;
        }
        char state = stat.charAt(stat.lastIndexOf(')') + 2);
        if (state == 'Z' || state == 'X') {
            return null;
        }
        return state == 'S' && syscall.split(" ", 2)[0].trim().equals(Integer.toString(nr));
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
