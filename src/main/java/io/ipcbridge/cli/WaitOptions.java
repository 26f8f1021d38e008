package io.ipcbridge.cli;

import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * The shared {@code [--timeout D | --nonblock]} of the commands that may wait for a peer (mq send
 * and receive), as one exclusive group:
 * {@code @ArgGroup(exclusive = true, multiplicity = "0..1") WaitOptions wait;} (null when neither is
 * given: wait as long as it takes). D bounds the whole command, not each message.
 */
final class WaitOptions {
    @Option(names = "--timeout", paramLabel = "D", converter = Durations.class,
            description = "Wait at most D in all (250ms, 2s, 1m, PT2S; 0 = do not wait). "
                    + "Exit status 3 when it passes.")
    Duration timeout;

    @Option(names = "--nonblock", description = "Do not wait at all (as --timeout 0): exit status 3 at once.")
    boolean nonblock;

    /** How long {@code options} lets a command wait: null for as long as it takes, zero for not at all. */
    static Duration limit(WaitOptions options) {
        if (options == null) {
            return null;
        }
        return options.nonblock ? Duration.ZERO : options.timeout;
    }

    /** What is left of {@code limit} (not null) since {@code startNanos} ({@link System#nanoTime()}); never negative. */
    static Duration remaining(long startNanos, Duration limit) {
        long total = saturatedNanos(limit);
        long spent = System.nanoTime() - startNanos;
        return Duration.ofNanos(Math.max(0, total - spent));
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }
}
