package io.ipcbridge.bench;

import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A java-java run whose one side fails ends, with that side's failure. A receiver (sink or echo)
 * that failed left the sender blocked for ever on a full queue, ring or bounded buffer, or the
 * pinger on its empty one: the run hung. A sender that failed left the receiving thread blocked
 * for good. The failing side now closes both ends, and a close from another thread ends a blocked
 * call (RELIABILITY.md SEM-13).
 */
class TwoThreadsTest {
    @ParameterizedTest
    @CsvSource({"mq, LATENCY", "mq, THROUGHPUT", "ring, LATENCY", "ring, THROUGHPUT", "shm-sem, LATENCY",
        "shm-sem, THROUGHPUT"})
    void aReceiverThatFailsEndsTheRunWithItsFailure(String mechanism, Workload w) throws IOException {
        assertRunFailsWith(mechanism, w, Link.Role.PASSIVE);
    }

    @ParameterizedTest
    @CsvSource({"mq", "ring", "shm-sem"})
    void aSenderThatFailsEndsTheRunWithItsFailure(String mechanism) throws IOException {
        assertRunFailsWith(mechanism, Workload.THROUGHPUT, Link.Role.ACTIVE);
    }

    /** A java-java run of {@code mechanism} whose {@code failing} side fails at its first call. */
    private static void assertRunFailsWith(String mechanism, Workload w, Link.Role failing) throws IOException {
        IOException failure = new IOException("the " + failing + " side's own failure");
        Mechanism m = Mechanisms.byId(mechanism).orElseThrow();
        try (Link real = m.open(w, Pair.JAVA_JAVA)) {
            Link link = Links.of(role -> {
                End end = real.end(role);
                return role != failing ? end : End.of(b -> {
                    throw failure;
                }, b -> {
                    throw failure;
                }, end);
            }, real::peer);
            String name = "bench-test-" + mechanism + "-" + w + "-" + failing;
            IOException e = assertThrows(IOException.class, () -> assertTimeoutPreemptively(Duration.ofSeconds(30),
                    () -> Bench.twoThreads(link, name, w == Workload.LATENCY, 1L << 40, m.chunk(), 1000, 0)));
            assertSame(failure, e);
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().equals(name)) {
                    assertTimeoutPreemptively(Duration.ofSeconds(30), () -> t.join(), "the worker ends too");
                }
            }
        }
    }
}
