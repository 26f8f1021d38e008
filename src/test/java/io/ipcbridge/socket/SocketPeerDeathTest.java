package io.ipcbridge.socket;

import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.testing.PeerDeath;
import io.ipcbridge.testing.Peers;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Connected AF_UNIX sockets whose C peer is SIGKILLed mid-transfer (RELIABILITY.md FAULT-01). */
class SocketPeerDeathTest {
    private static final String ENDLESS = Long.toString(1L << 40);

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Socket.Type.class, names = {"STREAM", "SEQPACKET"})
    void aWriterKilledMidTransferIsEndOfFile(Socket.Type type) throws Exception {
        // FAULT-01 (stream and seqpacket, writer killed)
        try (Socket.Pair pair = Socket.pair(type);
                ChildProcess writer = Command.of(Peers.path("sock_peer"), "source-fd", "3", ENDLESS, "1")
                        .fd(3, pair.second()).start()) {
            pair.second().close();
            PeerDeath.writerKilledMidTransferSurfacesAsEndOfFile(pair.first(), writer);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Socket.Type.class, names = {"STREAM", "SEQPACKET"})
    void aReaderKilledMidTransferIsPeerClosed(Socket.Type type) throws Exception {
        // FAULT-01 (stream and seqpacket, reader killed)
        try (Socket.Pair pair = Socket.pair(type);
                ChildProcess reader = Command.of(Peers.path("sock_peer"), "sink-fd", "3").fd(3, pair.second())
                        .start()) {
            pair.second().close();
            PeerDeath.readerKilledMidTransferSurfacesAsPeerClosed(pair.first(), reader);
        }
    }
}
