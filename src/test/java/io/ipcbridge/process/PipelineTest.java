package io.ipcbridge.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Peers;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pipelines of commands and Java stages, compared with bash running the same. */
class PipelineTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private static String bash(String script) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    private static String read(Pipeline.Run run) throws Exception {
        return new String(run.output().inputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void aJavaStageThatThrowsAnErrorEndsWithStatusOneAsForAnyException() throws Exception {
        // Stage.Body: any exception but PeerClosedException counts as 1. An Error (an assert in the
        // body, a StackOverflowError) made waitFor throw IllegalStateException, losing every
        // status, and close() throw an IOException though it had ended every stage
        assertTimeoutPreemptively(LIMIT, () -> {
            for (Throwable thrown : new Throwable[] {new AssertionError("boom"), new StackOverflowError()}) {
                Pipeline.Run run = Pipeline.of(
                        Stage.command("printf", "a\\nb\\n"),
                        Stage.java((in, out) -> {
                            in.readAllBytes();
                            out.write('x');
                            if (thrown instanceof Error e) {
                                throw e;
                            }
                            return 0;
                        }),
                        Stage.command("wc", "-c")).start();
                assertEquals("1", read(run).trim(), "the next stage saw what was written, then the end");
                assertEquals(List.of(ExitStatus.exited(0), ExitStatus.exited(1), ExitStatus.exited(0)), run.waitFor());
                assertEquals(Optional.of(List.of(ExitStatus.exited(0), ExitStatus.exited(1), ExitStatus.exited(0))),
                        run.waitFor(Duration.ZERO));
                assertEquals(ExitStatus.exited(1), run.waitForPipefail());
                run.close();
            }
        });
    }

    @Test
    void duSortHeadGivesWhatBashGives() throws Exception {
        // the seed pipeline: du -sk DIR/* | sort -rn | head -10
        for (int i = 0; i < 15; i++) {
            Path sub = Files.createDirectory(dir.resolve("d" + i));
            Files.write(sub.resolve("data"), new byte[(i * 7919) % 50_000 + i * 4096]);
        }
        List<String> du = new ArrayList<>(List.of("du", "-sk"));
        try (Stream<Path> entries = Files.list(dir)) {
            entries.map(Path::toString).sorted().forEach(du::add);
        }
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipeline.Run run = Pipeline.of(
                    Stage.command(Command.of(du)),
                    Stage.command("sort", "-rn"),
                    Stage.command("head", "-10")).start()) {
                String ours = read(run);
                assertEquals(List.of(ExitStatus.exited(0), ExitStatus.exited(0), ExitStatus.exited(0)), run.waitFor());
                assertEquals(bash("du -sk " + dir + "/* | sort -rn | head -10"), ours);
                assertEquals(10, ours.lines().count());
            }
        });
    }

    @Test
    void yesIntoHeadEndsAsInAShellWithSigpipeInPipestatus() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipeline.Run run = Pipeline.of(Stage.command("yes"), Stage.command("head", "-1")).start()) {
                assertEquals("y\n", read(run));
                List<ExitStatus> statuses = run.waitFor();
                assertEquals(ExitStatus.SIGPIPE, statuses.get(0).signal(), "yes dies of SIGPIPE, as in bash");
                assertEquals(141, statuses.get(0).shellStatus());
                assertTrue(statuses.get(1).success());
                assertEquals(141, run.waitForPipefail().shellStatus(), "pipefail reports the failed stage");
            }
        });
    }

    @Test
    void javaStagesReadAndWriteBetweenCommands() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipeline.Run run = Pipeline.of(
                    Stage.command("seq", "1", "1000"),
                    Stage.java((in, out) -> {
                        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
                        PrintStream p = new PrintStream(out, false, StandardCharsets.US_ASCII);
                        r.lines().mapToInt(Integer::parseInt).filter(n -> n % 7 == 0).forEach(p::println);
                        p.flush();
                        return 0;
                    }),
                    Stage.command("wc", "-l")).start()) {
                assertEquals("142", read(run).trim());
                assertEquals(3, run.waitFor().size());
                assertTrue(run.waitForPipefail().success());
            }
        });
    }

    @Test
    void aJavaStageWhoseReaderLeftEndsAsYesDoesInBash() throws Exception {
        // yes | head -1: bash's PIPESTATUS is "141 0", and the yes command's status is "killed by
        // SIGPIPE". A Java yes ended as "exit 141" instead, which equals neither that status nor a test
        // of signal() == SIGPIPE (the demo's, for an upstream stage); and as "exit 1" when its body
        // wrapped the PeerClosedException, as a lambda in a stream must (UncheckedIOException)
        byte[] line = "y\n".getBytes(StandardCharsets.US_ASCII);
        List<Stage.Body> yesInJava = List.of(
                (in, out) -> {
                    for (;;) {
                        out.write(line);
                    }
                },
                (in, out) -> {
                    Stream.generate(() -> line).forEach(bytes -> {
                        try {
                            out.write(bytes);
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    });
                    return 0;
                });
        assertTimeoutPreemptively(LIMIT, () -> {
            String pipestatus = bash("yes | head -1 >/dev/null; echo \"${PIPESTATUS[@]}\"").trim();
            List<ExitStatus> yes;
            try (Pipeline.Run run = Pipeline.of(Stage.command("yes"), Stage.command("head", "-1")).start()) {
                assertEquals("y\n", read(run));
                yes = run.waitFor();
            }
            assertEquals(pipestatus, yes.stream().map(s -> Integer.toString(s.shellStatus()))
                    .collect(Collectors.joining(" ")));
            for (Stage.Body body : yesInJava) {
                try (Pipeline.Run run = Pipeline.of(Stage.java(body), Stage.command("head", "-1")).start()) {
                    assertEquals("y\n", read(run));
                    assertEquals(yes, run.waitFor(), "a Java yes ends as the yes command does");
                }
            }
        });
    }

    @Test
    void aJavaStageThatSwallowsItsWriteFailuresStillEndsAsYesDoesInBash() throws Exception {
        // a PrintStream swallows the PeerClosedException of a write with no reader: a Java yes that
        // printed through one wrote in vain for ever, so waitFor never returned and close() waited
        // for ever too, where SIGPIPE ends the yes command
        Stage.Body printingYes = (in, out) -> {
            PrintStream p = new PrintStream(out, true, StandardCharsets.US_ASCII);
            for (;;) {
                p.println("y");
            }
        };
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipeline.Run run = Pipeline.of(Stage.java(printingYes), Stage.command("head", "-1")).start()) {
                assertEquals("y\n", read(run));
                assertEquals(List.of(new ExitStatus(-1, ExitStatus.SIGPIPE), ExitStatus.exited(0)), run.waitFor(),
                        "the Java yes ends at its next write, killed by SIGPIPE as the yes command is");
            }
            // closing the run ends it too, at the write that follows the one the close failed
            var before = Fds.snapshot();
            Pipeline.of(Stage.java(printingYes)).start().close();
            Fds.assertNoneAdded(before);
        });
    }

    @Test
    void aFailingJavaStageCountsAs1() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipeline.Run run = Pipeline.of(Stage.java((in, out) -> {
                throw new IllegalStateException("boom");
            })).start()) {
                assertEquals("", read(run));
                assertEquals(List.of(ExitStatus.exited(1)), run.waitFor());
            }
        });
    }

    @Test
    void aStageWithRedirectErrorStreamSendsItsStderrDownThePipeAsBashsTwoGreaterThanAndOne() throws Exception {
        String script = "echo out; echo err >&2";
        String merged = bash("sh -c '" + script + "' 2>&1 | LC_ALL=C sort");
        assertEquals("err\nout\n", merged);
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipeline.Run run = Pipeline.of(
                    Stage.command(Command.of("sh", "-c", script).redirectErrorStream(true)),
                    Stage.command(Command.of("sort").env("LC_ALL", "C"))).start()) {
                assertEquals(merged, read(run));
                assertTrue(run.waitForPipefail().success());
            }
            try (Pipeline.Run run = Pipeline.of(
                    Stage.command("sh", "-c", script),
                    Stage.command(Command.of("sort").env("LC_ALL", "C"))).start()) {
                assertEquals("out\n", read(run), "without it, stderr is the JVM's");
                assertTrue(run.waitForPipefail().success());
            }
        });
    }

    @Test
    void aCPeerWritingToStderrOfAMergedStageFeedsTheNextStage() throws Exception {
        // pipe_peer echoes the pipeline's input to its fd 2, then fd_list lists its fds on fd 1:
        // both reach the output, and fd 2 being the stdout pipe opens nothing more in the child
        String peers = "\"$0\" echo 0 2 && exec \"$1\"";
        Command stage = Command.of("sh", "-c", peers, Peers.path("pipe_peer"), Peers.path("fd_list"))
                .redirectErrorStream(true);
        assertTimeoutPreemptively(LIMIT, () -> {
            String out = feed("to stderr\n".getBytes(StandardCharsets.US_ASCII), Stage.command(stage));
            List<String> lines = out.lines().toList();
            assertEquals("to stderr", lines.get(0), out);
            assertEquals(List.of("0", "1", "2"), lines.stream().skip(1).filter(l -> l.matches("\\d+")).toList(), out);
        });
    }

    @Test
    void shellToolsAreFedAndReadThroughPipes() throws Exception {
        // Java <-> shell: wc -l, sort and sha256sum fed through a pipe, compared with Java's own answer
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 5000; i++) {
            text.append((i * 7919) % 10007).append('\n');
        }
        byte[] input = text.toString().getBytes(StandardCharsets.US_ASCII);
        String sorted = text.toString().lines().sorted().reduce(new StringBuilder(), (b, l) -> b.append(l).append('\n'),
                StringBuilder::append).toString();
        byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(input);
        StringBuilder hex = new StringBuilder();
        for (byte b : digest) {
            hex.append(String.format("%02x", b));
        }
        assertTimeoutPreemptively(LIMIT, () -> {
            assertEquals("5000", feed(input, Stage.command("wc", "-l")).trim());
            assertEquals(sorted, feed(input, Stage.command(Command.of("sort").env("LC_ALL", "C"))));
            assertEquals(hex + "  -", feed(input, Stage.command("sha256sum")).trim());
        });
    }

    private static String feed(byte[] input, Stage stage) throws Exception {
        Pipe in = Pipe.open();
        try (Pipeline.Run run = Pipeline.of(stage).input(in.source()).start()) {
            Thread writer = new Thread(() -> {
                try (var sink = in.sink()) {
                    sink.write(ByteBuffer.wrap(input));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            writer.start();
            String out = read(run);
            writer.join();
            assertTrue(run.waitForPipefail().success());
            return out;
        }
    }

    @Test
    void aTimedWaitReturnsEmptyWhileAStageRunsAndTheStatusesOnceAllEnded() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            Pipe in = Pipe.open();
            try (Pipeline.Run run = Pipeline.of(Stage.command("cat"), Stage.command("wc", "-c")).input(in.source())
                    .start()) {
                assertEquals(java.util.Optional.empty(), run.waitFor(Duration.ofMillis(50)));
                in.sink().write(ByteBuffer.wrap(new byte[10]));
                in.sink().close();
                assertEquals("10", read(run).trim());
                assertEquals(List.of(ExitStatus.exited(0), ExitStatus.exited(0)),
                        run.waitFor(Duration.ofSeconds(20)).orElseThrow());
            }
        });
    }

    @Test
    void aCheckWithoutWaitingOnAnInterruptedThreadIsEmptyWhileAStageRuns() throws Exception {
        // as Process.waitFor(0, unit) and ChildProcess.waitFor(ZERO), a zero timeout checks
        // without waiting, so there is no wait to interrupt; a running command or Java stage made it
        // throw InterruptedException (and a Java stage cleared the interrupt)
        assertTimeoutPreemptively(LIMIT, () -> {
            Stage java = Stage.java((stdin, stdout) -> {
                stdin.transferTo(stdout);
                return 0;
            });
            for (List<Stage> stages : List.of(List.of(Stage.command("cat"), java), List.of(java, Stage.command("cat")))) {
                Pipe in = Pipe.open();
                try (Pipeline.Run run = Pipeline.of(stages).input(in.source()).start()) {
                    Thread.currentThread().interrupt();
                    Optional<List<ExitStatus>> statuses = run.waitFor(Duration.ZERO);
                    assertTrue(Thread.interrupted(), "the interrupt is kept");
                    assertEquals(Optional.empty(), statuses, stages.toString());
                    in.sink().close();
                    assertEquals("", read(run));
                    assertEquals(List.of(ExitStatus.exited(0), ExitStatus.exited(0)), run.waitFor());
                }
            }
        });
    }

    private static Set<Long> children() {
        return ProcessHandle.current().children().map(ProcessHandle::pid).collect(Collectors.toSet());
    }

    @Test
    void aFailedStartClosesEveryDescriptorItOpenedAndEndsTheStagesItStarted() throws Exception {
        // FAULT-06: a start that fails part-way leaves no descriptor, no child and no thread behind
        assertTimeoutPreemptively(LIMIT, () -> {
            var before = Fds.snapshot();
            Set<Long> childrenBefore = children();
            for (int i = 0; i < 20; i++) {
                assertThrows(NoSuchFileException.class, () -> Pipeline.of(Stage.command("/nonexistent")).start());
            }
            Fds.assertNoneAdded(before);
            // the stages started before the one that failed: a command is killed and reaped, and a
            // Java stage blocked reading an input whose writer is still open ends
            try (Pipe in = Pipe.open()) {
                var open = Fds.snapshot();
                assertThrows(NoSuchFileException.class, () -> Pipeline.of(
                        Stage.command("sleep", "1000"),
                        Stage.command("/nonexistent")).start());
                assertThrows(NoSuchFileException.class, () -> Pipeline.of(
                        Stage.java((stdin, stdout) -> {
                            stdin.transferTo(stdout);
                            return 0;
                        }),
                        Stage.command("/nonexistent")).input(in.source()).start());
                Fds.assertNoneAdded(open);
                assertTrue(childrenBefore.containsAll(children()), "no child left running or unreaped");
            }
        });
    }

    @Test
    void aJavaStageRefusingItsInputClosesThePipeItWasToWrite() throws Exception {
        // FAULT-06: a Java stage whose stdin is refused (here an input closed before the start) failed
        // the start with the write end of its stdout pipe still open: no one held it any more
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Pipe in = Pipe.open()) {
                in.source().close();
                var open = Fds.snapshot();
                for (int i = 0; i < 20; i++) {
                    assertThrows(ClosedChannelException.class,
                            () -> Pipeline.of(Stage.java((stdin, stdout) -> 0)).input(in.source()).start());
                }
                Fds.assertNoneAdded(open);
            }
        });
    }

    @Test
    void aStartEndedByAnErrorClosesEveryDescriptorItOpenedAndEndsTheStagesItStarted() throws Exception {
        // FAULT-06: the OutOfMemoryError of a thread the JVM cannot create ("unable to create native
        // thread") passed the start's clean-up, which took exceptions only: the command started
        // before kept running, and the pipe ends stayed open
        assertTimeoutPreemptively(LIMIT, () -> {
            Set<Long> childrenBefore = children();
            try (Pipe in = Pipe.open()) {
                var open = Fds.snapshot();
                OutOfMemoryError noThread = new OutOfMemoryError("unable to create native thread");
                OutOfMemoryError thrown = assertThrows(OutOfMemoryError.class, () -> Pipeline.of(
                        Stage.command("sleep", "1000"),
                        Stage.java((stdin, stdout) -> 0),
                        Stage.command("cat")).input(in.source()).start(task -> {
                            throw noThread;
                        }));
                assertEquals(noThread, thrown);
                Fds.assertNoneAdded(open);
                assertTrue(childrenBefore.containsAll(children()), "no child left running or unreaped");
            }
        });
    }

    @Test
    void aTimedWaitSaturatesHugeTimeoutsAndRefusesNegativeAndNullOnesBeforeWaiting() throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            Pipe in = Pipe.open();
            try (Pipeline.Run run = Pipeline.of(Stage.command("cat"), Stage.java((stdin, stdout) -> {
                stdin.transferTo(stdout);
                return 0;
            })).input(in.source()).start()) {
                IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                        () -> run.waitFor(Duration.ofSeconds(-1)));
                assertTrue(negative.getMessage().contains("negative"), negative.getMessage());
                NullPointerException none = assertThrows(NullPointerException.class, () -> run.waitFor(null));
                assertEquals("timeout", none.getMessage());
                in.sink().close();
                assertEquals("", read(run));
                assertEquals(Optional.of(List.of(ExitStatus.exited(0), ExitStatus.exited(0))),
                        run.waitFor(Duration.ofSeconds(Long.MAX_VALUE)), "a huge timeout is no limit at all");
                assertEquals(Optional.of(List.of(ExitStatus.exited(0), ExitStatus.exited(0))),
                        run.waitFor(Duration.ofSeconds(Long.MAX_VALUE, 999_999_999)));
            }
        });
    }
}
