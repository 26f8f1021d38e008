package io.ipcbridge.bench;

import static io.ipcbridge.bench.BenchSupport.against;
import static io.ipcbridge.bench.BenchSupport.check;
import static io.ipcbridge.bench.BenchSupport.checkSinkLine;
import static io.ipcbridge.bench.BenchSupport.closeAll;
import static io.ipcbridge.bench.BenchSupport.readAll;
import static io.ipcbridge.bench.BenchSupport.sendAll;

import io.ipcbridge.bench.BenchSupport.Options;
import io.ipcbridge.bench.BenchSupport.Peer;
import io.ipcbridge.bench.BenchSupport.Results;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.mq.Message;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.ExitStatus;
import io.ipcbridge.process.Pipeline;
import io.ipcbridge.process.Stage;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.zip.CRC32;

/**
 * POSIX message queue benchmark (not a test): the one-way throughput of BYTES bytes in 8 KiB
 * messages and the round trip of an 8-byte request and its reply over two queues, for C &harr; C
 * ({@code mq_peer bench-cc}), Java &harr; C through {@link MessageQueue} and Java &harr; Java (two
 * threads), side by side in one run, with the ratios to C &harr; C and a MET / NOT MET line per
 * target. Rounds interleave the pairs, and the table gives the median of the rounds and their
 * min-max spread, as {@link PipeBench} does. Run it with {@code scripts/bench-mq [options]}:
 *
 * <pre>
 * --bytes N       bytes per throughput run (default 1 GiB, a multiple of 8 KiB; K, M, G suffixes)
 * --pings N       timed round trips per run (default 100000; after 10000 warm-up ones)
 * --repeat N      rounds (default 3)
 * --native-dir D  where mq_peer and pipe_peer are (default: system property ipcbridge.native.dir)
 * --quick         64 MiB, 10000 pings, 1 round: a smoke run
 * --cpus LIST     (the script's own) everything under taskset -c LIST
 * </pre>
 *
 * <p>Every queue has the system's default size (msg_default x msgsize_default, 10 x 8192 unless
 * changed; the same as bench-cc's), a name of its own ({@code /ipcb-bench-<pid>-<n>-<tag>}), and is
 * unlinked when its run ends, or by a shutdown hook when the benchmark is interrupted.
 *
 * <p>Every run is checked. Java &rarr; C: {@code mq_peer sink} prints the byte count and the CRC-32
 * of what it received, compared with the CRC-32 of what Java sent. C &rarr; Java: Java computes the
 * CRC-32 of what {@code mq_peer source} sent as it arrives, compared with the CRC of the same
 * pattern computed once, before the rounds, by {@code pipe_peer source | pipe_peer sink}. Round
 * trips check each reply.
 *
 * <p>Besides the pairs asked for, "ref:" rows separate what is measured from what measures it: the
 * C sink's CRC-32 and the C source's pattern generator cost the C side time that bench-cc does not
 * spend, so C &rarr; C also runs between them; the Java pairs also run on the bare system calls under
 * {@link MessageQueue} (raw syscalls), and C &rarr; Java also runs without its CRC.
 */
public final class MqBench {
    /** The message size of the throughput runs: bench-cc's and the default msgsize_default. */
    private static final int MSG = 8192;
    private static final int WARMUP = 10_000;
    private static final int CC_WARMUP = 1000;
    private static final long SEED = 1;
    private static final VarHandle LE64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private static final String CC = "C -> C (bench-cc)";
    private static final String CC_CRC = "  ref: C -> C (source -> CRC sink)";
    private static final String JC = "Java -> C (ipcbridge, CRC sink)";
    private static final String JC_RAW = "  ref: Java -> C (raw syscalls, CRC sink)";
    private static final String CJ = "C -> Java (ipcbridge, CRC)";
    private static final String CJ_RAW = "  ref: C -> Java (raw syscalls, CRC)";
    private static final String CJ_NOCRC = "  ref: C -> Java (ipcbridge, no CRC)";
    private static final String JJ = "Java -> Java (ipcbridge, 2 threads, CRC)";
    private static final String RT_CC = "C <-> C (bench-cc)";
    private static final String RT_JC = "Java <-> C (ipcbridge)";
    private static final String RT_RAW = "  ref: Java <-> C (raw syscalls)";
    private static final String RT_JJ = "Java <-> Java (ipcbridge, 2 threads)";

    /** "10 messages x 8192 bytes": mq_getattr of the last queue made. */
    private static volatile String shape = "?";

    private final Peer mq;
    private final Peer pipe;
    private final long bytes;
    private final int pings;
    /** MSG bytes of the peers' pattern (seed 1), sent over and over by the Java senders. */
    private final ByteBuffer pattern = BenchSupport.pattern(SEED, MSG);
    /** The CRC-32 of what the Java senders send. */
    private final long sentCrc;
    /** The CRC-32 of BYTES bytes of pattern(SEED), what {@code mq_peer source} sends. */
    private long sourceCrc = -1;
    private final Results results;

    private MqBench(Peer mq, Peer pipe, long bytes, int pings, int repeat) {
        this.mq = mq;
        this.pipe = pipe;
        this.bytes = bytes;
        this.pings = pings;
        sentCrc = BenchSupport.crcOfRepeated(pattern, bytes);
        results = new Results(bytes, repeat);
    }

    /**
     * Runs the benchmark; see the class description for the options.
     *
     * @param args the options
     * @throws Exception if a run fails: a child failed, or a check of what went through
     */
    public static void main(String[] args) throws Exception {
        Options o = BenchSupport.options("bench-mq", args, MSG, "mq_peer", "pipe_peer");
        if (o == null) {
            return;
        }
        BenchSupport.cleanUpOnExit("bench-mq");
        Peer mq = o.peer("mq_peer");
        Peer pipe = o.peer("pipe_peer");
        // One short untimed round first, so that no pair pays for the JIT compiling the code it
        // shares with another (the send and receive paths).
        MqBench warmUp = new MqBench(mq, pipe, Math.min(o.bytes(), 64L << 20), Math.min(o.pings(), 20_000), 1);
        warmUp.prepare();
        warmUp.round("[warm-up] ");
        MqBench bench = new MqBench(mq, pipe, o.bytes(), o.pings(), o.repeat());
        bench.prepare();
        BenchSupport.rounds(o.repeat(), bench::round);
        bench.report(System.out);
    }

    /** Computes {@link #sourceCrc} with pipe_peer, untimed. */
    private void prepare() throws Exception {
        System.err.printf(Locale.ROOT, "CRC-32 of %d bytes of pattern(%d): pipe_peer source | pipe_peer sink ...%n",
                bytes, SEED);
        try (Pipeline.Run run = Pipeline.of(Stage.command(pipe.command("source", 1, bytes, SEED)),
                Stage.command(pipe.command("sink", 0))).start()) {
            String line = readAll(run.output());
            List<ExitStatus> statuses = run.waitFor();
            for (ExitStatus status : statuses) {
                check(status.success(), "pipe_peer source | pipe_peer sink ended with " + statuses);
            }
            sourceCrc = BenchSupport.sinkCrc(line, bytes);
        }
    }

    /** Runs every pair once; {@code r} prefixes the progress lines. */
    private void round(String r) throws Exception {
        results.benchCc(r, mq, CC, RT_CC, bytes / MSG, pings);
        // The round trips first: right after bench-cc's, in the same conditions as far as can be.
        results.putRt(r, RT_JC, () -> roundTripJavaC(false));
        results.putRt(r, RT_RAW, () -> roundTripJavaC(true));
        results.putRt(r, RT_JJ, this::roundTripJavaJava);
        results.put(r, CC_CRC, this::cToCWithCrc);
        results.put(r, JC, () -> javaToC(false));
        results.put(r, JC_RAW, () -> javaToC(true));
        results.put(r, CJ, () -> cToJava(false, true));
        results.put(r, CJ_RAW, () -> cToJava(true, true));
        results.put(r, CJ_NOCRC, () -> cToJava(false, false));
        results.put(r, JJ, this::javaToJava);
    }

    // ---- queues -------------------------------------------------------------------------------

    /** A queue of the system's default size under a fresh name; closing it closes and unlinks it. */
    private static final class BenchQueue implements AutoCloseable {
        private final String name;
        private final MessageQueue queue;

        BenchQueue(String tag) throws IOException {
            name = BenchSupport.uniqueName(tag);
            BenchSupport.track(name, () -> MessageQueue.unlink(name));
            try {
                queue = MessageQueue.createExclusively(name, 0, 0, MessageQueue.DEFAULT_MODE);
            } catch (IOException | RuntimeException e) {
                BenchSupport.forget(name); // not ours: never unlink it
                throw e;
            }
            MessageQueue.Attributes attributes = queue.attributes();
            shape = attributes.maxMessages() + " messages x " + attributes.messageSize() + " bytes";
            if (queue.messageSize() < MSG) {
                close();
                throw new IllegalStateException("the default message size is " + queue.messageSize()
                        + " bytes, below " + MSG + ": see /proc/sys/fs/mqueue/msgsize_default");
            }
        }

        String name() {
            return name;
        }

        MessageQueue queue() {
            return queue;
        }

        @Override
        public void close() throws IOException {
            try {
                queue.close();
            } finally {
                BenchSupport.remove(name);
            }
        }
    }

    // ---- throughput ---------------------------------------------------------------------------

    /** mq_peer source into mq_peer sink: the C side of the Java pairs, without Java. */
    private long cToCWithCrc() throws Exception {
        try (BenchQueue q = new BenchQueue("cc"); Pipe out = Pipe.open();
             ChildProcess sink = mq.command("sink", q.name(), bytes).stdout(out.sink()).start();
             ChildProcess source = mq.command("source", q.name(), bytes, SEED, MSG).start()) {
            long t0 = System.nanoTime();
            BenchSupport.watch(mq, sink, "sink", source::kill);
            BenchSupport.watch(mq, source, "source", sink::kill);
            out.sink().close();
            String line = readAll(out.source());
            long t1 = System.nanoTime();
            mq.expectSuccess(source, "source");
            mq.expectSuccess(sink, "sink");
            checkSinkLine(line, bytes, sourceCrc);
            return t1 - t0;
        }
    }

    /**
     * Java sends MSG-byte messages from a direct buffer into mq_peer sink, which checks them; with
     * {@code raw}, on the bare mq_timedsend under {@link MessageQueue}.
     */
    private long javaToC(boolean raw) throws Exception {
        try (BenchQueue q = new BenchQueue("jc"); Pipe out = Pipe.open();
             ChildProcess sink = mq.command("sink", q.name(), bytes).stdout(out.sink()).start()) {
            out.sink().close();
            MessageQueue queue = q.queue();
            long t0 = System.nanoTime();
            String line = against(mq, sink, "sink", () -> {
                if (raw) {
                    int fd = queue.descriptor().fd();
                    sendAll(pattern, bytes, b -> sendRaw(fd, b, q.name()));
                } else {
                    sendAll(pattern, bytes, b -> queue.send(b, 0));
                }
                return readAll(out.source());
            }, queue);
            long t1 = System.nanoTime();
            mq.expectSuccess(sink, "sink");
            checkSinkLine(line, bytes, sentCrc);
            return t1 - t0;
        }
    }

    /**
     * mq_peer source sends pattern(SEED) in MSG-byte messages; Java receives them (with
     * {@code raw}, on the bare mq_timedreceive into a direct buffer) and checks the count and,
     * with {@code crc}, the CRC-32.
     */
    private long cToJava(boolean raw, boolean crc) throws Exception {
        try (BenchQueue q = new BenchQueue("cj");
             ChildProcess source = mq.command("source", q.name(), bytes, SEED, MSG).start()) {
            long t0 = System.nanoTime();
            long got = against(mq, source, "source", () -> raw ? receiveRaw(q.queue(), crc) : receive(q.queue(), crc),
                    q.queue());
            long t1 = System.nanoTime();
            mq.expectSuccess(source, "source");
            check(!crc || got == sourceCrc, String.format(Locale.ROOT,
                    "C -> Java: CRC %08x of what arrived, expected %08x", got, sourceCrc));
            return t1 - t0;
        }
    }

    /** A Java thread sends into a queue, this thread receives and checks, each on its own descriptor. */
    private long javaToJava() throws Exception {
        try (BenchQueue q = new BenchQueue("jj");
             MessageQueue sender = MessageQueue.open(q.name(), MessageQueue.Access.WRITE)) {
            long t0 = System.nanoTime();
            long[] end = BenchSupport.withWorker("bench-sender", () -> sendAll(pattern, bytes, b -> sender.send(b, 0)),
                    () -> closeAll(sender, q.queue()), () -> new long[] {receive(q.queue(), true), System.nanoTime()});
            check(end[0] == sentCrc, String.format(Locale.ROOT,
                    "Java -> Java: CRC %08x of what arrived, expected %08x", end[0], sentCrc));
            return end[1] - t0;
        }
    }

    /**
     * Receives BYTES bytes with {@link MessageQueue#receive()}.
     *
     * @return their CRC-32 if {@code crc}, else 0
     */
    private long receive(MessageQueue queue, boolean crc) throws IOException {
        CRC32 c = new CRC32();
        long got = 0;
        while (got < bytes) {
            byte[] data = queue.receive().data();
            if (crc) {
                c.update(data);
            }
            got += data.length;
        }
        check(got == bytes, "received " + got + " bytes, more than " + bytes);
        return crc ? c.getValue() : 0;
    }

    /** {@link #receive} on the bare mq_timedreceive, into a direct buffer. */
    private long receiveRaw(MessageQueue queue, boolean crc) throws IOException {
        int fd = queue.descriptor().fd();
        ByteBuffer buf = ByteBuffer.allocateDirect(queue.messageSize());
        int[] priority = new int[1];
        CRC32 c = new CRC32();
        long got = 0;
        while (got < bytes) {
            got += receiveRaw(fd, buf.clear(), priority, queue.name());
            if (crc) {
                c.update(buf.flip());
            }
        }
        check(got == bytes, "received " + got + " bytes, more than " + bytes);
        return crc ? c.getValue() : 0;
    }

    private static void sendRaw(int fd, ByteBuffer message, String name) throws IOException {
        int r;
        while ((r = Syscalls.mqSend(fd, message, 0, null, name)) == Syscalls.INTERRUPTED) {
            // EINTR: again
        }
        check(r == 0, "mq_timedsend " + name + ": " + r);
    }

    private static int receiveRaw(int fd, ByteBuffer buffer, int[] priority, String name) throws IOException {
        int n;
        while ((n = Syscalls.mqReceive(fd, buffer, priority, null, name)) == Syscalls.INTERRUPTED) {
            // EINTR: again
        }
        check(n >= 0, "mq_timedreceive " + name + ": " + n);
        return n;
    }

    // ---- round trip ---------------------------------------------------------------------------

    /**
     * Java sends 8-byte requests to queue a and receives the replies from queue b, where
     * {@code mq_peer echo a b} sends them back; with {@code raw}, on the bare system calls under
     * {@link MessageQueue} (the descriptors stay open meanwhile).
     */
    private long[] roundTripJavaC(boolean raw) throws Exception {
        try (BenchQueue a = new BenchQueue("ra"); BenchQueue b = new BenchQueue("rb");
             ChildProcess echo = mq.command("echo", a.name(), b.name(), WARMUP + pings).start()) {
            long[] t = against(mq, echo, "echo", () -> raw ? pingPongRaw(a.queue(), b.queue()) : pingPong(a.queue(), b.queue()),
                    a.queue(), b.queue());
            mq.expectSuccess(echo, "echo");
            return t;
        }
    }

    /** As {@link #roundTripJavaC}, with a Java echo thread on descriptors of its own. */
    private long[] roundTripJavaJava() throws Exception {
        try (BenchQueue a = new BenchQueue("ra"); BenchQueue b = new BenchQueue("rb");
             MessageQueue in = MessageQueue.open(a.name(), MessageQueue.Access.READ);
             MessageQueue out = MessageQueue.open(b.name(), MessageQueue.Access.WRITE)) {
            return BenchSupport.withWorker("bench-echo", () -> {
                for (int i = 0; i < WARMUP + pings; i++) {
                    Message m = in.receive();
                    out.send(m.data(), m.priority());
                }
            }, () -> closeAll(in, b.queue()), () -> pingPong(a.queue(), b.queue()));
        }
    }

    /** WARMUP untimed, then {@link #pings} timed round trips of i as 8 little-endian bytes. */
    private long[] pingPong(MessageQueue out, MessageQueue in) throws Exception {
        ByteBuffer o = ByteBuffer.allocateDirect(8).order(ByteOrder.LITTLE_ENDIAN);
        return BenchSupport.timeRoundTrips(WARMUP, pings, -1, i -> {
            out.send(o.clear().putLong(0, i), 0);
            byte[] reply = in.receive().data();
            return reply.length == 8 ? (long) LE64.get(reply, 0) : Long.MIN_VALUE;
        });
    }

    /** {@link #pingPong} with {@link Syscalls} straight on the descriptors. */
    private long[] pingPongRaw(MessageQueue out, MessageQueue in) throws Exception {
        int outFd = out.descriptor().fd();
        int inFd = in.descriptor().fd();
        ByteBuffer o = ByteBuffer.allocateDirect(8).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer r = ByteBuffer.allocateDirect(in.messageSize()).order(ByteOrder.LITTLE_ENDIAN);
        int[] priority = new int[1];
        return BenchSupport.timeRoundTrips(WARMUP, pings, -1, i -> {
            sendRaw(outFd, o.clear().putLong(0, i), out.name());
            int n = receiveRaw(inFd, r.clear(), priority, in.name());
            return n == 8 ? r.getLong(0) : Long.MIN_VALUE;
        });
    }

    // ---- report -------------------------------------------------------------------------------

    private void report(PrintStream out) {
        Results.header(out, mq.path());
        out.printf(Locale.ROOT, "# queues: %s (the system defaults, msg_default %s x msgsize_default %s; limits"
                + " msg_max %s, msgsize_max %s)%n", shape, limit("msg_default"), limit("msgsize_default"),
                limit("msg_max"), limit("msgsize_max"));
        results.throughputTable(out, "in 8 KiB messages", CC);
        results.roundTripTable(out, String.format(Locale.ROOT, "Round trip, 8-byte request and reply over two queues:"
                + " %d timed round trips after %d warm-up (bench-cc: %d)", pings, WARMUP, CC_WARMUP), RT_CC);
        out.printf(Locale.ROOT, "(ref.: not an API pair, shown for comparison; raw syscalls = the same mq_timedsend"
                + " and mq_timedreceive without io.ipcbridge.mq.MessageQueue and io.ipcbridge.Descriptor)%n");

        out.println();
        results.roundTripTarget(out, RT_CC, RT_JC);
        results.throughputTargets(out, CC, JC, CJ);
        double[] rt = results.roundTrip(RT_JC);
        double cc = results.rate(CC);
        double jc = results.rate(JC);
        double cj = results.rate(CJ);
        double ccCrc = results.rate(CC_CRC);
        out.printf(Locale.ROOT, "info: like for like (bench-cc sends one constant buffer and checks nothing; mq_peer"
                + " source makes its pattern as it goes, mq_peer sink computes a CRC):%n      C -> C source -> CRC"
                + " sink / bench-cc %.3fx; Java -> C / C -> C into the same CRC sink %.3fx; C -> Java / C -> C from"
                + " the same source %.3fx%n", ccCrc / cc, jc / ccCrc, cj / ccCrc);
        double[] raw = results.roundTrip(RT_RAW);
        out.printf(Locale.ROOT, "info: MessageQueue / raw syscalls: round trip %.3fx (%+.2f us), Java -> C %.3fx,"
                + " C -> Java %.3fx; C -> Java with / without Java's CRC %.3fx%n", rt[0] / raw[0],
                (rt[0] - raw[0]) / 1e3, jc / results.rate(JC_RAW), cj / results.rate(CJ_RAW),
                cj / results.rate(CJ_NOCRC));
        results.placement(out, "scripts/bench-mq");
    }

    /**
     * /proc/sys/fs/mqueue/{@code name}. (Not Files.readString: it reads a file of size 0 with a
     * 1-byte read first, and a sysctl file then gives end of file, so "10" reads as "1".)
     */
    private static String limit(String name) {
        try {
            return Files.readAllLines(Path.of("/proc/sys/fs/mqueue", name)).get(0).trim();
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }
}
