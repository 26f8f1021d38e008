package io.ipcbridge.cli;

import picocli.CommandLine.Option;

/** The shared {@code --mode M} option of every command that creates an object. */
final class ModeOption {
    @Option(names = "--mode", paramLabel = "M", defaultValue = "0600", converter = OctalMode.class,
            description = "Permission bits, octal, within 0777 (default: ${DEFAULT-VALUE}).")
    int mode;

    /** The mode bits. */
    int value() {
        return mode;
    }
}
