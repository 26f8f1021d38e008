package io.ipcbridge.internal.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link Syscalls#address} keeps base addresses per thread: it must answer as a JNI call would, for any order of buffers. */
class AddressTest {
    @Test
    void everyBufferInAnyOrderGetsItsOwnAddressAtItsPosition() {
        List<ByteBuffer> buffers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ByteBuffer b = ByteBuffer.allocateDirect(64 + i);
            buffers.add(b);
            buffers.add(b.slice(8, 16)); // a view: another object, another base
        }
        int[] order = {0, 1, 0, 1, 2, 0, 2, 3, 3, 7, 6, 5, 4, 0, 7, 1, 2, 2, 0};
        for (int k = 0; k < order.length; k++) {
            ByteBuffer b = buffers.get(order[k]);
            b.position(k % b.capacity());
            long expected = Pointer.nativeValue(Native.getDirectBufferPointer(b)) + b.position();
            assertEquals(expected, Syscalls.address(b), "buffer " + order[k] + " at step " + k);
        }
    }
}
