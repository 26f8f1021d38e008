package io.ipcbridge.bench;

import io.ipcbridge.pipe.PipeSource;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.ExitStatus;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/** A child process of a run (bench_peer, python3): its output once it has exited, or killed on close. */
interface Child extends AutoCloseable {
    /** Waits for the child; returns what it printed on stdout. Fails unless it exited with status 0. */
    String output() throws IOException, InterruptedException;

    /**
     * Closes {@code stop} when the child ends with a failure (killed, or a non-zero status): the Java
     * side blocked on a dead peer (a full queue, a semaphore) then fails instead of waiting forever.
     */
    void closeOnFailure(AutoCloseable stop);

    /** How the child failed, if {@link #closeOnFailure} saw it fail. */
    Optional<String> failure();

    /** Kills the child if it still runs. */
    @Override
    void close() throws IOException;

    /** A child started through ipcbridge, its stdout on {@code out}. */
    static Child of(List<String> argv, ChildProcess process, PipeSource out) {
        AtomicReference<String> failure = new AtomicReference<>();
        return new Child() {
            @Override
            public void closeOnFailure(AutoCloseable stop) {
                Thread watch = new Thread(() -> {
                    try {
                        ExitStatus status = process.waitFor();
                        if (!status.success()) {
                            failure.set(describe(argv) + " ended with " + status);
                            stop.close();
                        }
                    } catch (Exception e) {
                        // closed or interrupted: nothing to watch any more
                    }
                }, "bench-watch-" + process.pid());
                watch.setDaemon(true);
                watch.start();
            }

            @Override
            public Optional<String> failure() {
                return Optional.ofNullable(failure.get());
            }

            @Override
            public String output() throws IOException, InterruptedException {
                String text;
                try (InputStream in = out.inputStream()) {
                    text = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
                }
                ExitStatus status = process.waitFor();
                if (!status.success()) {
                    throw new IOException(Child.describe(argv) + " ended with " + status);
                }
                return text;
            }

            @Override
            public void close() throws IOException {
                try {
                    process.close();
                } finally {
                    out.close();
                }
            }
        };
    }

    /** A child started through {@link ProcessBuilder}, its stdout not redirected. */
    static Child of(List<String> argv, Process process) {
        AtomicReference<String> failure = new AtomicReference<>();
        return new Child() {
            @Override
            public void closeOnFailure(AutoCloseable stop) {
                process.onExit().thenAccept(p -> {
                    try {
                        if (p.exitValue() != 0) {
                            failure.set(describe(argv) + " exited with " + p.exitValue());
                            stop.close();
                        }
                    } catch (Exception e) {
                        // closed already
                    }
                });
            }

            @Override
            public Optional<String> failure() {
                return Optional.ofNullable(failure.get());
            }

            @Override
            public String output() throws IOException, InterruptedException {
                String text = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                int status = process.waitFor();
                if (status != 0) {
                    throw new IOException(Child.describe(argv) + " exited with " + status);
                }
                return text;
            }

            @Override
            public void close() {
                process.destroyForcibly();
            }
        };
    }

    /** The program and its arguments, the Python program text left out. */
    static String describe(List<String> argv) {
        int i = argv.indexOf("-c");
        return String.join(" ", i < 0 ? argv : argv.subList(i + 2, argv.size()));
    }
}
