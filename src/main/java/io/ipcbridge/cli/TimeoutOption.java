package io.ipcbridge.cli;

import java.time.Duration;
import picocli.CommandLine.Option;

/** The shared {@code --timeout D} option: how long to wait for a peer; absent means as long as it takes. */
final class TimeoutOption {
    @Option(names = "--timeout", paramLabel = "D", converter = Durations.class,
            description = "How long to wait for the other end (250ms, 2s, 1m, PT2S; 0 = do not wait). "
                    + "Default: wait as long as it takes. Exit status 3 when it passes.")
    Duration timeout;

    /** The timeout, or null for none. */
    Duration value() {
        return timeout;
    }
}
