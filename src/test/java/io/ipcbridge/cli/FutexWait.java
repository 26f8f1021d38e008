package io.ipcbridge.cli;

import io.ipcbridge.testing.PeerState;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Waits until another process sleeps in futex(2) on a word of a given mapped file, e.g. a CLI
 * {@code sem wait} blocked on /dev/shm/sem.NAME: the kernel's own state, read from /proc, never a
 * sleep. (A JVM has many threads parked in futex on its own condition variables; only a futex
 * address inside the file's mapping, from /proc/PID/maps, identifies the semaphore wait.)
 */
final class FutexWait {
    private static final String FUTEX = "202";

    private FutexWait() {
    }

    /**
     * Returns once a thread of {@code process} sleeps (state S) in futex(2) with its address inside
     * a mapping of {@code file}; throws if the process ends first.
     */
    static void await(Process process, Path file) throws IOException {
        Path proc = Path.of("/proc", Long.toString(process.pid()));
        String mapped = " " + file;
        while (process.isAlive()) {
            String maps = PeerState.read(proc.resolve("maps"));
            if (maps == null) {
                break;
            }
            for (String line : maps.split("\n")) {
                if (line.endsWith(mapped) || line.endsWith(mapped + " (deleted)")) {
                    String[] range = line.substring(0, line.indexOf(' ')).split("-");
                    if (sleepsOnFutexIn(proc, Long.parseUnsignedLong(range[0], 16), Long.parseUnsignedLong(range[1], 16))) {
                        return;
                    }
                }
            }
            Thread.onSpinWait();
        }
        throw new IllegalStateException("the process ended (" + process.exitValue() + ") before it waited on " + file);
    }

    private static boolean sleepsOnFutexIn(Path proc, long start, long end) throws IOException {
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(proc.resolve("task"))) {
            for (Path task : tasks) {
                String syscall = PeerState.read(task.resolve("syscall"));
                String stat = PeerState.read(task.resolve("stat"));
                if (syscall == null || stat == null) {
                    continue; // that thread has ended
                }
                String[] call = syscall.trim().split(" ");
                if (stat.charAt(stat.lastIndexOf(')') + 2) == 'S' && call.length > 1 && call[0].equals(FUTEX)) {
                    long address = Long.parseUnsignedLong(call[1].substring(2), 16);
                    if (address >= start && address < end) {
                        return true;
                    }
                }
            }
        } catch (NoSuchFileException ended) {
            return false; // the process has ended: the caller sees it
        }
        return false;
    }
}
