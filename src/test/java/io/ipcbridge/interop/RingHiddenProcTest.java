package io.ipcbridge.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ipcbridge.ring.Ring;
import io.ipcbridge.testing.Names;
import io.ipcbridge.testing.PeerState;
import io.ipcbridge.testing.Peers;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A ring consumer that may not read its producer's /proc entry: the producer is another user's
 * process, and the consumer's /proc (its own mount, in a mount namespace of its own) has hidepid=1.
 * kill(2) still finds the producer, a zombie its parent never reaps; the consumer must learn of its
 * death all the same (through a pidfd), neither taking it to run nor spinning on it. Needs root (a
 * mount namespace, another uid); skipped elsewhere.
 */
class RingHiddenProcTest {
    private static final long BOUND = TimeUnit.SECONDS.toNanos(30);

    @TempDir
    Path dir;

    @Test
    void aConsumerThatMayNotReadItsProducersProcEntryStillLearnsOfItsDeath() throws Exception {
        assumeTrue(new String(new ProcessBuilder("id", "-u").start().getInputStream().readAllBytes(),
                StandardCharsets.US_ASCII).trim().equals("0"), "needs root: a mount namespace and another uid");
        assumeTrue(new File("/usr/bin/setpriv").canExecute() && new File("/usr/bin/unshare").canExecute(),
                "needs setpriv(1) and unshare(1)");
        String ringPeer = Peers.path("ring_peer");
        String n = Names.unique("hidden");
        Process parent = null;
        try (Ring ring = Ring.create(n, 1 << 12, 1024, false, 0666)) {
            // the producer, a child of a shell that then becomes `sleep` and never reaps it
            Path stalled = dir.resolve("stall.out");
            parent = new ProcessBuilder("sh", "-c", "\"$0\" stall \"$1\" 0 100 >\"$2\" & echo $!; exec sleep infinity",
                    ringPeer, n, stalled.toString()).start();
            int producer = Integer.parseInt(new BufferedReader(
                    new InputStreamReader(parent.getInputStream(), StandardCharsets.US_ASCII)).readLine());
            await(() -> read(stalled).equals("stalled\n"), "ring_peer stall claims its record");
            assertEquals(0, new ProcessBuilder("kill", "-KILL", Integer.toString(producer)).start().waitFor());
            Path stat = Path.of("/proc", Integer.toString(producer), "stat");
            await(() -> {
                String s = PeerState.read(stat);
                return s != null && s.charAt(s.lastIndexOf(')') + 2) == 'Z';
            }, "the producer is a zombie");

            Path err = dir.resolve("consume.err");
            Process consumer = new ProcessBuilder("unshare", "--mount", "--propagation", "private", "sh", "-c",
                    "mount -t proc -o hidepid=1 proc /proc && exec setpriv --reuid=65534 --regid=65534 --clear-groups "
                            + "\"$0\" consume \"$1\" 1 1", ringPeer, n)
                    .redirectOutput(dir.resolve("consume.out").toFile()).redirectError(err.toFile()).start();
            try {
                assertTrue(consumer.waitFor(60, TimeUnit.SECONDS), "the consumer reports the dead producer");
                assertEquals(3, consumer.exitValue(), () -> "ring_peer consume: " + read(err));
                assertTrue(read(err).contains("pid " + producer), () -> "ring_peer consume: " + read(err));
            } finally {
                consumer.destroyForcibly();
                Peers.closeStreams(consumer);
            }
        } finally {
            if (parent != null) {
                parent.destroyForcibly(); // its zombie child goes to init, which reaps it
                Peers.closeStreams(parent);
            }
            Ring.unlink(n);
        }
    }

    /** Polls {@code done} (a look at kernel or file state, never a sleep) until it holds, at most BOUND. */
    private static void await(java.util.function.BooleanSupplier done, String what) {
        long end = System.nanoTime() + BOUND;
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() - end < 0, what);
            Thread.onSpinWait();
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }
}
