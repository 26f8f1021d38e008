package io.ipcbridge.conn;

import io.ipcbridge.Descriptor;
import io.ipcbridge.HasDescriptor;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.Socket;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;

/**
 * A message connection, the Java counterpart of Python's
 * {@code multiprocessing.connection.Connection}, on the wire exactly as CPython frames messages:
 * a 4-byte big-endian signed length, then the payload; a payload over 0x7FFFFFFF bytes is sent as
 * the length -1 and an 8-byte big-endian length. A Python process ({@code Connection(3)} on a
 * descriptor handed to it), a C program (native-tests/include/ipcb_conn.h) or another Java
 * connection is the other end; {@link #pipe} makes a pair as {@code multiprocessing.Pipe} does.
 *
 * <p>The receiver never allocates what a header announces beyond its maximum message size
 * ({@link #DEFAULT_MAX_MESSAGE} unless set): a larger frame is a {@link ProtocolException} and the
 * connection is closed. Below that, the buffer of {@link #recvBytes()} grows with the bytes that
 * really arrive (from 64 KiB, doubling), so a peer that announces a large frame and then stalls
 * costs the larger of 64 KiB and twice what it sent, never the announced length. End of file
 * between messages is a clean end ({@link EOFException} from {@link #recvBytes()}); end of file
 * inside a message is a {@link TruncatedMessageException}.
 * Messages are bytes: the string helpers send UTF-8, not pickles.
 *
 * <p>Thread safety: one thread may send while another receives; sends are serialised with each
 * other, and so are receives.
 */
public final class Connection implements AutoCloseable, HasDescriptor {
    /** The default largest message a connection accepts: 64 MiB. */
    public static final long DEFAULT_MAX_MESSAGE = 64L << 20;
    private static final int SMALL = 16384;
    private static final int FIRST_CHUNK = 65536;

    private final String name;
    private final java.nio.channels.ReadableByteChannel in;
    private final java.nio.channels.WritableByteChannel out;
    private final Descriptor readSide;
    private final Descriptor writeSide;
    private final Object sendLock = new Object();
    private final Object recvLock = new Object();
    private final ByteBuffer header = ByteBuffer.allocateDirect(8).order(ByteOrder.BIG_ENDIAN);
    private final ByteBuffer small = ByteBuffer.allocateDirect(4 + SMALL).order(ByteOrder.BIG_ENDIAN);
    private volatile long maxMessage = DEFAULT_MAX_MESSAGE;

    private Connection(String name, java.nio.channels.ReadableByteChannel in, Descriptor readSide,
            java.nio.channels.WritableByteChannel out, Descriptor writeSide) {
        this.name = name;
        this.in = in;
        this.out = out;
        this.readSide = readSide;
        this.writeSide = writeSide;
    }

    /** A duplex connection over a connected stream socket, which it takes over. */
    public static Connection over(Socket socket) {
        return new Connection("connection " + socket.descriptor().name(), socket, socket.descriptor(), socket,
                socket.descriptor());
    }

    /**
     * A connection that reads {@code source} and writes {@code sink} (either may be null for a
     * one-way end), taking them over: e.g. a pipe from a parent on fd 3 ({@code Descriptor.adopt}).
     */
    public static Connection over(Descriptor source, Descriptor sink) {
        if (source == null && sink == null) {
            throw new IllegalArgumentException("a connection needs a side to read or to write");
        }
        String n = "connection " + (source != null ? source.name() : sink.name());
        return new Connection(n, source, source, sink, sink);
    }

    /** The two ends made by {@link #pipe}. */
    public record Pair(Connection first, Connection second) implements AutoCloseable {
        /** Closes both ends. */
        @Override
        public void close() throws IOException {
            try {
                first.close();
            } finally {
                second.close();
            }
        }
    }

    /**
     * As {@code multiprocessing.Pipe(duplex)}: a duplex pair over a socketpair, or a one-way pair
     * over a pipe whose {@code first} only receives and {@code second} only sends.
     */
    public static Pair pipe(boolean duplex) throws IOException {
        if (duplex) {
            Socket.Pair p = Socket.pair(Socket.Type.STREAM);
            return new Pair(over(p.first()), over(p.second()));
        }
        Pipe p = Pipe.open();
        return new Pair(over(p.source().descriptor(), null), over(null, p.sink().descriptor()));
    }

    /**
     * As {@code multiprocessing.connection.Client}: connects to a Python {@code Listener} (or a
     * {@link Listener}) at {@code address} and, with an authkey, answers its challenge and then
     * challenges it.
     *
     * @param authkey the shared key, or null (or empty, as in Python) for none
     * @throws AuthenticationException if the keys differ
     */
    public static Connection connect(Address address, byte[] authkey) throws IOException {
        Connection c = over(Socket.connect(address, Socket.Type.STREAM));
        try {
            if (authkey != null && authkey.length > 0) {
                Handshake.answer(c, authkey);
                Handshake.deliver(c, authkey);
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** The largest message this end accepts; a larger announced frame closes the connection. */
    public void setMaxMessageSize(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative size: " + bytes);
        }
        maxMessage = bytes;
    }

    /** Sends {@code data} as one message. */
    public void sendBytes(byte[] data) throws IOException {
        sendBytes(ByteBuffer.wrap(data));
    }

    /** Sends bytes {@code offset .. offset + length} of {@code data} as one message. */
    public void sendBytes(byte[] data, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, data.length);
        sendBytes(ByteBuffer.wrap(data, offset, length));
    }

    /** Sends {@code data}'s remaining bytes as one message. */
    public void sendBytes(ByteBuffer data) throws IOException {
        if (out == null) {
            throw new java.nio.channels.NonWritableChannelException();
        }
        int length = data.remaining();
        synchronized (sendLock) {
            if (length <= SMALL) {
                small.clear().putInt(length).put(data).flip();
                writeFully(small);
            } else {
                writeFully(header.clear().putInt(length).flip());
                writeFully(data);
            }
        }
    }

    /** Sends {@code text} as one message of UTF-8 bytes. */
    public void send(String text) throws IOException {
        sendBytes(text.getBytes(StandardCharsets.UTF_8));
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            out.write(b);
        }
    }

    /**
     * Receives one message.
     *
     * @throws EOFException at a clean end (the peer closed between messages), or when the peer
     *     closed inside a message (the message says so)
     * @throws ProtocolException if the announced length is larger than this end accepts
     */
    public byte[] recvBytes() throws IOException {
        synchronized (recvLock) {
            return readMessage(readHeader());
        }
    }

    /**
     * Reads a message of {@code length} bytes into an array that grows as the bytes arrive, so a
     * peer that announces a large frame and stalls holds only what it really sent.
     */
    private byte[] readMessage(long length) throws IOException {
        byte[] data = new byte[(int) Math.min(length, FIRST_CHUNK)];
        int got = 0;
        while (got < length) {
            if (got == data.length) {
                data = java.util.Arrays.copyOf(data, (int) Math.min(length, 2L * data.length));
            }
            ByteBuffer b = ByteBuffer.wrap(data, got, data.length - got);
            if (in.read(b) < 0) {
                throw new TruncatedMessageException(name + ": the peer closed inside a message: expected " + length
                        + " bytes, got " + got);
            }
            got = b.position();
        }
        return data;
    }

    /**
     * Receives one message into {@code dst}.
     *
     * @return its length
     * @throws java.nio.BufferOverflowException if it does not fit (the message is then read and
     *     dropped, so the stream stays in step)
     */
    public int recvBytesInto(ByteBuffer dst) throws IOException {
        synchronized (recvLock) {
            long length = readHeader();
            if (length > dst.remaining()) {
                skip(length);
                throw new java.nio.BufferOverflowException();
            }
            readFully(dst.slice().limit((int) length), length);
            dst.position(dst.position() + (int) length);
            return (int) length;
        }
    }

    /** Receives one message as UTF-8 text. */
    public String recv() throws IOException {
        return new String(recvBytes(), StandardCharsets.UTF_8);
    }

    /**
     * Whether a message (or the end) is there to receive, waiting at most {@code timeout}; zero
     * checks without waiting.
     */
    public boolean poll(Duration timeout) throws IOException {
        if (readSide == null) {
            throw new java.nio.channels.NonReadableChannelException();
        }
        return readSide.awaitReadable(Objects.requireNonNull(timeout, "timeout"));
    }

    private long readHeader() throws IOException {
        if (in == null) {
            throw new java.nio.channels.NonReadableChannelException();
        }
        header.clear().limit(4);
        if (!readOrEnd(header)) {
            throw new EOFException(name + ": the peer closed the connection");
        }
        long length = header.getInt(0);
        if (length == -1) {
            readFully(header.clear().limit(8), 8);
            length = header.getLong(0);
        }
        if (length < 0 || length > maxMessage || length > Integer.MAX_VALUE - 8) {
            close();
            throw new ProtocolException(name, "a frame of " + Long.toUnsignedString(length)
                    + " bytes announced, more than this end accepts (" + maxMessage + ")");
        }
        return length;
    }

    /** Reads {@code b} full; false if the stream ended before its first byte. */
    private boolean readOrEnd(ByteBuffer b) throws IOException {
        int want = b.remaining();
        while (b.hasRemaining()) {
            if (in.read(b) < 0) {
                if (b.remaining() == want) {
                    return false;
                }
                throw new TruncatedMessageException(name + ": the peer closed inside a message header: expected " + want
                        + " bytes, got " + (want - b.remaining()));
            }
        }
        return true;
    }

    private void readFully(ByteBuffer b, long length) throws IOException {
        while (b.hasRemaining()) {
            if (in.read(b) < 0) {
                throw new TruncatedMessageException(name + ": the peer closed inside a message: expected " + length
                        + " bytes, got " + (length - b.remaining()));
            }
        }
    }

    private void skip(long length) throws IOException {
        ByteBuffer scratch = ByteBuffer.allocate((int) Math.min(length, 65536));
        for (long left = length; left > 0; left -= scratch.position()) {
            scratch.clear().limit((int) Math.min(left, scratch.capacity()));
            readFully(scratch, length);
        }
    }

    /** The descriptor this connection receives on (or sends on, for a write-only end). */
    @Override
    public Descriptor descriptor() {
        return readSide != null ? readSide : writeSide;
    }

    /** Whether the connection is open. */
    public boolean isOpen() {
        return descriptor().isOpen();
    }

    @Override
    public void close() throws IOException {
        try {
            if (readSide != null) {
                readSide.close();
            }
        } finally {
            if (writeSide != null) {
                writeSide.close();
            }
        }
    }

    /** For messages. */
    String name() {
        return name;
    }

    @Override
    public String toString() {
        return "Connection[" + name + (isOpen() ? "" : ", closed") + "]";
    }
}
