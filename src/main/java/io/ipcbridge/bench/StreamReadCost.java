package io.ipcbridge.bench;

import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.process.ExitStatus;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import java.io.EOFException;
import java.io.IOException;
import java.io.PrintStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the read call costs in an AF_UNIX stream round trip with a C echo ({@code scripts/bench-stream-read}):
 * 8-byte round trips from one JVM to three {@code bench_peer echo} processes, through ipcbridge's
 * {@link Socket#read} (recvmsg(2), which learns of descriptors a peer pushed: RELIABILITY.md FD-05),
 * the same socket's {@link io.ipcbridge.Descriptor#read} (read(2)) and the JDK's {@link SocketChannel}
 * (read(2)). The three take turns in blocks of round trips, so each block of one has blocks of the
 * others just before and after it: the ratio of two, block by block, is far steadier than that of
 * runs made minutes apart, which on a VM move by several percent with the placement of the pair.
 *
 * <p>usage: {@code StreamReadCost [--rounds N] [--block N] [--native-dir DIR]}
 */
public final class StreamReadCost {
    private static final String USAGE = "scripts/bench-stream-read [--cpus LIST] [--rounds N] [--block N]";
    private static final int SIZE = 8;
    private static final int WARMUP = 20_000;

    private StreamReadCost() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = BenchSupport.options(args, "bench-stream-read", USAGE, "--rounds", "--block",
                "--native-dir");
        int rounds = (int) BenchSupport.number(o, "--rounds", 100, 3, Integer.MAX_VALUE, "bench-stream-read", USAGE);
        int block = (int) BenchSupport.number(o, "--block", 5000, 1, Integer.MAX_VALUE, "bench-stream-read", USAGE);
        String nativeDir = o.getOrDefault("--native-dir",
                System.getProperty("ipcbridge.native.dir", "target/native-tests"));
        run(Path.of(nativeDir, "bench_peer"), rounds, block, System.out);
    }

    /**
     * Runs {@code rounds} rounds of a block of {@code block} round trips per route and prints, per
     * route, the median round trip of its blocks and its ratio to the JDK's block by block.
     */
    static void run(Path peer, int rounds, int block, PrintStream out) throws Exception {
        String total = Long.toString(WARMUP + (long) rounds * block);
        List<AutoCloseable> open = new ArrayList<>(); // the sockets first, then the echoes: closed in this order
        List<AutoCloseable> echoes = new ArrayList<>();
        Path dir = Files.createTempDirectory("ipcb-stream-read");
        Path path = dir.resolve("s");
        try {
            Socket.Pair pair = Socket.pair(Socket.Type.STREAM);
            open.add(pair);
            echoes.add(echo(peer, pair.second(), total));
            Socket.Pair other = Socket.pair(Socket.Type.STREAM);
            open.add(other);
            echoes.add(echo(peer, other.second(), total));
            SocketChannel jdk;
            try (ServerSocket server = ServerSocket.listen(new Address.Unix(path), Socket.Type.STREAM)) {
                jdk = SocketChannel.open(UnixDomainSocketAddress.of(path));
                open.add(jdk);
                try (Socket accepted = server.accept()) {
                    echoes.add(echo(peer, accepted, total));
                }
            }
            Socket socket = pair.first();
            Socket plain = other.first();
            String[] names = {"Socket.read (recvmsg)", "Descriptor.read (read)", "JDK SocketChannel.read (read)"};
            End[] routes = {End.of(socket::write, socket::read), End.of(plain.descriptor()::write,
                    plain.descriptor()::read), End.of(jdk::write, jdk::read)};
            double[][] ns = measure(routes, rounds, block);
            for (AutoCloseable c : open) {
                c.close();
            }
            open.clear();
            while (!echoes.isEmpty()) {
                echoes.remove(0).close(); // each has echoed all its round trips and exited 0, or this throws
            }
            out.printf(Locale.ROOT, "# %s; %d rounds of %d round trips per route, the routes in turn, %d bytes each way%n",
                    Bench.machine(), rounds, block, SIZE);
            out.printf(Locale.ROOT, "%-31s %12s %34s%n", "route", "median us", "block by block, to the JDK's");
            int jdkIndex = routes.length - 1;
            for (int k = 0; k < routes.length; k++) {
                double[] ratio = Result.pairedRatio(ns[k], ns[jdkIndex]);
                out.printf(Locale.ROOT, "%-31s %12.2f %34s%n", names[k], median(ns[k]) / 1e3, k == jdkIndex ? "-"
                        : String.format(Locale.ROOT, "%.3fx (95%% CI %.3f-%.3f)", ratio[0], ratio[1], ratio[2]));
            }
        } finally {
            open.addAll(echoes);
            for (AutoCloseable c : open) {
                try {
                    c.close();
                } catch (Exception e) {
                    // an echo still running is killed by its close; nothing else to do
                }
            }
            Files.deleteIfExists(path);
            Files.delete(dir);
        }
    }

    /** bench_peer echoing {@code total} round trips on {@code socket} (its fd 3); closing it waits for the child. */
    private static AutoCloseable echo(Path peer, Socket socket, String total) throws IOException {
        ChildProcess child = Command.of(peer.toString(), "echo", "3", "3", Integer.toString(SIZE), total)
                .fd(3, socket).start();
        socket.close();
        return () -> {
            try {
                ExitStatus status = child.waitFor(Duration.ofSeconds(5))
                        .orElseThrow(() -> new IOException("bench_peer echo did not exit"));
                if (!status.success()) {
                    throw new IOException("bench_peer echo failed: " + status);
                }
            } finally {
                child.close();
            }
        };
    }

    /** ns per round trip of each route in each round; a round runs the routes in turn, starting one further on. */
    private static double[][] measure(End[] routes, int rounds, int block) throws IOException {
        ByteBuffer out = ByteBuffer.allocateDirect(SIZE);
        ByteBuffer in = ByteBuffer.allocateDirect(SIZE);
        for (End r : routes) {
            roundTrips(r, out, in, WARMUP);
        }
        double[][] ns = new double[routes.length][rounds];
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < routes.length; i++) {
                int k = (i + round) % routes.length;
                long t0 = System.nanoTime();
                roundTrips(routes[k], out, in, block);
                ns[k][round] = (System.nanoTime() - t0) / (double) block;
            }
        }
        return ns;
    }

    private static void roundTrips(End route, ByteBuffer out, ByteBuffer in, int count) throws IOException {
        for (int i = 0; i < count; i++) {
            route.send(out.clear());
            in.clear();
            while (in.hasRemaining()) {
                if (route.receive(in) < 0) {
                    throw new EOFException("the echo closed its socket");
                }
            }
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
