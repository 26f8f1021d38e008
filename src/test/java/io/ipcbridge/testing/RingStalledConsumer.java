package io.ipcbridge.testing;

import io.ipcbridge.ring.Ring;
import java.time.Duration;

/**
 * A Java consumer meant to be killed in the middle of a batch: {@code RingStalledConsumer NAME K}
 * opens the ring, polls with a handler and, in the handler of the K-th message (from 1), prints
 * "stalled" (flushed) and blocks for ever.
 */
public final class RingStalledConsumer {
    private RingStalledConsumer() {
    }

    public static void main(String[] args) throws Exception {
        int stallAt = Integer.parseInt(args[1]);
        int[] seen = {0};
        try (Ring ring = Ring.open(args[0])) {
            ring.poll(m -> {
                if (++seen[0] == stallAt) {
                    System.out.println("stalled");
                    System.out.flush();
                    try {
                        Thread.sleep(Long.MAX_VALUE); // until killed: not a synchronisation
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }, Duration.ofSeconds(60));
        }
    }
}
