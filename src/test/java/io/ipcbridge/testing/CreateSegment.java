package io.ipcbridge.testing;

import io.ipcbridge.shm.SharedMemory;
import java.io.IOException;

/**
 * A program for tests that must run in another process (a mount namespace with a small /dev/shm):
 * creates segment {@code args[0]} of {@code args[1]} bytes and prints the outcome on stdout.
 */
public final class CreateSegment {
    private CreateSegment() {
    }

    public static void main(String[] args) {
        try (SharedMemory shm = SharedMemory.createExclusively(args[0], Long.parseLong(args[1]))) {
            System.out.println("created " + shm.size());
        } catch (IOException e) {
            System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
            System.exit(1);
        }
    }
}
