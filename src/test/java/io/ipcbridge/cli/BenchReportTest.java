package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.bench.Bench;
import io.ipcbridge.bench.Pair;
import io.ipcbridge.bench.Result;
import io.ipcbridge.bench.Workload;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The target lines of {@code ipcbridge bench}: the verdict on the medians, the ratio repeat by repeat. */
class BenchReportTest {
    /** A latency result whose repeats had these median round trips (ns). */
    private static Result latency(Pair pair, double... medians) {
        return new Result("unix-stream", Workload.LATENCY, pair,
                Arrays.stream(medians).mapToObj(m -> new double[] {m, 2 * m, m}).toList());
    }

    @Test
    void aSteadyRatioHasANarrowInterval() {
        Result java = latency(Pair.JAVA_C, 11_000, 9_900, 12_100);
        Result jdk = latency(Pair.JDK_C, 10_000, 9_000, 11_000);
        assertArrayEquals(new double[] {1.1, 1.1, 1.1}, java.ratioTo(jdk), 1e-9);
        assertEquals("target: unix-stream    latency    java-c <= jdk-c:           NOT MET"
                + " (1.10x; repeat by repeat 1.10x, 95% CI 1.10-1.10)", BenchReport.target(java, jdk, 1.0));
    }

    @Test
    void theIntervalIsStudentsTOnTheLogarithms() {
        double up = Math.exp(0.1);
        Result java = latency(Pair.JAVA_C, 1000 * up, 1000 / up, 1000 * up, 1000 / up);
        Result cc = latency(Pair.C_C, 1000, 1000, 1000, 1000);
        // mean of the logs 0, standard deviation sqrt(4 * 0.01 / 3), t(0.975, 3 df) = 3.182
        double half = 3.182 * Math.sqrt(0.04 / 3) / 2;
        assertArrayEquals(new double[] {1.0, Math.exp(-half), Math.exp(half)}, java.ratioTo(cc), 1e-9);
        String line = BenchReport.target(java, cc, 1.10); // the median of the repeats is 1005 ns
        assertEquals("target: unix-stream    latency    java-c <= 1.10x c-c:       MET     (1.01x; repeat by repeat"
                + " 1.00x, 95% CI 0.83-1.20, spans the target)", line);
    }

    @Test
    void fewOrUnmatchedRepeatsGiveTheMediansOnly() {
        Result java = latency(Pair.JAVA_C, 900, 950);
        Result jdk = latency(Pair.JDK_C, 1000, 1000);
        assertNull(java.ratioTo(jdk));
        assertEquals("target: unix-stream    latency    java-c <= jdk-c:           MET     (0.93x)",
                BenchReport.target(java, jdk, 1.0));
        assertNull(latency(Pair.JAVA_C, 1, 2, 3).ratioTo(latency(Pair.JDK_C, 1, 2, 3, 4)));
    }

    @Test
    void throughputMustReachTheFactorAndOtherMechanismsAreNamed() {
        List<double[]> samples = List.of(new double[] {2e9}, new double[] {2e9}, new double[] {2e9});
        Result conn = new Result("conn-64b", Workload.THROUGHPUT, Pair.JAVA_JAVA, samples);
        Result python = new Result("conn-64b", Workload.THROUGHPUT, Pair.PYTHON_PYTHON,
                List.of(new double[] {1e9}, new double[] {1e9}, new double[] {1e9}));
        assertEquals("target: conn-64b       throughput java-java >= 2.00x python-python: MET     (2.00x;"
                + " repeat by repeat 2.00x, 95% CI 2.00-2.00, spans the target)", BenchReport.target(conn, python, 2.0));
        Result shmSem = new Result("shm-sem", Workload.LATENCY, Pair.JAVA_C, List.of(new double[] {4000, 0, 0}));
        Result ring = new Result("ring", Workload.LATENCY, Pair.JAVA_C, List.of(new double[] {3000, 0, 0}));
        assertEquals("target: ring           latency    java-c <= 1.00x shm-sem java-c: MET     (0.75x)",
                BenchReport.target(ring, shmSem, 1.0));
    }
    /**
     * A ratio exactly at the target is met ("at most" 1.10x, "at least" 0.90x): the verdict divides
     * the raw medians, not the medians after their conversion to us or MB/s, whose rounding turned
     * 18,513 ns against 16,830 ns (1.1 exactly) into 1.1000000000000003 and a NOT MET.
     */
    @Test
    void aRatioExactlyAtTheTargetIsMet() {
        Result java = latency(Pair.JAVA_C, 18_513, 18_513, 18_513);
        Result cc = latency(Pair.C_C, 16_830, 16_830, 16_830);
        assertEquals("target: unix-stream    latency    java-c <= 1.10x c-c:       MET     (1.10x; repeat by repeat"
                + " 1.10x, 95% CI 1.10-1.10, spans the target)", BenchReport.target(java, cc, 1.10));
        List<double[]> s1 = List.of(new double[] {93.6e6}, new double[] {93.6e6}, new double[] {93.6e6});
        List<double[]> s2 = List.of(new double[] {104e6}, new double[] {104e6}, new double[] {104e6});
        Result javaT = new Result("mq", Workload.THROUGHPUT, Pair.JAVA_C, s1);
        Result ccT = new Result("mq", Workload.THROUGHPUT, Pair.C_C, s2);
        assertEquals("target: mq             throughput java-c >= 0.90x c-c:       MET     (0.90x; repeat by repeat"
                + " 0.90x, 95% CI 0.90-0.90, spans the target)", BenchReport.target(javaT, ccT, 0.90));
    }

    /**
     * The JSON's samples are in ns (latency) and bytes/s (throughput) while its {@code unit} is us or
     * MB/s, the unit of median, min and max: each result says its samples' units.
     */
    @Test
    void theJsonSaysTheUnitsOfTheSamples() {
        Result ping = latency(Pair.C_C, 5_000);
        Result bytes = new Result("pipe", Workload.THROUGHPUT, Pair.C_C, List.of(new double[] {2e9}));
        String json = BenchReport.json(List.of(ping, bytes), Bench.Options.quick(List.of(), Path.of(".")));
        assertTrue(json.contains("\"unit\":\"us\",\"median\":5.0,"), json);
        assertTrue(json.contains("\"samples\":[[5000.0,10000.0,5000.0]],\"sample-units\":[\"ns\",\"ns\",\"ns\"]"),
                json);
        assertTrue(json.contains("\"unit\":\"MB/s\",\"median\":2000.0,"), json);
        assertTrue(json.contains("\"samples\":[[2.0E9]],\"sample-units\":[\"bytes/s\"]"), json);
    }
}
