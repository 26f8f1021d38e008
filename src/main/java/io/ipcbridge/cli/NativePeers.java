package io.ipcbridge.cli;

import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.process.ExitStatus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/**
 * Finds the C peers of {@code native-tests/} for the demo and the benchmark: the directory named by the system property
 * {@code ipcbridge.native.dir}, else by the environment variable {@code IPCBRIDGE_NATIVE_DIR}, else
 * {@code native-tests} next to the jar (target/native-tests), else {@code native-tests/build} (in the
 * working directory, then in the repository the jar was built in). When
 * none holds them and the sources are next to the jar's target directory, builds them there with
 * {@code make -s -C <repo>/native-tests OUT=<dir>}.
 */
final class NativePeers {
    static final String PROPERTY = "ipcbridge.native.dir";
    static final String ENVIRONMENT = "IPCBRIDGE_NATIVE_DIR";
    static final String[] REQUIRED = {"pipe_peer", "fifo_peer", "sock_peer", "mq_peer", "shm_peer", "conn_peer",
        "bench_peer"};
    private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(2);

    private NativePeers() {
    }

    /**
     * The directory holding every {@link #REQUIRED} peer, built if need be; empty (with a note on
     * {@code err}) when there is none.
     */
    static Optional<Path> locate(PrintWriter err) {
        String property = nonEmpty(System.getProperty(PROPERTY));
        String environment = nonEmpty(System.getenv(ENVIRONMENT));
        Path codeDir = codeDirectory();
        Set<Path> candidates = new LinkedHashSet<>();
        if (property != null) {
            candidates.add(Path.of(property).toAbsolutePath().normalize());
        }
        if (environment != null) {
            candidates.add(Path.of(environment).toAbsolutePath().normalize());
        }
        if (codeDir != null) {
            candidates.add(codeDir.resolve("native-tests"));
        }
        candidates.add(Path.of("native-tests", "build").toAbsolutePath().normalize());
        if (codeDir != null && codeDir.getParent() != null) {
            candidates.add(codeDir.getParent().resolve("native-tests").resolve("build"));
        }
        for (Path dir : candidates) {
            if (hasPeers(dir)) {
                return Optional.of(dir);
            }
        }
        Path out = property != null ? Path.of(property) : environment != null ? Path.of(environment)
                : codeDir != null ? codeDir.resolve("native-tests") : null;
        Path sources = codeDir == null || codeDir.getParent() == null ? null
                : codeDir.getParent().resolve("native-tests");
        if (out != null && sources != null && Files.isRegularFile(sources.resolve("Makefile"))) {
            out = out.toAbsolutePath().normalize();
            err.println("ipcbridge: note: building the C peers: make -s -C " + sources + " OUT=" + out);
            err.flush();
            if (build(sources, out, err, BUILD_TIMEOUT) && hasPeers(out)) {
                return Optional.of(out);
            }
        }
        err.println("ipcbridge: note: C peers (" + String.join(", ", REQUIRED) + ") not found in "
                + candidates + "; skipping the exchanges with C (build them with make -C native-tests, "
                + "or name their directory with -D" + PROPERTY + " or " + ENVIRONMENT + ")");
        err.flush();
        return Optional.empty();
    }

    /** Whether every required peer is an executable file in {@code dir}. */
    static boolean hasPeers(Path dir) {
        for (String name : REQUIRED) {
            Path p = dir.resolve(name);
            if (!Files.isRegularFile(p) || !Files.isExecutable(p)) {
                return false;
            }
        }
        return true;
    }

    /**
     * The directory of the jar this class came from (target for target/ipcbridge.jar), or the parent
     * of the class directory (target for target/classes); null when unknown.
     */
    static Path codeDirectory() {
        try {
            CodeSource source = NativePeers.class.getProtectionDomain().getCodeSource();
            if (source == null || source.getLocation() == null) {
                return null;
            }
            Path location = Path.of(source.getLocation().toURI()).toAbsolutePath().normalize();
            return location.getParent();
        } catch (URISyntaxException | IllegalArgumentException | SecurityException e) {
            return null;
        }
    }

    /**
     * Runs make, copying its stdout to {@code err}; false once {@code timeout} has passed, even while
     * a recipe still holds that output open (make is killed then).
     */
    static boolean build(Path sources, Path out, PrintWriter err, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Pipe output = Pipe.open();
             ChildProcess make = Command.of("make", "-s", "-C", sources.toString(), "OUT=" + out)
                     .stdout(output.sink()).start()) {
            output.sink().close();
            // make's stdout is diagnostics here: stdout carries the demo's table only.
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            InputStream in = output.source().inputStream();
            byte[] chunk = new byte[8192];
            for (int n = 0; n >= 0 && output.source().await(remaining(deadline)); ) {
                n = in.read(chunk);
                text.write(chunk, 0, Math.max(n, 0));
            }
            err.print(text.toString(Charset.defaultCharset()));
            Optional<ExitStatus> status = make.waitFor(remaining(deadline));
            if (status.isPresent() && status.get().success()) {
                return true;
            }
            err.println("ipcbridge: note: make " + status.map(ExitStatus::toString)
                    .orElse("timed out after " + Durations.format(timeout)));
            return false;
        } catch (IOException e) {
            err.println("ipcbridge: note: cannot run make: " + ExitCodes.describe(e));
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static Duration remaining(long deadline) {
        return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
    }

    private static String nonEmpty(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
