package io.ipcbridge.conn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.Socket;
import java.io.EOFException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Connections between Java ends: framing, limits, ends of stream and both handshakes. */
class ConnectionTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @ParameterizedTest(name = "duplex={0}")
    @ValueSource(booleans = {true, false})
    void messagesOfEverySizeCrossIntactAndTheEndIsClean(boolean duplex) throws Exception {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Connection.Pair p = Connection.pipe(duplex)) {
                Connection reader = duplex ? p.second() : p.first();
                Connection writer = duplex ? p.first() : p.second();
                int[] sizes = {0, 1, 16384, 16385, 1 << 20};
                CompletableFuture<Void> sending = CompletableFuture.runAsync(() -> {
                    try {
                        for (int size : sizes) {
                            byte[] m = new byte[size];
                            java.util.Arrays.fill(m, (byte) size);
                            writer.sendBytes(m);
                        }
                        writer.close();
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                for (int size : sizes) {
                    byte[] m = reader.recvBytes();
                    assertEquals(size, m.length);
                    for (byte b : m) {
                        if (b != (byte) size) {
                            throw new AssertionError("corrupted message of " + size);
                        }
                    }
                }
                sending.get();
                EOFException end = assertThrows(EOFException.class, reader::recvBytes);
                assertTrue(end.getMessage().contains("closed the connection"), end.getMessage());
            }
        });
    }

    @Test
    void aOneWayPairSendsOnlyOneWay() throws Exception {
        try (Connection.Pair p = Connection.pipe(false)) {
            assertThrows(NonWritableChannelException.class, () -> p.first().send("x"));
            p.second().send("one way");
            assertTrue(p.first().poll(Duration.ofSeconds(5)));
            assertEquals("one way", p.first().recv());
            assertFalse(p.first().poll(Duration.ZERO));
        }
    }

    @Test
    void theWireFormatIsCPythons() throws Exception {
        // 4-byte big-endian signed length, then the payload
        try (Socket.Pair raw = Socket.pair(Socket.Type.STREAM)) {
            Connection c = Connection.over(raw.first());
            c.send("abc");
            ByteBuffer b = ByteBuffer.allocate(16);
            raw.second().read(b);
            assertEquals("00000003616263", HexFormat.of().formatHex(b.array(), 0, b.position()));
            raw.second().write(ByteBuffer.wrap(HexFormat.of().parseHex("ffffffff00000000000000026869")));
            assertEquals("hi", c.recv(), "the 8-byte length form of large messages is read too");
        }
    }

    @Test
    void aHugeAnnouncedFrameIsRefusedWithoutAllocatingAndClosesTheConnection() throws Exception {
        try (Socket.Pair raw = Socket.pair(Socket.Type.STREAM)) {
            Connection c = Connection.over(raw.first());
            raw.second().write(ByteBuffer.wrap(HexFormat.of().parseHex("7fffffff")));
            ProtocolException e = assertThrows(ProtocolException.class, c::recvBytes);
            assertTrue(e.getMessage().contains("2147483647 bytes announced"), e.getMessage());
            assertFalse(c.isOpen());
            assertThrows(ClosedChannelException.class, () -> c.send("x"), "use after close");
        }
    }

    @Test
    void aTruncatedFrameIsAnEndOfFileThatSaysSo() throws Exception {
        try (Socket.Pair raw = Socket.pair(Socket.Type.STREAM)) {
            Connection c = Connection.over(raw.first());
            raw.second().write(ByteBuffer.wrap(HexFormat.of().parseHex("0000000a616263")));
            raw.second().close();
            EOFException e = assertThrows(TruncatedMessageException.class, c::recvBytes);
            assertTrue(e.getMessage().contains("inside a message: expected 10 bytes, got 3"), e.getMessage());
            c.close();
        }
        try (Socket.Pair raw = Socket.pair(Socket.Type.STREAM)) {
            Connection c = Connection.over(raw.first());
            raw.second().write(ByteBuffer.wrap(new byte[] {0, 0}));
            raw.second().close();
            EOFException e = assertThrows(EOFException.class, c::recvBytes);
            assertTrue(e.getMessage().contains("inside a message header"), e.getMessage());
            c.close();
        }
    }

    @Test
    void aMessageThatDoesNotFitTheBufferIsDroppedAndTheStreamStaysInStep() throws Exception {
        try (Connection.Pair p = Connection.pipe(true)) {
            p.first().sendBytes(new byte[100]);
            p.first().send("next");
            assertThrows(java.nio.BufferOverflowException.class, () -> p.second().recvBytesInto(ByteBuffer.allocate(10)));
            ByteBuffer b = ByteBuffer.allocate(10);
            assertEquals(4, p.second().recvBytesInto(b));
            assertEquals("next", new String(b.array(), 0, 4, StandardCharsets.UTF_8));
        }
    }

    @Test
    void listenerAndClientAuthenticateWithTheSameKeyAndRefuseAnother() throws Exception {
        Address a = Address.unix(dir.resolve("auth.sock"));
        byte[] key = "secret".getBytes(StandardCharsets.US_ASCII);
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Listener listener = Listener.listen(a, key)) {
                CompletableFuture<String> server = CompletableFuture.supplyAsync(() -> {
                    try (Connection c = listener.accept()) {
                        return c.recv();
                    } catch (Exception e) {
                        return "server: " + e.getClass().getSimpleName();
                    }
                });
                try (Connection c = Connection.connect(a, key)) {
                    c.send("authenticated");
                }
                assertEquals("authenticated", server.get());

                CompletableFuture<String> refused = CompletableFuture.supplyAsync(() -> {
                    try (Connection c = listener.accept()) {
                        return c.recv();
                    } catch (Exception e) {
                        return "server: " + e.getClass().getSimpleName();
                    }
                });
                AuthenticationException e = assertThrows(AuthenticationException.class,
                        () -> Connection.connect(a, "wrong".getBytes(StandardCharsets.US_ASCII)));
                assertTrue(e.getMessage().contains("rejected our digest"), e.getMessage());
                assertEquals("server: AuthenticationException", refused.get());
            }
        });
    }

    @Test
    void garbageInsteadOfAChallengeIsAProtocolError() throws Exception {
        try (Socket.Pair raw = Socket.pair(Socket.Type.STREAM)) {
            Connection c = Connection.over(raw.first());
            Connection.over(raw.second()).send("#HELLO#not a challenge at all");
            assertThrows(ProtocolException.class, () -> Handshake.answer(c, new byte[] {1}));
            assertFalse(c.isOpen());
        }
    }

    @Test
    void theDigestPrefixedAnswerIsTheOneSpecifiedForPython312() throws Exception {
        // recorded from the spec (CPython 3.12 Lib/multiprocessing/connection.py _create_response):
        // answer = b'{sha256}' + HMAC-SHA256(key, message), where message includes its {sha256} prefix
        byte[] key = "authkey".getBytes(StandardCharsets.US_ASCII);
        byte[] message = new byte[48];
        System.arraycopy("{sha256}".getBytes(StandardCharsets.US_ASCII), 0, message, 0, 8);
        for (int i = 8; i < 48; i++) {
            message[i] = (byte) i;
        }
        // python3 -c "import hmac; m=b'{sha256}'+bytes(range(8,48)); print(hmac.new(b'authkey', m, 'sha256').hexdigest())"
        String recorded = "6a683b97231e2c6537ccf385ea824ee5e41c5570e33fda91150460234d878223";
        byte[] answer = Handshake.response(key, message);
        assertEquals("{sha256}" + recorded, new String(answer, 0, 8, StandardCharsets.US_ASCII)
                + HexFormat.of().formatHex(answer, 8, answer.length));
        assertTrue(Handshake.verify(key, message, answer));
        // a 3.11 peer answers a prefixed challenge with a raw HMAC-MD5 over the whole message: accepted
        Mac md5 = Mac.getInstance("HmacMD5");
        md5.init(new SecretKeySpec(key, "HmacMD5"));
        assertTrue(Handshake.verify(key, message, md5.doFinal(message)));
        assertFalse(Handshake.verify("other".getBytes(StandardCharsets.US_ASCII), message, answer));
        // a legacy 20-byte challenge is answered with the raw HMAC-MD5
        byte[] legacy = java.util.Arrays.copyOfRange(message, 8, 28);
        assertArrayEquals(md5.doFinal(legacy), Handshake.response(key, legacy));
    }
}
