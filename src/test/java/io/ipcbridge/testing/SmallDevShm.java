package io.ipcbridge.testing;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** Shell scripts run where /dev/shm is nearly no room: a 1 MiB tmpfs in a mount namespace of their own. */
public final class SmallDevShm {
    private SmallDevShm() {
    }

    /**
     * Runs shell {@code script} (with $0 this JVM's java and $1 the class path) in a mount namespace
     * whose /dev/shm is a 1 MiB tmpfs, and returns its output; skips the test where there is none.
     */
    public static String run(String script) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder("unshare", "--mount", "sh", "-c",
                "mount -t tmpfs -o size=1m tmpfs /dev/shm || exit 77\n" + script, java,
                System.getProperty("java.class.path")).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        Assumptions.assumeTrue(rc != 77 && !out.contains("unshare failed"),
                "no mount namespace here (needs CAP_SYS_ADMIN): " + out);
        return out;
    }
}
