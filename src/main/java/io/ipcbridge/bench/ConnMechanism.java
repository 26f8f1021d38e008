package io.ipcbridge.bench;

import io.ipcbridge.conn.Connection;
import io.ipcbridge.socket.Socket;
import java.io.IOException;
import java.util.List;

/**
 * {@link Connection}: the framing of Python's {@code multiprocessing.connection} (a 4-byte length,
 * then the message) over an AF_UNIX stream socketpair, {@link #chunk()}-byte messages for
 * throughput. The C side is bench_peer's {@code conn:} endpoint; Python's is
 * {@code multiprocessing.Pipe} (python-python) or a {@code Connection} on the child's fd 3
 * (java-python).
 */
final class ConnMechanism extends Mechanism {
    private static final List<Pair> PAIRS = List.of(Pair.C_C, Pair.JAVA_C, Pair.JAVA_JAVA, Pair.PYTHON_PYTHON,
            Pair.JAVA_PYTHON);

    private final int chunk;

    /**
     * @param latency whether the latency workload applies
     * @param chunk bytes per message of the throughput workload
     */
    ConnMechanism(String id, String description, boolean latency, int chunk) {
        super(id, description, latency ? PAIRS : List.of(), PAIRS);
        this.chunk = chunk;
    }

    @Override
    int chunk() {
        return chunk;
    }

    @Override
    Link open(Workload workload, Pair pair) throws IOException {
        Socket.Pair p = Socket.pair(Socket.Type.STREAM);
        return Links.of(role -> {
            Connection c = Connection.over(role == Link.Role.ACTIVE ? p.first() : p.second());
            return End.of(b -> {
                int n = b.remaining();
                c.sendBytes(b);
                b.position(b.limit());
                return n;
            }, c::recvBytesInto, c);
        }, role -> Links.fds("conn:", role == Link.Role.ACTIVE ? p.first() : p.second(),
                role == Link.Role.ACTIVE ? p.first() : p.second()), p);
    }
}
