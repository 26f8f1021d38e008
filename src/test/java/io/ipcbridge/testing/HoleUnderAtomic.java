package io.ipcbridge.testing;

import io.ipcbridge.shm.SharedMemory;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A program for tests that must run in another process (a mount namespace with a small /dev/shm,
 * and -Xint, where a compare-and-set that faults kills the JVM): maps segment {@code args[0]} of
 * 64 KiB, has it cut to 0 and sized again as a peer may (its pages are then holes, its size as
 * before), fills /dev/shm, and tries a compare-and-set on it; prints the outcome on stdout.
 */
public final class HoleUnderAtomic {
    private HoleUnderAtomic() {
    }

    public static void main(String[] args) throws IOException {
        Path file = Path.of("/dev/shm" + args[0]);
        try (SharedMemory shm = SharedMemory.createExclusively(args[0], 65536);
                RandomAccessFile peer = new RandomAccessFile(file.toFile(), "rw")) {
            peer.setLength(0);
            peer.setLength(65536);
            try (OutputStream fill = Files.newOutputStream(file.resolveSibling("fill"))) {
                byte[] chunk = new byte[4096];
                for (;;) {
                    fill.write(chunk);
                }
            } catch (IOException full) {
                System.out.println("full");
            }
            try {
                System.out.println("compareAndSetInt " + shm.compareAndSetInt(0, 0, 1));
            } catch (IllegalStateException e) {
                System.out.println("refused: " + e.getMessage());
            }
        }
    }
}
