package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the CLI for tests: in this JVM through {@link Main#commandLine()} with captured output, or as
 * the real command in a child JVM ({@code java -cp <test class path> io.ipcbridge.cli.Main ...}),
 * for what needs raw stdin and stdout.
 */
final class Cli {
    private Cli() {
    }

    /** What an in-process run left: exit status, stdout and stderr text. */
    record Result(int status, String out, String err) {
        @Override
        public String toString() {
            return "exit " + status + ", stdout [" + out + "], stderr [" + err + "]";
        }
    }

    /** Runs {@code args} in this JVM, as {@link Main#main} would but without exiting. */
    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.commandLine()
                .setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(err, true))
                .execute(args);
        return new Result(status, out.toString(), err.toString());
    }

    /**
     * Runs the real command in a child JVM, its stdout to {@code out} and stderr to {@code err}, and
     * returns its exit status; fails if it has not ended within {@code bound}.
     */
    static int runChild(Path out, Path err, Duration bound, String... args) throws IOException, InterruptedException {
        Process p = command(err, args).redirectOutput(out.toFile()).start();
        try {
            assertTrue(p.waitFor(bound.toMillis(), TimeUnit.MILLISECONDS), () -> String.join(" ", args) + " ended");
            return p.exitValue();
        } finally {
            p.destroyForcibly();
        }
    }

    /**
     * A process builder for the real command in a child JVM; stderr goes to {@code stderr}, the
     * rest is for the caller to redirect.
     */
    static ProcessBuilder command(Path stderr, String... args) {
        List<String> argv = new ArrayList<>();
        argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        argv.add("--enable-native-access=ALL-UNNAMED");
        // Short-lived JVMs with small payloads: C1 alone and the serial collector start fastest.
        argv.add("-XX:TieredStopAtLevel=1");
        argv.add("-XX:+UseSerialGC");
        String nativeDir = System.getProperty("ipcbridge.native.dir");
        if (nativeDir != null) {
            argv.add("-Dipcbridge.native.dir=" + nativeDir);
        }
        argv.add("-cp");
        argv.add(System.getProperty("java.class.path"));
        argv.add(Main.class.getName());
        argv.addAll(List.of(args));
        return new ProcessBuilder(argv).redirectError(stderr.toFile());
    }

    /** A change to a command's ProcessBuilder before it starts (e.g. {@link #failingFirst}). */
    @FunctionalInterface
    interface Change {
        ProcessBuilder apply(ProcessBuilder command) throws Exception;
    }

    /** What a run in a child JVM left: exit status, stdout bytes, stderr text. */
    record Child(int status, byte[] out, String err) {
        /** stdout as UTF-8 text. */
        String text() {
            return new String(out, StandardCharsets.UTF_8);
        }
    }

    /**
     * Runs the real command in a child JVM to its end, with {@code stdin} as its stdin; its stdin and
     * stderr files are kept in {@code dir}. Fails if it runs longer than {@code bound}.
     */
    static Child child(Path dir, Duration bound, byte[] stdin, String... args) throws Exception {
        Path in = Files.write(dir.resolve("in"), stdin);
        Path err = dir.resolve("cli.err");
        return finish(command(err, args).redirectInput(in.toFile()), err, bound);
    }

    /**
     * Runs the real command as {@link #child} does (stdin empty), under strace(1), which makes the
     * first call of {@code calls} (a comma-separated list) fail with {@code errno} without the kernel
     * making it: the outcome of a race lost at that call, made certain. Every other call is made as usual.
     */
    static Child withFirstCallFailing(Path dir, String calls, String errno, String... args) throws Exception {
        Path err = dir.resolve("cli.err");
        ProcessBuilder pb = command(err, args);
        failingFirst(pb, calls, errno);
        return finish(pb.redirectInput(new File("/dev/null")), err, Duration.ofSeconds(60));
    }

    /**
     * Makes {@code command} run under strace(1), which fails the first call of {@code calls} with
     * {@code errno} (see {@link #withFirstCallFailing}); skips the test where strace cannot trace.
     */
    static ProcessBuilder failingFirst(ProcessBuilder command, String calls, String errno) throws Exception {
        assumeTrue(new File("/usr/bin/strace").canExecute()
                && new ProcessBuilder("strace", "-qq", "-o", "/dev/null", "true").start().waitFor() == 0,
                "no strace(1) that may trace here, to inject a failure");
        List<String> argv = new ArrayList<>(List.of("strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=" + calls,
                "-e", "inject=" + calls + ":error=" + errno + ":when=1"));
        argv.addAll(command.command());
        return command.command(argv);
    }

    /**
     * Runs the real command as {@link #child} does (stdin empty, the locale C.UTF-8) with one more
     * argument last: {@code prefix} and the byte 0xff, which is no UTF-8 (the JVM decodes it as U+FFFD).
     */
    static Child withLastArgumentNotUtf8(Path dir, String prefix, String... args) throws Exception {
        Path err = dir.resolve("cli.err");
        List<String> argv = new ArrayList<>(List.of("sh", "-c", "exec \"$@\" \"$0$(printf '\\377')\"", prefix));
        argv.addAll(command(err, args).command());
        ProcessBuilder pb = new ProcessBuilder(argv).redirectError(err.toFile()).redirectInput(new File("/dev/null"));
        pb.environment().put("LC_ALL", "C.UTF-8");
        return finish(pb, err, Duration.ofSeconds(60));
    }

    /** Starts {@code command} and waits for its end, at most {@code bound}; its stderr goes to {@code err}. */
    private static Child finish(ProcessBuilder command, Path err, Duration bound) throws Exception {
        Process p = command.start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            assertTrue(p.waitFor(bound.toSeconds(), TimeUnit.SECONDS), "the CLI ends");
            return new Child(p.exitValue(), out, MqStdioTest.read(err));
        } finally {
            destroy(p);
        }
    }

    /** Kills {@code p} if it still runs (a failed test must not leave it behind). */
    static void destroy(Process p) {
        if (p != null && p.isAlive()) {
            p.destroyForcibly();
        }
    }
}
