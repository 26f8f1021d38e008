package io.ipcbridge.bench;

import io.ipcbridge.pipe.Pipe;
import java.io.IOException;
import java.util.List;

/**
 * Anonymous pipes: ipcbridge's {@link Pipe} (a child gets its ends as fds 3 and 4), and the JDK's
 * route, a {@link ProcessBuilder} child's stdin and stdout.
 */
final class PipeMechanism extends Mechanism {
    private static final List<Pair> PAIRS = List.of(Pair.C_C, Pair.JAVA_C, Pair.JAVA_JAVA, Pair.JDK_C);

    PipeMechanism() {
        super("pipe", "pipe(2); jdk: a ProcessBuilder child's stdin/stdout streams", PAIRS, PAIRS);
    }

    @Override
    Link open(Workload workload, Pair pair) throws IOException {
        if (pair == Pair.JDK_C) {
            return new ProcessBuilderLink();
        }
        Pipe forward = Pipe.open();
        Pipe backward = null;
        try {
            backward = workload == Workload.LATENCY ? Pipe.open() : null;
            return Links.of("", way(forward), backward == null ? null : way(backward), forward, backward);
        } catch (IOException | RuntimeException e) {
            Links.closeAll(forward, backward);
            throw e;
        }
    }

    private static Links.Way way(Pipe p) {
        return new Links.Way(p.sink(), p.sink()::write, p.source(), p.source()::read);
    }

    /** The child's stdin (and stdout, for echoes) as {@link ProcessBuilder} makes them. */
    private static final class ProcessBuilderLink implements Link {
        private Process process;

        @Override
        public Child start(Role role, List<String> argv) throws IOException {
            process = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            return Child.of(argv, process);
        }

        @Override
        public PeerEnd peer(Role role) {
            return PeerEnd.named("0", "1");
        }

        @Override
        public End end(Role role) {
            return End.of(process.getOutputStream(), process.getInputStream(), process.getOutputStream());
        }

        @Override
        public void close() {
            if (process != null) {
                process.destroyForcibly();
            }
        }
    }
}
