package io.ipcbridge.bench;

import io.ipcbridge.mq.MessageQueue;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * POSIX message queues of the system's default size (msg_default x msgsize_default: 10 x 8192
 * unless changed), one each way for latency; 8 KiB messages for throughput. Each side opens the
 * queues by name; no JDK route.
 */
final class MqMechanism extends Mechanism {
    private static final List<Pair> PAIRS = List.of(Pair.C_C, Pair.JAVA_C, Pair.JAVA_JAVA);

    MqMechanism() {
        super("mq", "mq_open(3) queues of the default size, opened by name on each side; 8 KiB messages", PAIRS,
                PAIRS);
    }

    @Override
    int chunk() {
        return 8 << 10;
    }

    @Override
    Link open(Workload workload, Pair pair) throws IOException {
        String forward = Links.name("fwd", MessageQueue::unlink);
        String backward = workload == Workload.LATENCY ? Links.name("back", MessageQueue::unlink) : null;
        AutoCloseable remove = backward == null ? Links.removing(forward) : Links.removing(forward, backward);
        try {
            MessageQueue.createExclusively(forward, 0, 0, MessageQueue.DEFAULT_MODE).close();
            if (backward != null) {
                MessageQueue.createExclusively(backward, 0, 0, MessageQueue.DEFAULT_MODE).close();
            }
        } catch (IOException | RuntimeException e) {
            Links.closeAll(remove);
            throw e;
        }
        String f = "mq:" + forward;
        String b = backward == null ? "-" : "mq:" + backward;
        return Links.of(role -> {
            boolean active = role == Link.Role.ACTIVE;
            String out = active ? forward : backward;
            String in = active ? backward : forward;
            MessageQueue sender = out == null ? null : MessageQueue.open(out, MessageQueue.Access.WRITE);
            MessageQueue receiver = null;
            try {
                receiver = in == null ? null : MessageQueue.open(in, MessageQueue.Access.READ);
            } finally {
                if (receiver == null && in != null) {
                    Links.closeAll(sender);
                }
            }
            return End.of(sender == null ? null : msg -> send(sender, msg),
                    receiver == null ? null : receiver(receiver), sender, receiver);
        }, role -> role == Link.Role.ACTIVE ? Link.PeerEnd.named(b, f) : Link.PeerEnd.named(f, b), remove);
    }

    private static int send(MessageQueue queue, ByteBuffer message) throws IOException {
        int n = message.remaining();
        queue.send(message, 0);
        message.position(message.limit());
        return n;
    }

    /**
     * Receives with {@link MessageQueue#receive(ByteBuffer)} straight into the loops' direct buffer.
     * The queue needs room for its message size however short the message, so the receive may use the
     * buffer up to its capacity (64 KiB), as bench_peer's buffer is sized for mq_msgsize.
     */
    private static End.Receiver receiver(MessageQueue queue) {
        return buffer -> {
            int start = buffer.position();
            int limit = buffer.limit();
            queue.receive(buffer.limit(buffer.capacity()));
            buffer.limit(Math.max(limit, buffer.position()));
            return buffer.position() - start;
        };
    }
}
