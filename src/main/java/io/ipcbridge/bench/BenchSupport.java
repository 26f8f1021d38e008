package io.ipcbridge.bench;

import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.pipe.PipeSource;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.process.ExitStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.CRC32;

/**
 * What the benchmarks share: their options, the C peers they spawn, the timing loops, the results of
 * the interleaved rounds (median and spread by pair) and the report (tables with the ratios to C,
 * target lines). Progress goes to stderr, the report to the stream given.
 */
final class BenchSupport {
    /** The name column of the tables. */
    static final String PAIR = "%-44s";

    private BenchSupport() {
    }

    // ---- options ------------------------------------------------------------------------------

    /**
     * The options every benchmark takes.
     *
     * @param nativeDir where the C peers are
     * @param bytes bytes per throughput run
     * @param pings timed round trips per run
     * @param repeat rounds
     */
    record Options(String nativeDir, long bytes, int pings, int repeat) {
        /** The C peer {@code name} (parse checked that it is there). */
        Peer peer(String name) {
            return new Peer(Path.of(nativeDir, name).toAbsolutePath().toString());
        }
    }

    /**
     * Parses the options of benchmark {@code program}, which needs the C peers {@code peers}. For
     * {@code --help} prints the usage and returns null; for a bad option prints it and the usage
     * and exits with status 2.
     *
     * @param bytesUnit --bytes must be a multiple of it
     */
    static Options options(String program, String[] args, long bytesUnit, String... peers) {
        return options(program, args, bytesUnit, 3, peers);
    }

    /** {@link #options(String, String[], long, String...)} with {@code repeat} rounds unless --repeat says otherwise. */
    static Options options(String program, String[] args, long bytesUnit, int repeat, String... peers) {
        String usage = "usage: " + program
                + " [--bytes N] [--pings N] [--repeat N] [--native-dir DIR] [--quick] [--cpus LIST]";
        try {
            Options options = parse(args, bytesUnit, repeat, peers);
            if (options == null) {
                System.out.println(usage);
            }
            return options;
        } catch (IllegalArgumentException e) {
            System.err.println(program + ": " + e.getMessage() + "\n" + usage);
            System.exit(2);
            return null;
        }
    }

    /** The options, or null for --help. */
    private static Options parse(String[] args, long bytesUnit, int defaultRepeat, String... peers) {
        long bytes = 1L << 30;
        long pings = 100_000;
        long repeat = defaultRepeat;
        String dir = System.getProperty("ipcbridge.native.dir");
        if (Arrays.asList(args).contains("--quick")) {
            bytes = 64L << 20;
            pings = 10_000;
            repeat = 1;
        }
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> { }
                case "--bytes" -> bytes = parseSize(value(args, ++i));
                case "--pings" -> pings = parseSize(value(args, ++i));
                case "--repeat" -> repeat = parseSize(value(args, ++i));
                case "--native-dir" -> dir = value(args, ++i);
                case "-h", "--help" -> {
                    return null;
                }
                default -> throw new IllegalArgumentException("unknown option: " + args[i]);
            }
        }
        if (bytes <= 0 || pings <= 0 || repeat <= 0 || pings > 100_000_000 || repeat > 1000) {
            throw new IllegalArgumentException("--bytes, --pings (at most 10^8) and --repeat (at most 1000) must be positive");
        }
        if (bytes % bytesUnit != 0) {
            throw new IllegalArgumentException("--bytes must be a multiple of " + bytesUnit);
        }
        if (dir == null) {
            throw new IllegalArgumentException("no --native-dir and no -Dipcbridge.native.dir");
        }
        for (String name : peers) {
            Path peer = Path.of(dir, name).toAbsolutePath();
            if (!Files.isExecutable(peer)) {
                throw new IllegalArgumentException(peer + " is missing: make -C native-tests OUT=" + dir);
            }
        }
        return new Options(dir, bytes, (int) pings, (int) repeat);
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            throw new IllegalArgumentException(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    /** A decimal count, with an optional K, M or G suffix (powers of 1024). */
    private static long parseSize(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        int shift = t.endsWith("K") ? 10 : t.endsWith("M") ? 20 : t.endsWith("G") ? 30 : 0;
        try {
            long n = Long.parseLong(shift == 0 ? t : t.substring(0, t.length() - 1));
            if (n > Long.MAX_VALUE >> shift) {
                throw new IllegalArgumentException("too large: " + s);
            }
            return n << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a number: " + s);
        }
    }

    // ---- C peers ------------------------------------------------------------------------------

    /**
     * A C peer program of native-tests.
     *
     * @param path its absolute path
     */
    record Peer(String path) {
        /** The program's file name, for messages. */
        String name() {
            return Path.of(path).getFileName().toString();
        }

        /** The peer with {@code args} (turned into strings). */
        Command command(Object... args) {
            List<String> argv = new ArrayList<>();
            argv.add(path);
            for (Object a : args) {
                argv.add(a.toString());
            }
            return Command.of(argv);
        }

        /**
         * The peer with {@code args}, its stdout sent to /dev/null (through {@code sh -c exec}, as
         * ipcbridge cannot open a file): {@code pipe_peer echo FD 1} so becomes a reader of FD that
         * does no more than a counting reader, one write(2) to /dev/null per read.
         */
        Command discarding(Object... args) {
            StringBuilder script = new StringBuilder("exec \"$0\"");
            for (Object a : args) {
                script.append(' ').append(a);
            }
            return Command.of("sh", "-c", script.append(" >/dev/null").toString(), path);
        }

        /** Waits for {@code child}; fails unless it exited 0. */
        void expectSuccess(ChildProcess child, String what) throws IOException, InterruptedException {
            ExitStatus status = child.waitFor();
            check(status.success(), name() + " " + what + " ended with " + status);
        }

        /** Runs the peer with {@code args} and returns what it printed; fails unless it exited 0. */
        String output(Object... args) throws IOException, InterruptedException {
            try (Pipe out = Pipe.open(); ChildProcess child = command(args).stdout(out.sink()).start()) {
                out.sink().close();
                String text = readAll(out.source());
                expectSuccess(child, args[0].toString());
                return text;
            }
        }
    }

    /** One line from {@code source} (without its newline), read byte by byte so nothing after it is taken. */
    static String readLine(PipeSource source) throws IOException {
        ByteBuffer b = ByteBuffer.allocateDirect(1);
        StringBuilder line = new StringBuilder();
        while (source.read(b.clear()) == 1 && b.get(0) != '\n') {
            line.append((char) (b.get(0) & 0xff));
        }
        return line.toString();
    }

    /** Everything left to read from {@code source}, as ASCII; closes it. */
    static String readAll(PipeSource source) throws IOException {
        try (InputStream in = source.inputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    /**
     * Checks a sink's "&lt;count&gt; &lt;crc32 hex&gt;" line (pipe_peer sink, mq_peer sink) against
     * {@code bytes}, and returns the CRC it gives.
     */
    static long sinkCrc(String line, long bytes) {
        String[] f = line.trim().split(" ");
        check(f.length == 2 && Long.parseLong(f[0]) == bytes, "sink printed '" + line.trim() + "', expected "
                + bytes + " bytes");
        return Long.parseLong(f[1], 16);
    }

    /** Checks a sink's line for {@code bytes} bytes and, unless {@code crc} is -1, that CRC. */
    static void checkSinkLine(String line, long bytes, long crc) {
        long got = sinkCrc(line, bytes);
        check(crc < 0 || got == crc, String.format(Locale.ROOT, "sink printed '%s', expected CRC %08x",
                line.trim(), crc));
    }

    // ---- names, leftovers, watched children ---------------------------------------------------

    private static final AtomicInteger NEXT = new AtomicInteger();
    /** What this JVM created and has not removed yet, by key, for {@link #cleanUpOnExit}. */
    private static final Map<String, Remover> LEFTOVERS = new ConcurrentHashMap<>();

    /** A fresh name for an IPC object of this JVM: {@code /ipcb-bench-<pid>-<n>-<tag>}. */
    static String uniqueName(String tag) {
        return "/ipcb-bench-" + ProcessHandle.current().pid() + "-" + NEXT.incrementAndGet() + "-" + tag;
    }

    /** Removes something this JVM created (unlinks a name, deletes a directory). */
    @FunctionalInterface
    interface Remover {
        void remove() throws IOException;
    }

    /**
     * Registers {@code key} (an object about to be created) to be removed by {@link #remove}, or by
     * the hook of {@link #cleanUpOnExit} if the benchmark is interrupted first.
     */
    static void track(String key, Remover remover) {
        LEFTOVERS.put(key, remover);
    }

    /** Drops {@code key} without removing it (its creation failed: the name may be someone else's). */
    static void forget(String key) {
        LEFTOVERS.remove(key);
    }

    /** Removes {@code key} if it is still registered; an object already gone is fine. */
    static void remove(String key) throws IOException {
        Remover remover = LEFTOVERS.remove(key);
        if (remover != null) {
            try {
                remover.remove();
            } catch (NoSuchFileException e) {
                // gone already
            }
        }
    }

    /**
     * Installs the shutdown hook of {@code program}: it ends this JVM's children (C peers blocked on
     * an object: SIGTERM first, so that a bench-cc unlinks its own objects and kills its own child;
     * SIGKILL after 2 s), then removes what is still registered.
     */
    static void cleanUpOnExit(String program) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            List<ProcessHandle> children = ProcessHandle.current().children().toList();
            children.forEach(ProcessHandle::destroy);
            long deadline = System.nanoTime() + 2_000_000_000L;
            for (ProcessHandle child : children) {
                try {
                    child.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException | ExecutionException | TimeoutException e) {
                    child.destroyForcibly();
                }
            }
            for (String key : LEFTOVERS.keySet()) {
                try {
                    remove(key);
                } catch (IOException | RuntimeException e) {
                    System.err.println(program + ": could not remove " + key + ": " + e.getMessage());
                }
            }
        }, program + "-cleanup"));
    }

    /**
     * Watches {@code child} of {@code peer} on a daemon thread: if it ends unsuccessfully, closes
     * {@code stop} (what Java may be blocked or spinning on, another child to kill), since a queue,
     * a semaphore or a flag in shared memory, unlike a pipe, does not tell its other end that a peer
     * has gone.
     */
    static void watch(Peer peer, ChildProcess child, String what, AutoCloseable... stop) {
        Thread watcher = new Thread(() -> {
            try {
                Optional<ExitStatus> status;
                while ((status = child.exitStatus()).isEmpty()) {
                    Thread.sleep(50);
                }
                if (!status.get().success()) {
                    System.err.println(peer.name() + " " + what + " ended with " + status.get()
                            + "; stopping its other end");
                    closeAll(stop);
                }
            } catch (Exception e) {
                // the run is over
            }
        }, "bench-watch-" + what);
        watcher.setDaemon(true);
        watcher.start();
    }

    /**
     * Runs {@code body} against {@link #watch watched} {@code child}; when it fails because the
     * child has ended unsuccessfully, says so (rather than, say, AsynchronousCloseException alone).
     */
    static <T> T against(Peer peer, ChildProcess child, String what, Callable<T> body, AutoCloseable... stop)
            throws Exception {
        watch(peer, child, what, stop);
        try {
            return body.call();
        } catch (Exception e) {
            Optional<ExitStatus> status = child.exitStatus();
            if (status.isPresent() && !status.get().success()) {
                throw new IllegalStateException(peer.name() + " " + what + " ended with " + status.get(), e);
            }
            throw e;
        }
    }

    /** Closes each of {@code all}, even when one fails; throws the first failure. */
    static void closeAll(AutoCloseable... all) throws IOException {
        IOException failure = null;
        for (AutoCloseable c : all) {
            try {
                c.close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = e instanceof IOException io ? io : new IOException(e);
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    // ---- data ---------------------------------------------------------------------------------

    /**
     * The first {@code size} bytes (a multiple of 8) of the C peers' pattern for {@code seed}
     * (native-tests/include/peer.h: xorshift64, little-endian words), in a direct buffer.
     */
    static ByteBuffer pattern(long seed, int size) {
        ByteBuffer pattern = ByteBuffer.allocateDirect(size).order(ByteOrder.LITTLE_ENDIAN);
        long s = seed == 0 ? 0x9E3779B97F4A7C15L : seed;
        for (int i = 0; i < size; i += 8) {
            s ^= s << 13;
            s ^= s >>> 7;
            s ^= s << 17;
            pattern.putLong(i, s);
        }
        return pattern;
    }

    /** The CRC-32 of {@code bytes} bytes made of {@code chunk} over and over, as {@link #sendAll} sends them. */
    static long crcOfRepeated(ByteBuffer chunk, long bytes) {
        CRC32 crc = new CRC32();
        for (long left = bytes; left > 0; left -= chunk.capacity()) {
            crc.update(chunk.duplicate().clear().limit((int) Math.min(left, chunk.capacity())));
        }
        return crc.getValue();
    }

    /** Sends one buffer: a write, a message. */
    @FunctionalInterface
    interface Sender {
        void send(ByteBuffer buffer) throws IOException;
    }

    /** Sends {@code bytes} bytes as {@code chunk} (all of its capacity) over and over, the last one cut short. */
    static void sendAll(ByteBuffer chunk, long bytes, Sender sender) throws IOException {
        ByteBuffer buf = chunk.duplicate();
        for (long left = bytes; left > 0; left -= buf.capacity()) {
            buf.clear().limit((int) Math.min(left, buf.capacity()));
            sender.send(buf);
        }
    }

    // ---- timing -------------------------------------------------------------------------------

    /** One round of every pair. */
    @FunctionalInterface
    interface Round {
        /** Runs every pair once; {@code label} ("[2/3] ") prefixes the progress lines. */
        void run(String label) throws Exception;
    }

    /** Runs {@code repeat} rounds, labelled "[1/N] " to "[N/N] ". */
    static void rounds(int repeat, Round round) throws Exception {
        for (int r = 1; r <= repeat; r++) {
            round.run("[" + r + "/" + repeat + "] ");
        }
    }

    /**
     * Runs {@code first}, then {@code second}; in even rounds ({@code round} counts from 1) the other
     * way round. For two pairs compared with each other: where a run sits in a round (right after
     * which other run) moves its result by several per cent here, and alternating cancels that out
     * in the median.
     */
    static void alternate(int round, Body first, Body second) throws Exception {
        if (round % 2 == 1) {
            first.run();
            second.run();
        } else {
            second.run();
            first.run();
        }
    }

    /** One round trip. */
    @FunctionalInterface
    interface RoundTrip {
        /** Sends {@code i} (as much of it as fits the message) and returns what came back. */
        long exchange(int i) throws Exception;
    }

    /**
     * {@code warmup} untimed, then {@code pings} timed round trips; each must bring back
     * {@code i & mask}.
     *
     * @return the timed round trips, in nanoseconds
     */
    static long[] timeRoundTrips(int warmup, int pings, long mask, RoundTrip roundTrip) throws Exception {
        long[] t = new long[pings];
        for (int i = -warmup; i < pings; i++) {
            long s = System.nanoTime();
            long got = roundTrip.exchange(i);
            long e = System.nanoTime();
            if (got != (i & mask)) {
                throw new IllegalStateException("echo: sent " + (i & mask) + ", got " + got + " back");
            }
            if (i >= 0) {
                t[i] = e - s;
            }
        }
        return t;
    }

    /** A read(2) of one buffer. */
    @FunctionalInterface
    interface Reader {
        int read(ByteBuffer buffer) throws IOException;
    }

    /**
     * {@code warmup} untimed, then {@code pings} timed 1-byte round trips over a byte stream:
     * {@code write}, then {@code read}, from and into direct buffers or, without {@code direct},
     * heap buffers.
     */
    static long[] pingPong(int warmup, int pings, boolean direct, Sender write, Reader read) throws Exception {
        ByteBuffer o = direct ? ByteBuffer.allocateDirect(1) : ByteBuffer.allocate(1);
        ByteBuffer r = direct ? ByteBuffer.allocateDirect(1) : ByteBuffer.allocate(1);
        return timeRoundTrips(warmup, pings, 0xff, i -> {
            o.clear().put(0, (byte) i);
            write.send(o);
            int n = read.read(r.clear());
            return n == 1 ? r.get(0) & 0xff : -1;
        });
    }

    /** The code of a worker thread. */
    @FunctionalInterface
    interface Body {
        void run() throws Exception;
    }

    /** Ends the blocking calls of the other side (by closing what they wait on). */
    @FunctionalInterface
    interface Stop {
        void stop() throws IOException;
    }

    /**
     * Runs {@code worker} on a new thread {@code name} while this thread runs {@code main}, then
     * {@code stop} and joins the worker. When either side fails, {@code stop} also runs, so that
     * neither is left blocked; the first failure is thrown, with the other one suppressed in it.
     *
     * @return what {@code main} returned
     */
    static <T> T withWorker(String name, Body worker, Stop stop, Callable<T> main) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread thread = new Thread(() -> {
            try {
                worker.run();
            } catch (Throwable e) {
                failure.set(e);
                stopQuietly(stop, e);
            }
        }, name);
        thread.start();
        T result;
        try {
            result = main.call();
        } catch (Throwable e) {
            Throwable first = failure.get(); // set before the worker stopped this side
            stopQuietly(stop, e);
            thread.join();
            if (first != null) {
                first.addSuppressed(e);
                throw rethrow(first);
            }
            if (failure.get() != null) {
                e.addSuppressed(failure.get());
            }
            throw e;
        }
        stop.stop();
        thread.join();
        if (failure.get() != null) {
            throw rethrow(failure.get());
        }
        return result;
    }

    private static void stopQuietly(Stop stop, Throwable failure) {
        try {
            stop.stop();
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    private static Exception rethrow(Throwable t) {
        if (t instanceof Error e) {
            throw e;
        }
        return (Exception) t;
    }

    static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalStateException(message);
        }
    }

    // ---- results and report -------------------------------------------------------------------

    /** A throughput run: returns the elapsed nanoseconds for the bytes of the benchmark. */
    @FunctionalInterface
    interface Run {
        long nanos() throws Exception;
    }

    /** A round-trip run: returns the round trips in nanoseconds. */
    @FunctionalInterface
    interface Pings {
        long[] nanos() throws Exception;
    }

    /** A round-trip run timed as a whole (by a C peer): returns the mean round trip in nanoseconds. */
    @FunctionalInterface
    interface MeanRun {
        double meanNanos() throws Exception;
    }

    /**
     * The nanoseconds of a C peer's "&lt;count&gt; &lt;elapsed ns&gt;" line (sem_peer ping, shm_peer
     * spin-ping and ring-sink, sock_peer pingpong), checking the count.
     */
    static long peerNanos(String line, long count, String what) {
        String[] f = line.trim().split(" ");
        check(f.length == 2 && Long.parseLong(f[0]) == count, what + " printed '" + line.trim() + "', expected "
                + count + " and a time");
        return Long.parseLong(f[1]);
    }

    /** What the rounds measured, by pair in the order first measured, and the tables made of it. */
    static final class Results {
        private final long bytes;
        private final int repeat;
        /** Bytes per second of each round, by pair. */
        private final Map<String, List<Double>> throughput = new LinkedHashMap<>();
        /** {median ns, mean ns} of each round, by pair. */
        private final Map<String, List<double[]>> roundTrip = new LinkedHashMap<>();

        /** Results of {@code repeat} rounds of runs of {@code bytes} bytes. */
        Results(long bytes, int repeat) {
            this.bytes = bytes;
            this.repeat = repeat;
        }

        /** Runs {@code run}, a throughput run of {@code pair}; {@code round} prefixes the progress lines. */
        void put(String round, String pair, Run run) throws Exception {
            System.err.printf(Locale.ROOT, "%s%s ...%n", round, pair);
            long ns = run.nanos();
            addRate(round, pair, bytes * 1e9 / ns);
        }

        /** Runs {@code run}, a round-trip run of {@code pair}. */
        void putRt(String round, String pair, Pings run) throws Exception {
            System.err.printf(Locale.ROOT, "%s%s ...%n", round, pair);
            long[] t = run.nanos();
            long sum = 0;
            for (long v : t) {
                sum += v;
            }
            Arrays.sort(t);
            double median = t.length % 2 == 1 ? t[t.length / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2.0;
            addRt(round, pair, median, (double) sum / t.length);
        }

        /** Adds a throughput of {@code pair} measured elsewhere, in bytes per second. */
        void addRate(String round, String pair, double rate) {
            throughput.computeIfAbsent(pair, k -> new ArrayList<>()).add(rate);
            System.err.printf(Locale.ROOT, "%s%s: %.1f MB/s%n", round, pair, rate / 1e6);
        }

        /**
         * Adds a round trip of {@code pair} measured elsewhere; a median of NaN marks a run that gave
         * its mean only (a C peer that times the whole loop).
         */
        void addRt(String round, String pair, double medianNs, double meanNs) {
            roundTrip.computeIfAbsent(pair, k -> new ArrayList<>()).add(new double[] {medianNs, meanNs});
            System.err.printf(Locale.ROOT, "%s%s: median %s us, mean %s us%n", round, pair, micros(medianNs),
                    micros(meanNs));
        }

        /** Runs {@code run}, a round-trip run of {@code pair} that gives its mean only. */
        void putMeanRt(String round, String pair, MeanRun run) throws Exception {
            System.err.printf(Locale.ROOT, "%s%s ...%n", round, pair);
            addRt(round, pair, Double.NaN, run.meanNanos());
        }

        /**
         * Runs {@code peer bench-cc args...}, which times itself, and returns the "name value" lines it
         * printed; {@code what} names it in the progress line.
         */
        static Map<String, Double> benchCcValues(String round, Peer peer, String what, Object... args)
                throws Exception {
            System.err.printf(Locale.ROOT, "%s%s ...%n", round, what);
            Object[] argv = new Object[args.length + 1];
            argv[0] = "bench-cc";
            System.arraycopy(args, 0, argv, 1, args.length);
            Map<String, Double> values = new LinkedHashMap<>();
            for (String line : peer.output(argv).split("\n")) {
                String[] kv = line.trim().split("\\s+");
                if (kv.length == 2) {
                    values.put(kv[0], Double.parseDouble(kv[1]));
                }
            }
            return values;
        }

        /** The value {@code key} of {@link #benchCcValues}; fails if bench-cc did not print it. */
        static double value(Map<String, Double> values, String key) {
            Double v = values.get(key);
            if (v == null) {
                throw new IllegalStateException("bench-cc printed no " + key + ": " + values);
            }
            return v;
        }

        /**
         * Runs the C baseline, {@code peer bench-cc args...}, which times itself and prints
         * throughput_bytes_per_sec, roundtrip_ns_mean and roundtrip_ns_median: throughput pair
         * {@code cc}, round-trip pair {@code rtCc}.
         */
        void benchCc(String round, Peer peer, String cc, String rtCc, Object... args) throws Exception {
            Map<String, Double> values = benchCcValues(round, peer, cc + ", " + rtCc, args);
            addRate(round, cc, value(values, "throughput_bytes_per_sec"));
            addRt(round, rtCc, value(values, "roundtrip_ns_median"), value(values, "roundtrip_ns_mean"));
        }

        /** The median over the rounds of {@code pair}'s bytes per second. */
        double rate(String pair) {
            return median(throughput.get(pair));
        }

        /** {median over the rounds of the per-round medians, the same of the means}, in ns. */
        double[] roundTrip(String pair) {
            return new double[] {median(column(pair, 0)), median(column(pair, 1))};
        }

        private List<Double> column(String pair, int i) {
            List<Double> values = new ArrayList<>();
            for (double[] v : roundTrip.get(pair)) {
                values.add(v[i]);
            }
            return values;
        }

        /** The report's first line: the peer, the JVM, the CPUs, the system. */
        static void header(PrintStream out, String peer) {
            out.printf(Locale.ROOT, "# %s; Java %s; %d CPUs (allowed: %s); %s %s%n", peer,
                    System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(), allowedCpus(),
                    System.getProperty("os.name"), System.getProperty("os.version"));
        }

        /** The throughput table, {@code unit} saying how the bytes went ("in 64 KiB writes"). */
        void throughputTable(PrintStream out, String unit, String base) {
            out.printf(Locale.ROOT, "%nThroughput: %d bytes (%.2f MiB) %s; median of %d round(s); MB = 10^6 bytes%n",
                    bytes, bytes / 1048576.0, unit, repeat);
            out.printf(Locale.ROOT, PAIR + " %10s  %-21s %s%n", "pair", "MB/s", "spread (min - max)", "ratio to C->C");
            double cc = rate(base);
            for (Map.Entry<String, List<Double>> e : throughput.entrySet()) {
                double m = median(e.getValue());
                out.printf(Locale.ROOT, PAIR + " %10.1f  %-21s %.3fx%n", e.getKey(), m / 1e6,
                        spread(e.getValue(), 1e6), m / cc);
            }
        }

        /** The round-trip table; {@code title} says what was timed, before "; median of N round(s)". */
        void roundTripTable(PrintStream out, String title, String base) {
            out.printf(Locale.ROOT, "%n%s; median of %d round(s)%n", title, repeat);
            out.printf(Locale.ROOT, PAIR + " %10s %10s  %-19s %s%n", "pair", "median us", "mean us",
                    "spread of median", "ratio to C<->C (median; mean)");
            double[] cc = roundTrip(base);
            for (String pair : roundTrip.keySet()) {
                double[] m = roundTrip(pair);
                String medianRatio = Double.isNaN(m[0]) ? "-" : fixed(m[0] / cc[0], 3) + "x";
                out.printf(Locale.ROOT, PAIR + " %10s %10s  %-19s %s; %.3fx%n", pair, micros(m[0]), micros(m[1]),
                        spread(column(pair, 0), 1e3), medianRatio, m[1] / cc[1]);
            }
        }

        /** The target "{@code pair}'s median throughput at least {@code factor} x {@code base}'s", as {@code what}. */
        void rateTarget(PrintStream out, String what, String pair, String base, double factor) {
            double v = rate(pair);
            double b = rate(base);
            target(out, what, v >= factor * b, ratio(v, b, 1e6, "MB/s"));
        }

        /**
         * The target "{@code pair}'s median round trip at most {@code factor} x {@code base}'s", as
         * {@code what}; the means shown too.
         */
        void roundTripTarget(PrintStream out, String what, String pair, String base, double factor) {
            double[] b = roundTrip(base);
            double[] rt = roundTrip(pair);
            target(out, what, rt[0] <= factor * b[0], ratio(rt[0], b[0], 1e3, "us") + "; means "
                    + ratio(rt[1], b[1], 1e3, "us"));
        }

        /** The targets "Java -> C" and "C -> Java" each at least 0.90x "C -> C", by median throughput. */
        void throughputTargets(PrintStream out, String cc, String javaToC, String cToJava) {
            rateTarget(out, "throughput Java -> C >= 0.90x C -> C", javaToC, cc, 0.9);
            rateTarget(out, "throughput C -> Java >= 0.90x C -> C", cToJava, cc, 0.9);
        }

        /** The target "Java <-> C" at most 1.10x "C <-> C", by median round trip (the means shown too). */
        void roundTripTarget(PrintStream out, String cc, String javaC) {
            roundTripTarget(out, "round trip Java <-> C <= 1.10x C <-> C (medians)", javaC, cc, 1.10);
        }

        /**
         * A warning when a round trip (here or in {@code more}) varied more than twofold between
         * rounds, or else a note that nothing was pinned (on more than one CPU); {@code script} is
         * the command to suggest.
         */
        void placement(PrintStream out, String script, Results... more) {
            List<Results> all = new ArrayList<>(List.of(more));
            all.add(0, this);
            for (Results results : all) {
                for (String pair : results.roundTrip.keySet()) {
                    List<Double> medians = results.column(pair, 0);
                    double lo = medians.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
                    double hi = medians.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
                    if (hi > 2 * lo) {
                        out.printf(Locale.ROOT, "warning: %s varies %.1fx between rounds: the pair shared a CPU in some"
                                + " rounds and not in others (a wake-up across CPUs costs far more, notably in a VM);"
                                + " for stable round trips pin everything: %s --cpus 0%n", pair.trim(), hi / lo, script);
                        return;
                    }
                }
            }
            if (Runtime.getRuntime().availableProcessors() > 1) {
                out.printf(Locale.ROOT, "note: not pinned: each pair's CPU placement (same CPU or not) is the scheduler's"
                        + " choice and weighs on every number, round trips most; %s --cpus 0 pins%n", script);
            }
        }
    }

    private static String allowedCpus() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // not Linux: say so below
        }
        return "?";
    }

    /**
     * "value vs base unit = ratio", e.g. "7.15 vs 6.01 us = 1.190x"; MB/s with one decimal, times
     * below 1 us with three.
     */
    static String ratio(double value, double base, double unit, String what) {
        String f = unit >= 1e6 ? "%.1f vs %.1f %s = %.3fx"
                : Math.max(value, base) < unit ? "%.3f vs %.3f %s = %.3fx" : "%.2f vs %.2f %s = %.3fx";
        return String.format(Locale.ROOT, f, value / unit, base / unit, what, value / base);
    }

    /** Nanoseconds as microseconds: two decimals, three below 1 us, "-" for NaN. */
    static String micros(double ns) {
        return fixed(ns / 1e3, ns < 1e3 ? 3 : 2);
    }

    /** A "target: ... MET / NOT MET (numbers)" line. */
    static void target(PrintStream out, String what, boolean met, String numbers) {
        targetLine(out, what, met ? "MET" : "NOT MET", numbers);
    }

    /** A "target: ... n/a (why)" line, for a target the run cannot judge. */
    static void notApplicable(PrintStream out, String what, String why) {
        targetLine(out, what, "n/a", why);
    }

    private static void targetLine(PrintStream out, String what, String verdict, String numbers) {
        out.printf(Locale.ROOT, "target: %-55s %-7s (%s)%n", what, verdict, numbers);
    }

    private static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static String spread(List<Double> values, double unit) {
        double min = values.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        double max = values.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        return Double.isNaN(min) ? "-" : String.format(Locale.ROOT, max < unit ? "%.3f - %.3f" : "%.1f - %.1f",
                min / unit, max / unit);
    }

    /** {@code v} with {@code decimals} decimals, or "-" for NaN (a median that a mean-only run lacks). */
    private static String fixed(double v, int decimals) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%." + decimals + "f", v);
    }
}
