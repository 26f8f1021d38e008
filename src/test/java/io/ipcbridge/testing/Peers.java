package io.ipcbridge.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** The C peers of native-tests/, built by Maven into the directory surefire names. */
public final class Peers {
    private Peers() {
    }

    /** The path of peer {@code name}; the test is skipped when the peers were not built. */
    public static String path(String name) {
        String dir = System.getProperty("ipcbridge.native.dir", "native-tests/build");
        Path p = Path.of(dir, name).toAbsolutePath();
        assumeTrue(Files.isExecutable(p), "C peer not built: " + p + " (run make -C native-tests)");
        return p.toString();
    }
}
