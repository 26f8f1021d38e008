package io.ipcbridge.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The Java side of every run, the same loops as bench_peer's modes: ping and echo for latency,
 * source and sink for throughput. Buffers are direct, allocated once per run.
 */
final class Loops {
    /**
     * Send k of a throughput run starts at byte 8 (k mod STARTS) of its pattern buffer, so that one
     * message differs from the next: a message lost, repeated, or left over from an earlier receive
     * shows where a sink checks. A power of two.
     */
    static final int STARTS = 512;
    /**
     * A sink checks the byte at each multiple of this offset of the data, one in about 4 KiB: a few
     * additions and a compare each, far below the cost of receiving 4 KiB. A prime, so that the byte
     * checked moves through every offset of a message.
     */
    static final int SAMPLE_STRIDE = 4099;

    private Loops() {
    }

    /**
     * {@code warmup} untimed, then {@code count} timed round trips of {@code size} bytes (the round
     * number in the first 8), each echo compared with what was sent.
     *
     * @return {median, p99, mean} in nanoseconds, as bench_peer ping computes them
     */
    static double[] ping(End end, int size, int warmup, int count) throws IOException {
        ByteBuffer msg = ByteBuffer.allocateDirect(size).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer buf = ByteBuffer.allocateDirect(Math.max(size, 64 << 10));
        long[] t = new long[count];
        for (int i = -warmup; i < count; i++) {
            if (size >= 8) {
                msg.putLong(0, i + warmup);
            }
            long t0 = System.nanoTime();
            end.send(msg.clear());
            receiveExact(end, buf.clear(), size);
            long t1 = System.nanoTime();
            if (end.carriesData() && buf.flip().compareTo(msg.clear()) != 0) {
                throw new IOException("round trip " + (i + warmup) + ": the echo differs");
            }
            if (i >= 0) {
                t[i] = t1 - t0;
            }
        }
        return stats(t);
    }

    /** {median, p99, mean} of {@code t} (sorted in place): p99 is the ceil(0.99 n)-th smallest. */
    static double[] stats(long[] t) {
        Arrays.sort(t);
        int n = t.length;
        double sum = 0;
        for (long v : t) {
            sum += v;
        }
        double median = n % 2 == 1 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2.0;
        // the ceil(0.99 n)-th smallest, in 64 bits as bench_peer does: n * 99 overflows an int from n = 21,691,754
        return new double[] {median, t[(int) ((n * 99L + 99) / 100 - 1)], sum / n};
    }

    /** {@code total} times: receives {@code size} bytes and sends them back. */
    static void echo(End end, int size, long total) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(Math.max(size, 64 << 10));
        for (long i = 0; i < total; i++) {
            receiveExact(end, buf.clear(), size);
            end.send(buf.flip());
        }
    }

    /**
     * Sends {@code bytes} bytes in {@code chunk}-byte sends (the last shorter), each a {@link #message}
     * of one pattern-filled buffer, then closes the end.
     */
    static void source(End end, long bytes, int chunk) throws IOException {
        try (end) {
            ByteBuffer pattern = sourcePattern(chunk);
            long k = 0;
            for (long left = bytes; left > 0; left -= chunk) {
                end.send(message(pattern, k++, (int) Math.min(left, chunk)));
            }
        }
    }

    /** The buffer a throughput run's {@code chunk}-byte sends are taken from: pattern(1), 8 STARTS bytes longer. */
    static ByteBuffer sourcePattern(int chunk) {
        return pattern(chunk + 8 * STARTS);
    }

    /** Send {@code k} of a run, {@code n} bytes: those of {@code pattern} from byte 8 (k mod {@link #STARTS}). */
    static ByteBuffer message(ByteBuffer pattern, long k, int n) {
        int start = (int) (k % STARTS) * 8;
        return pattern.clear().limit(start + n).position(start);
    }

    /**
     * Receives until {@code bytes} bytes have arrived, {@code chunk} at a time, checking the bytes at
     * the multiples of {@link #SAMPLE_STRIDE} against what {@link #source} sends there.
     *
     * @return bytes per second: those that arrived after the first receive returned, over the
     *     nanoseconds from the return of the first receive to that of the last (the first receive's
     *     bytes were in before the clock started)
     * @throws IOException if the data ended early, differed from what was sent at a byte checked, or
     *     came in one receive (nothing was timed)
     */
    static double sink(End end, long bytes, int chunk) throws IOException {
        return sink(end, bytes, chunk, System::nanoTime);
    }

    /** {@link #sink(End, long, int)} on {@code clock}. */
    static double sink(End end, long bytes, int chunk, LongSupplier clock) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(Math.max(chunk, 64 << 10));
        ByteBuffer pattern = sourcePattern(chunk);
        long got = 0;
        long first = 0;
        long t0 = 0;
        long t1 = 0;
        long sample = 0; // the next byte checked, byte j of send k
        long k = 0;
        int j = 0;
        int q = SAMPLE_STRIDE / chunk; // the step from one to the next, without a division per sample
        int r = SAMPLE_STRIDE % chunk;
        while (got < bytes) {
            int n = end.receive(buf.clear());
            t1 = clock.getAsLong();
            if (n <= 0) {
                throw new IOException("the data ended after " + got + " of " + bytes + " bytes");
            }
            if (got == 0) {
                t0 = t1;
                first = n;
            }
            for (; sample < got + n; sample += SAMPLE_STRIDE) {
                byte want = pattern.get((int) (k & (STARTS - 1)) * 8 + j);
                byte found = buf.get((int) (sample - got));
                if (found != want) {
                    throw new IOException(String.format(Locale.ROOT, "byte %d of the data is 0x%02x, expected 0x%02x",
                            sample, found & 0xff, want & 0xff));
                }
                k += q;
                j += r;
                if (j >= chunk) {
                    j -= chunk;
                    k++;
                }
            }
            got += n;
        }
        if (got != bytes) {
            throw new IOException("received " + got + " bytes, expected " + bytes);
        }
        if (got == first || t1 <= t0) {
            throw new IOException("all " + got + " bytes came in one receive: nothing to time");
        }
        return (got - first) * 1e9 / (t1 - t0);
    }

    /** Receives exactly {@code size} bytes into {@code buf} (a byte stream may cut them). */
    private static void receiveExact(End end, ByteBuffer buf, int size) throws IOException {
        buf.limit(size);
        while (buf.hasRemaining()) {
            if (end.receive(buf) <= 0) {
                throw new IOException("the data ended after " + buf.position() + " of " + size + " bytes");
            }
        }
    }

    /** {@code size} bytes of the C peers' pattern(1) (include/peer.h: xorshift64, little-endian words). */
    static ByteBuffer pattern(int size) {
        ByteBuffer b = ByteBuffer.allocateDirect(size + 7).order(ByteOrder.LITTLE_ENDIAN);
        long s = 1;
        for (int i = 0; i < size; i += 8) {
            s ^= s << 13;
            s ^= s >>> 7;
            s ^= s << 17;
            b.putLong(i, s);
        }
        return b.limit(size).slice().order(ByteOrder.LITTLE_ENDIAN);
    }
}
