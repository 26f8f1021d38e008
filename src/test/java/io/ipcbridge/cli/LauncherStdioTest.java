package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.testing.Created;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The launcher, scripts/ipcbridge, with a standard descriptor given closed ({@code <&-}). It runs as
 * itself from a copy of the project's layout in a temporary directory: a placeholder
 * target/ipcbridge.jar (so that it builds nothing), an empty native-tests/Makefile, and a
 * JAVA_HOME whose bin/java runs this test's class path instead of {@code -jar JAR}.
 */
class LauncherStdioTest {
    private static final Duration BOUND = Duration.ofSeconds(60);
    private static final String EBADF_STDIN = "ipcbridge: read(stdin): EBADF (Bad file descriptor)\n";
    private final Created queues = new Created("fixcli-lq", MessageQueue::unlink);
    private final Created segments = new Created("fixcli-lm", SharedMemory::unlink);

    @TempDir
    Path dir;

    @AfterEach
    void unlinkAll() {
        queues.unlinkAll();
        segments.unlinkAll();
    }

    /** A copy of the launcher in a project layout of its own, running this test's classes. */
    private Path launcher() throws Exception {
        Path root = dir.resolve("root");
        if (Files.exists(root)) {
            return root.resolve("scripts/ipcbridge");
        }
        Path scripts = Files.createDirectories(root.resolve("scripts"));
        Path launcher = Files.copy(Path.of("scripts/ipcbridge"), scripts.resolve("ipcbridge"),
                StandardCopyOption.COPY_ATTRIBUTES);
        Files.createDirectories(root.resolve("target"));
        Files.writeString(root.resolve("target/ipcbridge.jar"), ""); // present: the launcher builds nothing
        Files.createDirectories(root.resolve("native-tests"));
        Files.writeString(root.resolve("native-tests/Makefile"), "all:\n\t@:\n");
        Path bin = Files.createDirectories(dir.resolve("jdk/bin"));
        Path java = bin.resolve("java");
        Files.writeString(java, "#!/usr/bin/env bash\n"
                + "# stands in for `java OPTIONS -jar JAR ARGS`: the same JVM on the test's class path\n"
                + "opts=()\n"
                + "while (($#)); do if [[ $1 == -jar ]]; then shift 2; break; fi; opts+=(\"$1\"); shift; done\n"
                + "exec \"$REAL_JAVA\" \"${opts[@]}\" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp \"$CP\" "
                + Main.class.getName() + " \"$@\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        return launcher;
    }

    /** Runs the launcher with {@code redirect} (bash syntax) applied; returns exit status and stderr. */
    private Cli.Result run(String redirect, String... args) throws Exception {
        return run(Map.of(), redirect, args);
    }

    /** {@link #run(String, String...)} with {@code env} added to the environment. */
    private Cli.Result run(Map<String, String> env, String redirect, String... args) throws Exception {
        Path err = dir.resolve("cli.err");
        List<String> argv = new ArrayList<>(List.of("bash", "-c", "exec \"$@\" " + redirect, "bash",
                launcher().toString()));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectError(err.toFile())
                .redirectOutput(new File("/dev/null")).redirectInput(new File("/dev/null"));
        pb.environment().put("JAVA_HOME", dir.resolve("jdk").toString());
        pb.environment().put("REAL_JAVA", Path.of(System.getProperty("java.home"), "bin", "java").toString());
        pb.environment().put("CP", System.getProperty("java.class.path"));
        pb.environment().remove("IPCBRIDGE_JAVA_OPTS");
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "the launcher ends");
            return new Cli.Result(p.exitValue(), "", MqStdioTest.read(err));
        } finally {
            Cli.destroy(p);
        }
    }

    @Test
    void aClosedStdinIsEbadfNeverTheJvmsOwnFile() {
        // CLI.md "Data: raw bytes on stdin". With fd 0 closed, the JVM's first file (lib/modules) took
        // it, and shm write copied the JDK's module image into the segment (exit 0 when it fit), mq
        // send refused "stdin holds more than ..."; stdin is closed: read(stdin) fails with EBADF.
        assertTimeoutPreemptively(BOUND, () -> {
            String m = segments.name();
            String q = queues.name();
            assertEquals(0, Cli.run("shm", "create", m, "--size", "4096").status());
            assertEquals(0, Cli.run("mq", "create", q, "--message-size", "64", "--max-messages", "2").status());
            Cli.Result r = run("<&-", "shm", "write", m);
            assertEquals(1, r.status(), r::toString);
            assertEquals(EBADF_STDIN, r.err(), "one errno line");
            try (SharedMemory shm = SharedMemory.open(m, true)) {
                byte[] got = new byte[4096];
                ByteBuffer b = shm.buffer();
                b.get(0, got);
                assertArrayEquals(new byte[4096], got, "nothing was written");
            }
            r = run("<&-", "mq", "send", q);
            assertEquals(1, r.status(), r::toString);
            assertEquals(EBADF_STDIN, r.err(), "one errno line");
            try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
                assertEquals(0, mq.attributes().currentMessages(), "nothing was sent");
            }
            // and an open stdin still reads as it is
            r = run("<<<'hello'", "mq", "send", q);
            assertEquals(0, r.status(), r::toString);
            try (MessageQueue mq = MessageQueue.open(q, MessageQueue.Access.READ)) {
                assertEquals("hello\n", mq.tryReceive().orElseThrow().text());
            }
        });
    }

    @Test
    void aCommandThatNeedsNoCPeerWritesOnlyItsOwnLineWhenThePeersCannotBeBuilt() {
        // CLI.md "an error is always one line starting ipcbridge: ": where the C peers cannot be built
        // (no make or cc on a host that only runs the jar), every command had make's complaint and a
        // note on stderr before its own line; only demo and bench use the peers.
        assertTimeoutPreemptively(BOUND, () -> {
            launcher();
            Files.writeString(dir.resolve("root/native-tests/Makefile"), "all:\n\t@echo 'cc: not found' >&2; exit 1\n");
            String q = queues.name();
            Cli.Result r = run("", "mq", "info", q);
            assertEquals(1, r.status(), r::toString);
            assertEquals("ipcbridge: mq_open(" + q + "): ENOENT (No such file or directory)\n", r.err(), "one line");
            r = run("", "--version");
            assertEquals(0, r.status(), r::toString);
            assertEquals("", r.err());
        });
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"LC_ALL=C", "LANG=C", "LC_CTYPE=POSIX", "LANG="})
    void aNonAsciiPathReachesJavaIntactWhateverTheLocale(String locale) {
        // CLI.md "binary-safe everywhere": in a locale whose charset is not UTF-8 the JVM encodes file
        // names in ASCII, and `fifo create DIR/fïfo` was a usage error ("Malformed input or input
        // contains unmappable characters"). The launcher runs Java in C.UTF-8 then.
        assertTimeoutPreemptively(BOUND, () -> {
            Path fifo = dir.resolve("f\u00effo-\u65e5");
            Map<String, String> env = new HashMap<>(Map.of("LC_ALL", "", "LC_CTYPE", "", "LANG", ""));
            String[] setting = locale.split("=", 2);
            env.put(setting[0], setting[1]);
            Cli.Result r = run(env, "", "fifo", "create", fifo.toString());
            assertEquals(0, r.status(), r::toString);
            assertEquals("", r.err());
            assertTrue(Files.readAttributes(fifo, BasicFileAttributes.class).isOther(), "a FIFO at the name given");
        });
    }
}
