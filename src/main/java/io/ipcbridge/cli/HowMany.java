package io.ipcbridge.cli;

import picocli.CommandLine.Option;

/**
 * The shared {@code [--count N | --all]} of the receive commands (mq and ring), as one exclusive
 * group: {@code @ArgGroup(exclusive = true, multiplicity = "0..1") HowMany howMany;} (null when
 * neither is given: one message).
 */
final class HowMany {
    @Option(names = "--count", paramLabel = "N", converter = Counts.Positive.class,
            description = "How many messages to receive (default: 1).")
    Long count;

    @Option(names = "--all", description = "Receive every message there is now.")
    boolean all;

    /** Whether {@code options} asks for every message there is. */
    static boolean all(HowMany options) {
        return options != null && options.all;
    }

    /** How many messages {@code options} asks for, when not {@link #all}. */
    static long count(HowMany options) {
        return options != null && options.count != null ? options.count : 1;
    }
}
