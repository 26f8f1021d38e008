package io.ipcbridge.shm;

/**
 * Child JVM for {@link SharedMemoryPeerShrinkTest}: atomic updates of a segment a peer process
 * (coreutils truncate) shrank under the mapping, behind this JVM's back.
 */
public final class PeerShrinkChild {
    private PeerShrinkChild() {
    }

    public static void main(String[] args) throws Exception {
        String n = args[0];
        try (SharedMemory seg = SharedMemory.createExclusively(n, 8192)) {
            Process peer = new ProcessBuilder("truncate", "-s", "0", "/dev/shm" + n).inheritIO().start();
            if (peer.waitFor() != 0) {
                throw new IllegalStateException("truncate failed");
            }
            String[] ops = {"compareAndSetInt", "getAndAddInt", "compareAndSetLong", "getAndAddLong"};
            for (String op : ops) {
                try {
                    switch (op) {
                        case "compareAndSetInt" -> seg.compareAndSetInt(4096, 0, 1);
                        case "getAndAddInt" -> seg.getAndAddInt(4100, 1);
                        case "compareAndSetLong" -> seg.compareAndSetLong(4104, 0, 1);
                        default -> seg.getAndAddLong(4112, 1);
                    }
                    System.out.println(op + " went through");
                } catch (InternalError | IllegalStateException e) {
                    System.out.println(op + " refused: " + e);
                }
            }
        } finally {
            SharedMemory.unlink(n);
        }
    }
}
