package io.ipcbridge.testing;

import com.sun.jna.NativeLibrary;
import io.ipcbridge.process.Command;
import io.ipcbridge.process.ExitStatus;

/**
 * A program for tests that must run in a JVM started without a locale: spawns
 * {@code sh -c 'printf "%s|%s|%s" "$1" "$X" "$Y"' sh q-é} with {@code X=é} added to its environment,
 * through {@link Command}, on this process's stdout, and exits with the shell's status. The text is
 * built here, not taken from argv, which the JVM would already have decoded as ASCII; {@code Y} is
 * whatever this JVM inherited. With the argument {@code not-dumpable}, it first makes itself
 * non-dumpable (prctl(2) PR_SET_DUMPABLE 0), as a JVM started with file capabilities or set-user-ID is.
 */
public final class SpawnText {
    private SpawnText() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("not-dumpable")
                && NativeLibrary.getInstance("c").getFunction("prctl").invokeInt(new Object[] {4, 0, 0, 0, 0}) != 0) {
            System.exit(2);
        }
        try (var child = Command.of("sh", "-c", "printf '%s|%s|%s' \"$1\" \"$X\" \"$Y\"", "sh", "q-\u00e9")
                .env("X", "\u00e9").start()) {
            ExitStatus status = child.waitFor();
            System.exit(status.success() ? 0 : 1);
        }
    }
}
