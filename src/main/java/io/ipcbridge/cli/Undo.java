package io.ipcbridge.cli;

import java.io.IOException;

/** A step that undoes what a command made: a socket file it bound, a half-made bounded buffer. */
@FunctionalInterface
interface Undo {
    void run() throws IOException;

    /** Runs {@code step} after {@code failure}: a failure of the step is added to it, suppressed. */
    static void after(Exception failure, Undo step) {
        try {
            step.run();
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }
}
