package io.ipcbridge.bench;

import io.ipcbridge.ring.Ring;
import io.ipcbridge.socket.Socket;
import java.util.List;
import java.util.Optional;

/** The registry: every mechanism of the benchmark, in the order of the tables. */
final class Mechanisms {
    /** The mechanisms of this build; a new one is one line here. */
    static final List<Mechanism> ALL = List.of(
            new PipeMechanism(),
            new FifoMechanism(),
            new SocketMechanism.UnixStream(),
            new SocketMechanism.UnixMessages("unix-seqpacket", "socketpair(AF_UNIX, SOCK_SEQPACKET)",
                    Socket.Type.SEQPACKET),
            new SocketMechanism.UnixMessages("unix-dgram", "socketpair(AF_UNIX, SOCK_DGRAM), 64 KiB datagrams",
                    Socket.Type.DATAGRAM),
            new SocketMechanism.Tcp(),
            new MqMechanism(),
            new ShmSemMechanism(),
            new ShmSpinMechanism(),
            new RingMechanism("ring", "the shared-memory message ring (ipcbridge_ring.h), futex waits: 8-byte"
                    + " records each way; 64 KiB records", Ring.WaitStrategy.BLOCK, true, true, 64 << 10),
            new RingMechanism("ring-spin", "the ring with spinning waits: 8-byte records each way",
                    Ring.WaitStrategy.SPIN, true, false, 64 << 10),
            new RingMechanism("ring-64b", "the ring, futex waits: 64-byte records, the per-message cost (1/16 of the"
                    + " bytes: 1,048,576 records of a 1 GiB run)",
                    Ring.WaitStrategy.BLOCK, false, true, 64),
            new ConnMechanism("conn", "multiprocessing.connection framing over socketpair(AF_UNIX, SOCK_STREAM);"
                    + " python: multiprocessing.Pipe", true, 64 << 10),
            new ConnMechanism("conn-64b", "conn with 64-byte messages (throughput only): the message rate,"
                    + " MB/s / 64 = messages/s (1/16 of the bytes: 1,048,576 messages of a 1 GiB run)", false, 64));

    private Mechanisms() {
    }

    /** The mechanism {@code id}, if this build has it. */
    static Optional<Mechanism> byId(String id) {
        return ALL.stream().filter(m -> m.id().equals(id)).findFirst();
    }
}
