package io.ipcbridge.cli;

import io.ipcbridge.bench.Bench;
import io.ipcbridge.bench.Result;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code ipcbridge bench}: every mechanism side by side with C, the JDK and Python (see
 * {@link Bench}). Tables on stdout, one progress line per run on stderr, and on request JSON, CSV
 * and a chart. Exit 0 when every run completed, 1 when one failed, 2 for an unknown mechanism.
 */
@CommandLine.Command(name = "bench", mixinStandardHelpOptions = true, version = Main.VERSION,
        description = {"Side by side with C, the JDK and Python: for each mechanism, the round-trip latency of an "
                + "8-byte message (median, p99, mean) and the one-way throughput in 64 KiB writes (8 KiB messages "
                + "for mq), for the pairs c-c, java-c, java-java, jdk-c, jdk-java, python-python and java-python "
                + "where they apply, interleaved in each repeat; the tables give the median of the repeats and "
                + "the ratio of each pair to c-c.",
            "Full run: 1 GiB per throughput run, 100,000 timed round trips after 10,000, 5 repeats (5 to 8 minutes"
                + " on 2 CPUs). --quick: 16 MiB, 2,000 after 500, 1 repeat (under a minute).",
            "Placement: the two sides of a latency run share one CPU, except for the spinning mechanisms (shm-spin, "
                + "ring-spin), which get the CPUs the scheduler gives; --spread lets the scheduler place all. On a VM "
                + "a wake-up on an idle CPU costs tens of microseconds, which would hide the cost of the calls.",
            "Mechanisms: pipe fifo unix-stream unix-seqpacket unix-dgram tcp mq shm-sem shm-spin ring ring-spin "
                + "ring-64b conn conn-64b (all by default). ring: the shared-memory message ring with futex waits (64 KiB "
                + "records); ring-spin: its spinning waits (latency only); ring-64b: 64-byte records (throughput "
                + "only, the per-message cost); conn-64b: Connection with 64-byte messages (throughput only: the "
                + "message rate is MB/s / 64).",
            "The C side of every pair is native-tests/bench_peer, found as for the demo."})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "MECHANISM", arity = "0..*", description = "Mechanisms to run (default: all).")
    List<String> mechanisms = new ArrayList<>();

    @Option(names = "--quick", description = "A smoke run: small sizes, 1 repeat.")
    boolean quick;

    @Option(names = "--json", paramLabel = "FILE", converter = Argv.GivenPath.class,
            description = "Also write the results as one JSON object.")
    Path json;

    @Option(names = "--csv", paramLabel = "FILE", converter = Argv.GivenPath.class,
            description = "Also write the results as CSV, one line each.")
    Path csv;

    @Option(names = "--plot", paramLabel = "FILE", converter = Argv.GivenPath.class,
            description = "Also draw a chart: FILE.svg or FILE.png.")
    Path plot;

    @Option(names = "--repeat", paramLabel = "N", converter = Counts.Positive.class,
            description = "Repeats instead of the mode's (5 full, 1 quick).")
    Long repeat;

    @Option(names = "--bytes", paramLabel = "S", converter = Sizes.Positive.class,
            description = "Bytes per throughput run instead of the mode's (at least 128KiB).")
    Long bytes;

    @Option(names = "--pings", paramLabel = "N", converter = Counts.Positive.class,
            description = "Timed round trips per latency run instead of the mode's.")
    Long pings;

    @Option(names = "--warmup", paramLabel = "N", converter = Counts.NonNegative.class,
            description = "Untimed round trips before them instead of the mode's.")
    Long warmup;

    @Option(names = "--spread", description = "Let the scheduler place the two sides of every latency run (by "
            + "default those of a mechanism that sleeps while it waits share one CPU).")
    boolean spread;

    @Option(names = "--python", paramLabel = "PATH", defaultValue = "python3",
            description = "The Python of the Python pairs (default: ${DEFAULT-VALUE}).")
    String python;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<String> run = new ArrayList<>();
        for (String m : mechanisms) {
            if (!Bench.mechanismIds().contains(m)) {
                throw new ParameterException(spec.commandLine(), "unknown mechanism '" + m + "'; known: "
                        + String.join(" ", Bench.mechanismIds()));
            } else if (!run.contains(m)) {
                run.add(m);
            }
        }
        if (bytes != null && bytes < Bench.MIN_BYTES) {
            throw new ParameterException(spec.commandLine(), "--bytes must be at least 128KiB (" + Bench.MIN_BYTES
                    + "): the receiver times from its first receive to its last, so two 64 KiB sends at least: "
                    + bytes);
        }
        if (bytes != null && bytes == Long.MAX_VALUE) { // where Sizes saturates: past what a byte count here can hold
            throw CommandFailure.refused("--bytes: the bench moves at most " + (Long.MAX_VALUE - 1) + " bytes a run");
        }
        String plotName = plot == null ? "" : plot.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        if (plot != null && !plotName.endsWith(".svg") && !plotName.endsWith(".png")) {
            throw new ParameterException(spec.commandLine(), "--plot needs a file name ending in .svg or .png: " + plot);
        }
        writable("--json", json);
        writable("--csv", csv);
        writable("--plot", plot);
        Optional<Path> peers = NativePeers.locate(err);
        if (peers.isEmpty()) {
            throw CommandFailure.refused("bench needs the C peers (bench_peer) of native-tests/");
        }
        Bench.Options mode = quick ? Bench.Options.quick(run, peers.get()) : Bench.Options.full(run, peers.get());
        Bench.Options options = new Bench.Options(run, bytes != null ? bytes : mode.bytes(),
                pings != null ? upToIntMax("--pings", pings) : mode.pings(),
                warmup != null ? upToIntMax("--warmup", warmup) : mode.warmup(),
                repeat != null ? upToIntMax("--repeat", repeat) : mode.repeat(), peers.get(), python, spread);
        List<Result> results = Bench.run(options, err);
        BenchReport.tables(results, options, out);
        if (json != null) {
            String text = BenchReport.json(results, options) + "\n";
            output(json, () -> Files.writeString(json, text, StandardCharsets.UTF_8));
        }
        if (csv != null) {
            output(csv, () -> Files.writeString(csv, BenchReport.csv(results), StandardCharsets.UTF_8));
        }
        if (plot != null) {
            output(plot, () -> BenchChart.write(results, plot));
        }
        return ExitCodes.OK;
    }

    /** A write of an output file. */
    @FunctionalInterface
    private interface Output {
        void write() throws IOException;
    }

    /** Runs {@code write}, of {@code file}: a failed write is {@code write(FILE): ENAME (text)} (CLI.md). */
    private static void output(Path file, Output write) throws IOException {
        try {
            write.write();
        } catch (IOException e) {
            throw ExitCodes.named("write", file, e);
        }
    }

    /**
     * Refuses (exit 1) an output file that could not be written once the run is over: its directory
     * missing or not writable, or the file a directory or read-only; a full run lasts minutes.
     */
    private static void writable(String option, Path file) throws CommandFailure {
        if (file == null) {
            return;
        }
        Path dir = file.toAbsolutePath().getParent();
        String problem = dir == null || !Files.isDirectory(dir) ? "no such directory " + dir
                : Files.isDirectory(file) ? "a directory"
                : Files.exists(file) ? (Files.isWritable(file) ? null : "not writable")
                : Files.isWritable(dir) ? null : "cannot create a file in " + dir;
        if (problem != null) {
            throw CommandFailure.refused(option + " " + file + ": " + problem);
        }
    }

    /** {@code value} as an int; past the bench's int counters it is refused (exit 1, CLI.md: a limit, not a usage error). */
    private static int upToIntMax(String option, long value) throws CommandFailure {
        if (value > Integer.MAX_VALUE) {
            throw CommandFailure.refused(option + " " + value + " is more than the bench counts (at most "
                    + Integer.MAX_VALUE + ")");
        }
        return (int) value;
    }
}
