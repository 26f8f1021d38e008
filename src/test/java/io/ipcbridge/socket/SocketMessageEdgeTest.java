package io.ipcbridge.socket;

import static io.ipcbridge.socket.SocketTest.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.Descriptor;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.testing.Blocked;
import io.ipcbridge.testing.Fds;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** UDS-09, UDS-11, UDS-13: datagram and seqpacket receives at their edges, against the real kernel. */
class SocketMessageEdgeTest {
    private static final Duration LIMIT = Duration.ofSeconds(10);
    /** recvmsg(2) on x86_64, for {@link Blocked#start}. */
    private static final int RECVMSG = 47;

    @ParameterizedTest(name = "{0}")
    @EnumSource(Socket.Type.class)
    @DisplayName("UDS-11: after shutdownInput, what was queued is read, then end of stream (-1), also through the InputStream")
    void aReadAfterShutdownInputIsEndOfStream(Socket.Type type) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair p = Socket.pair(type)) {
                p.first().write(text("q"));
                p.second().shutdownInput();
                ByteBuffer b = ByteBuffer.allocate(8);
                assertEquals(1, p.second().read(b), "what was queued before the shutdown");
                assertEquals(-1, p.second().read(b.clear()), "then the end, as recv(2) returning 0 says");
                assertEquals(-1, p.second().read(b.clear()), "and again");
                assertEquals(-1, p.second().inputStream().read(), "the InputStream ends, never spins on 0");
                p.second().setReadTimeout(Duration.ofMillis(200));
                // recvmsg(MSG_DONTWAIT) says EAGAIN here where a blocking one says 0, and poll says
                // readable: the timed read spun past its deadline for ever
                assertEquals(-1, p.second().read(b.clear()), "a timed read too, at once");
                assertEquals(List.of(), p.second().receiveDescriptors(b.clear(), 1), "a timed receive of descriptors");
                assertEquals(0, b.position());
                p.second().setReadTimeout(null);
                p.second().descriptor().setNonBlocking(true);
                assertEquals(-1, p.second().read(b.clear()), "a non-blocking read");
                assertEquals(-1, p.second().inputStream().read(), "the InputStream of a non-blocking socket");
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"autobind", "127.0.0.1", "::1"})
    @DisplayName("UDS-11: a bound datagram socket (AF_UNIX, UDP) shut down for reading ends its blocked reader")
    void aBoundDatagramSocketShutDownForReadingIsEndOfStream(String host) {
        // UDP: Linux applies the shutdown of an unconnected socket (and wakes its readers) but still says
        // ENOTCONN, which shutdownInput threw, as if nothing had happened
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket s = Socket.bind(host.equals("autobind") ? null : Address.inet(host, 0))) {
                Blocked.Call<Integer> reader = Blocked.start(() -> s.read(ByteBuffer.allocate(4)), RECVMSG);
                s.shutdownInput();
                assertEquals(-1, reader.result().get(), "the reader it woke");
                assertEquals(-1, s.read(ByteBuffer.allocate(4)));
                assertEquals(-1, s.inputStream().read());
                // not null, which reads as an unnamed sender: a loop over receiveFrom would spin
                assertThrows(java.io.EOFException.class, () -> s.receiveFrom(ByteBuffer.allocate(4)));
            }
        });
    }

    @Test
    @DisplayName("UDS-09: an empty datagram is still 0, not the end")
    void anEmptyDatagramIsNotTheEnd() throws Exception {
        try (Socket.Pair p = Socket.pair(Socket.Type.DATAGRAM)) {
            p.first().write(ByteBuffer.allocate(0));
            p.first().write(text("x"));
            ByteBuffer b = ByteBuffer.allocate(4);
            assertEquals(0, p.second().read(b));
            assertEquals(1, p.second().read(b));
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Socket.Type.class, names = {"DATAGRAM", "SEQPACKET"})
    @DisplayName("UDS-09, FD-06: a message cut to the buffer is reported as cut also when it brought more descriptors than room")
    void aCutMessageWithTooManyDescriptorsIsReportedAsCut(Socket.Type type) throws Exception {
        try (Socket.Pair p = Socket.pair(type); Pipe pipe = Pipe.open()) {
            List<Descriptor> three = Collections.nCopies(3, pipe.sink().descriptor());
            var before = Fds.snapshot();
            p.first().sendDescriptors(ByteBuffer.allocate(100), three);
            MessageTruncatedException e = assertThrows(MessageTruncatedException.class,
                    () -> p.second().receiveDescriptors(ByteBuffer.allocate(10), 1),
                    "90 of the 100 bytes are lost: never reported as 10 bytes kept");
            assertEquals(100, e.length());
            assertEquals(1, e.getSuppressed().length, "the descriptors' loss is reported too");
            assertTrue(e.getSuppressed()[0] instanceof AncillaryDataTruncatedException, e.getSuppressed()[0]::toString);
            p.first().sendDescriptors(ByteBuffer.allocate(100), three);
            e = assertThrows(MessageTruncatedException.class, () -> p.second().read(ByteBuffer.allocate(10)),
                    "a plain read too");
            assertEquals(100, e.length());
            assertTrue(e.getSuppressed().length == 1 && e.getSuppressed()[0] instanceof AncillaryDataTruncatedException,
                    "a plain read reports the dropped descriptors too");
            Fds.assertNoneAdded(before);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Socket.Type.class)
    @DisplayName("UDS-13: the InputStream of a socket made non-blocking keeps the read timeout")
    void theInputStreamOfANonBlockingSocketKeepsTheReadTimeout(Socket.Type type) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Socket.Pair p = Socket.pair(type)) {
                p.second().descriptor().setNonBlocking(true);
                p.second().setReadTimeout(Duration.ofMillis(100));
                InputStream in = p.second().inputStream();
                long start = System.nanoTime();
                assertThrows(SocketTimeoutException.class, in::read, "as the InputStream of a blocking socket does");
                long millis = (System.nanoTime() - start) / 1_000_000;
                assertTrue(millis >= 100, "waited " + millis + " ms");
                p.first().write(text("k"));
                assertEquals('k', in.read(), "still usable");
            }
        });
    }
}
