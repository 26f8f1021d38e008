package io.ipcbridge.testing;

import io.ipcbridge.process.Command;
import io.ipcbridge.process.ExitStatus;

/**
 * A program for tests that must run in a JVM started without a locale: spawns
 * {@code sh -c 'printf "%s|%s|%s" "$1" "$X" "$Y"' sh q-é} with {@code X=é} added to its environment,
 * through {@link Command}, on this process's stdout, and exits with the shell's status. The text is
 * built here, not taken from argv, which the JVM would already have decoded as ASCII; {@code Y} is
 * whatever this JVM inherited.
 */
public final class SpawnText {
    private SpawnText() {
    }

    public static void main(String[] args) throws Exception {
        try (var child = Command.of("sh", "-c", "printf '%s|%s|%s' \"$1\" \"$X\" \"$Y\"", "sh", "q-\u00e9")
                .env("X", "\u00e9").start()) {
            ExitStatus status = child.waitFor();
            System.exit(status.success() ? 0 : 1);
        }
    }
}
