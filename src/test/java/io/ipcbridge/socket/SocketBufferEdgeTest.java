package io.ipcbridge.socket;

import static io.ipcbridge.socket.SocketTest.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ipcbridge.Descriptor;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.testing.Fds;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** FAULT-07, UDS-07: buffers of every kind given to the receive calls. */
class SocketBufferEdgeTest {
    static ByteBuffer readOnly(boolean direct) {
        return (direct ? ByteBuffer.allocateDirect(16) : ByteBuffer.allocate(16)).asReadOnlyBuffer();
    }

    @ParameterizedTest(name = "direct={0}")
    @ValueSource(booleans = {false, true})
    @DisplayName("FAULT-07, FD-06: a read-only buffer is refused before the call; the message and its descriptors stay queued")
    void aReadOnlyBufferIsRefusedBeforeReceivingDescriptors(boolean direct) throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.SEQPACKET); Pipe pipe = Pipe.open()) {
            var before = Fds.snapshot();
            p.first().sendDescriptors(text("fd"), List.of(pipe.sink().descriptor()));
            ByteBuffer ro = readOnly(direct);
            assertThrows(IllegalArgumentException.class, () -> p.second().receiveDescriptors(ro, 2));
            assertEquals(0, ro.position(), "nothing written into the read-only buffer");
            Fds.assertNoneAdded(before);
            ByteBuffer b = ByteBuffer.allocate(16);
            List<Descriptor> got = p.second().receiveDescriptors(b, 2);
            assertEquals("fd", text(b), "the message is still there");
            assertEquals(1, got.size());
            got.get(0).close();
        }
    }

    @ParameterizedTest(name = "direct={0}")
    @ValueSource(booleans = {false, true})
    @DisplayName("FAULT-07: receiveFrom into a read-only buffer is refused before the call; the datagram stays queued")
    void aReadOnlyBufferIsRefusedBeforeReceivingADatagram(boolean direct) throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.DATAGRAM)) {
            p.first().write(text("dgram"));
            ByteBuffer ro = readOnly(direct);
            assertThrows(IllegalArgumentException.class, () -> p.second().receiveFrom(ro));
            assertEquals(0, ro.position());
            ByteBuffer b = ByteBuffer.allocate(16);
            p.second().receiveFrom(b);
            assertEquals("dgram", text(b), "the datagram is still there");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"SEQPACKET", "DATAGRAM"})
    @DisplayName("UDS-09, FD-06: a message with descriptors cut to a small buffer is reported, its descriptors closed at once")
    void aTruncatedMessageLeavesNoDescriptorOpen(String type) throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.valueOf(type)); Pipe pipe = Pipe.open()) {
            var before = Fds.snapshot();
            p.first().sendDescriptors(text("longer than two"), List.of(pipe.sink().descriptor(), pipe.source().descriptor()));
            ByteBuffer small = ByteBuffer.allocate(2);
            MessageTruncatedException e = assertThrows(MessageTruncatedException.class,
                    () -> p.second().receiveDescriptors(small, 4));
            assertEquals(15, e.length());
            Fds.assertNoneAdded(before);
        }
    }
}
