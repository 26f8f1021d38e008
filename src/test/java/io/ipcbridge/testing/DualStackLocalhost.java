package io.ipcbridge.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Commands run where the name localhost is 127.0.0.1 and ::1, as /etc/hosts has it on Debian and
 * many other systems ({@code ::1 localhost}): Java then gives 127.0.0.1 first, getaddrinfo(3) ::1.
 * Where localhost already is both, a command runs as it is; elsewhere (this test machine's
 * /etc/hosts has 127.0.0.1 alone) in a mount namespace whose /etc/hosts says so, which needs root
 * and unshare(1): without them the test is skipped, saying why.
 */
public final class DualStackLocalhost {
    private DualStackLocalhost() {
    }

    /** {@code argv}, run where localhost is 127.0.0.1 and ::1; a hosts file may be written in {@code dir}. */
    public static List<String> command(Path dir, List<String> argv) throws Exception {
        List<InetAddress> here = List.of(InetAddress.getAllByName("localhost"));
        if (here.contains(InetAddress.getByName("127.0.0.1")) && here.contains(InetAddress.getByName("::1"))) {
            return argv;
        }
        Path hosts = Files.writeString(dir.resolve("hosts"), "127.0.0.1 localhost\n::1 localhost\n");
        List<String> wrapped = new ArrayList<>(List.of("unshare", "--mount", "--propagation", "private", "sh", "-c",
                "mount --bind \"$0\" /etc/hosts && exec \"$@\"", hosts.toString()));
        List<String> probe = new ArrayList<>(wrapped);
        probe.addAll(List.of("getent", "ahosts", "localhost"));
        Process p = new ProcessBuilder(probe).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assumeTrue(p.waitFor() == 0 && out.contains("::1") && out.contains("127.0.0.1"), "localhost is not "
                + "127.0.0.1 and ::1 here, and no mount namespace can make it so (root and unshare(1) needed): " + out);
        wrapped.addAll(argv);
        return wrapped;
    }
}
