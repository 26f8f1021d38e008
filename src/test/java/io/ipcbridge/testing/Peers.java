package io.ipcbridge.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** The C peers of native-tests/, built by Maven into the directory surefire names. */
public final class Peers {
    private Peers() {
    }

    /** The path of peer {@code name}; the test is skipped when the peers were not built. */
    public static String path(String name) {
        String dir = System.getProperty("ipcbridge.native.dir", "native-tests/build");
        Path p = Path.of(dir, name).toAbsolutePath();
        assumeTrue(Files.isExecutable(p), "C peer not built: " + p + " (run make -C native-tests)");
        return p.toString();
    }

    /**
     * Runs peer {@code name} with {@code args} to its end (at most 60 s) and returns its stdout,
     * failing with its stderr (kept in {@code errFile}) unless it exits 0.
     */
    public static String run(Path errFile, String name, String... args) throws Exception {
        java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of(path(name)));
        argv.addAll(java.util.List.of(args));
        Process p = new ProcessBuilder(argv).redirectError(errFile.toFile()).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            org.junit.jupiter.api.Assertions.assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS),
                    name + " ends");
            org.junit.jupiter.api.Assertions.assertEquals(0, p.exitValue(), () -> name + " " + String.join(" ", args)
                    + ": " + readQuietly(errFile));
            return out;
        } finally {
            p.destroyForcibly();
            closeStreams(p);
        }
    }

    /**
     * Closes the pipes to and from {@code p} now, rather than leaving them to the garbage collector,
     * whose late closes would disturb tests that count free descriptors.
     */
    public static void closeStreams(Process p) throws java.io.IOException {
        p.getOutputStream().close();
        p.getInputStream().close();
        p.getErrorStream().close();
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            return "(no stderr: " + e + ")";
        }
    }
}
