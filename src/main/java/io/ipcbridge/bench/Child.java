package io.ipcbridge.bench;

import io.ipcbridge.pipe.PipeSource;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.ExitStatus;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** A child process of a run (bench_peer, python3): its output once it has exited, or killed on close. */
interface Child extends AutoCloseable {
    /** Waits for the child; returns what it printed on stdout. Fails unless it exited with status 0. */
    String output() throws IOException, InterruptedException;

    /** Kills the child if it still runs. */
    @Override
    void close() throws IOException;

    /** A child started through ipcbridge, its stdout on {@code out}. */
    static Child of(List<String> argv, ChildProcess process, PipeSource out) {
        return new Child() {
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
        return new Child() {
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
