package io.ipcbridge.testing;

import java.util.concurrent.ThreadLocalRandom;

/** Unique IPC object names for tests: a prefix, the pid and a random part. */
public final class Names {
    private Names() {
    }

    /** A fresh "/ipcb-test-PID-XXXX" name. */
    public static String unique(String prefix) {
        return "/ipcb-" + prefix + "-" + ProcessHandle.current().pid() + "-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
    }
}
