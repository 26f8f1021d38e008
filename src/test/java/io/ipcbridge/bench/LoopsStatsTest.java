package io.ipcbridge.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The per-run statistics of a latency run ({@link Loops#stats}): {median, p99, mean} of the timed
 * round trips, p99 the ceil(0.99 n)-th smallest, as bench_peer ping computes them. Pure arithmetic,
 * checked against hand computations; no timing.
 */
class LoopsStatsTest {
    @Test
    void smallInputsMatchAHandComputation() {
        // odd count: the middle one; p99 = ceil(2.97) = 3rd smallest; mean 9 / 3
        assertArrayEquals(new double[] {3, 5, 3}, Loops.stats(new long[] {5, 1, 3}), 0);
        // even count: the mean of the two middle ones; p99 = ceil(3.96) = 4th smallest
        assertArrayEquals(new double[] {2.5, 4, 2.5}, Loops.stats(new long[] {4, 1, 3, 2}), 0);
        // one round trip: it is all three
        assertArrayEquals(new double[] {7, 7, 7}, Loops.stats(new long[] {7}), 0);
        // ties: median of {2, 2, 2, 9} is 2, p99 the largest, mean 15 / 4
        assertArrayEquals(new double[] {2, 9, 3.75}, Loops.stats(new long[] {2, 9, 2, 2}), 0);
        // 100 values 1..100: p99 = the 99th smallest; 101 values: ceil(99.99) = the 100th
        long[] hundred = new long[100];
        for (int i = 0; i < 100; i++) {
            hundred[i] = 100 - i;
        }
        assertArrayEquals(new double[] {50.5, 99, 50.5}, Loops.stats(hundred), 0);
        long[] hundredOne = new long[101];
        for (int i = 0; i < 101; i++) {
            hundredOne[i] = i + 1;
        }
        assertArrayEquals(new double[] {51, 100, 51}, Loops.stats(hundredOne), 0);
    }

    /**
     * --pings takes any count up to Integer.MAX_VALUE, and bench_peer computes its p99 index in 64
     * bits; the Java side computed {@code n * 99 + 99} in int, which overflows from n = 21,691,754
     * (a run of about two minutes at 5 us a round trip) and threw ArrayIndexOutOfBoundsException
     * after the whole run.
     */
    @Test
    void theP99IndexDoesNotOverflowForLargeCounts() {
        int n = 21_691_754;
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            t[i] = i;
        }
        double[] s = Loops.stats(t);
        // ceil(0.99 * 21,691,754) = ceil(21,474,836.46) = the 21,474,837th smallest, value 21,474,836
        assertEquals(21_474_836, s[1], 0);
        assertEquals((n - 1) / 2.0, s[0], 0);
        assertEquals((n - 1) / 2.0, s[2], 0);
    }
}
