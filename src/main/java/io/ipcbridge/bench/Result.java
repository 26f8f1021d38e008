package io.ipcbridge.bench;

import java.util.Arrays;
import java.util.List;

/**
 * What the repeats of one mechanism, workload and pair measured. A latency sample is {median, p99,
 * mean} round trip in nanoseconds; a throughput sample is {bytes per second}.
 *
 * @param mechanism the mechanism id, e.g. {@code unix-stream}
 * @param workload latency or throughput
 * @param pair who talked to whom
 * @param samples one per repeat, in the order run
 */
public record Result(String mechanism, Workload workload, Pair pair, List<double[]> samples) {
    /** A copy of {@code samples}, so that the record is immutable. */
    public Result {
        samples = samples.stream().map(double[]::clone).toList();
    }

    /** The headline value: median round trip in microseconds, or MB/s (10^6 bytes); the median over the repeats. */
    public double value() {
        return median(0) / (workload == Workload.LATENCY ? 1e3 : 1e6);
    }

    /** The p99 round trip in microseconds (median over the repeats); NaN for throughput. */
    public double p99() {
        return workload == Workload.LATENCY ? median(1) / 1e3 : Double.NaN;
    }

    /** The mean round trip in microseconds (median over the repeats); NaN for throughput. */
    public double mean() {
        return workload == Workload.LATENCY ? median(2) / 1e3 : Double.NaN;
    }

    /** The smallest headline value of a repeat, in the unit of {@link #value()}. */
    public double min() {
        return column(0)[0] / (workload == Workload.LATENCY ? 1e3 : 1e6);
    }

    /** The largest headline value of a repeat, in the unit of {@link #value()}. */
    public double max() {
        double[] c = column(0);
        return c[c.length - 1] / (workload == Workload.LATENCY ? 1e3 : 1e6);
    }

    /** The unit of {@link #value()}: {@code us} or {@code MB/s}. */
    public String unit() {
        return workload == Workload.LATENCY ? "us" : "MB/s";
    }

    private double median(int i) {
        double[] c = column(i);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    private double[] column(int i) {
        return samples.stream().mapToDouble(s -> s[i]).sorted().toArray();
    }

    @Override
    public String toString() {
        return mechanism + " " + workload.id() + " " + pair.id() + " " + samples.stream().map(Arrays::toString).toList();
    }
}
