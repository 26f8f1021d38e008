package io.ipcbridge.cli;

import java.time.Duration;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/**
 * The shared {@code [--count N | --all] [--timeout D | --nonblock] [--raw]} of the receive commands
 * (mq and ring), as a {@code @Mixin}, and their way of writing a message to stdout.
 */
final class ReceiveOptions {
    private static final byte[] NEWLINE = {'\n'};

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    HowMany howMany;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    WaitOptions wait;

    @Option(names = "--raw", description = "Write the message's bytes alone, no newline (one message).")
    boolean raw;

    /** {@code --count N | --all}; null when neither is given: one message. */
    static final class HowMany {
        @Option(names = "--count", paramLabel = "N", converter = Counts.Positive.class,
                description = "How many messages to receive (default: 1).")
        Long count;

        @Option(names = "--all", description = "Receive every message there is now (not those sent meanwhile).")
        boolean all;
    }

    /** Whether every message there is now is asked for. */
    boolean all() {
        return howMany != null && howMany.all;
    }

    /** How many messages are asked for, when not {@link #all()}. */
    long count() {
        return howMany != null && howMany.count != null ? howMany.count : 1;
    }

    /** How long the command may wait: null for as long as it takes, zero for not at all. */
    Duration limit() {
        return WaitOptions.limit(wait);
    }

    /** Whether --raw is given with an option that asks for more than one message. */
    boolean rawForMany() {
        return raw && (all() || count() != 1);
    }

    /** Writes {@code message} to stdout: its bytes alone with --raw, else followed by "\n". */
    void write(byte[] message) throws CommandFailure {
        if (raw) {
            RawIo.writeToStdout(message);
        } else {
            RawIo.writeToStdout(message, NEWLINE);
        }
    }

    /** Writes {@code prefix}, {@code message} and "\n" to stdout (not with --raw). */
    void write(byte[] prefix, byte[] message) throws CommandFailure {
        RawIo.writeToStdout(prefix, message, NEWLINE);
    }
}
