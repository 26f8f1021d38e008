package io.ipcbridge.bench;

import io.ipcbridge.HasDescriptor;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * One run's channel between the two sides of a pair, made by {@link Mechanism#open}: it owns what it
 * created (pipes, sockets, names) and gives each side its end, a Java {@link End} or the endpoint
 * arguments of a child process.
 */
interface Link extends AutoCloseable {
    /** Which side of the pair. */
    enum Role {
        /** pings, or sends the bytes */
        ACTIVE,
        /** echoes, or receives the bytes */
        PASSIVE
    }

    /**
     * The Java end of {@code role} (ipcbridge's or the JDK's, as the pair says). Called on the thread
     * that uses it, as it may block until the other side opens (a FIFO).
     */
    End end(Role role) throws IOException;

    /** The endpoints of a child process (bench_peer, python3) playing {@code role}. */
    PeerEnd peer(Role role) throws IOException;

    /**
     * Starts {@code argv} as the child playing {@code role}, with the descriptors of
     * {@link #peer(Role)} on its fds; closes this process's copies of them.
     */
    default Child start(Role role, List<String> argv) throws IOException {
        PeerEnd end = peer(role);
        Command command = Command.of(argv);
        for (Map.Entry<Integer, HasDescriptor> fd : end.fds().entrySet()) {
            command = command.fd(fd.getKey(), fd.getValue());
        }
        Pipe out = Pipe.open();
        try {
            ChildProcess child = command.stdout(out.sink()).start();
            out.sink().close();
            Links.closeAll(end.fds().values().stream().map(Links::closeable).toArray(AutoCloseable[]::new));
            return Child.of(argv, child, out.source());
        } catch (IOException | RuntimeException e) {
            out.close();
            throw e;
        }
    }

    @Override
    void close() throws IOException;

    /**
     * How a child process reaches the other side.
     *
     * @param in the endpoint argument it receives on (bench_peer's ENDPOINT syntax)
     * @param out the endpoint argument it sends on
     * @param fds what goes on which of its descriptors
     */
    record PeerEnd(String in, String out, Map<Integer, HasDescriptor> fds) {
        /** Endpoints reached by name, no descriptor given. */
        static PeerEnd named(String in, String out) {
            return new PeerEnd(in, out, Map.of());
        }
    }
}
