package io.ipcbridge.bench;

import static io.ipcbridge.bench.BenchSupport.check;
import static io.ipcbridge.bench.BenchSupport.checkSinkLine;
import static io.ipcbridge.bench.BenchSupport.ratio;
import static io.ipcbridge.bench.BenchSupport.readAll;
import static io.ipcbridge.bench.BenchSupport.sendAll;
import static io.ipcbridge.bench.BenchSupport.target;

import io.ipcbridge.bench.BenchSupport.Options;
import io.ipcbridge.bench.BenchSupport.Peer;
import io.ipcbridge.bench.BenchSupport.Results;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.pipe.PipeSink;
import io.ipcbridge.pipe.PipeSource;
import io.ipcbridge.process.ChildProcess;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

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

    private final Peer peer;
    private final long bytes;
    private final int pings;
    /** CHUNK bytes of the peers' pattern (seed 1), sent over and over by the Java writers. */
    private final ByteBuffer pattern;
    private final byte[] patternArray = new byte[CHUNK];
    private final long expectedCrc;
    private final Results results;

    private PipeBench(Peer peer, long bytes, int pings, int repeat) {
        this.peer = peer;
        this.bytes = bytes;
        this.pings = pings;
        pattern = BenchSupport.pattern(SEED, CHUNK);
        pattern.get(0, patternArray);
        expectedCrc = BenchSupport.crcOfRepeated(pattern, bytes);
        results = new Results(bytes, repeat);
    }

    /**
     * Runs the benchmark; see the class description for the options.
     *
     * @param args the options
     * @throws Exception if a run fails: a child failed, or a check of what went through
     */
    public static void main(String[] args) throws Exception {
        Options o = BenchSupport.options("bench-pipe", args, 1, "pipe_peer");
        if (o == null) {
            return;
        }
        Peer peer = o.peer("pipe_peer");
        // One short untimed round first, so that no pair pays for the JIT compiling the code it shares
        // with another (the ping loop, the write loop): warm-up runs of 10,000 are not enough alone.
        new PipeBench(peer, Math.min(o.bytes(), 64L << 20), Math.min(o.pings(), 20_000), 1).round("[warm-up] ");
        PipeBench bench = new PipeBench(peer, o.bytes(), o.pings(), o.repeat());
        BenchSupport.rounds(o.repeat(), bench::round);
        bench.report(System.out);
    }

    /** Runs every pair once; {@code r} prefixes the progress lines. */
    private void round(String r) throws Exception {
        results.benchCc(r, peer, CC, RT_CC, bytes, pings);
        results.put(r, CC_CRC, this::cToCWithCrc);
        results.put(r, JC, this::javaToC);
        results.put(r, PB, () -> javaToProcessBuilder(true));
        results.put(r, JC_NOCRC, this::javaToCNoCrc);
        results.put(r, PB_NOCRC, () -> javaToProcessBuilder(false));
        results.put(r, CJ, this::cToJava);
        results.put(r, JJ, this::javaToJava);
        results.putRt(r, RT_JC, () -> roundTripJavaC(false));
        results.putRt(r, RT_RAW, () -> roundTripJavaC(true));
        results.putRt(r, RT_PB, this::roundTripProcessBuilder);
        results.putRt(r, RT_JJ, this::roundTripJavaJava);
    }

    // ---- throughput ---------------------------------------------------------------------------

    /** Two C peers joined by a pipe, the sink computing the CRC as it does for Java -> C. */
    private long cToCWithCrc() throws Exception {
        try (Pipe data = Pipe.open(); Pipe out = Pipe.open();
             ChildProcess sink = peer.command("sink", 3).fd(3, data.source()).stdout(out.sink()).start();
             ChildProcess source = peer.command("source", 3, bytes, SEED).fd(3, data.sink()).start()) {
            long t0 = System.nanoTime();
            data.source().close();
            data.sink().close();
            out.sink().close();
            String line = readAll(out.source());
            long t1 = System.nanoTime();
            peer.expectSuccess(source, "source");
            peer.expectSuccess(sink, "sink");
            checkSinkLine(line, bytes, -1);
            return t1 - t0;
        }
    }

    /** ipcbridge pipe, the child's fd 3; Java writes from a direct buffer, the C sink checks. */
    private long javaToC() throws Exception {
        try (Pipe data = Pipe.open(); Pipe out = Pipe.open();
             ChildProcess child = peer.command("sink", 3).fd(3, data.source()).stdout(out.sink()).start()) {
            data.source().close();
            out.sink().close();
            PipeSink sink = data.sink();
            long t0 = System.nanoTime();
            sendAll(pattern, bytes, sink::write);
            sink.close();
            String line = readAll(out.source());
            long t1 = System.nanoTime();
            peer.expectSuccess(child, "sink");
            checkSinkLine(line, bytes, expectedCrc);
            return t1 - t0;
        }
    }

    /**
     * As {@link #javaToC()}, but the C reader does no more than bench-cc's: {@code pipe_peer echo}
     * into /dev/null (through {@code sh -c exec}, as ipcbridge cannot open a file), unchecked.
     */
    private long javaToCNoCrc() throws Exception {
        try (Pipe data = Pipe.open();
             ChildProcess child = peer.discarding("echo", 3, 1).fd(3, data.source()).start()) {
            data.source().close();
            PipeSink sink = data.sink();
            long t0 = System.nanoTime();
            sendAll(pattern, bytes, sink::write);
            sink.close();
            peer.expectSuccess(child, "echo");
            return System.nanoTime() - t0;
        }
    }

    /** ipcbridge pipe, the child's fd 3; the C source writes, Java reads into a direct buffer. */
    private long cToJava() throws Exception {
        try (Pipe data = Pipe.open();
             ChildProcess child = peer.command("source", 3, bytes, SEED).fd(3, data.sink()).start()) {
            data.sink().close();
            long t0 = System.nanoTime();
            long got = readCount(data.source());
            long t1 = System.nanoTime();
            peer.expectSuccess(child, "source");
            check(got == bytes, "C -> Java: received " + got + " of " + bytes + " bytes");
            return t1 - t0;
        }
    }

    /**
     * The JDK's way: the child's stdin, written with 64 KiB byte[] writes, into {@code pipe_peer
     * sink 0} ({@code crc}) or, like {@link #javaToCNoCrc()}, {@code pipe_peer echo 0 1} into /dev/null.
     */
    private long javaToProcessBuilder(boolean crc) throws Exception {
        ProcessBuilder builder = crc ? new ProcessBuilder(peer.path(), "sink", "0")
                : new ProcessBuilder("sh", "-c", "exec \"$0\" echo 0 1 >/dev/null", peer.path());
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
                checkSinkLine(line, bytes, expectedCrc);
            }
            return t1 - t0;
        } finally {
            p.destroyForcibly();
        }
    }

    /** Two Java threads over one ipcbridge pipe. */
    private long javaToJava() throws Exception {
        try (Pipe data = Pipe.open()) {
            long t0 = System.nanoTime();
            long[] end = BenchSupport.withWorker("bench-writer", () -> {
                try (PipeSink sink = data.sink()) {
                    sendAll(pattern, bytes, sink::write);
                }
            }, data.source()::close, () -> {
                long got = readCount(data.source());
                return new long[] {got, System.nanoTime()};
            });
            check(end[0] == bytes, "Java -> Java: received " + end[0] + " of " + bytes + " bytes");
            return end[1] - t0;
        }
    }

    /** Reads {@code source} to its end into a direct buffer; returns the bytes read. */
    private static long readCount(PipeSource source) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        long got = 0;
        for (int n; (n = source.read(buf.clear())) >= 0;) {
            got += n;
        }
        return got;
    }

    // ---- round trip ---------------------------------------------------------------------------

    /**
     * Two ipcbridge pipes on the child's fds 3 (in) and 4 (out); pipe_peer echo. With {@code raw},
     * the calls skip {@link io.ipcbridge.Descriptor} for the bare system calls underneath, which
     * shows the Java floor: what Descriptor's own bookkeeping costs on top.
     */
    private long[] roundTripJavaC(boolean raw) throws Exception {
        try (Pipe a = Pipe.open(); Pipe b = Pipe.open();
             ChildProcess child = peer.command("echo", 3, 4).fd(3, a.source()).fd(4, b.sink()).start()) {
            a.source().close();
            b.sink().close();
            long[] t;
            if (raw) {
                int out = a.sink().descriptor().fd();
                int in = b.source().descriptor().fd();
                t = pingPong(o -> Syscalls.write(out, o, "ping"), r -> Syscalls.read(in, r, "pong"));
            } else {
                t = pingPong(a.sink()::write, b.source()::read);
            }
            a.sink().close();
            peer.expectSuccess(child, "echo");
            return t;
        }
    }

    /** The child's stdin and stdout from {@link ProcessBuilder}, flushed after each byte. */
    private long[] roundTripProcessBuilder() throws Exception {
        Process p = new ProcessBuilder(peer.path(), "echo", "0", "1").redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        try {
            OutputStream os = p.getOutputStream();
            InputStream is = p.getInputStream();
            long[] t = BenchSupport.timeRoundTrips(WARMUP, pings, 0xff, i -> {
                os.write(i & 0xff);
                os.flush();
                return is.read();
            });
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
            return BenchSupport.withWorker("bench-echo", () -> {
                ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
                try (PipeSink out = b.sink()) {
                    while (a.source().read(buf.clear()) >= 0) {
                        out.write(buf.flip());
                    }
                }
            }, a.sink()::close, () -> pingPong(a.sink()::write, b.source()::read));
        }
    }

    /**
     * WARMUP untimed, then {@link #pings} timed 1-byte round trips: {@code write} (a
     * {@link PipeSink}'s, or {@link Syscalls} straight on the number while the pipe stays open),
     * then {@code read}.
     */
    private long[] pingPong(BenchSupport.Sender write, BenchSupport.Reader read) throws Exception {
        return BenchSupport.pingPong(WARMUP, pings, true, write, read);
    }

    // ---- report -------------------------------------------------------------------------------

    private void report(PrintStream out) {
        Results.header(out, peer.path());
        results.throughputTable(out, "in 64 KiB writes", CC);
        results.roundTripTable(out, String.format(Locale.ROOT,
                "Round trip, 1 byte: %d timed round trips after %d warm-up (bench-cc: none)", pings, WARMUP), RT_CC);
        out.printf(Locale.ROOT, "(ref.: not an API pair, shown for comparison; raw syscalls = the same calls without"
                + " io.ipcbridge.Descriptor)%n");

        out.println();
        results.throughputTargets(out, CC, JC, CJ);
        double cc = results.rate(CC);
        double jc = results.rate(JC);
        double pb = results.rate(PB);
        target(out, "throughput Java -> C >= ProcessBuilder (same CRC sink)", jc >= pb, ratio(jc, pb, 1e6, "MB/s"));
        results.roundTripTarget(out, RT_CC, RT_JC);
        double[] rt = results.roundTrip(RT_JC);
        double ccCrc = results.rate(CC_CRC);
        double jcNoCrc = results.rate(JC_NOCRC);
        double pbNoCrc = results.rate(PB_NOCRC);
        out.printf(Locale.ROOT, "info: like for like (the C -> C writer makes its pattern as it goes; the sink computes a CRC):"
                + "%n      Java -> C / C -> C with the same CRC sink %.3fx; without CRC: Java -> C / C -> C %.3fx,"
                + " Java -> C / ProcessBuilder %.3fx%n", jc / ccCrc, jcNoCrc / cc, jcNoCrc / pbNoCrc);
        double[] raw = results.roundTrip(RT_RAW);
        out.printf(Locale.ROOT, "info: round trip Java <-> C through Descriptor / raw syscalls: %.3fx (%+.2f us)%n",
                rt[0] / raw[0], (rt[0] - raw[0]) / 1e3);
        results.placement(out, "scripts/bench-pipe");
    }
}
