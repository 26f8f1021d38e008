package io.ipcbridge.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.testing.Created;
import io.ipcbridge.testing.Fds;
import java.nio.file.AccessDeniedException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** map(Descriptor, readOnly) honours the access mode of the descriptor it is given (SHM-07). */
class SharedMemoryDescriptorAccessTest {
    private final Created created = new Created("shmacc", SharedMemory::unlink);

    @AfterEach
    void unlinkAll() {
        created.unlinkAll();
    }

    @Test
    void aReadOnlyDescriptorIsNotMappedReadWrite() throws Exception {
        String n = created.name();
        try (SharedMemory s = SharedMemory.createExclusively(n, 4096)) {
            var fds = Fds.snapshot();
            SharedMemory ro = SharedMemory.open(n, true);
            AccessDeniedException e = assertThrows(AccessDeniedException.class,
                    () -> SharedMemory.map(ro.descriptor(), false),
                    "mmap(PROT_WRITE, MAP_SHARED) of an O_RDONLY descriptor is EACCES");
            assertTrue(e.getMessage().contains("EACCES"), e.getMessage());
            assertEquals(0, s.getInt(0), "nothing was written through the read-only descriptor");
            Fds.assertNoneAdded(fds);
            SharedMemory ro2 = SharedMemory.open(n, true);
            try (SharedMemory m = SharedMemory.map(ro2.descriptor(), true)) {
                assertTrue(m.isReadOnly(), "a read-only mapping of it is still allowed");
            }
        }
    }

    @Test
    void anOPathDescriptorIsNotMappedAtAll() throws Exception {
        // FD-11: an O_PATH descriptor (one a peer can send) reads as O_RDONLY under O_ACCMODE: it once
        // mapped read-write; mmap(2) itself says EBADF, as for a closed one
        String n = created.name();
        try (SharedMemory s = SharedMemory.createExclusively(n, 4096)) {
            var fds = Fds.snapshot();
            for (boolean readOnly : new boolean[] {false, true}) {
                int raw = io.ipcbridge.internal.posix.Syscalls.open("/dev/shm" + n,
                        io.ipcbridge.internal.posix.Syscalls.O_PATH, 0, "test");
                io.ipcbridge.Descriptor path = io.ipcbridge.Descriptor.adopt(raw, "O_PATH fd of " + n);
                assertThrows(AccessDeniedException.class, () -> SharedMemory.map(path, readOnly),
                        "an O_PATH descriptor can neither read nor write");
            }
            Fds.assertNoneAdded(fds);
        }
    }
}
