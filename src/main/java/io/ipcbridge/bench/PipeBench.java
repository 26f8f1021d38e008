package io.ipcbridge.bench;

import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.pipe.PipeSink;
import io.ipcbridge.pipe.PipeSource;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.process.ExitStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.CRC32;

/**
 * Pipe benchmark (not a test): the throughput of BYTES bytes in 64 KiB writes and the 1-byte
 * ping-pong round trip, for C &harr; C ({@code pipe_peer bench-cc}), Java &harr; C through ipcbridge,
 * Java &harr; child through {@link ProcessBuilder} and Java &harr; Java through ipcbridge, side by side
 * in one run, with the ratios to C &harr; C and a MET / NOT MET line per target. Rounds interleave
 * the pairs (round 1 runs every pair, then round 2...) and the table gives the median of the rounds
 * and their min-max spread. Run it with {@code scripts/bench-pipe [options]}:
 *
 * <pre>
 * --bytes N       bytes per throughput run (default 1 GiB; K, M, G suffixes allowed)
 * --pings N       timed round trips per run (default 100000; after 10000 warm-up ones)
 * --repeat N      rounds (default 3)
 * --native-dir D  where pipe_peer is (default: system property ipcbridge.native.dir)
 * --quick         64 MiB, 10000 pings, 1 round: a smoke run
 * --cpus LIST     (the script's own) everything under taskset -c LIST; --cpus 0 keeps each pair
 *                 on one CPU; otherwise round trips depend on where the scheduler puts each pair
 * </pre>
 *
 * <p>Besides the pairs asked for, "ref:" rows separate what is measured from what measures it: the
 * C sink's CRC-32 limits every pair into it, so the same pairs also run into a C reader that only
 * reads, C -&gt; C runs into the CRC sink, and a Java &harr; C round trip runs on the bare system
 * calls under {@link io.ipcbridge.Descriptor}, to show what its bookkeeping costs. One untimed
 * short round warms the JIT up before the timed rounds.
 *
 * <p>The table goes to stdout, progress to stderr. Every run is checked: byte counts, the CRC-32
 * the C sink prints, echoed bytes and exit statuses; a failed check ends the benchmark with an
 * exception.
 */
public final class PipeBench {
    private static final int CHUNK = 64 * 1024;
    private static final int WARMUP = 10_000;
    private static final long SEED = 1;

    private static final String CC = "C -> C (bench-cc)";
    private static final String CC_CRC = "  ref: C -> C, CRC sink";
    private static final String JC = "Java -> C (ipcbridge, CRC sink)";
    private static final String PB = "Java -> child (ProcessBuilder, CRC sink)";
    private static final String JC_NOCRC = "  ref: Java -> C (ipcbridge, no CRC)";
    private static final String PB_NOCRC = "  ref: Java -> child (ProcessBuilder, no CRC)";
    private static final String CJ = "C -> Java (ipcbridge)";
    private static final String JJ = "Java -> Java (ipcbridge, 2 threads)";
    private static final String RT_CC = "C <-> C (bench-cc)";
    private static final String RT_JC = "Java <-> C (ipcbridge)";
    private static final String RT_RAW = "  ref: Java <-> C (raw syscalls)";
    private static final String RT_PB = "Java <-> child (ProcessBuilder)";
    private static final String RT_JJ = "Java <-> Java (ipcbridge, 2 threads)";
    /** The name column. */
    private static final String PAIR = "%-44s";

    private final String peer;
    private final long bytes;
    private final int pings;
    private final int repeat;
    /** CHUNK bytes of the peers' pattern (seed 1), sent over and over by the Java writers. */
    private final ByteBuffer pattern;
    private final byte[] patternArray = new byte[CHUNK];
    private final long expectedCrc;
    /** Bytes per second of each round, by pair. */
    private final Map<String, List<Double>> throughput = new LinkedHashMap<>();
    /** {median ns, mean ns} of each round, by pair. */
    private final Map<String, List<double[]>> roundTrip = new LinkedHashMap<>();

    private PipeBench(String peer, long bytes, int pings, int repeat) {
        this.peer = peer;
        this.bytes = bytes;
        this.pings = pings;
        this.repeat = repeat;
        pattern = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        long s = SEED;
        for (int i = 0; i < CHUNK; i += 8) {
            s ^= s << 13;
            s ^= s >>> 7;
            s ^= s << 17;
            pattern.putLong(i, s);
        }
        pattern.get(0, patternArray);
        CRC32 crc = new CRC32();
        for (long left = bytes; left > 0; left -= CHUNK) {
            crc.update(pattern.duplicate().limit((int) Math.min(left, CHUNK)));
        }
        expectedCrc = crc.getValue();
    }

    /**
     * Runs the benchmark; see the class description for the options.
     *
     * @param args the options
     * @throws Exception if a run fails: a child failed, or a check of what went through
     */
    public static void main(String[] args) throws Exception {
        PipeBench bench;
        try {
            bench = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("bench-pipe: " + e.getMessage() + "\n" + USAGE);
            System.exit(2);
            return;
        }
        if (bench == null) {
            System.out.println(USAGE);
            return;
        }
        // One short untimed round first, so that no pair pays for the JIT compiling the code it shares
        // with another (the ping loop, the write loop): warm-up runs of 10,000 are not enough alone.
        new PipeBench(bench.peer, Math.min(bench.bytes, 64L << 20), Math.min(bench.pings, 20_000), 1)
                .round("[warm-up] ");
        bench.run(System.out);
    }

    private static final String USAGE =
            "usage: bench-pipe [--bytes N] [--pings N] [--repeat N] [--native-dir DIR] [--quick] [--cpus LIST]";

    /** The benchmark the options ask for, or null for --help. */
    private static PipeBench parse(String[] args) {
        long bytes = 1L << 30;
        long pings = 100_000;
        long repeat = 3;
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
        if (dir == null) {
            throw new IllegalArgumentException("no --native-dir and no -Dipcbridge.native.dir");
        }
        Path peer = Path.of(dir, "pipe_peer").toAbsolutePath();
        if (!Files.isExecutable(peer)) {
            throw new IllegalArgumentException(peer + " is missing: make -C native-tests OUT=" + dir);
        }
        return new PipeBench(peer.toString(), bytes, (int) pings, (int) repeat);
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

    private void run(PrintStream out) throws Exception {
        for (int round = 1; round <= repeat; round++) {
            round("[" + round + "/" + repeat + "] ");
        }
        report(out);
    }

    /** Runs every pair once; {@code r} prefixes the progress lines. */
    private void round(String r) throws Exception {
        benchCc(r);
        put(r, CC_CRC, this::cToCWithCrc);
        put(r, JC, this::javaToC);
        put(r, PB, () -> javaToProcessBuilder(true));
        put(r, JC_NOCRC, this::javaToCNoCrc);
        put(r, PB_NOCRC, () -> javaToProcessBuilder(false));
        put(r, CJ, this::cToJava);
        put(r, JJ, this::javaToJava);
        putRt(r, RT_JC, () -> roundTripJavaC(false));
        putRt(r, RT_RAW, () -> roundTripJavaC(true));
        putRt(r, RT_PB, this::roundTripProcessBuilder);
        putRt(r, RT_JJ, this::roundTripJavaJava);
    }

    // ---- throughput ---------------------------------------------------------------------------

    /** A throughput run: returns the elapsed nanoseconds for {@link #bytes}. */
    @FunctionalInterface
    private interface Run {
        long nanos() throws Exception;
    }

    /** A round-trip run: returns the round trips in nanoseconds. */
    @FunctionalInterface
    private interface Pings {
        long[] nanos() throws Exception;
    }

    private void put(String round, String pair, Run run) throws Exception {
        System.err.printf(Locale.ROOT, "%s%s ...%n", round, pair);
        long ns = run.nanos();
        double rate = bytes * 1e9 / ns;
        throughput.computeIfAbsent(pair, k -> new ArrayList<>()).add(rate);
        System.err.printf(Locale.ROOT, "%s%s: %.1f MB/s%n", round, pair, rate / 1e6);
    }

    private void putRt(String round, String pair, Pings run) throws Exception {
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

    private void addRt(String round, String pair, double medianNs, double meanNs) {
        roundTrip.computeIfAbsent(pair, k -> new ArrayList<>()).add(new double[] {medianNs, meanNs});
        System.err.printf(Locale.ROOT, "%s%s: median %.2f us, mean %.2f us%n", round, pair, medianNs / 1e3,
                meanNs / 1e3);
    }

    /** C -> C and C <-> C: pipe_peer bench-cc, timed by itself. */
    private void benchCc(String round) throws Exception {
        System.err.printf(Locale.ROOT, "%s%s, %s ...%n", round, CC, RT_CC);
        Map<String, Double> values = new LinkedHashMap<>();
        try (Pipe out = Pipe.open();
             ChildProcess child = command("bench-cc", bytes, pings).stdout(out.sink()).start()) {
            out.sink().close();
            for (String line : readAll(out.source()).split("\n")) {
                String[] kv = line.trim().split("\\s+");
                if (kv.length == 2) {
                    values.put(kv[0], Double.parseDouble(kv[1]));
                }
            }
            expectSuccess(child, "bench-cc");
        }
        Double rate = values.get("throughput_bytes_per_sec");
        Double median = values.get("roundtrip_ns_median");
        Double mean = values.get("roundtrip_ns_mean");
        if (rate == null || median == null || mean == null) {
            throw new IllegalStateException("bench-cc printed " + values);
        }
        throughput.computeIfAbsent(CC, k -> new ArrayList<>()).add(rate);
        System.err.printf(Locale.ROOT, "%s%s: %.1f MB/s%n", round, CC, rate / 1e6);
        addRt(round, RT_CC, median, mean);
    }

    /** Two C peers joined by a pipe, the sink computing the CRC as it does for Java -> C. */
    private long cToCWithCrc() throws Exception {
        try (Pipe data = Pipe.open(); Pipe out = Pipe.open();
             ChildProcess sink = command("sink", 3).fd(3, data.source()).stdout(out.sink()).start();
             ChildProcess source = command("source", 3, bytes, SEED).fd(3, data.sink()).start()) {
            long t0 = System.nanoTime();
            data.source().close();
            data.sink().close();
            out.sink().close();
            String line = readAll(out.source());
            long t1 = System.nanoTime();
            expectSuccess(source, "source");
            expectSuccess(sink, "sink");
            checkSinkLine(line, -1);
            return t1 - t0;
        }
    }

    /** ipcbridge pipe, the child's fd 3; Java writes from a direct buffer, the C sink checks. */
    private long javaToC() throws Exception {
        try (Pipe data = Pipe.open(); Pipe out = Pipe.open();
             ChildProcess child = command("sink", 3).fd(3, data.source()).stdout(out.sink()).start()) {
            data.source().close();
            out.sink().close();
            PipeSink sink = data.sink();
            ByteBuffer buf = pattern.duplicate();
            long t0 = System.nanoTime();
            for (long left = bytes; left > 0; left -= CHUNK) {
                buf.clear().limit((int) Math.min(left, CHUNK));
                sink.write(buf);
            }
            sink.close();
            String line = readAll(out.source());
            long t1 = System.nanoTime();
            expectSuccess(child, "sink");
            checkSinkLine(line, expectedCrc);
            return t1 - t0;
        }
    }

    /**
     * As {@link #javaToC()}, but the C reader does no more than bench-cc's: {@code pipe_peer echo}
     * into /dev/null (through {@code sh -c exec}, as ipcbridge cannot open a file), unchecked.
     */
    private long javaToCNoCrc() throws Exception {
        try (Pipe data = Pipe.open();
             ChildProcess child = Command.of("sh", "-c", "exec \"$0\" echo 3 1 >/dev/null", peer)
                     .fd(3, data.source()).start()) {
            data.source().close();
            PipeSink sink = data.sink();
            ByteBuffer buf = pattern.duplicate();
            long t0 = System.nanoTime();
            for (long left = bytes; left > 0; left -= CHUNK) {
                buf.clear().limit((int) Math.min(left, CHUNK));
                sink.write(buf);
            }
            sink.close();
            expectSuccess(child, "echo");
            return System.nanoTime() - t0;
        }
    }

    /** ipcbridge pipe, the child's fd 3; the C source writes, Java reads into a direct buffer. */
    private long cToJava() throws Exception {
        try (Pipe data = Pipe.open();
             ChildProcess child = command("source", 3, bytes, SEED).fd(3, data.sink()).start()) {
            data.sink().close();
            PipeSource source = data.source();
            ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
            long got = 0;
            long t0 = System.nanoTime();
            for (int n; (n = source.read(buf.clear())) >= 0;) {
                got += n;
            }
            long t1 = System.nanoTime();
            expectSuccess(child, "source");
            check(got == bytes, "C -> Java: received " + got + " of " + bytes + " bytes");
            return t1 - t0;
        }
    }

    /**
     * The JDK's way: the child's stdin, written with 64 KiB byte[] writes, into {@code pipe_peer
     * sink 0} ({@code crc}) or, like {@link #javaToCNoCrc()}, {@code pipe_peer echo 0 1} into /dev/null.
     */
    private long javaToProcessBuilder(boolean crc) throws Exception {
        ProcessBuilder builder = crc ? new ProcessBuilder(peer, "sink", "0")
                : new ProcessBuilder("sh", "-c", "exec \"$0\" echo 0 1 >/dev/null", peer);
        Process p = builder.redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            long t0 = System.nanoTime();
            try (OutputStream os = p.getOutputStream()) {
                for (long left = bytes; left > 0; left -= CHUNK) {
                    os.write(patternArray, 0, (int) Math.min(left, CHUNK));
                }
            }
            String line = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            long t1 = System.nanoTime();
            check(p.waitFor() == 0, "ProcessBuilder sink exited with " + p.exitValue());
            if (crc) {
                checkSinkLine(line, expectedCrc);
            }
            return t1 - t0;
        } finally {
            p.destroyForcibly();
        }
    }

    /** Two Java threads over one ipcbridge pipe. */
    private long javaToJava() throws Exception {
        try (Pipe data = Pipe.open()) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread writer = new Thread(() -> {
                ByteBuffer buf = pattern.duplicate();
                try (PipeSink sink = data.sink()) {
                    for (long left = bytes; left > 0; left -= CHUNK) {
                        buf.clear().limit((int) Math.min(left, CHUNK));
                        sink.write(buf);
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            }, "bench-writer");
            ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
            long got = 0;
            long t0 = System.nanoTime();
            writer.start();
            for (int n; (n = data.source().read(buf.clear())) >= 0;) {
                got += n;
            }
            long t1 = System.nanoTime();
            writer.join();
            rethrow(failure);
            check(got == bytes, "Java -> Java: received " + got + " of " + bytes + " bytes");
            return t1 - t0;
        }
    }

    // ---- round trip ---------------------------------------------------------------------------

    /**
     * Two ipcbridge pipes on the child's fds 3 (in) and 4 (out); pipe_peer echo. With {@code raw},
     * the calls skip {@link io.ipcbridge.Descriptor} for the bare system calls underneath, which
     * shows the Java floor: what Descriptor's own bookkeeping costs on top.
     */
    private long[] roundTripJavaC(boolean raw) throws Exception {
        try (Pipe a = Pipe.open(); Pipe b = Pipe.open();
             ChildProcess child = command("echo", 3, 4).fd(3, a.source()).fd(4, b.sink()).start()) {
            a.source().close();
            b.sink().close();
            long[] t = raw ? pingPongRaw(a.sink().descriptor().fd(), b.source().descriptor().fd())
                    : pingPong(a.sink(), b.source());
            a.sink().close();
            expectSuccess(child, "echo");
            return t;
        }
    }

    /** The child's stdin and stdout from {@link ProcessBuilder}, flushed after each byte. */
    private long[] roundTripProcessBuilder() throws Exception {
        Process p = new ProcessBuilder(peer, "echo", "0", "1").redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            long[] t = new long[pings];
            OutputStream os = p.getOutputStream();
            InputStream is = p.getInputStream();
            for (int i = -WARMUP; i < pings; i++) {
                int v = i & 0xff;
                long s = System.nanoTime();
                os.write(v);
                os.flush();
                int r = is.read();
                long e = System.nanoTime();
                check(r == v, "ProcessBuilder echo: sent " + v + ", got " + r);
                if (i >= 0) {
                    t[i] = e - s;
                }
            }
            os.close();
            check(p.waitFor() == 0, "ProcessBuilder echo exited with " + p.exitValue());
            return t;
        } finally {
            p.destroyForcibly();
        }
    }

    /** A Java echo thread over two ipcbridge pipes. */
    private long[] roundTripJavaJava() throws Exception {
        try (Pipe a = Pipe.open(); Pipe b = Pipe.open()) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread echo = new Thread(() -> {
                ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
                try (PipeSink out = b.sink()) {
                    while (a.source().read(buf.clear()) >= 0) {
                        out.write(buf.flip());
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            }, "bench-echo");
            echo.start();
            long[] t;
            try {
                t = pingPong(a.sink(), b.source());
            } finally {
                a.sink().close();
                echo.join();
            }
            rethrow(failure);
            return t;
        }
    }

    /** WARMUP untimed, then {@link #pings} timed 1-byte round trips. */
    private long[] pingPong(PipeSink out, PipeSource in) throws IOException {
        ByteBuffer o = ByteBuffer.allocateDirect(1);
        ByteBuffer r = ByteBuffer.allocateDirect(1);
        long[] t = new long[pings];
        for (int i = -WARMUP; i < pings; i++) {
            byte v = (byte) i;
            o.clear().put(0, v);
            r.clear();
            long s = System.nanoTime();
            out.write(o);
            int n = in.read(r);
            long e = System.nanoTime();
            check(n == 1 && r.get(0) == v, "echo: sent " + v + ", read " + n + " byte(s): " + r.get(0));
            if (i >= 0) {
                t[i] = e - s;
            }
        }
        return t;
    }

    /** {@link #pingPong} with {@link Syscalls} straight on the numbers (the pipes stay open meanwhile). */
    private long[] pingPongRaw(int out, int in) throws IOException {
        ByteBuffer o = ByteBuffer.allocateDirect(1);
        ByteBuffer r = ByteBuffer.allocateDirect(1);
        long[] t = new long[pings];
        for (int i = -WARMUP; i < pings; i++) {
            byte v = (byte) i;
            o.clear().put(0, v);
            r.clear();
            long s = System.nanoTime();
            Syscalls.write(out, o, "ping");
            int n = Syscalls.read(in, r, "pong");
            long e = System.nanoTime();
            check(n == 1 && r.get(0) == v, "echo: sent " + v + ", read " + n + " byte(s): " + r.get(0));
            if (i >= 0) {
                t[i] = e - s;
            }
        }
        return t;
    }

    // ---- report -------------------------------------------------------------------------------

    private void report(PrintStream out) {
        out.printf(Locale.ROOT, "# %s; Java %s; %d CPUs (allowed: %s); %s %s%n", peer,
                System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(), allowedCpus(),
                System.getProperty("os.name"), System.getProperty("os.version"));
        out.printf(Locale.ROOT, "%nThroughput: %d bytes (%.2f MiB) in 64 KiB writes; median of %d round(s); MB = 10^6 bytes%n",
                bytes, bytes / 1048576.0, repeat);
        out.printf(Locale.ROOT, PAIR + " %10s  %-21s %s%n", "pair", "MB/s", "spread (min - max)", "ratio to C->C");
        double cc = median(throughput.get(CC));
        for (Map.Entry<String, List<Double>> e : throughput.entrySet()) {
            double m = median(e.getValue());
            out.printf(Locale.ROOT, PAIR + " %10.1f  %-21s %.3fx%n", e.getKey(), m / 1e6,
                    spread(e.getValue(), 1e6), m / cc);
        }

        out.printf(Locale.ROOT, "%nRound trip, 1 byte: %d timed round trips after %d warm-up (bench-cc: none); median of %d round(s)%n",
                pings, WARMUP, repeat);
        out.printf(Locale.ROOT, PAIR + " %10s %10s  %-19s %s%n", "pair", "median us", "mean us",
                "spread of median", "ratio to C<->C (median; mean)");
        double[] base = rtMedians(RT_CC);
        for (String pair : roundTrip.keySet()) {
            double[] m = rtMedians(pair);
            List<Double> medians = new ArrayList<>();
            for (double[] v : roundTrip.get(pair)) {
                medians.add(v[0]);
            }
            out.printf(Locale.ROOT, PAIR + " %10.2f %10.2f  %-19s %.3fx; %.3fx%n", pair, m[0] / 1e3, m[1] / 1e3,
                    spread(medians, 1e3), m[0] / base[0], m[1] / base[1]);
        }
        out.printf(Locale.ROOT, "(ref.: not an API pair, shown for comparison; raw syscalls = the same calls without"
                + " io.ipcbridge.Descriptor)%n");

        out.println();
        double jc = median(throughput.get(JC));
        double cj = median(throughput.get(CJ));
        double pb = median(throughput.get(PB));
        target(out, "throughput Java -> C >= 0.90x C -> C", jc >= 0.9 * cc, ratio(jc, cc, 1e6, "MB/s"));
        target(out, "throughput C -> Java >= 0.90x C -> C", cj >= 0.9 * cc, ratio(cj, cc, 1e6, "MB/s"));
        target(out, "throughput Java -> C >= ProcessBuilder (same CRC sink)", jc >= pb, ratio(jc, pb, 1e6, "MB/s"));
        double[] rt = rtMedians(RT_JC);
        target(out, "round trip Java <-> C <= 1.10x C <-> C (medians)", rt[0] <= 1.10 * base[0],
                ratio(rt[0], base[0], 1e3, "us") + "; means " + ratio(rt[1], base[1], 1e3, "us"));
        double ccCrc = median(throughput.get(CC_CRC));
        double jcNoCrc = median(throughput.get(JC_NOCRC));
        double pbNoCrc = median(throughput.get(PB_NOCRC));
        out.printf(Locale.ROOT, "info: like for like (the C -> C writer makes its pattern as it goes; the sink computes a CRC):"
                + "%n      Java -> C / C -> C with the same CRC sink %.3fx; without CRC: Java -> C / C -> C %.3fx,"
                + " Java -> C / ProcessBuilder %.3fx%n", jc / ccCrc, jcNoCrc / cc, jcNoCrc / pbNoCrc);
        double[] raw = rtMedians(RT_RAW);
        out.printf(Locale.ROOT, "info: round trip Java <-> C through Descriptor / raw syscalls: %.3fx (%+.2f us)%n",
                rt[0] / raw[0], (rt[0] - raw[0]) / 1e3);
        boolean warned = false;
        for (String pair : roundTrip.keySet()) {
            List<Double> medians = new ArrayList<>();
            for (double[] v : roundTrip.get(pair)) {
                medians.add(v[0]);
            }
            double lo = medians.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
            double hi = medians.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
            if (hi > 2 * lo) {
                out.printf(Locale.ROOT, "warning: %s varies %.1fx between rounds: the pair shared a CPU in some rounds and"
                        + " not in others (a wake-up across CPUs costs far more, notably in a VM); for stable"
                        + " round trips pin everything: scripts/bench-pipe --cpus 0%n", pair.trim(), hi / lo);
                warned = true;
                break;
            }
        }
        if (!warned && Runtime.getRuntime().availableProcessors() > 1) {
            out.printf(Locale.ROOT, "note: not pinned: each pair's CPU placement (same CPU or not) is the scheduler's"
                    + " choice and weighs on every number, round trips most; scripts/bench-pipe --cpus 0 pins%n");
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

    private static String ratio(double value, double base, double unit, String what) {
        String f = unit >= 1e6 ? "%.1f vs %.1f %s = %.3fx" : "%.2f vs %.2f %s = %.3fx";
        return String.format(Locale.ROOT, f, value / unit, base / unit, what, value / base);
    }

    private static void target(PrintStream out, String what, boolean met, String numbers) {
        out.printf(Locale.ROOT, "target: %-55s %-7s (%s)%n", what, met ? "MET" : "NOT MET", numbers);
    }

    /** {median over the rounds of the per-round medians, the same of the means}. */
    private double[] rtMedians(String pair) {
        List<Double> medians = new ArrayList<>();
        List<Double> means = new ArrayList<>();
        for (double[] v : roundTrip.get(pair)) {
            medians.add(v[0]);
            means.add(v[1]);
        }
        return new double[] {median(medians), median(means)};
    }

    private static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static String spread(List<Double> values, double unit) {
        double min = values.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        double max = values.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        return String.format(Locale.ROOT, "%.1f - %.1f", min / unit, max / unit);
    }

    // ---- helpers ------------------------------------------------------------------------------

    private Command command(Object... args) {
        List<String> argv = new ArrayList<>();
        argv.add(peer);
        for (Object a : args) {
            argv.add(a.toString());
        }
        return Command.of(argv);
    }

    private static String readAll(PipeSource source) throws IOException {
        try (InputStream in = source.inputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    private static void expectSuccess(ChildProcess child, String what) throws IOException, InterruptedException {
        ExitStatus status = child.waitFor();
        check(status.success(), "pipe_peer " + what + " ended with " + status);
    }

    /** Checks the sink's "<count> <crc32>" line; {@code crc} -1 checks the count only. */
    private void checkSinkLine(String line, long crc) {
        String[] f = line.trim().split(" ");
        check(f.length == 2 && Long.parseLong(f[0]) == bytes, "sink printed '" + line.trim() + "', expected "
                + bytes + " bytes");
        check(crc < 0 || Long.parseLong(f[1], 16) == crc, String.format(Locale.ROOT,
                "sink printed '%s', expected CRC %08x", line.trim(), crc));
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalStateException(message);
        }
    }

    private static void rethrow(AtomicReference<Throwable> failure) throws Exception {
        Throwable t = failure.get();
        if (t instanceof Exception e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
    }
}
