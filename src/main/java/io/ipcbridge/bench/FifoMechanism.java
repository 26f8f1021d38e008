package io.ipcbridge.bench;

import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.pipe.PipeSink;
import io.ipcbridge.pipe.PipeSource;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Named pipes: two FIFOs in a fresh directory (one for throughput), each side opening them by path,
 * in the same order on both sides (the forward one first) so that the opens pair up. ipcbridge's
 * {@link Fifo}; the JDK's route is {@link FileChannel} on the path.
 */
final class FifoMechanism extends Mechanism {
    private static final List<Pair> PAIRS = List.of(Pair.C_C, Pair.JAVA_C, Pair.JAVA_JAVA, Pair.JDK_C);

    FifoMechanism() {
        super("fifo", "mkfifo(3), opened by path on each side; jdk: FileChannel.open on the path", PAIRS, PAIRS);
    }

    @Override
    Link open(Workload workload, Pair pair) throws IOException {
        Path dir = Files.createTempDirectory("ipcb-bench-fifo");
        Path forward = dir.resolve("forward");
        Path backward = workload == Workload.LATENCY ? dir.resolve("backward") : null;
        AutoCloseable remove = () -> {
            for (Path p : new Path[] {forward, backward, dir}) {
                if (p != null) {
                    Files.deleteIfExists(p);
                }
            }
        };
        try {
            Fifo.create(forward);
            if (backward != null) {
                Fifo.create(backward);
            }
        } catch (IOException | RuntimeException e) {
            Links.closeAll(remove);
            throw e;
        }
        String f = "fifo:" + forward;
        String b = backward == null ? "-" : "fifo:" + backward;
        return Links.of(role -> {
            boolean active = role == Link.Role.ACTIVE;
            if (active && pair.active() == Pair.Side.JDK) {
                FileChannel out = FileChannel.open(forward, StandardOpenOption.WRITE);
                FileChannel in = backward == null ? null : FileChannel.open(backward, StandardOpenOption.READ);
                return End.of(out::write, in == null ? null : in::read, out, in);
            }
            if (active) {
                PipeSink out = Fifo.openWriter(forward);
                PipeSource in = backward == null ? null : Fifo.openReader(backward);
                return End.of(out::write, in == null ? null : in::read, out, in);
            }
            PipeSource in = Fifo.openReader(forward);
            PipeSink out = backward == null ? null : Fifo.openWriter(backward);
            return End.of(out == null ? null : out::write, in::read, in, out);
        }, role -> role == Link.Role.ACTIVE ? Link.PeerEnd.named(b, f) : Link.PeerEnd.named(f, b), remove);
    }
}
