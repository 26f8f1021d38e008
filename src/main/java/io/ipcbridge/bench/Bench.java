package io.ipcbridge.bench;

import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * The benchmark suite behind {@code ipcbridge bench}: for each mechanism, round-trip latency and
 * one-way throughput, for every pair it has (C &harr; C, ipcbridge against C and Java, the JDK's own
 * route, Python), all pairs interleaved in each repeat. The C side of every pair is
 * {@code native-tests/bench_peer}, so C &harr; C and Java &harr; C run the same C code.
 *
 * <p>Unless {@link Options#spread}, the two sides of a latency run of a mechanism that sleeps while
 * it waits share one CPU: this thread is pinned to the first CPU it may use while it starts the
 * other side (a thread or a child, which inherit the pin) and runs its own. On a VM a wake-up on an
 * idle CPU crosses the hypervisor and costs tens of microseconds, for C as for Java, which would
 * hide the cost of the calls themselves and make a full run last three times longer. Spinning
 * mechanisms and throughput runs, whose two sides are both busy, are placed by the scheduler.
 */
public final class Bench {
    /** The message of the latency workload, in bytes. */
    public static final int PING_SIZE = 8;
    /**
     * The fewest bytes of a throughput run: two 64 KiB sends. A receiver times from its first
     * receive to its last, so the data must come in two receives at least.
     */
    public static final long MIN_BYTES = 2 * (64 << 10);

    private final Options options;
    private final PrintWriter progress;
    private final String python;

    /**
     * How much to run.
     *
     * @param mechanisms mechanism ids to run, in the order given (empty: all of this build)
     * @param bytes bytes per throughput run
     * @param pings timed round trips per latency run
     * @param warmup untimed round trips before them
     * @param repeat repeats of every run (the pairs interleaved in each)
     * @param nativeDir where bench_peer is
     * @param python the python3 to run for the Python pairs
     * @param spread let the scheduler place both sides of every latency run, instead of keeping the two
     *     sides of a mechanism that sleeps while it waits on one CPU
     */
    public record Options(List<String> mechanisms, long bytes, int pings, int warmup, int repeat, Path nativeDir,
            String python, boolean spread) {
        /** Checks the values. */
        public Options {
            mechanisms = List.copyOf(mechanisms);
            Objects.requireNonNull(nativeDir, "nativeDir");
            Objects.requireNonNull(python, "python");
            if (bytes < MIN_BYTES || pings < 1 || warmup < 0 || repeat < 1) {
                throw new IllegalArgumentException("bytes must be at least " + MIN_BYTES
                        + ", pings and repeat positive, warmup not negative");
            }
        }

        /** The full run, the sizes of issue 8: 1 GiB per throughput run, 100,000 round trips after 10,000, 5 repeats. */
        public static Options full(List<String> mechanisms, Path nativeDir) {
            return new Options(mechanisms, 1L << 30, 100_000, 10_000, 5, nativeDir, "python3", false);
        }

        /** The smoke run: 16 MiB, 2,000 round trips after 500, 1 repeat. */
        public static Options quick(List<String> mechanisms, Path nativeDir) {
            return new Options(mechanisms, 16L << 20, 2_000, 500, 1, nativeDir, "python3", false);
        }
    }

    private Bench(Options options, PrintWriter progress) throws IOException {
        this.options = options;
        this.progress = progress;
        try (InputStream in = Bench.class.getResourceAsStream("bench_peer.py")) {
            python = new String(Objects.requireNonNull(in, "bench_peer.py").readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The mechanism ids this build has, in table order. */
    public static List<String> mechanismIds() {
        return Mechanisms.ALL.stream().map(Mechanism::id).toList();
    }

    /** What goes through mechanism {@code id} and what the JDK's route is, in one line; empty for an unknown id. */
    public static String description(String id) {
        return Mechanisms.byId(id).map(Mechanism::description).orElse("");
    }

    /**
     * Runs the benchmark: an untimed warm-up of the Java pairs, then {@code repeat} rounds of every
     * run, one progress line per run on {@code progress}.
     *
     * @return one result per mechanism, workload and pair, in table order
     * @throws IllegalArgumentException for an unknown mechanism id
     * @throws IOException if a run fails (a child failed, an echo differed)
     */
    public static List<Result> run(Options options, PrintWriter progress) throws IOException, InterruptedException {
        return new Bench(options, progress).run();
    }

    private record Job(Mechanism mechanism, Workload workload, Pair pair) {
        String label() {
            return mechanism.id() + " " + workload.id() + " " + pair.id();
        }
    }

    private List<Result> run() throws IOException, InterruptedException {
        List<Job> jobs = new ArrayList<>();
        for (String id : options.mechanisms().isEmpty() ? mechanismIds() : options.mechanisms()) {
            Mechanism m = Mechanisms.byId(id).orElseThrow(() -> new IllegalArgumentException("unknown mechanism: " + id));
            for (Workload w : Workload.values()) {
                for (Pair p : m.pairs(w)) {
                    jobs.add(new Job(m, w, p));
                }
            }
        }
        Map<Job, List<double[]>> samples = new LinkedHashMap<>();
        jobs.forEach(j -> samples.put(j, new ArrayList<>()));
        int fewPings = Math.min(options.pings(), 2_000);
        for (Job j : jobs) {
            if (j.pair().active() != Pair.Side.C && j.pair().active() != Pair.Side.PYTHON) {
                progress.printf(Locale.ROOT, "[warm-up] %s%n", j.label());
                progress.flush();
                run(j, 4L << 20, fewPings, Math.min(options.warmup(), 200));
            }
        }
        int total = jobs.size() * options.repeat();
        int done = 0;
        for (int r = 1; r <= options.repeat(); r++) {
            List<Job> order = new ArrayList<>(jobs);
            if (r % 2 == 0) {
                Collections.reverse(order); // where a run sits in a round moves it a little: alternate
            }
            for (Job j : order) {
                double[] s = run(j, Long.MAX_VALUE, options.pings(), options.warmup());
                samples.get(j).add(s);
                done++;
                progress.printf(Locale.ROOT, "[%d/%d] %-40s %s%n", done, total, j.label(), j.workload() == Workload.LATENCY
                        ? String.format(Locale.ROOT, "median %.2f us, p99 %.2f us, mean %.2f us", s[0] / 1e3, s[1] / 1e3,
                                s[2] / 1e3)
                        : String.format(Locale.ROOT, "%.1f MB/s", s[0] / 1e6));
                progress.flush();
            }
        }
        List<Result> results = new ArrayList<>();
        samples.forEach((j, s) -> results.add(new Result(j.mechanism().id(), j.workload(), j.pair(), s)));
        return results;
    }

    /**
     * One run: {median, p99, mean} ns for latency, {bytes per second} for throughput, of at most
     * {@code cap} bytes (a warm-up's).
     */
    private double[] run(Job job, long cap, int timed, int untimed) throws IOException, InterruptedException {
        if (options.spread() || job.workload() != Workload.LATENCY || job.mechanism().spins()) {
            return runPlaced(job, cap, timed, untimed);
        }
        return onOneCpu(() -> runPlaced(job, cap, timed, untimed));
    }

    /** Work that may fail or be interrupted. */
    interface Task<T> {
        T call() throws IOException, InterruptedException;
    }

    /**
     * Runs {@code task} with this thread pinned to the first CPU it may use (the threads it starts
     * and the processes it spawns meanwhile inherit the pin), then gives the thread its CPUs back.
     */
    static <T> T onOneCpu(Task<T> task) throws IOException, InterruptedException {
        long[] mask = Syscalls.cpuAffinity();
        Syscalls.setCpuAffinity(firstCpu(mask));
        try {
            return task.call();
        } finally {
            Syscalls.setCpuAffinity(mask);
        }
    }

    /** A mask of the first CPU in {@code mask}. */
    private static long[] firstCpu(long[] mask) {
        long[] one = new long[mask.length];
        for (int i = 0; i < mask.length; i++) {
            if (mask[i] != 0) {
                one[i] = Long.lowestOneBit(mask[i]);
                break;
            }
        }
        return one;
    }

    /** {@link #run(Job, long, int, int)} where this thread now runs. */
    private double[] runPlaced(Job job, long cap, int timed, int untimed) throws IOException, InterruptedException {
        Mechanism m = job.mechanism();
        long bytes = Math.min(m.bytes(options.bytes()), cap);
        boolean latency = job.workload() == Workload.LATENCY;
        int pings = m.roundTrips(timed);
        int warmup = m.roundTrips(untimed);
        List<String> passiveArgs = latency
                ? List.of("echo", "IN", "OUT", Integer.toString(PING_SIZE), Long.toString((long) warmup + pings))
                : List.of("sink", "IN", Long.toString(bytes), Integer.toString(m.chunk()));
        List<String> activeArgs = latency
                ? List.of("ping", "OUT", "IN", Integer.toString(PING_SIZE), Integer.toString(warmup),
                        Integer.toString(pings))
                : List.of("source", "OUT", Long.toString(bytes), Integer.toString(m.chunk()));
        try {
            if (job.pair() == Pair.PYTHON_PYTHON) {
                List<String> args = new ArrayList<>(activeArgs);
                args.set(0, latency ? "pp-latency" : "pp-throughput");
                args.removeAll(List.of("IN", "OUT"));
                try (Child both = pythonChild(null, args)) {
                    return parse(latency, both.output());
                }
            }
            try (Link link = m.open(job.workload(), job.pair())) {
                return run(job, link, latency, passiveArgs, activeArgs, bytes, pings, warmup);
            }
        } catch (IOException | RuntimeException e) {
            throw new IOException(job.label() + ": " + (e.getMessage() != null ? e.getMessage()
                    : e.getClass().getSimpleName()), e);
        }
    }

    private double[] run(Job job, Link link, boolean latency, List<String> passiveArgs, List<String> activeArgs,
            long bytes, int pings, int warmup) throws IOException, InterruptedException {
        Pair pair = job.pair();
        int chunk = job.mechanism().chunk();
        if (pair.passive() == Pair.Side.C || pair.passive() == Pair.Side.PYTHON) {
            try (Child passive = pair.passive() == Pair.Side.C ? peerChild(link, Link.Role.PASSIVE, passiveArgs)
                    : pythonChild(link, passiveArgs)) {
                if (pair.active() == Pair.Side.C) {
                    try (Child active = peerChild(link, Link.Role.ACTIVE, activeArgs)) {
                        String a = active.output();
                        String p = passive.output();
                        return parse(latency, latency ? a : p);
                    }
                }
                double[] result;
                try (End end = link.end(Link.Role.ACTIVE)) {
                    passive.closeOnFailure(end);
                    result = latency ? Loops.ping(end, PING_SIZE, warmup, pings) : null;
                    if (!latency) {
                        Loops.source(end, bytes, chunk);
                    }
                } catch (IOException | RuntimeException e) {
                    if (passive.failure().isPresent()) {
                        throw new IOException(passive.failure().get(), e);
                    }
                    throw e;
                }
                String p = passive.output();
                return latency ? result : parse(false, p);
            }
        }
        return twoThreads(link, "bench-" + job.mechanism().id(), latency, bytes, chunk, pings, warmup);
    }

    /**
     * A run of two Java threads on {@code link}, the passive side on a worker named {@code name}. A
     * side that fails closes both ends, so that a call the other side is blocked in (a send to a full
     * queue, a receive from an empty one) ends instead of waiting for ever; the run then fails with
     * the first failure.
     */
    static double[] twoThreads(Link link, String name, boolean latency, long bytes, int chunk, int pings, int warmup)
            throws IOException, InterruptedException {
        Sides sides = new Sides(link);
        FutureTask<Double> worker = new FutureTask<>(() -> sides.run(Link.Role.PASSIVE, end -> {
            if (latency) {
                Loops.echo(end, PING_SIZE, (long) warmup + pings);
                return 0.0;
            }
            return Loops.sink(end, bytes, chunk);
        }));
        Thread thread = new Thread(worker, name);
        thread.setDaemon(true); // never keeps the JVM alive after a failure on this side
        thread.start();
        double[] result = sides.run(Link.Role.ACTIVE, end -> {
            if (latency) {
                return Loops.ping(end, PING_SIZE, warmup, pings);
            }
            Loops.source(end, bytes, chunk);
            return null;
        });
        double rate = await(worker);
        return latency ? result : new double[] {rate};
    }

    /** The two sides of {@link #twoThreads}: the ends open, and the first failure. */
    private static final class Sides {
        private final Link link;
        private final List<End> ends = new ArrayList<>();
        private Throwable failure;

        Sides(Link link) {
            this.link = link;
        }

        /** What one side does with its end. */
        interface Work<T> {
            T on(End end) throws IOException;
        }

        /**
         * Opens the end of {@code role} and does {@code work} on it, then closes it; if either side has
         * failed or fails meanwhile, closes the other's end and throws the first failure.
         */
        <T> T run(Link.Role role, Work<T> work) throws IOException {
            try (End end = add(link.end(role))) {
                return work.on(end);
            } catch (IOException | RuntimeException | Error e) {
                Throwable first = fail(e);
                if (first instanceof IOException io) {
                    throw io;
                }
                if (first instanceof Error error) {
                    throw error;
                }
                throw (RuntimeException) first;
            }
        }

        /** {@code end}, closed at once if a side has failed already. */
        private synchronized End add(End end) throws IOException {
            ends.add(end);
            if (failure != null) {
                end.close();
            }
            return end;
        }

        /** Records {@code e} unless a failure came first, closes every end; returns the first failure. */
        private synchronized Throwable fail(Throwable e) {
            if (failure == null) {
                failure = e;
                try {
                    Links.closeAll(ends.toArray(AutoCloseable[]::new));
                } catch (IOException closing) {
                    e.addSuppressed(closing);
                }
            }
            return failure;
        }
    }

    private static <T> T await(FutureTask<T> task) throws IOException, InterruptedException {
        try {
            return task.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof IOException io ? io : new IOException(c);
        }
    }

    private Child peerChild(Link link, Link.Role role, List<String> args) throws IOException {
        Link.PeerEnd end = link.peer(role);
        List<String> argv = new ArrayList<>();
        argv.add(options.nativeDir().resolve("bench_peer").toString());
        for (String a : args) {
            argv.add(a.equals("IN") ? end.in() : a.equals("OUT") ? end.out() : a);
        }
        return link.start(role, argv);
    }

    /** python3 running bench_peer.py with {@code args}; on the passive side of {@code link} unless null. */
    private Child pythonChild(Link link, List<String> args) throws IOException {
        List<String> argv = new ArrayList<>(List.of(options.python(), "-c", python));
        if (link == null) {
            argv.addAll(args);
            return Child.of(argv, new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.INHERIT).start());
        }
        Link.PeerEnd end = link.peer(Link.Role.PASSIVE);
        for (String a : args) {
            argv.add(a.equals("IN") ? end.in() : a.equals("OUT") ? end.out() : a);
        }
        return link.start(Link.Role.PASSIVE, argv);
    }

    /**
     * A child's line: "median p99 mean" (ns) for latency, "bytes ns" for throughput (the bytes that
     * arrived after the first receive, in the ns from its return to that of the last: both positive).
     */
    private static double[] parse(boolean latency, String line) throws IOException {
        String[] f = line.trim().split("\\s+");
        try {
            if (f.length == 3 && latency) {
                return new double[] {Double.parseDouble(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2])};
            }
            if (f.length == 2 && !latency && Double.parseDouble(f[0]) > 0 && Double.parseDouble(f[1]) > 0) {
                return new double[] {Double.parseDouble(f[0]) * 1e9 / Double.parseDouble(f[1])};
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IOException("a child printed '" + line.trim() + "', not a result");
    }

    /** One line on the machine: CPU model, CPUs (allowed ones), JVM, kernel. */
    public static String machine() {
        String model = "?";
        String allowed = "?";
        try {
            model = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("?");
            allowed = Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Cpus_allowed_list:")).map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst().orElse("?");
        } catch (IOException e) {
            // not Linux: "?"
        }
        return String.format(Locale.ROOT, "%s; %d CPUs (allowed: %s); Java %s; %s %s", model,
                Runtime.getRuntime().availableProcessors(), allowed, System.getProperty("java.version"),
                System.getProperty("os.name"), System.getProperty("os.version"));
    }
}
