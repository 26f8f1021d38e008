package io.ipcbridge.sem;

import io.ipcbridge.shm.SharedMemory;

/** Child JVM for {@link SemaphoreShrunkSegmentTest}: Semaphore.initialize on a segment shrunk under its mapping. */
public final class ShrunkSegmentInit {
    private ShrunkSegmentInit() {
    }

    public static void main(String[] args) throws Exception {
        String n = args[0];
        try (SharedMemory seg = SharedMemory.createExclusively(n, 8192)) {
            seg.resize(8); // the object is 8 bytes now; the mapping keeps 8192: its second page is gone
            try {
                Semaphore s = Semaphore.initialize(seg, 4096 + 64, 1);
                System.out.println("initialized " + s);
            } catch (Throwable e) {
                System.out.println("refused " + e);
            }
        } finally {
            SharedMemory.unlink(n);
        }
    }
}
