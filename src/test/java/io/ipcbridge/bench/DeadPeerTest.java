package io.ipcbridge.bench;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Peers;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A benchmark run whose C peer dies fails, naming the peer, instead of blocking on it forever. */
class DeadPeerTest {
    @Test
    void aSenderBlockedOnAFullQueueFailsWhenItsReceiverIsGone() throws IOException {
        String peer = Peers.path("bench_peer"); // skips the test when the C peers were not built
        senderBlockedOnADeadReceiver(peer); // first: the libraries load what they keep open for good
        Map<Integer, String> before = Fds.snapshot();
        senderBlockedOnADeadReceiver(peer);
        Fds.assertNoneAdded(before);
    }

    private static void senderBlockedOnADeadReceiver(String peer) throws IOException {
        Mechanism mq = Mechanisms.byId("mq").orElseThrow();
        try (Link link = mq.open(Workload.THROUGHPUT, Pair.JAVA_C);
             // the receiver cannot open its queue (no such name) and exits 2 at once: nobody will
             // ever take a message off the real one, which fills after 10
             Child receiver = link.start(Link.Role.PASSIVE, List.of(peer, "sink", "mq:/ipcb-bench-no-such-queue",
                     "1099511627776", "8192"));
             End sender = link.end(Link.Role.ACTIVE)) {
            receiver.closeOnFailure(sender);
            IOException e = assertThrows(IOException.class, () -> assertTimeoutPreemptively(Duration.ofSeconds(30),
                    () -> Loops.source(sender, 1L << 40, 8192)), "the blocked send ends with a failure");
            String failure = receiver.failure().orElseThrow();
            assertTrue(failure.contains("bench_peer sink mq:/ipcb-bench-no-such-queue"),
                    () -> "the failure names the peer: " + failure + "; " + e);
            assertTrue(failure.endsWith(" ended with exit 2"), failure);
        }
    }
}
