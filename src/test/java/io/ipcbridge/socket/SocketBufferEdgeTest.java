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

    /**
     * Sends "fd" with a descriptor over a pair of {@code type}, has {@code bad} refused by
     * receiveDescriptors before the call, and checks that the message and its descriptor are still queued.
     */
    private static IllegalArgumentException refusedWithTheMessageKept(Socket.Type type, ByteBuffer bad)
            throws Exception {
        try (Socket.Pair p = Socket.pair(type); Pipe pipe = Pipe.open()) {
            var before = Fds.snapshot();
            p.first().sendDescriptors(text("fd"), List.of(pipe.sink().descriptor()));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> p.second().receiveDescriptors(bad, 2));
            assertEquals(0, bad.position(), "nothing written into the buffer");
            Fds.assertNoneAdded(before);
            ByteBuffer b = ByteBuffer.allocate(16);
            List<Descriptor> got = p.second().receiveDescriptors(b, 2);
            assertEquals("fd", text(b), "the message is still there");
            assertEquals(1, got.size(), "and its descriptor with it");
            got.get(0).close();
            return e;
        }
    }

    @ParameterizedTest(name = "direct={0}")
    @ValueSource(booleans = {false, true})
    @DisplayName("FAULT-07, FD-06: a read-only buffer is refused before the call; the message and its descriptors stay queued")
    void aReadOnlyBufferIsRefusedBeforeReceivingDescriptors(boolean direct) throws Exception {
        refusedWithTheMessageKept(Socket.Type.SEQPACKET, readOnly(direct));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"STREAM", "SEQPACKET", "DATAGRAM"})
    @DisplayName("FAULT-07, FD-06: a buffer with no room is refused before the call; the message and its descriptors stay queued")
    void aBufferWithNoRoomIsRefusedBeforeReceivingDescriptors(String type) throws Exception {
        // recvmsg would take a stream's descriptor without its bytes, or cut a datagram or seqpacket message whole
        IllegalArgumentException e = refusedWithTheMessageKept(Socket.Type.valueOf(type), ByteBuffer.allocate(0));
        assertEquals("descriptors travel with at least one byte of data: the buffer has no room", e.getMessage());
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
