package io.ipcbridge.testing;

import io.ipcbridge.shm.SharedMemory;
import java.io.IOException;

/**
 * A program for tests that must run in another process (a mount namespace with a small /dev/shm):
 * creates segment {@code args[0]} of {@code args[1]} bytes, resizes it to {@code args[2]} bytes and
 * prints the outcome and the object's size afterwards on stdout.
 */
public final class ResizeSegment {
    private ResizeSegment() {
    }

    public static void main(String[] args) throws IOException {
        try (SharedMemory shm = SharedMemory.createExclusively(args[0], Long.parseLong(args[1]))) {
            try {
                shm.resize(Long.parseLong(args[2]));
                System.out.println("resized");
            } catch (IOException e) {
                System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            System.out.println("size " + shm.info().size());
        }
    }
}
