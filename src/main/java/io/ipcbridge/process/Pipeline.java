package io.ipcbridge.process;

import io.ipcbridge.Descriptor;
import io.ipcbridge.PeerClosedException;
import io.ipcbridge.internal.posix.Deadline;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.pipe.PipeEnd;
import io.ipcbridge.pipe.PipeSink;
import io.ipcbridge.pipe.PipeSource;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A pipeline such as {@code du -sk /var/log/* | sort -rn | head -10}, built from Java: each stage's
 * stdout feeds the next stage's stdin through a pipe, any stage may be Java code, and every stage's
 * exit status is kept, like bash's {@code PIPESTATUS} and {@code pipefail}.
 *
 * <pre>{@code
 * try (Pipeline.Run run = Pipeline.of(
 *         Stage.command("du", "-sk", "/var/log"),
 *         Stage.command("sort", "-rn"),
 *         Stage.command("head", "-10")).start()) {
 *     String top = new String(run.output().inputStream().readAllBytes());
 *     List<ExitStatus> statuses = run.waitFor();
 * }
 * }</pre>
 */
public final class Pipeline {
    /** Runs each Java stage on a daemon thread of its own. */
    private static final Executor STAGE_THREADS = task -> {
        Thread t = new Thread(task, "ipcbridge-pipeline-stage");
        t.setDaemon(true);
        t.start();
    };

    private final List<Stage> stages;
    private PipeEnd input;

    private Pipeline(List<Stage> stages) {
        if (stages.isEmpty()) {
            throw new IllegalArgumentException("a pipeline needs at least one stage");
        }
        stages.forEach(stage -> Objects.requireNonNull(stage, "stage"));
        this.stages = List.copyOf(stages);
    }

    /** A pipeline of {@code stages}, first to last. */
    public static Pipeline of(Stage... stages) {
        return new Pipeline(Arrays.asList(Objects.requireNonNull(stages, "stages").clone()));
    }

    /** A pipeline of {@code stages}, first to last. */
    public static Pipeline of(List<Stage> stages) {
        return new Pipeline(stages);
    }

    /**
     * Feeds the first stage from {@code source}, which the pipeline takes over and closes (by default
     * it reads an empty pipe: end of file at once).
     */
    public Pipeline input(PipeSource source) {
        this.input = Objects.requireNonNull(source, "source");
        return this;
    }

    /**
     * Starts every stage. The last stage's stdout is {@link Run#output()}; a stage's stderr is the
     * JVM's unless its {@link Command} places fd 2 or merges it into its stdout
     * ({@link Command#redirectErrorStream}, {@code 2>&1}). If a stage fails to start, the stages
     * already started are ended as {@link Run#close()} ends them, and every descriptor the start
     * opened is closed; so too if an {@link Error} is thrown, such as the OutOfMemoryError of a
     * thread the JVM cannot create.
     */
    public Run start() throws IOException {
        return start(STAGE_THREADS);
    }

    /** {@link #start()} with the Java stages run by {@code threads}. */
    Run start(Executor threads) throws IOException {
        Run run = new Run(stages.size(), threads);
        Descriptor in = null; // the next stage's stdin, until that stage takes it over
        PipeSource pending = null; // the read end of the newest pipe, until it is wired on
        try {
            in = input != null ? input.descriptor() : emptyInput();
            for (int i = 0; i < stages.size(); i++) {
                Pipe next = Pipe.open();
                pending = next.source();
                Descriptor stdin = in;
                in = null;
                run.startStage(stages.get(i), stdin, next.sink());
                if (i == stages.size() - 1) {
                    run.output = pending;
                } else {
                    in = pending.descriptor();
                }
                pending = null;
            }
            return run;
        } catch (IOException | RuntimeException | Error e) {
            for (AutoCloseable c : new AutoCloseable[] {in, pending, run}) {
                try {
                    if (c != null) {
                        c.close();
                    }
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /**
     * The first stage's stdin by default: the read end of a pipe whose write end is closed, which
     * reads as end of file at once, as /dev/null would (a Java stage reads pipes only, FD-11).
     */
    private static Descriptor emptyInput() throws IOException {
        Pipe empty = Pipe.open();
        try {
            empty.sink().close();
        } catch (IOException | RuntimeException e) {
            empty.close();
            throw e;
        }
        return empty.source().descriptor();
    }

    /**
     * A running pipeline. Closing it closes the output, kills and reaps any command still running,
     * and closes the pipe ends of any Java stage still running (which ends it at its next read or
     * write), then waits for it. Several threads may wait for a run at once, as for a {@link ChildProcess}.
     */
    public static final class Run implements AutoCloseable {
        private final List<Object> running;
        private final List<PipeEnd> javaEnds = new ArrayList<>();
        private final Executor threads;
        private PipeSource output;

        private Run(int size, Executor threads) {
            running = new ArrayList<>(size);
            this.threads = threads;
        }

        /** Starts {@code stage} on {@code in} and {@code out}, which it takes over. */
        private void startStage(Stage stage, Descriptor in, PipeSink out) throws IOException {
            if (stage instanceof Stage.External external) {
                try {
                    running.add(external.command().start(in, out.descriptor()));
                } finally {
                    in.close();
                    out.close();
                }
            } else {
                Stage.Body body = ((Stage.Java) stage).body();
                javaEnds.add(out); // first: a refused stdin (PipeSource.of closes it) leaves out to close()
                PipeSource source = PipeSource.of(in);
                javaEnds.add(source);
                running.add(CompletableFuture.supplyAsync(() -> runJava(body, source, out), threads));
            }
        }

        private static ExitStatus runJava(Stage.Body body, PipeSource source, PipeSink sink) {
            try (InputStream in = source.inputStream(); OutputStream out = new StageOutput(sink.outputStream())) {
                return ExitStatus.exited(body.run(in, out) & 0xff);
            } catch (Throwable e) {
                // an Error too (an assert, a StackOverflowError): the stage failed, and its status
                // says so, as a command's would; the streams are closed, so the next stage has its end
                return readerLeft(e) ? new ExitStatus(-1, ExitStatus.SIGPIPE) : ExitStatus.exited(1);
            }
        }

        /**
         * A Java stage's stdout. SIGPIPE ends a command at a write with no reader whether it checks
         * its writes or not; so here a write after one that failed (the next stage gone, or the run
         * closed) throws that failure again as an {@link UncheckedIOException}, which a body that
         * swallows I/O failures, as a {@link java.io.PrintStream} does, lets through: the stage ends
         * instead of writing in vain for ever, with {@link Run#close()} and every wait waiting for it.
         */
        private static final class StageOutput extends FilterOutputStream {
            private volatile IOException failure;

            StageOutput(OutputStream out) {
                super(out);
            }

            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                IOException failed = failure;
                if (failed != null) {
                    throw new UncheckedIOException(failed);
                }
                try {
                    out.write(b, off, len);
                } catch (IOException e) {
                    failure = e;
                    throw e;
                }
            }
        }

        /** Whether {@code e} comes of a write to a pipe with no reader left, however it was wrapped. */
        private static boolean readerLeft(Throwable e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof PeerClosedException) {
                    return true;
                }
            }
            return false;
        }

        /** The last stage's stdout. */
        public PipeSource output() {
            return output;
        }

        /**
         * Waits for every stage, like bash's {@code PIPESTATUS}.
         *
         * @return each stage's status, first to last
         */
        public List<ExitStatus> waitFor() throws IOException, InterruptedException {
            List<ExitStatus> statuses = new ArrayList<>(running.size());
            for (Object stage : running) {
                if (stage instanceof ChildProcess child) {
                    statuses.add(child.waitFor());
                } else {
                    try {
                        statuses.add(((CompletableFuture<?>) stage).thenApply(ExitStatus.class::cast).get());
                    } catch (ExecutionException e) {
                        throw new IllegalStateException("Java stage failed unexpectedly", e.getCause());
                    }
                }
            }
            return statuses;
        }

        /**
         * Waits at most {@code timeout} for every stage; zero checks without waiting (so, as with
         * {@link ChildProcess#waitFor(Duration)}, an interrupt is not taken), and a timeout too long
         * to count in nanoseconds waits without limit.
         *
         * @return each stage's status, or empty if one still runs when the timeout passes
         * @throws IllegalArgumentException if {@code timeout} is negative, before any wait
         */
        public Optional<List<ExitStatus>> waitFor(Duration timeout) throws IOException, InterruptedException {
            long deadline = Deadline.of(Objects.requireNonNull(timeout, "timeout"));
            List<ExitStatus> statuses = new ArrayList<>(running.size());
            for (Object stage : running) {
                Optional<ExitStatus> status;
                if (stage instanceof ChildProcess child) {
                    status = child.waitUntil(deadline);
                } else {
                    status = javaStatus((CompletableFuture<?>) stage, deadline);
                }
                if (status.isEmpty()) {
                    return Optional.empty();
                }
                statuses.add(status.get());
            }
            return Optional.of(statuses);
        }

        /** Waits until {@code deadline} ({@link Deadline}) for a Java stage to end. */
        private static Optional<ExitStatus> javaStatus(CompletableFuture<?> future, long deadline)
                throws InterruptedException {
            if (!future.isDone() && Deadline.passed(deadline)) {
                return Optional.empty(); // no wait, so no interrupt to take, as for a command
            }
            try {
                return Optional.of((ExitStatus) (deadline == Deadline.NEVER ? future.get()
                        : future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)));
            } catch (TimeoutException e) {
                return Optional.empty();
            } catch (ExecutionException e) {
                throw new IllegalStateException("Java stage failed unexpectedly", e.getCause());
            }
        }

        /**
         * The pipeline's status with bash's {@code pipefail}: the last non-zero stage status, or
         * success. Waits for every stage.
         */
        public ExitStatus waitForPipefail() throws IOException, InterruptedException {
            ExitStatus result = ExitStatus.exited(0);
            for (ExitStatus s : waitFor()) {
                if (!s.success()) {
                    result = s;
                }
            }
            return result;
        }

        @Override
        public void close() throws IOException {
            IOException failure = null;
            if (output != null) {
                output.close();
            }
            for (PipeEnd end : javaEnds) {
                try {
                    end.close();
                } catch (IOException e) {
                    failure = failure == null ? e : failure;
                }
            }
            for (Object stage : running) {
                try {
                    if (stage instanceof ChildProcess child) {
                        child.close();
                    } else {
                        ((CompletableFuture<?>) stage).join();
                    }
                } catch (IOException e) {
                    failure = failure == null ? e : failure;
                } catch (RuntimeException e) {
                    failure = failure == null ? new IOException(e) : failure;
                }
            }
            if (failure != null) {
                throw failure;
            }
        }
    }
}
