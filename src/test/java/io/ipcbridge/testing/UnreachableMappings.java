package io.ipcbridge.testing;

import io.ipcbridge.shm.SharedMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A program for tests that must run in another process (one whose address space is limited): maps
 * segment {@code args[0]} read-only sixteen times and drops each mapping unreachable, under an
 * RLIMIT_AS that leaves room for three such mappings beside the JVM, so that a map finds no room
 * until the unreachable ones are unmapped; prints "mapped 16" or the failure on stdout. Then keeps
 * mappings until one finds no room, and prints that failure.
 */
public final class UnreachableMappings {
    private UnreachableMappings() {
    }

    public static void main(String[] args) throws IOException {
        SharedMemory.open(args[0], true).close(); // the library's one-time set-up, before the limit
        long size = SharedMemory.info(args[0]).size();
        try (Limits limit = Limits.lower(Limits.AS, addressSpace() + 3 * size + size / 2)) {
            for (int i = 0; i < 16; i++) {
                SharedMemory.open(args[0], true).close();
            }
            System.out.println("mapped 16");
            List<SharedMemory> held = new ArrayList<>();
            for (;;) {
                held.add(SharedMemory.open(args[0], true));
            }
        } catch (IOException e) {
            System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    /** This process's address space in bytes (VmSize of /proc/self/status). */
    private static long addressSpace() throws IOException {
        String line = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmSize:"))
                .findFirst().orElseThrow();
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
    }
}
