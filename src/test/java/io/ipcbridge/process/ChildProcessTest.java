package io.ipcbridge.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.Descriptor;
import io.ipcbridge.IpcError;
import io.ipcbridge.internal.posix.NativeThread;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.pipe.PipeSink;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Peers;
import io.ipcbridge.testing.SpawnText;
import java.lang.management.LockInfo;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Spawning with chosen descriptors, clean signal state, waiting, killing, and errors. */
class ChildProcessTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    /** Runs {@code command} with its stdout on a pipe and returns what it printed. */
    private static String output(Command command) throws Exception {
        try (Pipe out = Pipe.open(); ChildProcess child = command.stdout(out.sink()).start()) {
            out.sink().close();
            String text = new String(out.source().inputStream().readAllBytes(), StandardCharsets.UTF_8);
            ExitStatus status = child.waitFor();
            assertTrue(status.success(), command + ": " + status);
            return text;
        }
    }

    private static List<String> fds(String listing) {
        return listing.lines().filter(l -> l.matches("\\d+")).toList();
    }

    @Test
    void aWaitForThatACloseFromAnotherThreadOvertakesReturnsTheExitStatus() throws Exception {
        // close() reaps the child before it releases the pidfd, so a waitFor that found the child
        // running and a close from another thread then came before its wait began has the status to
        // return, as Process.waitFor never fails for a child that ended. It threw ClosedChannelException.
        // The waiter is held between its look and its wait on the pidfd Descriptor's lock, which this
        // thread holds while it kills, reaps and closes (all reentrant for it)
        assertTimeoutPreemptively(LIMIT, () -> {
            ChildProcess child = Command.of("sleep", "1000").start();
            Descriptor pidfd = (Descriptor) field(ChildProcess.class, "pidfd").get(child);
            Object lock = field(Descriptor.class, "lock").get(pidfd);
            CompletableFuture<ExitStatus> wait = new CompletableFuture<>();
            Thread waiter;
            synchronized (lock) {
                waiter = new Thread(() -> {
                    try {
                        wait.complete(child.waitFor());
                    } catch (Throwable e) {
                        wait.completeExceptionally(e);
                    }
                });
                waiter.start();
                ThreadMXBean threads = ManagementFactory.getThreadMXBean();
                for (;;) { // the waiter has looked (the child runs) and waits for the lock to begin its wait
                    LockInfo blockedOn = threads.getThreadInfo(waiter.getId()).getLockInfo();
                    if (blockedOn != null && blockedOn.getIdentityHashCode() == System.identityHashCode(lock)) {
                        break;
                    }
                    Thread.onSpinWait();
                }
                child.kill();
                assertEquals(new ExitStatus(-1, 9), child.waitFor());
                child.close();
            }
            assertEquals(new ExitStatus(-1, 9), wait.get(10, TimeUnit.SECONDS));
            waiter.join();
        });
    }

    @Test
    void threeThreadsWaitingForOneChildEachGetItsStatusWhenAFourthKillsIt() throws Exception {
        // the class's thread safety: waits in poll(2) on the pidfd from three threads, a kill from a
        // fourth; the child is reaped once and every wait returns SIGKILL's status
        assertTimeoutPreemptively(LIMIT, () -> {
            try (ChildProcess child = Command.of("sleep", "1000").start()) {
                List<Blocked.Call<ExitStatus>> waits = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    waits.add(Blocked.start(child::waitFor, Blocked.POLL));
                }
                child.kill();
                for (Blocked.Call<ExitStatus> wait : waits) {
                    assertEquals(new ExitStatus(-1, 9), wait.result().get(), "each waiter has the status");
                }
                assertEquals(Optional.of(new ExitStatus(-1, 9)), child.exitStatus(), "reaped once, kept");
            }
        });
    }

    private static Field field(Class<?> type, String name) throws NoSuchFieldException {
        Field f = type.getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }

    @ParameterizedTest(name = "timed={0}")
    @ValueSource(booleans = {false, true})
    void signalsToAWaitForAreRetriedAndItReturnsTheExitStatus(boolean timed) throws Exception {
        // each wake-up signal makes the poll(2) of the pidfd return EINTR; the wait goes on
        // (a timed one to its first deadline) until the child ends, and reaps it
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe in = Pipe.open(); ChildProcess child = Command.of("sh", "-c", "read x; exit 7").stdin(in.source())
                    .start()) {
                in.source().close();
                AtomicLong handle = new AtomicLong();
                Blocked.Call<ExitStatus> wait = Blocked.start(() -> {
                    handle.set(NativeThread.current());
                    return timed ? child.waitFor(Duration.ofMinutes(5)).orElseThrow() : child.waitFor();
                }, Blocked.POLL);
                for (int i = 0; i < 1_000 && !wait.result().isDone(); i++) {
                    NativeThread.signal(handle.get());
                }
                assertFalse(wait.result().isDone(), "still waiting: " + wait.result());
                in.sink().write(ByteBuffer.wrap("go\n".getBytes(StandardCharsets.US_ASCII)));
                assertEquals(new ExitStatus(7, 0), wait.result().get(10, TimeUnit.SECONDS));
            }
        });
    }

    @Test
    void argumentsAndEnvironmentReachTheChildInUtf8WithoutALocale() throws Exception {
        // The library gives C its Strings in UTF-8, whatever the locale: JNA's default encoding
        // follows it (ASCII with LANG unset), and an argument or variable "q-é" reached the child as "q-?".
        assertEquals(HexFormat.of().formatHex("q-\u00e9|\u00e9|".getBytes(StandardCharsets.UTF_8)),
                HexFormat.of().formatHex(spawnTextWithoutLocale("")), "the child's $1, $X and $Y, as bytes");
    }

    @Test
    void variablesInheritedAlongsideOneSetKeepTheirBytesWithoutALocale() throws Exception {
        // Command.env starts from the JVM's environment as ProcessBuilder.environment() does, but
        // took it from System.getenv(), which decodes each variable in the locale's charset: with
        // LANG unset an inherited "é" (and any byte that is no UTF-8, in any locale) became U+FFFD,
        // so setting X changed Y. ProcessBuilder passes a variable it was not asked to change as it was
        byte[] text = "q-\u00e9|\u00e9|".getBytes(StandardCharsets.UTF_8);
        byte[] y = {(byte) 0xc3, (byte) 0xa9, (byte) 0xff};
        byte[] expected = ByteBuffer.allocate(text.length + y.length).put(text).put(y).array();
        assertEquals(HexFormat.of().formatHex(expected),
                HexFormat.of().formatHex(spawnTextWithoutLocale("export Y=\"$(printf '\\303\\251\\377')\"; ")),
                "the child's $1, $X and $Y, as bytes");
    }

    @Test
    void variablesSetInANonDumpableJvmReachTheChild() throws Exception {
        // A JVM started with file capabilities (setcap on java) or set-user-ID is not dumpable, so
        // its /proc/self/environ is root's, mode 0400: Command.env, which read the startup variables
        // there, failed with AccessDeniedException where ProcessBuilder.environment() works. Run as
        // uid 65534, on a copy of the class path that user can read
        assumeTrue(new java.io.File("/usr/bin/setpriv").canExecute() && Syscalls.geteuid() == 0,
                "setpriv(1) as root, to run the JVM as another user");
        Path copies = Files.createDirectories(dir.resolve("cp"));
        List<String> classPath = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path from = Path.of(entry);
            Path to = Files.isDirectory(from) ? from : Files.copy(from, copies.resolve(classPath.size() + ".jar"));
            classPath.add(to.toString());
        }
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        byte[] out = spawnText("", "setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=" + dir + " ",
                String.join(java.io.File.pathSeparator, classPath), List.of("-Djava.io.tmpdir=" + dir), "not-dumpable");
        assertEquals("q-\u00e9|\u00e9|", new String(out, StandardCharsets.UTF_8), "the child's $1, $X and $Y");
    }

    /**
     * Runs {@link SpawnText} in a JVM started by {@code sh -c 'PREFIX exec java ...'} without LANG
     * or LC_* (and without Y unless the prefix exports it), and returns what it printed.
     */
    private byte[] spawnTextWithoutLocale(String prefix) throws Exception {
        return spawnText(prefix, "", System.getProperty("java.class.path"), List.of());
    }

    /**
     * As {@link #spawnTextWithoutLocale}, the JVM run through {@code launcher} (a command prefix, or
     * ""), with {@code classPath}, {@code options} and SpawnText's {@code args}.
     */
    private byte[] spawnText(String prefix, String launcher, String classPath, List<String> options,
            String... args) throws Exception {
        Path err = dir.resolve("spawn.err");
        List<String> argv = new java.util.ArrayList<>(List.of("sh", "-c", prefix + "exec " + launcher + "\"$@\"", "sh",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED"));
        argv.addAll(options);
        argv.addAll(List.of("-cp", classPath, SpawnText.class.getName()));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectError(err.toFile());
        pb.environment().keySet().removeIf(k -> k.equals("LANG") || k.startsWith("LC_") || k.equals("Y"));
        Process jvm = pb.start();
        try {
            byte[] out = assertTimeoutPreemptively(LIMIT, () -> {
                byte[] printed = jvm.getInputStream().readAllBytes();
                jvm.waitFor();
                return printed;
            });
            assertEquals(0, jvm.exitValue(), Files.readString(err));
            return out;
        } finally {
            jvm.destroyForcibly();
        }
    }

    @Test
    void aChildHasOnlyStdioAndThePlacedDescriptorsOpen() throws Exception {
        // the JVM's own descriptors (jars, sockets, pipes) never leak into the child
        String fdList = Peers.path("fd_list");
        try (Pipe a = Pipe.open(); Pipe b = Pipe.open()) {
            String listing = output(Command.of(fdList).fd(3, a.source()).fd(7, b.sink()));
            assertEquals(List.of("0", "1", "2", "3", "7"), fds(listing), listing);
        }
    }

    @Test
    void redirectErrorStreamPutsStderrOnThePipePlacedAsStdoutAndOpensNothingElse() throws Exception {
        // 2>&1 onto a placed stdout; fd_list, exec'd by the shell, sees only 0, 1 and 2
        String command = "echo out; echo err >&2; exec \"$0\"";
        String listing = output(Command.of("sh", "-c", command, Peers.path("fd_list")).redirectErrorStream(true));
        assertEquals(List.of("out", "err"), listing.lines().limit(2).toList(), listing);
        assertEquals(List.of("0", "1", "2"), fds(listing), listing);
    }

    @Test
    void redirectErrorStreamWithStdoutNotPlacedCopiesTheJvmsOwnFd1() throws Exception {
        // readlink prints on fd 3 what its fd 2 and a copy of its fd 1 (on 4) are: both are the JVM's fd 1
        String jvmOut = Files.readSymbolicLink(Path.of("/proc/self/fd/1")).toString();
        String jvmErr = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
        assumeTrue(!jvmOut.equals(jvmErr), "the JVM's fd 1 and 2 differ (here both are " + jvmOut + ")");
        try (Pipe links = Pipe.open();
                ChildProcess child = Command.of("sh", "-c", "readlink /proc/self/fd/4 /proc/self/fd/2 4>&1 >&3")
                        .fd(3, links.sink()).redirectErrorStream(true).start()) {
            links.sink().close();
            String text = new String(links.source().inputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(jvmOut + "\n" + jvmOut + "\n", text, "fd 2 is a copy of the JVM's fd 1");
            assertTrue(child.waitFor().success());
        }
    }

    @Test
    void placingFd2AndMergingItIntoFd1AreRefusedTogetherInEitherOrderChangingNothing() throws Exception {
        // Command.redirectErrorStream: rather than ignore one of the two, the second call throws,
        // before any spawn, and the command stays as it was
        try (Pipe err = Pipe.open()) {
            var before = Fds.snapshot();
            List<ProcessHandle> children = ProcessHandle.current().children().toList();
            Command placed = Command.of("sh", "-c", "echo err >&2").stderr(err.sink());
            assertThrows(IllegalStateException.class, () -> placed.redirectErrorStream(true));
            Command merged = Command.of("sh", "-c", "echo out; echo err >&2").redirectErrorStream(true);
            assertThrows(IllegalStateException.class, () -> merged.stderr(err.sink()));
            assertThrows(IllegalStateException.class, () -> merged.fd(2, err.sink()));
            Fds.assertNoneAdded(before);
            assertTrue(children.containsAll(ProcessHandle.current().children().toList()), "nothing spawned");
            assertEquals("out\nerr\n", output(merged), "still merged, fd 2 not placed");
            try (ChildProcess child = placed.redirectErrorStream(false).start()) {
                err.sink().close();
                assertEquals("err\n", new String(err.source().inputStream().readAllBytes(), StandardCharsets.UTF_8),
                        "still on the placed pipe");
                assertTrue(child.waitFor().success());
            }
        }
    }

    @Test
    void placementsThatCollideWithTheSourceNumbersAreSwappedCorrectly() throws Exception {
        // placing fd X on Y and fd Y on X must not clobber either
        String peer = Peers.path("pipe_peer");
        try (Pipe a = Pipe.open(); Pipe b = Pipe.open(); Pipe out = Pipe.open()) {
            int aRead = a.source().descriptor().fd();
            int bWrite = b.sink().descriptor().fd();
            // echo reads from its fd aWrite-number and writes to its fd aRead-number: the two are swapped
            try (ChildProcess child = Command.of(peer, "echo", Integer.toString(bWrite), Integer.toString(aRead))
                    .fd(bWrite, a.source()).fd(aRead, out.sink()).start()) {
                a.source().close();
                out.sink().close();
                a.sink().write(ByteBuffer.wrap("swap".getBytes(StandardCharsets.US_ASCII)));
                a.sink().close();
                assertEquals("swap", new String(out.source().inputStream().readAllBytes(), StandardCharsets.US_ASCII));
                assertTrue(child.waitFor().success());
            }
        }
    }

    @Test
    void aPlacedDescriptorHasTheJvmsONonblockAsTheClassSays() throws Exception {
        // dup2(2) shares the open file description, and its O_NONBLOCK (04000): a listening socket is
        // blocking in the child until a timed accept in the JVM makes it non-blocking for both
        try (ServerSocket server = ServerSocket.listen(Address.unix(dir.resolve("s")), Socket.Type.STREAM);
                Pipe pipe = Pipe.open()) {
            Command flags = Command.of("sh", "-c", "grep flags /proc/self/fdinfo/3 /proc/self/fdinfo/4")
                    .fd(3, server).fd(4, pipe.source());
            assertEquals(List.of(false, false), nonBlocking(output(flags)));
            assertTrue(server.accept(Duration.ZERO).isEmpty());
            assertEquals(List.of(true, false), nonBlocking(output(flags)));
        }
    }

    private static List<Boolean> nonBlocking(String fdinfo) {
        return fdinfo.lines()
                .map(l -> (Integer.parseInt(l.replaceFirst(".*flags:\\s*", ""), 8) & 04000) != 0).toList();
    }

    @Test
    void aChildStartsWithNoBlockedAndNoIgnoredSignals() throws Exception {
        String listing = output(Command.of(Peers.path("fd_list")));
        // the JVM blocks and ignores signals of its own; a child must start clean (yes | head -1 needs SIGPIPE)
        assertTrue(listing.lines().anyMatch(l -> l.matches("SigBlk:?\\s+0{16}")), listing);
        assertTrue(listing.lines().anyMatch(l -> l.matches("SigIgn:?\\s+0{16}")), listing);
    }

    @Test
    void environmentAndWorkingDirectoryAreTheOnesGiven() throws Exception {
        String text = output(Command.of("sh", "-c", "echo \"$GREETING\"; pwd").env("GREETING", "hello").directory(dir));
        assertEquals("hello\n" + dir.toRealPath() + "\n", text);
        String only = output(Command.of("/usr/bin/env").environment(Map.of("ONLY", "1")));
        assertEquals("ONLY=1\n", only);
    }

    @Test
    void anEmptyPathAsTheDirectoryIsTheCurrentOneNotAMissingProgram() throws Exception {
        // Path.of("") is Java's current directory (Files.isDirectory says so); chdir("") is ENOENT,
        // which was reported as "posix_spawnp(pwd): ENOENT", naming a program that exists
        String text = output(Command.of("pwd").directory(Path.of("")));
        assertEquals(Path.of("").toRealPath() + "\n", text);
    }

    @Test
    void aRefusedEnvironmentLeavesTheCommandAsItWas() throws Exception {
        // bad input is refused before anything changes: the command keeps the environment it had
        Command c = Command.of("sh", "-c", "echo \"A=$A B=$B\"").env("A", "kept");
        Map<String, String> bad = new java.util.LinkedHashMap<>();
        bad.put("B", "1");
        bad.put("C=D", "2");
        assertThrows(IllegalArgumentException.class, () -> c.environment(bad));
        assertEquals("A=kept B=\n", output(c));
    }

    @Test
    void aFifoCanBeTheStdinOfAChild() throws Exception {
        Path fifo = dir.resolve("in");
        Fifo.create(fifo);
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe out = Pipe.open(); io.ipcbridge.Descriptor keep = Fifo.openReadWrite(fifo)) {
                try (ChildProcess wc = Command.of("wc", "-c").stdin(Fifo.openReader(fifo)).stdout(out.sink()).start()) {
                    out.sink().close();
                    try (PipeSink w = Fifo.openWriter(fifo)) {
                        w.write(ByteBuffer.wrap(new byte[12345]));
                    }
                    keep.close();
                    assertEquals("12345", new String(out.source().inputStream().readAllBytes()).trim());
                    assertTrue(wc.waitFor().success());
                }
            }
        });
    }

    @Test
    void exitCodesAndSignalsAreReported() throws Exception {
        try (ChildProcess c = Command.of("sh", "-c", "exit 7").start()) {
            assertEquals(new ExitStatus(7, 0), c.waitFor());
            assertEquals(7, c.waitFor().shellStatus());
        }
        try (ChildProcess c = Command.of("sh", "-c", "kill -TERM $$").start()) {
            ExitStatus s = c.waitFor();
            assertEquals(15, s.signal());
            assertEquals(143, s.shellStatus());
            assertEquals("killed by signal 15", s.toString());
        }
    }

    @Test
    void waitForWithATimeoutReturnsEmptyWhileTheChildRunsAndKillEndsIt() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe hold = Pipe.open();
                    ChildProcess c = Command.of("cat").stdin(hold.source()).start()) {
                assertEquals(Optional.empty(), c.waitFor(Duration.ofMillis(100)));
                assertEquals(Optional.empty(), c.exitStatus());
                c.kill();
                assertEquals(9, c.waitFor(Duration.ofSeconds(10)).orElseThrow().signal());
                c.signal(15); // after the end: nothing to signal, no error
            }
        });
    }

    @Test
    void anInterruptEndsAWaitWithInterruptedExceptionAndTheChildIsStillWaitable() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe hold = Pipe.open(); ChildProcess c = Command.of("cat").stdin(hold.source()).start()) {
                Blocked.Call<ExitStatus> call = Blocked.start(c::waitFor, Blocked.POLL);
                call.thread().interrupt();
                ExecutionException e = assertThrows(ExecutionException.class, () -> call.result().get(5, TimeUnit.SECONDS));
                assertEquals(InterruptedException.class, e.getCause().getClass());
                hold.sink().close();
                assertTrue(c.waitFor().success(), "cat ends at end of file");
            }
        });
    }

    /** Waits, without reaping it, until {@code child} is a zombie: it has ended and nobody has waited for it. */
    private static void awaitZombie(ChildProcess child) throws Exception {
        Path stat = Path.of("/proc/" + child.pid() + "/stat");
        while (Files.readString(stat).replaceFirst(".*\\) ", "").charAt(0) != 'Z') {
            Thread.onSpinWait();
        }
    }

    @Test
    void aWaitWithAnInterruptPendingReturnsTheStatusOfAChildThatHasEnded() throws Exception {
        // as Process.waitFor, nothing to wait for means nothing to interrupt. An interrupted
        // thread (a cancelled task cleaning up) got InterruptedException even from waitFor(ZERO),
        // "a check without waiting", for a child that had exited; the interrupt stays for its next wait
        assertTimeoutPreemptively(LIMIT, () -> {
            for (boolean timed : new boolean[] {false, true}) {
                try (ChildProcess c = Command.of("sh", "-c", "exit 3").start()) {
                    awaitZombie(c);
                    Thread.currentThread().interrupt();
                    ExitStatus status = timed ? c.waitFor(Duration.ZERO).orElseThrow() : c.waitFor();
                    assertTrue(Thread.interrupted(), "the interrupt is kept");
                    assertEquals(ExitStatus.exited(3), status);
                }
            }
        });
    }

    @Test
    void aCheckWithoutWaitingOnAnInterruptedThreadIsEmptyWhileTheChildRuns() throws Exception {
        // as Process.waitFor(0, unit) returns false, a zero timeout checks without waiting, so
        // there is no wait to interrupt; it threw InterruptedException for a child still running
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe hold = Pipe.open(); ChildProcess c = Command.of("cat").stdin(hold.source()).start()) {
                Thread.currentThread().interrupt();
                Optional<ExitStatus> status = c.waitFor(Duration.ZERO);
                assertTrue(Thread.interrupted(), "the interrupt is kept");
                assertEquals(Optional.empty(), status);
                hold.sink().close();
                assertTrue(c.waitFor().success(), "cat ends at end of file");
            }
        });
    }

    @Test
    void closeKillsAndReapsAChildStillRunning() throws Exception {
        Pipe hold = Pipe.open();
        ChildProcess c = Command.of("cat").stdin(hold.source()).start();
        int pid = c.pid();
        c.close();
        hold.close();
        assertFalse(Files.exists(Path.of("/proc/" + pid)), "no zombie left");
    }

    @Test
    void childrenDroppedWithoutCloseOrWaitAreReapedNotLeftAsZombies() throws Exception {
        // the Cleaner closed a dropped child's pidfd, but nothing reaped the child, so each one
        // stayed a zombie (a slot in the process table, counted in RLIMIT_NPROC) for the life of the
        // JVM; the JDK reaps a Process nobody waits for. A dropped child is not killed: it runs on
        assertTimeoutPreemptively(LIMIT, () -> {
            java.util.Set<Long> dropped = new java.util.HashSet<>();
            for (int i = 0; i < 20; i++) {
                dropped.add((long) Command.of("true").start().pid());
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (ProcessHandle.current().children().anyMatch(c -> dropped.contains(c.pid()))
                    && System.nanoTime() < deadline) {
                System.gc();
            }
            assertEquals(List.of(), ProcessHandle.current().children().filter(c -> dropped.contains(c.pid())).toList(),
                    "children still unreaped");
        });
    }

    @Test
    void aMissingProgramFailsWithNoSuchFileNamingTheCall() {
        NoSuchFileException e = assertThrows(NoSuchFileException.class,
                () -> Command.of("no-such-program-ipcbridge").start());
        assertEquals("posix_spawnp(no-such-program-ipcbridge): ENOENT (No such file or directory)", e.getMessage());
        assertEquals("ENOENT", ((IpcError) e).errnoName());
    }

    @Test
    void aFileThatIsNotExecutableFailsWithAccessDenied() throws Exception {
        Path script = Files.writeString(dir.resolve("script"), "#!/bin/sh\n");
        assertThrows(AccessDeniedException.class, () -> Command.of(script.toString()).start());
    }

    @Test
    void placingAClosedDescriptorIsRefused() throws Exception {
        Pipe p = Pipe.open();
        p.close();
        assertThrows(ClosedChannelException.class, () -> Command.of("true").fd(3, p.source()).start());
    }

    @Test
    void badArgumentsAreRefusedBeforeAnyCall() {
        assertThrows(IllegalArgumentException.class, () -> Command.of());
        assertThrows(IllegalArgumentException.class, () -> Command.of("echo", "a\0b"));
        assertThrows(IllegalArgumentException.class, () -> Command.of("true").fd(-1, (io.ipcbridge.Descriptor) null));
        assertThrows(IllegalArgumentException.class, () -> Command.of("true").env("A=B", "c"));
    }

    @Test
    void anEmptyProgramNameIsRefusedBeforeAnySpawn() {
        // RELIABILITY.md FAULT-07: posix_spawnp("") fails with an ENOENT that names nothing
        for (Executable empty : List.<Executable>of(() -> Command.of(""), () -> Command.of(List.of("", "x")),
                () -> Stage.command(""))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, empty,
                    "an empty program name is a caller's mistake, told before posix_spawnp");
            assertEquals("an empty program name names no program", e.getMessage());
        }
    }

    @Test
    void aThousandSpawnsLeaveNoDescriptorAndNoZombieBehind() throws Exception {
        var before = Fds.snapshot();
        for (int i = 0; i < 1_000; i++) {
            try (ChildProcess c = Command.of("true").start()) {
                assertTrue(c.waitFor().success());
            }
        }
        Fds.assertNoneAdded(before);
    }

    /** The soft RLIMIT_NOFILE of this process, from /proc/self/limits. */
    private static int openFilesLimit() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (line.startsWith("Max open files")) {
                return Integer.parseInt(line.split("\\s+")[3]);
            }
        }
        throw new IllegalStateException("no open-files line in /proc/self/limits");
    }

    @Test
    void aTargetAtOrAboveTheDescriptorLimitIsRefusedBeforeTheSpawnNamingTheLimit() throws Exception {
        int limit = openFilesLimit();
        try (Pipe p = Pipe.open()) {
            var before = Fds.snapshot();
            for (int target : new int[] {limit, limit + 1, Integer.MAX_VALUE}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> Command.of("true").fd(target, p.source()).start());
                assertTrue(e.getMessage().contains("fd " + target) && e.getMessage().contains("RLIMIT_NOFILE")
                        && e.getMessage().contains(Integer.toString(limit)), e.getMessage());
            }
            Fds.assertNoneAdded(before);
        }
    }

    @Test
    void theHighestTargetBelowTheDescriptorLimitIsPlaced() throws Exception {
        // a process may have fd RLIMIT_NOFILE - 1 (bash: 19999<&0), but the spawn staged each placed
        // descriptor above the highest target, so the top numbers were refused as "too close to
        // RLIMIT_NOFILE"; and it closed each number from 3 to the highest target one by one (one file
        // action each: 20000 for fd 19999), now a single closefrom above the packed copies
        int limit = openFilesLimit();
        try (Pipe p = Pipe.open()) {
            String listing = output(Command.of(Peers.path("fd_list")).fd(limit - 1, p.source()));
            assertEquals(List.of("0", "1", "2", Integer.toString(limit - 1)), fds(listing), listing);
        }
    }

    @Test
    void aTargetFarAboveTheOthersArrivesRightAndNothingElseLeaks() throws Exception {
        // fd 1000 next to 0, 3 and 4, while the JVM holds inheritable (not close-on-exec)
        // descriptors in the gap below 1000 and above it: the child has each placed pipe on its number
        // and no other descriptor
        jnr.posix.POSIX posix = jnr.posix.POSIXFactory.getNativePOSIX();
        try (Pipe in = Pipe.open(); Pipe a = Pipe.open(); Pipe b = Pipe.open(); Pipe far = Pipe.open();
                Pipe leak = Pipe.open()) {
            int[] inheritable = {500, 1500};
            for (int fd : inheritable) {
                assertEquals(fd, posix.dup2(leak.source().descriptor().fd(), fd)); // dup2 leaves FD_CLOEXEC clear
            }
            try {
                assertPlaced(new TreeMap<>(Map.of(0, in.source(), 3, a.sink(), 4, b.source(), 1000, far.sink())));
            } finally {
                for (int fd : inheritable) {
                    posix.close(fd);
                }
            }
        }
    }

    @Test
    void descriptorsPlacedOnEachOthersNumbersAndOnConsecutiveOnesArriveRight() throws Exception {
        // each pipe end moves onto the number of another, and onto 5, 6 and 7, which the spawn's own
        // packing of the copies onto 3, 4, ... passes through
        List<Pipe> pipes = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                pipes.add(Pipe.open());
            }
            TreeMap<Integer, io.ipcbridge.HasDescriptor> placed = new TreeMap<>();
            for (int i = 0; i < pipes.size(); i++) {
                placed.put(pipes.get((i + 1) % pipes.size()).source().descriptor().fd(), pipes.get(i).source());
            }
            for (int i = 0; i < 3; i++) {
                placed.put(5 + i, pipes.get(i).sink());
            }
            assertPlaced(placed);
        } finally {
            for (Pipe p : pipes) {
                p.close();
            }
        }
    }

    /**
     * Spawns a shell with {@code placed} (not on fd 1); a child of it reads each placed number's /proc link (as the
     * shell holds it), then the shell becomes fd_list: each must be what the JVM placed, and nothing
     * but 0, 1, 2 and the placed numbers may be open.
     */
    private static void assertPlaced(TreeMap<Integer, io.ipcbridge.HasDescriptor> placed) throws Exception {
        StringBuilder script = new StringBuilder("readlink");
        List<String> expected = new ArrayList<>();
        for (Map.Entry<Integer, io.ipcbridge.HasDescriptor> e : placed.entrySet()) {
            script.append(" /proc/$$/fd/").append(e.getKey());
            expected.add(link(e.getValue()));
        }
        Command command = Command.of("sh", "-c", script + "; exec \"$0\"", Peers.path("fd_list"));
        placed.forEach(command::fd);
        String listing = output(command); // stdout on a pipe of its own
        assertEquals(expected, listing.lines().filter(l -> l.startsWith("pipe:")).toList(), listing);
        java.util.TreeSet<Integer> open = new java.util.TreeSet<>(placed.keySet());
        open.addAll(List.of(0, 1, 2));
        assertEquals(open.stream().map(String::valueOf).toList(), fds(listing), listing);
    }

    /** What /proc/self/fd shows for {@code end}, such as "pipe:[1234]". */
    private static String link(io.ipcbridge.HasDescriptor end) throws Exception {
        return Files.readSymbolicLink(Path.of("/proc/self/fd/" + end.descriptor().fd())).toString();
    }

    @Test
    void aDescriptorNumberedNearTheLimitCanBePlacedOnALowTarget() throws Exception {
        // a JVM with many files open holds descriptors near RLIMIT_NOFILE; placing one on fd 3 (bash:
        // 3<&N) is far from the limit, yet was refused as "fd 3 is too close to RLIMIT_NOFILE", the
        // staging numbers having been taken above the source instead of above the targets
        int limit = openFilesLimit();
        jnr.posix.POSIX posix = jnr.posix.POSIXFactory.getNativePOSIX();
        try (Pipe p = Pipe.open()) {
            int high = limit - 1;
            assertEquals(high, posix.dup2(p.source().descriptor().fd(), high));
            try (io.ipcbridge.Descriptor top = io.ipcbridge.Descriptor.adopt(high, "fd " + high)) {
                String listing = output(Command.of(Peers.path("fd_list")).fd(3, top).fd(4, p.source()));
                assertEquals(List.of("0", "1", "2", "3", "4"), fds(listing), listing);
            }
        }
    }

    @Test
    void aTimedWaitSaturatesHugeTimeoutsAndRefusesNegativeAndNullOnesBeforeWaiting() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe hold = Pipe.open(); ChildProcess c = Command.of("cat").stdin(hold.source()).start()) {
                IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                        () -> c.waitFor(Duration.ofSeconds(-1)));
                assertTrue(negative.getMessage().contains("negative"), negative.getMessage());
                assertEquals("timeout", assertThrows(NullPointerException.class, () -> c.waitFor(null)).getMessage());
                assertEquals(Optional.empty(), c.exitStatus(), "refused before any wait, the child still runs");
                hold.sink().close();
                assertTrue(c.waitFor(Duration.ofSeconds(Long.MAX_VALUE, 999_999_999)).orElseThrow().success());
            }
        });
    }
}
