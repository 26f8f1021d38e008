package io.ipcbridge.bench;

import io.ipcbridge.conn.Connection;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.socket.Socket;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Messages per second of {@link Connection} against Python's
 * {@code multiprocessing.connection.Connection}: one-way runs of N messages of 64 bytes and of
 * 64 KiB for Java -> Java (two threads over {@code Connection.pipe(true)}), Java -> Python and
 * Python -> Java (a python3 child with {@code Connection(3)} on a socketpair end) and Python ->
 * Python (a python3 child with {@code multiprocessing.Pipe()} and a forked
 * {@code multiprocessing.Process} receiving), side by side, with the ratio to Python -> Python and
 * the target "Java -> Java at least 2x Python -> Python on 64-byte messages".
 *
 * <p>Each run is timed from the first send to the last receive: Java -> Java on the JVM's clock;
 * with a Python child the child first says it is ready, and the clock (the JVM's for the pairs with
 * Java, the child's for Python -> Python) runs from the go (or the first send) to the receiver's
 * acknowledgement of the last message (or its arrival in Java). The Python end also prints its own
 * elapsed time, shown as a second rate. Java receives with {@code recvBytesInto} into one buffer,
 * Python with {@code recv_bytes}.
 *
 * <p>usage: {@code ConnBench [--count N] [--count-large N] [--repeat N] [--python PATH] [--quick]}
 * (defaults 200,000 64-byte messages, 20,000 64 KiB ones, 3 interleaved rounds; {@code --quick}
 * divides the counts by 10 and runs 1 round). The table goes to stdout, progress to stderr.
 */
public final class ConnBench {
    private static final int SMALL = 64;
    private static final int LARGE = 64 << 10;
    private static final String JJ = "Java -> Java (2 threads, Connection.pipe)";
    private static final String JP = "Java -> Python (Connection(3))";
    private static final String PJ = "Python -> Java (Connection(3))";
    private static final String PP = "Python -> Python (multiprocessing.Pipe)";
    private static final List<String> PAIRS = List.of(JJ, JP, PJ, PP);

    /** The Python end on fd 3: "recv N SIZE" or "send N SIZE"; prints "N elapsed-ns" (its own clock). */
    private static final String PY_END = String.join("\n",
            "import sys, time",
            "from multiprocessing.connection import Connection",
            "c = Connection(3); mode = sys.argv[1]; n = int(sys.argv[2]); size = int(sys.argv[3])",
            "c.send_bytes(b'r')",
            "if mode == 'recv':",
            "    t = time.perf_counter_ns(); m = b''",
            "    for _ in range(n):",
            "        m = c.recv_bytes()",
            "    t = time.perf_counter_ns() - t",
            "    assert len(m) == size, len(m)",
            "    c.send_bytes(b'd')",
            "else:",
            "    m = b'x' * size",
            "    c.recv_bytes()",
            "    t = time.perf_counter_ns()",
            "    for _ in range(n):",
            "        c.send_bytes(m)",
            "    t = time.perf_counter_ns() - t",
            "print(n, t, flush=True)",
            "try:",
            "    c.recv_bytes()", // waits for Java's close, so the socket outlives the last message
            "except EOFError:",
            "    pass",
            "");

    /** Python -> Python: "N SIZE"; prints "N elapsed-ns", first send to the receiver's acknowledgement. */
    private static final String PY_PAIR = String.join("\n",
            "import sys, time, multiprocessing as mp",
            "def rx(c, n, size):",
            "    c.send_bytes(b'r'); m = b''",
            "    for _ in range(n):",
            "        m = c.recv_bytes()",
            "    assert len(m) == size, len(m)",
            "    c.send_bytes(b'd')",
            "n = int(sys.argv[1]); size = int(sys.argv[2]); m = b'x' * size",
            "ctx = mp.get_context('fork')",
            "a, b = ctx.Pipe()",
            "p = ctx.Process(target=rx, args=(b, n, size)); p.start(); b.close()",
            "a.recv_bytes()",
            "t = time.perf_counter_ns()",
            "for _ in range(n):",
            "    a.send_bytes(m)",
            "a.recv_bytes()",
            "t = time.perf_counter_ns() - t",
            "p.join(); assert p.exitcode == 0, p.exitcode",
            "print(n, t, flush=True)",
            "");

    private final String python;
    /** Messages per second of each round, by size then pair; the second map the Python end's own clock. */
    private final Map<Integer, Map<String, List<Double>>> rates = new LinkedHashMap<>();
    private final Map<Integer, Map<String, List<Double>>> ownRates = new LinkedHashMap<>();

    private ConnBench(String python) {
        this.python = python;
    }

    /**
     * Runs the benchmark.
     *
     * @param args the options (see the class comment)
     * @throws Exception if a run fails
     */
    public static void main(String[] args) throws Exception {
        String usage = "usage: bench-conn [--count N] [--count-large N] [--repeat N] [--python PATH] [--quick]"
                + " [--cpus LIST]";
        boolean quick = List.of(args).contains("--quick");
        int small = quick ? 20_000 : 200_000;
        int large = quick ? 2_000 : 20_000;
        int repeat = quick ? 1 : 3;
        String python = "python3";
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--quick" -> { }
                    case "--count" -> small = positive(args, ++i);
                    case "--count-large" -> large = positive(args, ++i);
                    case "--repeat" -> repeat = positive(args, ++i);
                    case "--python" -> python = value(args, ++i);
                    case "-h", "--help" -> {
                        System.out.println(usage);
                        return;
                    }
                    default -> throw new IllegalArgumentException("unknown option: " + args[i]);
                }
            }
        } catch (IllegalArgumentException e) {
            System.err.println("bench-conn: " + e.getMessage() + "\n" + usage);
            System.exit(2);
        }
        new ConnBench(python).run(small, large, repeat, System.out);
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            throw new IllegalArgumentException(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    private static int positive(String[] args, int i) {
        try {
            int n = Integer.parseInt(value(args, i));
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IllegalArgumentException(args[i - 1] + " needs a positive number");
    }

    private void run(int small, int large, int repeat, PrintStream out) throws Exception {
        System.err.println("warm-up: Java -> Java ...");
        javaToJava(Math.max(1, small / 4), SMALL);
        javaToJava(Math.max(1, large / 4), LARGE);
        int[][] runs = {{SMALL, small}, {LARGE, large}};
        BenchSupport.rounds(repeat, label -> {
            boolean even = label.startsWith("[") && Integer.parseInt(label.substring(1, label.indexOf('/'))) % 2 == 0;
            for (int[] r : runs) {
                List<String> order = new ArrayList<>(PAIRS);
                if (even) {
                    java.util.Collections.reverse(order); // where a run sits in a round moves it a little
                }
                for (String pair : order) {
                    measure(label, pair, r[0], r[1]);
                }
            }
        });
        BenchSupport.Results.header(out, "ConnBench, " + python + " " + pythonVersion());
        out.printf(Locale.ROOT, "%nOne-way messages, first send to last receive; median of %d round(s);"
                + " MB = 10^6 bytes; 64 B x %d, 64 KiB x %d%n", repeat, small, large);
        out.printf(Locale.ROOT, "%-8s %-42s %12s %10s  %-25s %-10s %s%n", "size", "pair", "msg/s", "MB/s",
                "spread msg/s (min - max)", "vs Py->Py", "msg/s on Python's clock");
        for (int[] r : runs) {
            double base = median(rates.get(r[0]).get(PP));
            for (String pair : PAIRS) {
                List<Double> v = rates.get(r[0]).get(pair);
                double m = median(v);
                List<Double> own = ownRates.get(r[0]).get(pair);
                out.printf(Locale.ROOT, "%-8s %-42s %12.0f %10.1f  %-25s %-10s %s%n", r[0] == SMALL ? "64 B" : "64 KiB",
                        pair, m, m * r[0] / 1e6, String.format(Locale.ROOT, "%.0f - %.0f", min(v), max(v)),
                        String.format(Locale.ROOT, "%.2fx", m / base),
                        own == null ? "-" : String.format(Locale.ROOT, "%.0f", median(own)));
            }
        }
        out.println();
        double jj = median(rates.get(SMALL).get(JJ));
        double pp = median(rates.get(SMALL).get(PP));
        BenchSupport.target(out, "64 B: Java -> Java >= 2x Python -> Python (msg/s)", jj >= 2 * pp,
                String.format(Locale.ROOT, "%.0f vs %.0f msg/s = %.2fx", jj, pp, jj / pp));
    }

    private void measure(String label, String pair, int size, int n) throws Exception {
        String what = String.format(Locale.ROOT, "%s%s, %d x %d B", label, pair, n, size);
        System.err.println(what + " ...");
        long[] ns = switch (pair) {
            case JJ -> new long[] {javaToJava(n, size), -1};
            case JP -> withPython(n, size, true);
            case PJ -> withPython(n, size, false);
            default -> pythonPair(n, size);
        };
        double rate = n * 1e9 / ns[0];
        rates.computeIfAbsent(size, k -> new LinkedHashMap<>()).computeIfAbsent(pair, k -> new ArrayList<>()).add(rate);
        if (ns[1] > 0) {
            ownRates.computeIfAbsent(size, k -> new LinkedHashMap<>()).computeIfAbsent(pair, k -> new ArrayList<>())
                    .add(n * 1e9 / ns[1]);
        }
        System.err.printf(Locale.ROOT, "%s: %.0f msg/s, %.1f MB/s%s%n", what, rate, rate * size / 1e6,
                ns[1] > 0 ? String.format(Locale.ROOT, " (%.0f msg/s on Python's clock)", n * 1e9 / ns[1]) : "");
    }

    /** Java -> Java: a sender thread, this thread receiving; nanoseconds from the go to the last message. */
    private static long javaToJava(int n, int size) throws Exception {
        try (Connection.Pair pair = Connection.pipe(true)) {
            Connection tx = pair.first();
            Connection rx = pair.second();
            CountDownLatch go = new CountDownLatch(1);
            CountDownLatch sent = new CountDownLatch(1);
            ByteBuffer msg = message(size);
            return BenchSupport.withWorker("conn-sender", () -> {
                go.await();
                for (int i = 0; i < n; i++) {
                    tx.sendBytes(msg.clear());
                }
                sent.countDown();
            }, pair::close, () -> {
                ByteBuffer buf = ByteBuffer.allocateDirect(size);
                long t0 = System.nanoTime();
                go.countDown();
                receive(rx, buf, n, size);
                long ns = System.nanoTime() - t0;
                sent.await(); // the sender may still be returning from its last write: no close under it
                return ns;
            });
        }
    }

    /**
     * Java and a Python child: Java sends ({@code javaSends}) or receives n messages; returns the
     * nanoseconds on the JVM's clock and on Python's.
     */
    private long[] withPython(int n, int size, boolean javaSends) throws Exception {
        try (Socket.Pair sockets = Socket.pair(Socket.Type.STREAM); Pipe out = Pipe.open();
                ChildProcess child = Command.of(python, "-c", PY_END, javaSends ? "recv" : "send",
                        Integer.toString(n), Integer.toString(size)).fd(3, sockets.second()).stdout(out.sink()).start()) {
            Connection c = Connection.over(sockets.first()); // closed by sockets too, on a failure
            sockets.second().close();
            out.sink().close();
            ByteBuffer buf = ByteBuffer.allocateDirect(Math.max(size, 16));
            receive(c, buf, 1, 1); // ready
            long t0 = System.nanoTime();
            if (javaSends) {
                ByteBuffer msg = message(size);
                for (int i = 0; i < n; i++) {
                    c.sendBytes(msg.clear());
                }
                receive(c, buf, 1, 1); // the last one arrived
            } else {
                c.sendBytes(new byte[] {'g'});
                receive(c, buf, n, size);
            }
            long ns = System.nanoTime() - t0;
            long own = pythonNanos(BenchSupport.readLine(out.source()), n);
            c.close(); // Python's last recv_bytes ends
            checkExit(child);
            return new long[] {ns, own};
        }
    }

    /** Python -> Python in one python3 child; its own clock. */
    private long[] pythonPair(int n, int size) throws Exception {
        try (Pipe out = Pipe.open(); ChildProcess child = Command.of(python, "-c", PY_PAIR, Integer.toString(n),
                Integer.toString(size)).stdout(out.sink()).start()) {
            out.sink().close();
            long ns = pythonNanos(BenchSupport.readAll(out.source()), n);
            checkExit(child);
            return new long[] {ns, ns};
        }
    }

    private static void receive(Connection c, ByteBuffer buf, int n, int size) throws IOException {
        for (int i = 0; i < n; i++) {
            int got = c.recvBytesInto(buf.clear());
            if (got != size) {
                throw new IllegalStateException("a message of " + got + " bytes, expected " + size);
            }
        }
    }

    private static ByteBuffer message(int size) {
        ByteBuffer b = ByteBuffer.allocateDirect(size);
        for (int i = 0; i < size; i++) {
            b.put(i, (byte) i);
        }
        return b;
    }

    private static long pythonNanos(String line, int n) {
        String[] f = line.trim().split(" ");
        if (f.length != 2 || Long.parseLong(f[0]) != n) {
            throw new IllegalStateException("python printed '" + line.trim() + "', expected " + n + " and a time");
        }
        return Long.parseLong(f[1]);
    }

    private static void checkExit(ChildProcess child) throws IOException, InterruptedException {
        var status = child.waitFor();
        if (!status.success()) {
            throw new IllegalStateException("python ended with " + status);
        }
    }

    private String pythonVersion() {
        try (Pipe out = Pipe.open();
                ChildProcess child = Command.of(python, "-c", "import sys; print(sys.version.split()[0])")
                        .stdout(out.sink()).start()) {
            out.sink().close();
            String v = BenchSupport.readAll(out.source()).trim();
            child.waitFor();
            return v;
        } catch (IOException | RuntimeException e) {
            return "(version unknown)";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "(version unknown)";
        }
    }

    private static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static double min(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
    }

    private static double max(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
    }
}
