package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.Reaper;
import io.ipcbridge.Reaper.Removed;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.ring.Ring;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Names;
import io.ipcbridge.testing.Peers;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The reaper (RELIABILITY.md SHM-15, SEC-14) against real creators: a C peer SIGKILLed after
 * creating a segment, a semaphore and a queue, one that still runs, one that is a zombie, a shell,
 * Python, and uid 65534.
 */
class ReaperTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);

    /** One prefix per test (without its slash); everything under it is removed afterwards. */
    private final String prefix = Names.unique("reap").substring(1);

    @BeforeAll
    static void queuesAreListed() throws IOException {
        Path mqueue = Path.of("/dev/mqueue");
        assumeTrue(Files.isDirectory(mqueue) && Files.getFileStore(mqueue).type().equals("mqueue"),
                "the mqueue filesystem is not mounted, so queues cannot be listed or reaped "
                        + "(.ci/run mounts it: mount -t mqueue none /dev/mqueue)");
    }

    @AfterEach
    void removeLeftovers() throws IOException {
        for (Path dir : List.of(Path.of("/dev/shm"), Path.of("/dev/mqueue"))) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    String f = p.getFileName().toString();
                    if (f.startsWith(prefix) || f.startsWith("sem." + prefix)) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        }
    }

    /** owned_peer MODE running, after it said "ready"; closing {@code stdin} lets it end. */
    private record Creator(ChildProcess process, Pipe stdin, BufferedReader answers, List<String> names)
            implements AutoCloseable {
        static Creator start(String mode, String prefix) throws IOException {
            Pipe in = Pipe.open();
            Pipe out = Pipe.open();
            ChildProcess p;
            try {
                p = Command.of(Peers.path("owned_peer"), mode, "/" + prefix).stdin(in.source()).stdout(out.sink())
                        .start();
            } catch (IOException | RuntimeException e) {
                in.close();
                out.close();
                throw e;
            }
            in.source().close();
            out.sink().close();
            Creator c = new Creator(p, in, new BufferedReader(new InputStreamReader(out.source().inputStream())),
                    new ArrayList<>());
            try {
                for (String line = c.answers.readLine(); !"ready".equals(line); line = c.answers.readLine()) {
                    assertTrue(line != null, "owned_peer ended before \"ready\"");
                    c.names.add(line);
                }
                assertEquals(3, c.names.size(), "a segment, a semaphore and a queue: " + c.names);
                return c;
            } catch (IOException | RuntimeException | Error e) {
                c.close();
                throw e;
            }
        }

        @Override
        public void close() throws IOException {
            try (process; stdin) {
                answers.close();
            }
        }
    }

    /** PID, START and PIDNS of this process as {@link Reaper#name} writes them; the pid checked. */
    private String[] owner() throws IOException {
        String[] parts = Reaper.name(prefix, "x").substring(prefix.length() + 2).split("\\.");
        assertEquals(Long.toString(ProcessHandle.current().pid()), parts[0], "PREFIX.PID.START.PIDNS.LABEL");
        return new String[] {parts[0], parts[1], parts[2]};
    }

    private static Set<Removed> expected(List<String> names, int pid) {
        return Set.of(new Removed("shm", names.get(0), pid), new Removed("sem", names.get(1), pid),
                new Removed("mq", names.get(2), pid));
    }

    /** Each of {@code expected} removed, once, and nothing else. */
    private static void assertRemoved(Set<Removed> expected, List<Removed> removed) {
        assertEquals(expected, Set.copyOf(removed));
        assertEquals(expected.size(), removed.size(), () -> "each once: " + removed);
    }

    private static boolean exists(String type, String name) {
        String body = name.substring(1);
        return Files.exists(switch (type) {
            case "sem" -> Path.of("/dev/shm/sem." + body);
            case "mq" -> Path.of("/dev/mqueue/" + body);
            default -> Path.of("/dev/shm/" + body);
        });
    }

    @Test
    void theObjectsOfAKilledCCreatorAreReapedAndNoOthers() {
        // SHM-15: the creator SIGKILLed, its names persist; the reaper removes them, once
        assertTimeoutPreemptively(LIMIT, () -> {
            List<String> names;
            int pid;
            try (Creator creator = Creator.start("create", prefix)) {
                names = creator.names();
                pid = creator.process().pid();
                creator.process().kill();
                assertEquals(9, creator.process().waitFor().signal());
            }
            assertTrue(exists("shm", names.get(0)) && exists("sem", names.get(1)) && exists("mq", names.get(2)),
                    "the names outlive their killed creator");
            assertRemoved(expected(names, pid), Reaper.reap(prefix));
            assertFalse(exists("shm", names.get(0)) || exists("sem", names.get(1)) || exists("mq", names.get(2)),
                    "all three removed");
            assertEquals(List.of(), Reaper.reap("/" + prefix), "nothing left to reap");
        });
    }

    @Test
    void aRunningCreatorKeepsItsObjectsUntilItHasGone() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Creator creator = Creator.start("create", prefix)) {
                List<String> names = creator.names();
                assertEquals(List.of(), Reaper.reap(prefix), "the creator runs");
                assertTrue(exists("shm", names.get(0)) && exists("sem", names.get(1)) && exists("mq", names.get(2)));
                creator.stdin().sink().close();
                assertEquals(0, creator.process().waitFor().code(), "the creator ends on its own, without unlinking");
                // ended, and reaped by its parent (this JVM): gone
                assertRemoved(expected(names, creator.process().pid()), Reaper.reap(prefix));
            }
        });
    }

    @Test
    void aZombieCreatorIsGone() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Creator parent = Creator.start("zombie", prefix)) {
                String zombie = parent.answers().readLine();
                assertTrue(zombie != null && zombie.startsWith("zombie "), "the child has exited: " + zombie);
                int pid = Integer.parseInt(zombie.substring("zombie ".length()));
                assertTrue(Files.readString(Path.of("/proc/" + pid + "/stat")).contains(") Z "),
                        "its parent has not reaped it: /proc still has it, as a zombie");
                assertRemoved(expected(parent.names(), pid), Reaper.reap(prefix));
                parent.stdin().sink().close();
                assertEquals(0, parent.process().waitFor().code());
            }
        });
    }

    @Test
    void aCreatorWhoseMainThreadEndedStillRuns() {
        // pthread_exit in main: /proc/PID/stat shows the leader's "Z" while the other thread runs
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Creator creator = Creator.start("leader-exit", prefix)) {
                List<String> names = creator.names();
                Path stat = Path.of("/proc/" + creator.process().pid() + "/stat");
                while (!Files.readString(stat).contains(") Z ")) {
                    Thread.onSpinWait(); // the main thread is ending
                }
                assertEquals(List.of(), Reaper.reap(prefix), "a thread of the creator runs");
                assertTrue(exists("shm", names.get(0)) && exists("sem", names.get(1)) && exists("mq", names.get(2)));
                creator.stdin().sink().close();
                assertEquals(0, creator.process().waitFor().code(), "the creator ends on its own, without unlinking");
                assertRemoved(expected(names, creator.process().pid()), Reaper.reap(prefix));
            }
        });
    }

    @Test
    void thisProcessesObjectsAreKeptAndAReusedPidIsNotTheirCreator() throws Exception {
        String mine = Reaper.name(prefix, "mine");
        String[] parts = owner();
        assertEquals("/" + prefix + "." + String.join(".", parts) + ".mine", mine);
        // the same pid, started at another time: the process that made it is gone, the pid reused
        String reused = "/" + prefix + "." + parts[0] + "." + (Long.parseLong(parts[1]) + 1) + "." + parts[2] + ".old";
        // the same, in another pid namespace: that pid is not this process there, so it cannot be judged
        String elsewhere = "/" + prefix + "." + parts[0] + "." + (Long.parseLong(parts[1]) + 1) + "."
                + (Long.parseLong(parts[2]) + 1) + ".ns";
        String notOwned = "/" + prefix + ".plain";
        String otherPrefix = "/" + prefix + "x." + parts[0] + "." + (Long.parseLong(parts[1]) + 1) + "." + parts[2]
                + ".other";
        try (SharedMemory a = SharedMemory.createExclusively(mine, 4096);
                Ring r = Ring.create(Reaper.name(prefix, "ring"), 4096);
                Semaphore b = Semaphore.createExclusively(Reaper.name(prefix, "sem"), 0);
                MessageQueue c = MessageQueue.createExclusively(Reaper.name(prefix, "mq"));
                SharedMemory d = SharedMemory.createExclusively(reused, 4096);
                SharedMemory e = SharedMemory.createExclusively(elsewhere, 4096);
                SharedMemory f = SharedMemory.createExclusively(notOwned, 4096);
                SharedMemory g = SharedMemory.createExclusively(otherPrefix, 4096)) {
            assertEquals(List.of(new Removed("shm", reused, (int) ProcessHandle.current().pid())),
                    Reaper.reap(prefix));
            for (String kept : List.of(mine, r.name(), elsewhere, notOwned, otherPrefix)) {
                assertTrue(exists("shm", kept), kept + " kept");
            }
            assertTrue(exists("sem", Reaper.name(prefix, "sem")) && exists("mq", c.name()));
            d.setInt(0, 7);
            assertEquals(7, d.getInt(0), "a reaped name's mapping stays usable: only the name went");
        }
    }

    @Test
    void aShellCreatorAndAPythonCreatorNameTheirObjectsTheSameWay() {
        assertTimeoutPreemptively(LIMIT, () -> {
            // the shell ends after creating; Python kills itself (its resource tracker told to forget)
            String shell = "ns=$(stat -Lc %i /proc/$$/ns/pid); "
                    + "start=$(sed -n '$s/.*) //p' /proc/$$/stat | cut -d' ' -f20); "
                    + "n=\"" + prefix + ".$$.$start.$ns.sh\"; : > \"/dev/shm/$n\"; echo \"/$n\"";
            String python = String.join("\n",
                    "import os, signal, sys",
                    "from multiprocessing import resource_tracker, shared_memory",
                    "start = open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19]",
                    "ns = os.stat('/proc/self/ns/pid').st_ino",
                    "name = '%s.%d.%s.%d.py' % (sys.argv[1], os.getpid(), start, ns)",
                    "shm = shared_memory.SharedMemory(name=name, create=True, size=4096)",
                    "resource_tracker.unregister(shm._name, 'shared_memory')",
                    "print(shm._name, os.getpid(), flush=True)",
                    "os.kill(os.getpid(), signal.SIGKILL)");
            Process sh = new ProcessBuilder("sh", "-c", shell).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String shName = new String(sh.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertEquals(0, sh.waitFor());
            Process py = new ProcessBuilder("python3", "-c", python, prefix)
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String[] pyOut = new String(py.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim().split(" ");
            assertEquals(128 + 9, py.waitFor(), "python3 killed itself");
            assertTrue(exists("shm", shName) && exists("shm", pyOut[0]), "both names outlive their creators");
            assertRemoved(Set.of(new Removed("shm", pyOut[0], Integer.parseInt(pyOut[1])),
                    new Removed("shm", shName, (int) sh.pid())), Reaper.reap(prefix));
        });
    }

    @Test
    void anotherUsersObjectIsLeftAlone() throws Exception {
        // SEC-14: the reaper removes this user's objects only (uid 65534 played through setpriv(1))
        assumeTrue(new File("/usr/bin/setpriv").canExecute(), "no setpriv(1)");
        assumeTrue(io.ipcbridge.internal.posix.Syscalls.geteuid() == 0, "not root: cannot act as another user");
        String shell = "ns=$(stat -Lc %i /proc/$$/ns/pid); "
                + "start=$(sed -n '$s/.*) //p' /proc/$$/stat | cut -d' ' -f20); "
                + "n=\"" + prefix + ".$$.$start.$ns.nobody\"; : > \"/dev/shm/$n\"; echo \"/$n\"";
        Process sh = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c",
                shell).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String name = new String(sh.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, sh.waitFor());
        assertEquals(65534, Files.getAttribute(Path.of("/dev/shm" + name), "unix:uid"));
        assertEquals(List.of(), Reaper.reap(prefix), "another user's object, its creator gone all the same");
        assertTrue(exists("shm", name));
    }

    /** In a child JVM: names a segment after itself and reaps its prefix; prints what happened. */
    public static final class NameAndReap {
        public static void main(String[] args) throws Exception {
            String name;
            try {
                name = Reaper.name(args[0], "mine");
            } catch (IOException e) {
                System.out.println("refused: " + e.getMessage());
                return;
            }
            try (SharedMemory s = SharedMemory.createExclusively(name, 4096)) {
                try {
                    System.out.println("reaped " + Reaper.reap(args[0]));
                } catch (IOException e) {
                    System.out.println("refused: " + e.getMessage());
                }
                System.out.println(exists("shm", name) ? "kept" : "removed");
            } finally {
                try {
                    SharedMemory.unlink(name);
                } catch (java.nio.file.NoSuchFileException e) {
                    // reaped
                }
            }
        }
    }

    /** In a child JVM: reaps the prefix and prints what it returned, or what it threw and what that listed. */
    public static final class ReapAndReport {
        public static void main(String[] args) {
            try {
                System.out.println("returned " + Reaper.reap(args[0]));
            } catch (Reaper.IncompleteReapException e) {
                System.out.println("incomplete " + e.removed() + " " + e.getMessage());
            } catch (IOException e) {
                System.out.println("threw " + e);
            }
        }
    }

    @Test
    void aDirectoryThatCannotBeListedStillReportsWhatWasRemoved() {
        // SHM-15, SEC-14: /dev/shm reaped, then /dev/mqueue cannot be listed (EACCES: a private
        // mqueue mount of mode 0000, read without CAP_DAC_*). The segment was gone but the reap
        // threw a bare PermissionDeniedException: what it removed was never said
        assumeTrue(io.ipcbridge.internal.posix.Syscalls.geteuid() == 0, "not root: no private mqueue mount");
        assumeTrue(new File("/usr/bin/unshare").canExecute() && new File("/usr/bin/setpriv").canExecute(),
                "no unshare(1) or setpriv(1)");
        assertTimeoutPreemptively(LIMIT, () -> {
            String[] me = owner();
            String dead = "/" + prefix + "." + me[0] + "." + (Long.parseLong(me[1]) + 1) + "." + me[2] + ".dead";
            Files.createFile(Path.of("/dev/shm" + dead));
            String script = "mount -t mqueue none /dev/mqueue && chmod 0000 /dev/mqueue && exec setpriv "
                    + "--bounding-set=-dac_override,-dac_read_search --inh-caps=-dac_override,-dac_read_search \"$@\"";
            Process p = new ProcessBuilder("unshare", "--ipc", "--mount", "sh", "-c", script, "sh",
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    ReapAndReport.class.getName(), prefix)
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            assertEquals(0, p.waitFor(), out);
            assumeTrue(!out.startsWith("returned"), "/dev/mqueue could be listed all the same: " + out);
            assertFalse(exists("shm", dead), "the segment was reaped");
            assertEquals("incomplete " + List.of(new Removed("shm", dead, Integer.parseInt(me[0])))
                    + " opendir(/dev/mqueue): EACCES (Permission denied) (1 removed)", out,
                    "what was removed is said, with the failure");
        });
    }

    /** The queues of the IPC namespace of process {@code pid}, listed through a mqueue mount of its own. */
    private static String queuesOfTheIpcNamespaceOf(long pid) throws Exception {
        Path mnt = Files.createTempDirectory("reap-mq");
        try {
            Process ls = new ProcessBuilder("nsenter", "--ipc=/proc/" + pid + "/ns/ipc", "unshare", "--mount", "sh", "-c",
                    "mount -t mqueue none \"$1\" && ls -n \"$1\"", "sh", mnt.toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(ls.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, ls.waitFor(), out);
            return out;
        } finally {
            Files.delete(mnt);
        }
    }

    @Test
    void aQueueIsRemovedFromTheMqueueFilesystemItWasJudgedIn() {
        // SEC-14: the reaper lists and judges the queues of the mqueue filesystem at /dev/mqueue, but
        // mq_unlink(3) removes from the caller's IPC namespace. A root reaper whose IPC namespace is not
        // /dev/mqueue's (unshare --ipc, a container with the host's /dev/mqueue) judged root's queue of a
        // dead creator there, then removed the queue of that name of uid 65534 in its own namespace,
        // reported it, and left the dead creator's queue behind
        assumeTrue(io.ipcbridge.internal.posix.Syscalls.geteuid() == 0, "not root: no new IPC namespace");
        for (String tool : List.of("unshare", "nsenter", "setpriv")) {
            assumeTrue(new File("/usr/bin/" + tool).canExecute(), "no " + tool + "(1)");
        }
        assertTimeoutPreemptively(LIMIT, () -> {
            // in a new IPC namespace, uid 65534 creates a segment, a semaphore and a queue and ends; the
            // shell stays, holding the namespace, until its stdin closes
            String script = "echo $$; setpriv --reuid=65534 --regid=65534 --clear-groups \"$1\" create \"$2\" "
                    + "</dev/null; echo done; exec cat >/dev/null";
            Process holder = new ProcessBuilder("unshare", "--ipc", "sh", "-c", script, "sh", Peers.path("owned_peer"),
                    "/" + prefix).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            try {
                BufferedReader lines = new BufferedReader(new InputStreamReader(holder.getInputStream(),
                        StandardCharsets.UTF_8));
                long sh = Long.parseLong(lines.readLine());
                List<String> names = new ArrayList<>();
                for (String line = lines.readLine(); !"done".equals(line); line = lines.readLine()) {
                    assertTrue(line != null, "the namespace's shell ended: " + names);
                    names.add(line);
                }
                String queue = names.get(2);
                int pid = Integer.parseInt(queue.split("\\.")[1]);
                assertTrue(queuesOfTheIpcNamespaceOf(sh).contains(queue.substring(1)), "uid 65534's queue there");
                try (MessageQueue hosts = MessageQueue.createExclusively(queue)) {
                    // root's queue of that name (of the same gone creator) in /dev/mqueue
                    Process reap = new ProcessBuilder("nsenter", "--ipc=/proc/" + sh + "/ns/ipc",
                            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                            "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                            ReapAndReport.class.getName(), prefix)
                            .redirectError(ProcessBuilder.Redirect.INHERIT).start();
                    String out = new String(reap.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                    assertEquals(0, reap.waitFor(), out);
                    assertEquals("returned " + List.of(new Removed("mq", queue, pid)), out);
                    assertFalse(exists("mq", queue), "the queue judged, root's in /dev/mqueue, is the one removed");
                    assertTrue(queuesOfTheIpcNamespaceOf(sh).contains(queue.substring(1)),
                            "uid 65534's queue, in the reaper's own IPC namespace, is left alone");
                }
            } finally {
                holder.getOutputStream().close();
                assertEquals(0, holder.waitFor());
            }
        });
    }

    @Test
    void aJvmInAPidNamespaceWithAnotherNamespacesProcNeverReapsItsOwnObjects() {
        // unshare --pid --fork without --mount-proc: getpid() is 1, /proc/1 is the host's init
        assumeTrue(io.ipcbridge.internal.posix.Syscalls.geteuid() == 0, "not root: no new pid namespace");
        assumeTrue(new File("/usr/bin/unshare").canExecute(), "no unshare(1)");
        assertTimeoutPreemptively(LIMIT, () -> {
            Process p = new ProcessBuilder("unshare", "--pid", "--fork",
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    NameAndReap.class.getName(), prefix)
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), out);
            assertFalse(out.contains("removed"), "the JVM's own segment was reaped: " + out);
            assertTrue(out.startsWith("refused: "), "cannot judge creators by a /proc of another pid namespace: "
                    + out);
        });
    }

    @Test
    void aCreatorInAnotherTimeNamespaceKeepsItsObjects() {
        // /proc/PID/stat's start time is shifted by the reader's boot time offset: a creator in a time
        // namespace (unshare --time, CRIU) records another START than the reaper reads for it
        assumeTrue(io.ipcbridge.internal.posix.Syscalls.geteuid() == 0, "not root: no new time namespace");
        assumeTrue(Files.exists(Path.of("/proc/self/ns/time")), "no time namespaces");
        assertTimeoutPreemptively(LIMIT, () -> {
            String shell = "ns=$(stat -Lc %i /proc/$$/ns/pid); "
                    + "start=$(sed -n '$s/.*) //p' /proc/$$/stat | cut -d' ' -f20); "
                    + "n=\"" + prefix + ".$$.$start.$ns.t\"; : > \"/dev/shm/$n\"; echo \"/$n\"; cat > /dev/null";
            Process sh = new ProcessBuilder("unshare", "--time", "--boottime", "100000", "sh", "-c", shell)
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            try {
                String name = new BufferedReader(new InputStreamReader(sh.getInputStream(), StandardCharsets.UTF_8))
                        .readLine();
                assertTrue(name != null && exists("shm", name), "the shell made " + name);
                assertEquals(List.of(), Reaper.reap(prefix), "the creator runs, in another time namespace");
            } finally {
                sh.getOutputStream().close();
                assertEquals(0, sh.waitFor());
            }
        });
    }

    @Test
    void anObjectThatCannotBeRemovedStopsNoOther() throws Exception {
        // SEC-14: a crash loop must not be stuck behind one object; the middle of three is made
        // immutable (chattr +i, which tmpfs has), so its unlink fails with EPERM
        assumeTrue(io.ipcbridge.internal.posix.Syscalls.geteuid() == 0, "not root: chattr +i needs CAP_LINUX_IMMUTABLE");
        assumeTrue(new java.io.File("/usr/bin/chattr").canExecute(), "no chattr(1) (e2fsprogs)");
        String[] me = owner();
        String dead = "/" + prefix + "." + me[0] + "." + (Long.parseLong(me[1]) + 1) + "." + me[2] + ".";
        for (String label : List.of("a", "b", "c")) {
            Files.createFile(Path.of("/dev/shm" + dead + label));
        }
        Path stuck = Path.of("/dev/shm" + dead + "b");
        Process chattr = new ProcessBuilder("chattr", "+i", stuck.toString()).inheritIO().start();
        assumeTrue(chattr.waitFor() == 0, "chattr +i is refused here");
        try {
            Reaper.IncompleteReapException e = assertThrows(Reaper.IncompleteReapException.class,
                    () -> Reaper.reap(prefix));
            int pid = Integer.parseInt(me[0]);
            assertRemoved(Set.of(new Removed("shm", dead + "a", pid), new Removed("shm", dead + "c", pid)), e.removed());
            assertTrue(e.getMessage().startsWith("shm_unlink(" + dead + "b): EPERM (Operation not permitted)"),
                    e.getMessage());
            assertTrue(Files.exists(stuck) && !Files.exists(Path.of("/dev/shm" + dead + "a"))
                    && !Files.exists(Path.of("/dev/shm" + dead + "c")), "only the immutable one is left");
        } finally {
            new ProcessBuilder("chattr", "-i", stuck.toString()).inheritIO().start().waitFor();
        }
    }

    @Test
    void reapingLeavesNoDescriptorOpen() throws Exception {
        // SHM-15, SEC-14: a reaper run at every start of a crash-looping service must not leak
        String[] me = owner();
        String dead = "/" + prefix + "." + me[0] + "." + (Long.parseLong(me[1]) + 1) + "." + me[2] + ".dead";
        Reaper.reap(prefix);
        var before = Fds.snapshot();
        for (int i = 0; i < 1_000; i++) {
            try (SharedMemory s = SharedMemory.createExclusively(dead, 4096)) {
                assertRemoved(Set.of(new Removed("shm", dead, (int) ProcessHandle.current().pid())), Reaper.reap(prefix));
            }
        }
        Fds.assertNoneAdded(before);
    }

    @Test
    void everyNameItGivesIsOneASemaphoreTakes() throws Exception {
        // sem_open's names are 251 bytes at most ("sem." + name in /dev/shm), 4 less than NAME_MAX
        int owner = String.join(".", owner()).length();
        String longest = "x".repeat(Semaphore.NAME_MAX - prefix.length() - owner - 2);
        String name = Reaper.name(prefix, longest);
        assertEquals(Semaphore.NAME_MAX, name.length() - 1);
        try (Semaphore s = Semaphore.createExclusively(name, 0)) {
            assertEquals(0, s.value());
        } finally {
            Semaphore.unlink(name);
        }
        assertThrows(IllegalArgumentException.class, () -> Reaper.name(prefix, longest + "y"),
                "252 bytes: a name a semaphore refuses");
    }

    @Test
    void aPrefixThatExtendsAnotherWithANumberCannotReapItsNames() throws Exception {
        // "/P.PID.START.PIDNS.LABEL" read with the prefix "P.PID" is PID'=START, START'=PIDNS,
        // PIDNS'=the label's first part: a label that starts with the pid namespace's inode makes
        // this running JVM's segment look like one of a gone creator
        String[] me = owner();
        String name = Reaper.name(prefix, me[2] + ".x");
        try (SharedMemory s = SharedMemory.createExclusively(name, 4096)) {
            List<Removed> removed;
            try {
                removed = Reaper.reap(prefix + "." + me[0]);
            } catch (IllegalArgumentException e) {
                removed = List.of(); // such a prefix is refused
            }
            assertEquals(List.of(), removed, "this JVM runs");
            assertTrue(exists("shm", name));
        }
    }

    @Test
    void onlyNumbersWrittenAsNameWritesThemAreRead() throws Exception {
        // a pid past pid_t (2^32 + this pid) was read as a long, reaped and reported as this pid
        String[] me = owner();
        long wrapped = (1L << 32) + Long.parseLong(me[0]);
        String odd = "/" + prefix + "." + wrapped + "." + me[1] + "." + me[2] + ".wrapped";
        String zeros = "/" + prefix + ".00" + me[0] + "." + (Long.parseLong(me[1]) + 1) + "." + me[2] + ".zeros";
        try (SharedMemory a = SharedMemory.createExclusively(odd, 4096);
                SharedMemory b = SharedMemory.createExclusively(zeros, 4096)) {
            assertEquals(List.of(), Reaper.reap(prefix), "not names Reaper.name makes");
        }
    }

    @Test
    void aNumberPastALongIsNotANameOfThisFormAndStopsNoReap() throws Exception {
        // SHM-15, SEC-14: 19 digits pass the length check yet exceed Long.MAX_VALUE; any user may
        // plant such a name in /dev/shm, and Long.parseLong's NumberFormatException ended every reap
        String[] me = owner();
        String huge = "9".repeat(19);
        String dead = "/" + prefix + "." + me[0] + "." + (Long.parseLong(me[1]) + 1) + "." + me[2] + ".dead";
        List<String> odd = List.of("/" + prefix + "." + huge + "." + me[1] + "." + me[2] + ".pid",
                "/" + prefix + "." + me[0] + "." + huge + "." + me[2] + ".start",
                "/" + prefix + "." + me[0] + "." + me[1] + "." + huge + ".ns");
        for (String name : odd) {
            Files.createFile(Path.of("/dev/shm" + name));
        }
        try (SharedMemory d = SharedMemory.createExclusively(dead, 4096)) {
            assertEquals(List.of(new Removed("shm", dead, Integer.parseInt(me[0]))), Reaper.reap(prefix));
            for (String name : odd) {
                assertTrue(exists("shm", name), name + " is no name Reaper.name makes: kept");
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"/app,x", "app,a.b", "app.x-1,1.2", "app.1,x", "7.app,x",
        "app,a b", "app,", "a/b,x", "app,LONG", ".,x", "/..,x", "app,.", "app,..", "app,a..b"})
    void cAndJavaGiveTheSameNamesAndRefuseTheSame(String prefix, String label) throws Exception {
        // native-tests/include/ipcb_owner.h against Reaper.name: the same form, the same refusals
        String l = label == null ? "" : label.equals("LONG") ? "x".repeat(240) : label;
        String java;
        try {
            java = Reaper.name(prefix, l);
        } catch (IllegalArgumentException e) {
            java = "refused";
        }
        Process c = new ProcessBuilder(Peers.path("owned_peer"), "name", prefix, l)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String fromC = new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, c.waitFor());
        if (java.equals("refused")) {
            assertTrue(fromC.startsWith("refused "), "C refuses it too: " + fromC);
            return;
        }
        String[] me = owner();
        String body = prefix.replaceFirst("^/", "");
        assertEquals("/" + body + "." + String.join(".", me) + "." + l, java);
        assertTrue(fromC.matches("/" + Pattern.quote(body) + "\\." + c.pid() + "\\.[1-9][0-9]*\\." + me[2] + "\\."
                + Pattern.quote(l)), "C's name has the same form, with its own pid and start time: " + fromC);
    }

    @Test
    void badPrefixesAndLabelsAreRefusedBeforeAnyCall() {
        assertThrows(NullPointerException.class, () -> Reaper.name(null, "x"));
        assertThrows(NullPointerException.class, () -> Reaper.name("app", null));
        assertThrows(NullPointerException.class, () -> Reaper.reap(null));
        assertThrows(IllegalArgumentException.class, () -> Reaper.name("a/b", "x"));
        assertThrows(IllegalArgumentException.class, () -> Reaper.name("app", ""));
        assertThrows(IllegalArgumentException.class, () -> Reaper.name("app", "/x"));
        assertThrows(IllegalArgumentException.class, () -> Reaper.name("app", "a b"));
        assertThrows(IllegalArgumentException.class, () -> Reaper.name("app", "x".repeat(250)));
        assertThrows(IllegalArgumentException.class, () -> Reaper.reap(""));
        assertThrows(IllegalArgumentException.class, () -> Reaper.reap("/"));
        assertThrows(IllegalArgumentException.class, () -> Reaper.name("app.1", "x"));
        assertThrows(IllegalArgumentException.class, () -> Reaper.reap("7.app"));
    }
}
