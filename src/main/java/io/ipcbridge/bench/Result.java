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

    /**
     * This result's headline median over {@code other}'s, divided as measured (ns, bytes per
     * second): the ratio of {@link #value()}s would round twice, once for each conversion to us or
     * MB/s, and could put a ratio exactly at a target on the wrong side of it.
     */
    public double medianRatio(Result other) {
        return median(0) / other.median(0);
    }

    /**
     * This result's headline figure over {@code other}'s, repeat by repeat ({@link Bench} runs every
     * pair once in each repeat): see {@link #pairedRatio}.
     */
    public double[] ratioTo(Result other) {
        return pairedRatio(samples.stream().mapToDouble(s -> s[0]).toArray(),
                other.samples.stream().mapToDouble(s -> s[0]).toArray());
    }

    /** Two-sided 97.5% quantiles of Student's t for 1 to 30 degrees of freedom. */
    private static final double[] T975 = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060,
        2.056, 2.052, 2.048, 2.045, 2.042};

    /**
     * The ratios {@code a[i] / b[i]} of measurements made side by side: {geometric mean, low, high}
     * of its 95% confidence interval (Student's t on the logarithms), or null unless both arrays have
     * the same length, at least three.
     */
    static double[] pairedRatio(double[] a, double[] b) {
        int n = a.length;
        if (n < 3 || b.length != n) {
            return null;
        }
        double[] logs = new double[n];
        double mean = 0;
        for (int i = 0; i < n; i++) {
            logs[i] = Math.log(a[i] / b[i]);
            mean += logs[i] / n;
        }
        double squares = 0;
        for (double l : logs) {
            squares += (l - mean) * (l - mean);
        }
        int df = n - 1;
        double t = df <= T975.length ? T975[df - 1] : 1.96 + 2.5 / df;
        double half = t * Math.sqrt(squares / df / n);
        return new double[] {Math.exp(mean), Math.exp(mean - half), Math.exp(mean + half)};
    }

    /** The unit of {@link #value()}: {@code us} or {@code MB/s}. */
    public String unit() {
        return workload == Workload.LATENCY ? "us" : "MB/s";
    }

    /** The unit of each figure of a sample, in order: {@code ns} three times, or {@code bytes/s}. */
    public List<String> sampleUnits() {
        return workload == Workload.LATENCY ? List.of("ns", "ns", "ns") : List.of("bytes/s");
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
