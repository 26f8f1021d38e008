package io.ipcbridge.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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

    /** Kills {@code p} if it still runs (a failed test must not leave it behind). */
    static void destroy(Process p) {
        if (p != null && p.isAlive()) {
            p.destroyForcibly();
        }
    }
}
