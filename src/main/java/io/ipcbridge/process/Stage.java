package io.ipcbridge.process;

import java.io.InputStream;
import java.io.OutputStream;
import java.util.Objects;

/**
 * One stage of a {@link Pipeline}: an external command, or Java code reading its stdin and writing
 * its stdout.
 */
public sealed interface Stage {
    /** An external command; its fd 0 and 1 are wired into the pipeline, the rest is as in {@link Command}. */
    static Stage command(String... argv) {
        return new External(Command.of(argv));
    }

    /** An external command with its own environment, directory or extra descriptors. */
    static Stage command(Command command) {
        return new External(Objects.requireNonNull(command, "command"));
    }

    /** A Java stage, run on its own thread. */
    static Stage java(Body body) {
        return new Java(Objects.requireNonNull(body, "body"));
    }

    /** The code of a Java stage. */
    @FunctionalInterface
    interface Body {
        /**
         * Reads {@code in} and writes {@code out}; both are closed when it returns.
         *
         * @return the stage's exit status, 0 for success. A
         *     {@link io.ipcbridge.PeerClosedException} thrown because the next stage has gone (also
         *     as the cause of what is thrown, such as an {@link java.io.UncheckedIOException}) ends
         *     the stage as SIGPIPE ends a command: signal {@link ExitStatus#SIGPIPE}, shell status
         *     141. Any other exception or error counts as exit code 1. A write to {@code out} after
         *     one that failed throws that failure again as an {@link java.io.UncheckedIOException},
         *     so that a body which swallows I/O failures (a {@link java.io.PrintStream} does) still
         *     ends, as SIGPIPE ends a command that ignores its failed writes
         */
        int run(InputStream in, OutputStream out) throws Exception;
    }

    /** An external command stage. */
    record External(Command command) implements Stage {
    }

    /** A Java code stage. */
    record Java(Body body) implements Stage {
    }
}
