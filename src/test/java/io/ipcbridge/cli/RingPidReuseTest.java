package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.ring.Ring;
import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.PeerState;
import io.ipcbridge.testing.Peers;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A ring consumer asleep without a timeout while its producer dies and the kernel gives the
 * producer's pid to another process. The consumer's whole process is stopped (SIGSTOP) across the
 * death and the reuse, so that when it runs again its pidfd watcher reports the death while /proc
 * shows the pid running: the consumer must then watch the process that has the pid now, and report
 * the producer dead when that one ends, rather than sleep unwatched for ever. The pid is handed on
 * through /proc/sys/kernel/ns_last_pid, which takes CAP_SYS_ADMIN: elsewhere the tests are skipped.
 */
class RingPidReuseTest {
    private static final Path LAST_PID = Path.of("/proc/sys/kernel/ns_last_pid");
    private static final long BOUND = TimeUnit.SECONDS.toNanos(30);
    private static final int MAX = 1024;

    @TempDir
    Path dir;
    private final Created created = new Created("reuse", Ring::unlink);
    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (Process p : started) {
            p.destroyForcibly();
            p.waitFor();
            Peers.closeStreams(p);
        }
        created.unlinkAll();
    }

    @Test
    void aCConsumerWatchesTheProcessThatReusedItsDeadProducersPid() throws Exception {
        reportsTheProducerDead((n, err) -> new ProcessBuilder(Peers.path("ring_peer"), "consume", n, "2", "1")
                .redirectError(err.toFile()), 3, "producer died");
    }

    @Test
    void aJavaConsumerWatchesTheProcessThatReusedItsDeadProducersPid() throws Exception {
        reportsTheProducerDead((n, err) -> Cli.command(err, "ring", "receive", n, "--count", "2"), ExitCodes.FAILED,
                "died");
    }

    /**
     * Runs the consumer {@code command} makes for a ring name and a stderr file through
     * {@link #reuseWhileStopped}; it must end with {@code status}, saying {@code message}.
     */
    private void reportsTheProducerDead(BiFunction<String, Path, ProcessBuilder> command, int status, String message)
            throws Exception {
        Assumptions.assumeTrue(Files.isWritable(LAST_PID), "needs a writable " + LAST_PID);
        String n = created.name();
        try (Ring ring = Ring.create(n, 1 << 12, MAX, false, 0600)) {
            Process producer = stalled(n);
            Path err = dir.resolve("consumer.err");
            Process consumer = start(command.apply(n, err).redirectOutput(dir.resolve("consumer.out").toFile()));
            assertEquals(status, reuseWhileStopped(n, producer, consumer), () -> "consumer: " + read(err));
            assertTrue(read(err).contains(message), () -> "consumer: " + read(err));
        }
    }

    /**
     * With {@code consumer} asleep on the ring: stops it, kills the producer, starts a process with the
     * producer's pid, lets the consumer run again, waits until it watches that process through a
     * pidfd, ends that process too; returns the consumer's exit status.
     */
    private int reuseWhileStopped(String ring, Process producer, Process consumer) throws Exception {
        FutexWait.await(consumer, Path.of("/dev/shm" + ring));
        signal(consumer, "STOP");
        awaitStopped(consumer);
        int pid = (int) producer.pid();
        producer.destroyForcibly();
        producer.waitFor();
        Process impostor = startWithPid(pid, "sleep", "infinity");
        signal(consumer, "CONT");
        assertTrue(awaitPidfd(consumer, pid), "the consumer watches the process that has pid " + pid + " now");
        impostor.destroyForcibly();
        impostor.waitFor();
        assertTrue(consumer.waitFor(30, TimeUnit.SECONDS), () -> "the consumer reports the producer dead; "
                + "its stderr: " + read(dir.resolve("consumer.err")) + "; its threads: " + threads(consumer));
        return consumer.exitValue();
    }

    /**
     * Each thread of {@code p}: name, state, syscall (number and arguments) and wait channel, to tell
     * a waiter never woken from one woken that did not act (seen once, in CI on a loaded machine).
     */
    private static String threads(Process p) {
        StringBuilder out = new StringBuilder();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(p.pid()), "task"))) {
            for (Path task : tasks) {
                String stat = PeerState.read(task.resolve("stat"));
                out.append("\n  ").append(String.valueOf(PeerState.read(task.resolve("comm"))).trim())
                        .append(' ').append(stat == null ? "gone" : stat.charAt(stat.lastIndexOf(')') + 2))
                        .append(' ').append(String.valueOf(PeerState.read(task.resolve("syscall"))).trim())
                        .append(" wchan=").append(PeerState.read(task.resolve("wchan")));
            }
        } catch (IOException | RuntimeException e) {
            out.append(e);
        }
        return out.toString();
    }

    private Process start(ProcessBuilder pb) throws IOException {
        Process p = pb.start();
        started.add(p);
        return p;
    }

    /** {@code ring_peer stall NAME 1 100}: record 0 sent, record 1 claimed and never committed. */
    private Process stalled(String ring) throws IOException {
        Path err = dir.resolve("stall.err");
        Process p = start(new ProcessBuilder(Peers.path("ring_peer"), "stall", ring, "1", "100")
                .redirectError(err.toFile()));
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("stalled", out.readLine(), () -> "ring_peer stall: " + read(err));
        return p;
    }

    /** Starts {@code argv} as process {@code pid} (free: its last holder was reaped), or skips the test. */
    private Process startWithPid(int pid, String... argv) throws Exception {
        for (int attempt = 0; attempt < 10; attempt++) {
            try {
                Files.writeString(LAST_PID, Integer.toString(pid - 1));
            } catch (IOException e) {
                Assumptions.abort("cannot choose the next pid: " + e);
            }
            Process p = start(new ProcessBuilder(argv));
            if (p.pid() == pid) {
                return p;
            }
            p.destroyForcibly();
            p.waitFor();
            Assumptions.assumeFalse(Files.exists(Path.of("/proc", Integer.toString(pid))),
                    "pid " + pid + " went to another task first");
        }
        Assumptions.abort("pid " + pid + " went to other tasks first, 10 times");
        return null;
    }

    private static void signal(Process p, String signal) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start();
        assertEquals(0, kill.waitFor(), "kill -" + signal);
    }

    /** Returns once every thread of {@code p} is stopped (state T). */
    private static void awaitStopped(Process p) throws IOException {
        Path tasks = Path.of("/proc", Long.toString(p.pid()), "task");
        long end = System.nanoTime() + BOUND;
        for (;;) {
            boolean all = true;
            try (DirectoryStream<Path> each = Files.newDirectoryStream(tasks)) {
                for (Path task : each) {
                    String stat = PeerState.read(task.resolve("stat"));
                    all &= stat == null || stat.charAt(stat.lastIndexOf(')') + 2) == 'T';
                }
            }
            if (all) {
                return;
            }
            assertTrue(System.nanoTime() - end < 0, "process " + p.pid() + " stops");
            Thread.onSpinWait();
        }
    }

    /** Whether {@code p} comes to hold a pidfd of process {@code pid} (its fdinfo's "Pid:") within BOUND. */
    private static boolean awaitPidfd(Process p, int pid) throws IOException {
        Path proc = Path.of("/proc", Long.toString(p.pid()));
        String wanted = "Pid:\t" + pid + "\n";
        long end = System.nanoTime() + BOUND;
        while (System.nanoTime() - end < 0) {
            try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
                for (Path fd : fds) {
                    String info = PeerState.read(proc.resolve("fdinfo").resolve(fd.getFileName()));
                    if (info != null && info.contains(wanted) && isPidfd(fd)) {
                        return true;
                    }
                }
            } catch (java.io.UncheckedIOException closedMeanwhile) {
                // a descriptor closed while the directory was read (its fdinfo vanished): look again
            }
            Thread.onSpinWait();
        }
        return false;
    }

    private static boolean isPidfd(Path fd) {
        try {
            return Files.readSymbolicLink(fd).toString().contains("pidfd");
        } catch (IOException closedMeanwhile) {
            return false;
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
