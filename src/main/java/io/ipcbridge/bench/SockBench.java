package io.ipcbridge.bench;

import static io.ipcbridge.bench.BenchSupport.check;
import static io.ipcbridge.bench.BenchSupport.checkSinkLine;
import static io.ipcbridge.bench.BenchSupport.readAll;
import static io.ipcbridge.bench.BenchSupport.sendAll;

import io.ipcbridge.bench.BenchSupport.Options;
import io.ipcbridge.bench.BenchSupport.Peer;
import io.ipcbridge.bench.BenchSupport.Reader;
import io.ipcbridge.bench.BenchSupport.Results;
import io.ipcbridge.bench.BenchSupport.Sender;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import java.util.zip.CRC32;

/**
 * AF_UNIX stream socket benchmark (not a test): the 1-byte ping-pong round trip and the throughput
 * of BYTES bytes in 64 KiB writes, for C &harr; C ({@code sock_peer bench-cc}), Java &harr; C through
 * ipcbridge's {@link Socket} and Java &harr; C through the JDK's own {@link SocketChannel} on a
 * {@link UnixDomainSocketAddress} (direct buffers, and heap buffers for reference), plus Java &harr;
 * Java (two threads) for both APIs, side by side in one run, with the ratios to C &harr; C and a
 * MET / NOT MET line per target. Rounds interleave the pairs (each ipcbridge pair and the JDK pair
 * it is compared with swap places every other round: a run's place in a round moves it by several
 * per cent here), and the tables give the median of the rounds and their min-max spread, as
 * {@link PipeBench} does. Run it with {@code scripts/bench-sock [options]}:
 *
 * <pre>
 * --bytes N       bytes per throughput run (default 1 GiB; K, M, G suffixes allowed)
 * --pings N       timed round trips per run (default 100000; after 10000 warm-up ones)
 * --repeat N      rounds (default 5: the medians of 3 vary by more than the targets' margins here)
 * --native-dir D  where sock_peer and pipe_peer are (default: system property ipcbridge.native.dir)
 * --quick         64 MiB, 10000 pings, 1 round: a smoke run
 * --cpus LIST     (the script's own) everything under taskset -c LIST
 * </pre>
 *
 * <p>Each kind of row measures the same thing whatever the API, with the same C code on the other
 * side. Round trips: the measuring side writes one byte and reads it back from a C echo loop
 * ({@code echo_conn} of sock_peer: bench-cc's forked child on a socketpair, {@code echo-fd 3} on
 * ipcbridge's socketpair, {@code echo-server} on a unix path that the JDK's SocketChannel connects
 * to), each round trip timed. Java &rarr; C: Java writes one pre-filled 64 KiB buffer over and over, as
 * bench-cc's writer does, to a C reader that does what bench-cc's reader does, plus one write to
 * /dev/null per read ({@code pipe_peer echo 3 1 >/dev/null}); for the JDK, the C reader gets the end
 * that an ipcbridge {@link ServerSocket} accepted from the JDK's SocketChannel. C &rarr; Java:
 * {@code sock_peer source} (which makes its pattern as it goes: slower than bench-cc's writer) to
 * Java, which reads 64 KiB at a time and counts; the same source into the C reader above is the
 * like-for-like reference.
 *
 * <p>Every run is checked: byte counts, every echoed byte, exit statuses; and once, before the
 * rounds, each Java path's bytes by CRC-32 (64 MiB into {@code sock_peer sink}, and from
 * {@code sock_peer source}). Socket files live in a temporary directory, removed at the end or by
 * a shutdown hook when the benchmark is interrupted.
 */
public final class SockBench {
    private static final int CHUNK = 64 * 1024;
    private static final int WARMUP = 10_000;
    private static final long SEED = 1;
    private static final long VERIFY_BYTES = 64L << 20;

    private static final String CC = "C -> C (bench-cc)";
    private static final String CC_REF = "  ref: C -> C (source-fd -> C reader)";
    private static final String JC = "Java -> C (ipcbridge socketpair)";
    private static final String JC_JDK = "Java -> C (JDK SocketChannel, direct)";
    private static final String JC_JDK_HEAP = "  ref: Java -> C (JDK, heap buffer)";
    private static final String CJ = "C -> Java (ipcbridge socketpair)";
    private static final String CJ_JDK = "C -> Java (JDK SocketChannel, direct)";
    private static final String CJ_JDK_HEAP = "  ref: C -> Java (JDK, heap buffer)";
    private static final String RT_CC = "C <-> C (bench-cc)";
    private static final String RT_JC = "Java <-> C (ipcbridge socketpair)";
    private static final String RT_RAW = "  ref: Java <-> C (raw syscalls)";
    private static final String RT_JDK = "Java <-> C (JDK SocketChannel, direct)";
    private static final String RT_JDK_HEAP = "  ref: Java <-> C (JDK, heap buffer)";
    private static final String RT_JJ = "Java <-> Java (ipcbridge, 2 threads)";
    private static final String RT_JDK_JJ = "Java <-> Java (JDK, 2 threads, direct)";

    /** Java's side of a connection: ipcbridge's, or the JDK's with direct or heap buffers. */
    private enum Api {
        IPCBRIDGE, JDK_DIRECT, JDK_HEAP
    }

    private static final AtomicInteger NEXT_PATH = new AtomicInteger();

    private final Peer sock;
    private final Peer pipe;
    /** Where the socket files go: a temporary directory of this JVM. */
    private final Path dir;
    private final long bytes;
    private final int pings;
    /** CHUNK bytes of the peers' pattern (seed 1), written over and over by the Java writers. */
    private final ByteBuffer pattern = BenchSupport.pattern(SEED, CHUNK);
    /** The same bytes on the heap. */
    private final ByteBuffer heapPattern;
    private final Results results;

    private SockBench(Peer sock, Peer pipe, Path dir, long bytes, int pings, int repeat) {
        this.sock = sock;
        this.pipe = pipe;
        this.dir = dir;
        this.bytes = bytes;
        this.pings = pings;
        byte[] heap = new byte[CHUNK];
        pattern.get(0, heap);
        heapPattern = ByteBuffer.wrap(heap);
        results = new Results(bytes, repeat);
    }

    /**
     * Runs the benchmark; see the class description for the options.
     *
     * @param args the options
     * @throws Exception if a run fails: a child failed, or a check of what went through
     */
    public static void main(String[] args) throws Exception {
        Options o = BenchSupport.options("bench-sock", args, 1, 5, "sock_peer", "pipe_peer");
        if (o == null) {
            return;
        }
        BenchSupport.cleanUpOnExit("bench-sock");
        Path dir = Files.createTempDirectory("ipcb-bench-");
        BenchSupport.track(dir.toString(), () -> deleteTree(dir));
        try {
            Peer sock = o.peer("sock_peer");
            Peer pipe = o.peer("pipe_peer");
            new SockBench(sock, pipe, dir, Math.min(o.bytes(), VERIFY_BYTES), 1, 1).verify();
            // One untimed round first, so that no pair pays for the JIT compiling the code it
            // shares with another (the ping loop, the write and read loops).
            new SockBench(sock, pipe, dir, o.bytes(), Math.min(o.pings(), 20_000), 1).round("[warm-up] ");
            SockBench bench = new SockBench(sock, pipe, dir, o.bytes(), o.pings(), o.repeat());
            BenchSupport.rounds(o.repeat(), bench::round);
            bench.report(System.out);
        } finally {
            BenchSupport.remove(dir.toString());
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
        }
        Files.deleteIfExists(dir);
    }

    /** Rounds run so far. */
    private int rounds;

    /**
     * Runs every pair once; {@code r} prefixes the progress lines. Each ipcbridge pair and the JDK
     * pair it is compared with swap places every other round.
     */
    private void round(String r) throws Exception {
        int n = ++rounds;
        results.benchCc(r, sock, CC, RT_CC, pings, bytes);
        // The round trips first: right after bench-cc's, in the same conditions as far as can be.
        BenchSupport.alternate(n, () -> results.putRt(r, RT_JC, () -> roundTripJavaC(false)),
                () -> results.putRt(r, RT_JDK, () -> roundTripJdk(true)));
        results.putRt(r, RT_RAW, () -> roundTripJavaC(true));
        results.putRt(r, RT_JDK_HEAP, () -> roundTripJdk(false));
        BenchSupport.alternate(n, () -> results.putRt(r, RT_JJ, this::roundTripJavaJava),
                () -> results.putRt(r, RT_JDK_JJ, this::roundTripJdkJdk));
        results.put(r, CC_REF, this::cToC);
        BenchSupport.alternate(n, () -> results.put(r, JC, () -> javaToC(Api.IPCBRIDGE, false)),
                () -> results.put(r, JC_JDK, () -> javaToC(Api.JDK_DIRECT, false)));
        results.put(r, JC_JDK_HEAP, () -> javaToC(Api.JDK_HEAP, false));
        BenchSupport.alternate(n, () -> results.put(r, CJ, () -> cToJava(Api.IPCBRIDGE, false)),
                () -> results.put(r, CJ_JDK, () -> cToJava(Api.JDK_DIRECT, false)));
        results.put(r, CJ_JDK_HEAP, () -> cToJava(Api.JDK_HEAP, false));
    }

    /** Each Java path once, untimed, with its bytes checked by CRC-32 on the other side. */
    private void verify() throws Exception {
        for (Api api : Api.values()) {
            System.err.printf(Locale.ROOT, "checking %d bytes Java -> C and C -> Java by CRC-32 (%s) ...%n", bytes, api);
            javaToC(api, true);
            cToJava(api, true);
        }
    }

    // ---- connections --------------------------------------------------------------------------

    /** A fresh socket path in {@link #dir}. */
    private Path freshPath() {
        return dir.resolve("s" + NEXT_PATH.incrementAndGet());
    }

    /** A JDK server channel listening on a fresh path; closing it removes the path. */
    private final class JdkServer implements AutoCloseable {
        final Path path = freshPath();
        final ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);

        JdkServer() throws IOException {
            try {
                channel.bind(UnixDomainSocketAddress.of(path));
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        }

        @Override
        public void close() throws IOException {
            try {
                channel.close();
            } finally {
                Files.deleteIfExists(path);
            }
        }
    }

    /**
     * Starts sock_peer server {@code args} (echo-server, sink) on {@code path}, its stdout on
     * {@code out}, and waits for its "ready" line.
     */
    private ChildProcess startServer(Pipe out, Object... args) throws Exception {
        ChildProcess server = sock.command(args).stdout(out.sink()).start();
        out.sink().close();
        String ready = BenchSupport.readLine(out.source());
        if (!ready.equals("ready")) {
            server.close();
            throw new IllegalStateException("sock_peer " + args[0] + " printed '" + ready + "', not ready");
        }
        return server;
    }

    // ---- throughput ---------------------------------------------------------------------------

    /**
     * Starts the C reader on {@code end} (its fd 3), then closes {@code end} here: {@code sock_peer
     * sink-fd 3} (CRC-32) on {@code out} when {@code check}, else {@code pipe_peer echo 3 1 >/dev/null},
     * which reads and drops.
     */
    private ChildProcess startReader(boolean check, Socket end, Pipe out) throws IOException {
        try {
            Command reader = check ? sock.command("sink-fd", 3).stdout(out.sink()) : pipe.discarding("echo", 3, 1);
            return reader.fd(3, end).start();
        } finally {
            end.close();
            if (out != null) {
                out.sink().close();
            }
        }
    }

    /**
     * Java writes BYTES bytes, the 64 KiB pattern over and over, into a C reader; with
     * {@code check}, into a CRC-32 sink whose line is checked. ipcbridge: a socketpair, its second
     * end on the reader's fd 3. JDK: a SocketChannel connected to an ipcbridge ServerSocket, whose
     * accepted end goes on the reader's fd 3 ({@code sock_peer sink} on the path when checking).
     */
    private long javaToC(Api api, boolean check) throws Exception {
        Path path = freshPath();
        boolean jdk = api != Api.IPCBRIDGE;
        try (Pipe out = Pipe.open();
             Socket.Pair pair = jdk ? null : Socket.pair(Socket.Type.STREAM);
             ServerSocket server = jdk && !check ? ServerSocket.listen(new Address.Unix(path), Socket.Type.STREAM)
                     : null;
             ChildProcess sink = jdk && check ? startServer(out, "sink", "unix:" + path) : null;
             SocketChannel channel = jdk ? SocketChannel.open(UnixDomainSocketAddress.of(path)) : null;
             ChildProcess child = sink != null ? sink
                     : startReader(check, pair != null ? pair.second() : server.accept(), out)) {
            Sender send = jdk ? channel::write : pair.first()::write;
            long t0 = System.nanoTime();
            sendAll(api == Api.JDK_HEAP ? heapPattern : pattern, bytes, send);
            if (jdk) {
                channel.shutdownOutput();
            } else {
                pair.first().shutdownOutput();
            }
            String line = check ? readAll(out.source()) : null;
            (check ? sock : pipe).expectSuccess(child, check ? "sink" : "echo");
            long t1 = System.nanoTime();
            if (check) {
                checkSinkLine(line, bytes, BenchSupport.crcOfRepeated(pattern, bytes));
            }
            return t1 - t0;
        }
    }

    /**
     * {@code sock_peer source} sends BYTES bytes of pattern(SEED); Java reads them 64 KiB at a time
     * and counts them (with {@code check}, also computes their CRC-32 and checks it). ipcbridge: a
     * socketpair, its second end on {@code source-fd 3}. JDK: a ServerSocketChannel on a unix path
     * that {@code source unix:PATH} connects to.
     */
    private long cToJava(Api api, boolean check) throws Exception {
        CRC32 crc = check ? new CRC32() : null;
        long got;
        long t0;
        long t1;
        if (api == Api.IPCBRIDGE) {
            try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM);
                 ChildProcess source = sock.command("source-fd", 3, bytes, SEED).fd(3, pair.second()).start()) {
                pair.second().close();
                t0 = System.nanoTime();
                got = readCount(pair.first()::read, true, crc);
                t1 = System.nanoTime();
                sock.expectSuccess(source, "source-fd");
            }
        } else {
            try (JdkServer server = new JdkServer();
                 ChildProcess source = sock.command("source", "unix:" + server.path, bytes, SEED).start()) {
                long[] r = BenchSupport.against(sock, source, "source", () -> {
                    try (SocketChannel channel = server.channel.accept()) {
                        long s = System.nanoTime();
                        long n = readCount(channel::read, api == Api.JDK_DIRECT, crc);
                        return new long[] {n, s, System.nanoTime()};
                    }
                }, server.channel);
                got = r[0];
                t0 = r[1];
                t1 = r[2];
                sock.expectSuccess(source, "source");
            }
        }
        check(got == bytes, "C -> Java (" + api + "): received " + got + " of " + bytes + " bytes");
        if (check) {
            CRC32 expected = new CRC32();
            expected.update(BenchSupport.pattern(SEED, Math.toIntExact(bytes)));
            check(crc.getValue() == expected.getValue(), String.format(Locale.ROOT,
                    "C -> Java (%s): CRC %08x of what arrived, expected %08x", api, crc.getValue(), expected.getValue()));
        }
        return t1 - t0;
    }

    /** Reads to the end in CHUNK reads, into a direct buffer or a heap one; returns the bytes read. */
    private static long readCount(Reader reader, boolean direct, CRC32 crc) throws IOException {
        ByteBuffer buf = direct ? ByteBuffer.allocateDirect(CHUNK) : ByteBuffer.allocate(CHUNK);
        long got = 0;
        for (int n; (n = reader.read(buf.clear())) >= 0;) {
            got += n;
            if (crc != null) {
                crc.update(buf.flip());
            }
        }
        return got;
    }

    /** {@code sock_peer source-fd} into the C reader of the Java -> C rows: the C side of every pair, without Java. */
    private long cToC() throws Exception {
        try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM);
             ChildProcess reader = startReader(false, pair.second(), null);
             ChildProcess source = sock.command("source-fd", 3, bytes, SEED).fd(3, pair.first()).start()) {
            long t0 = System.nanoTime();
            pair.first().close();
            sock.expectSuccess(source, "source-fd");
            pipe.expectSuccess(reader, "echo");
            return System.nanoTime() - t0;
        }
    }

    // ---- round trip ---------------------------------------------------------------------------

    /**
     * An ipcbridge socketpair, its second end on {@code sock_peer echo-fd 3}. With {@code raw}, the
     * calls skip {@link io.ipcbridge.Descriptor} for the bare system calls underneath.
     */
    private long[] roundTripJavaC(boolean raw) throws Exception {
        try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM);
             ChildProcess echo = sock.command("echo-fd", 3).fd(3, pair.second()).start()) {
            pair.second().close();
            Socket s = pair.first();
            long[] t;
            if (raw) {
                int fd = s.descriptor().fd();
                t = BenchSupport.pingPong(WARMUP, pings, true, o -> Syscalls.write(fd, o, "ping"),
                        r -> Syscalls.read(fd, r, "pong"));
            } else {
                t = BenchSupport.pingPong(WARMUP, pings, true, s::write, s::read);
            }
            s.close();
            sock.expectSuccess(echo, "echo-fd");
            return t;
        }
    }

    /** The JDK's SocketChannel connected to {@code sock_peer echo-server} on a unix path. */
    private long[] roundTripJdk(boolean direct) throws Exception {
        Path path = freshPath();
        try (Pipe out = Pipe.open(); ChildProcess echo = startServer(out, "echo-server", "unix:" + path, "stream", 1)) {
            long[] t;
            try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                t = BenchSupport.pingPong(WARMUP, pings, direct, channel::write, channel::read);
            }
            sock.expectSuccess(echo, "echo-server");
            return t;
        }
    }

    /** Echoes what {@code in} reads back with {@code out} until the end of the stream. */
    private static void echo(Reader in, Sender out) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        while (in.read(buf.clear()) >= 0) {
            out.send(buf.flip());
        }
    }

    /** A Java echo thread on the other end of an ipcbridge socketpair. */
    private long[] roundTripJavaJava() throws Exception {
        try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM)) {
            Socket s = pair.first();
            return BenchSupport.withWorker("bench-echo", () -> echo(pair.second()::read, pair.second()::write),
                    s::close, () -> BenchSupport.pingPong(WARMUP, pings, true, s::write, s::read));
        }
    }

    /** A Java echo thread on the accepted end of a JDK connection on a unix path. */
    private long[] roundTripJdkJdk() throws Exception {
        try (JdkServer server = new JdkServer();
             SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(server.path));
             SocketChannel accepted = server.channel.accept()) {
            return BenchSupport.withWorker("bench-echo", () -> echo(accepted::read, accepted::write), client::close,
                    () -> BenchSupport.pingPong(WARMUP, pings, true, client::write, client::read));
        }
    }

    // ---- report -------------------------------------------------------------------------------

    private void report(PrintStream out) {
        Results.header(out, sock.path() + ", " + pipe.path());
        results.throughputTable(out, "over AF_UNIX stream sockets in 64 KiB writes", CC);
        for (String line : List.of(
                "C -> C (bench-cc): socketpair; a forked child writes one pre-filled 64 KiB buffer, the parent reads"
                        + " and counts.",
                "Java -> C: Java writes one pre-filled 64 KiB buffer; the C reader is pipe_peer echo 3 1 >/dev/null"
                        + " (64 KiB reads, each dropped with a write to /dev/null): ipcbridge on a socketpair; JDK:"
                        + " a SocketChannel to a unix path, the accepted end on the C reader's fd 3.",
                "C -> Java: sock_peer source (makes its pattern as it goes) writes; Java reads 64 KiB at a time and"
                        + " counts: ipcbridge on a socketpair (source-fd 3); JDK: ServerSocketChannel on a unix path"
                        + " (source unix:PATH connects).",
                "ref: C -> C: that same C source into that same C reader, on a socketpair.")) {
            out.println("  " + line);
        }
        results.roundTripTable(out, String.format(Locale.ROOT, "Round trip, 1 byte written and read back from a C"
                + " echo loop (sock_peer echo_conn): %d timed round trips after %d warm-up (bench-cc: 1000)", pings,
                WARMUP), RT_CC);
        out.printf(Locale.ROOT, "  bench-cc: socketpair, forked echo child; ipcbridge: socketpair, echo-fd 3; JDK:"
                + " SocketChannel to echo-server on a unix path; Java <-> Java: a Java echo thread (64 KiB reads).%n"
                + "(ref.: not an API pair, shown for comparison; raw syscalls = the same calls without"
                + " io.ipcbridge.Descriptor)%n");

        out.println();
        results.roundTripTarget(out, "round trip ipcbridge Java <-> C <= 1.10x C <-> C", RT_JC, RT_CC, 1.10);
        results.roundTripTarget(out, "round trip ipcbridge Java <-> C <= JDK Java <-> C", RT_JC, RT_JDK, 1.0);
        results.rateTarget(out, "throughput ipcbridge Java -> C >= 0.95x C -> C", JC, CC, 0.95);
        results.rateTarget(out, "throughput ipcbridge Java -> C >= JDK Java -> C", JC, JC_JDK, 1.0);
        results.rateTarget(out, "throughput ipcbridge C -> Java >= 0.95x C -> C", CJ, CC, 0.95);
        results.rateTarget(out, "throughput ipcbridge C -> Java >= JDK C -> Java", CJ, CJ_JDK, 1.0);
        results.rateTarget(out, "(like for like) C -> Java >= 0.95x ref C -> C", CJ, CC_REF, 0.95);
        double ref = results.rate(CC_REF);
        out.printf(Locale.ROOT, "info: like for like (C -> Java rows and the ref share the C source, which is slower"
                + " than bench-cc's writer): ref C -> C / bench-cc %.3fx; C -> Java / ref C -> C: ipcbridge %.3fx,"
                + " JDK %.3fx%n", ref / results.rate(CC), results.rate(CJ) / ref, results.rate(CJ_JDK) / ref);
        double[] cc = results.roundTrip(RT_CC);
        double[] jc = results.roundTrip(RT_JC);
        double[] raw = results.roundTrip(RT_RAW);
        out.printf(Locale.ROOT, "info: round trip Java <-> Java / C <-> C (medians): ipcbridge %.3fx, JDK %.3fx;"
                + " Java <-> C through Descriptor / raw syscalls %.3fx (%+.2f us)%n",
                results.roundTrip(RT_JJ)[0] / cc[0], results.roundTrip(RT_JDK_JJ)[0] / cc[0], jc[0] / raw[0],
                (jc[0] - raw[0]) / 1e3);
        results.placement(out, "scripts/bench-sock");
    }
}
