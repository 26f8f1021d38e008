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

    /** An Error (a failed assertion, no memory) on either side ends the run too, with that Error. */
    @ParameterizedTest
    @CsvSource({"mq, PASSIVE", "mq, ACTIVE", "ring, PASSIVE", "ring, ACTIVE"})
    void aSideThatFailsWithAnErrorEndsTheRunWithThatError(String mechanism, Link.Role failing) throws IOException {
        assertRunFailsWith(mechanism, Workload.THROUGHPUT, failing, new Error("the " + failing + " side's own error"));
    }

    /** A java-java run of {@code mechanism} whose {@code failing} side fails at its first call. */
    private static void assertRunFailsWith(String mechanism, Workload w, Link.Role failing) throws IOException {
        assertRunFailsWith(mechanism, w, failing, new IOException("the " + failing + " side's own failure"));
    }

    /** As above, {@code failure} being an IOException or an Error. */
    private static void assertRunFailsWith(String mechanism, Workload w, Link.Role failing, Throwable failure)
            throws IOException {
        Mechanism m = Mechanisms.byId(mechanism).orElseThrow();
        try (Link real = m.open(w, Pair.JAVA_JAVA)) {
            Link link = Links.of(role -> {
                End end = real.end(role);
                return role != failing ? end : End.of(b -> {
                    throw rethrown(failure);
                }, b -> {
                    throw rethrown(failure);
                }, end);
            }, real::peer);
            String name = "bench-test-" + mechanism + "-" + w + "-" + failing;
            Throwable e = assertThrows(failure.getClass(), () -> assertTimeoutPreemptively(Duration.ofSeconds(30),
                    () -> Bench.twoThreads(link, name, w == Workload.LATENCY, 1L << 40, m.chunk(), 1000, 0)));
            assertSame(failure, e);
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().equals(name)) {
                    assertTimeoutPreemptively(Duration.ofSeconds(30), () -> t.join(), "the worker ends too");
                }
            }
        }
    }

    private static IOException rethrown(Throwable failure) {
        if (failure instanceof Error error) {
            throw error;
        }
        return (IOException) failure;
    }
}
