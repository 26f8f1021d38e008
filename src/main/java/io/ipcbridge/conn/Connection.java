package io.ipcbridge.conn;

import io.ipcbridge.Descriptor;
import io.ipcbridge.HasDescriptor;
import io.ipcbridge.internal.posix.Deadline;
import io.ipcbridge.internal.posix.SocketCalls;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.Socket;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

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
 * <p>A receive reads ahead: one read(2) takes in as much as the peer has written (up to 16 KiB), and
 * the messages after the one returned wait in this object, where {@link #poll} sees them; a small
 * message is sent with one write(2), its header in front.
 *
 * <p>Thread safety: one thread may send while another receives; sends are serialised with each
 * other, and so are receives (a timed receive waits its turn at most its timeout).
 */
public final class Connection implements AutoCloseable, HasDescriptor {
    /** The default largest message a connection accepts: 64 MiB. */
    public static final long DEFAULT_MAX_MESSAGE = 64L << 20;
    /** How long {@link #connect(Address, byte[])} and {@link Listener#accept()} allow the handshake: 10 s. */
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /** Messages up to this size go out in one write, their header copied in front of them. */
    private static final int SMALL = 16384;
    /** A message's array starts at most this large and doubles as its bytes arrive. */
    private static final int FIRST_CHUNK = 65536;
    /** The read-ahead buffer: one read takes in as many frames as the peer has written, up to this. */
    private static final int READ_AHEAD = 16384;
    /** The largest array a JVM allocates, and so the largest message received. */
    private static final long LARGEST_ARRAY = Integer.MAX_VALUE - 8;

    private final String name;
    private final java.nio.channels.ReadableByteChannel in;
    private final java.nio.channels.WritableByteChannel out;
    private final Descriptor readSide;
    private final Descriptor writeSide;
    private final Object sendLock = new Object();
    /** Held by a receive; {@link #poll} only tries it, so a receive under way cannot stretch its timeout. */
    private final ReentrantLock recvLock = new ReentrantLock();
    /** Header and small payload, written at once; the header alone in front of a large payload. */
    private final ByteBuffer small;
    /** Bytes read and not yet received, between position and limit (guarded by recvLock). */
    private final ByteBuffer buffered;
    private volatile long maxMessage = DEFAULT_MAX_MESSAGE;

    private Connection(String name, java.nio.channels.ReadableByteChannel in, Descriptor readSide,
            java.nio.channels.WritableByteChannel out, Descriptor writeSide) {
        this.name = name;
        this.in = in;
        this.out = out;
        this.readSide = readSide;
        this.writeSide = writeSide;
        this.small = out == null ? null : ByteBuffer.allocateDirect(4 + SMALL);
        this.buffered = in == null ? null : ByteBuffer.allocateDirect(READ_AHEAD).limit(0);
    }

    /**
     * A duplex connection over a connected stream socket, which it takes over.
     *
     * @throws IllegalArgumentException if it is not a stream socket (the framing is a byte stream's:
     *     a seqpacket or datagram socket would cut messages at its records); it is left open
     */
    public static Connection over(Socket socket) {
        if (socket.type() != Socket.Type.STREAM) {
            throw new IllegalArgumentException(socket.descriptor().name() + " is a " + socket.type()
                    + " socket; a connection needs a stream socket");
        }
        return new Connection("connection " + socket.descriptor().name(), socket, socket.descriptor(), socket,
                socket.descriptor());
    }

    /**
     * A connection that reads {@code source} and writes {@code sink} (either may be null for a
     * one-way end), taking them over: e.g. a pipe from a parent on fd 3 ({@code Descriptor.adopt}).
     *
     * @throws IllegalArgumentException if either is a socket but a stream one (read(2) would drop
     *     the rest of a seqpacket or datagram record); both are left open
     * @throws java.nio.channels.ClosedChannelException if either is closed
     */
    public static Connection over(Descriptor source, Descriptor sink) throws IOException {
        if (source == null && sink == null) {
            throw new IllegalArgumentException("a connection needs a side to read or to write");
        }
        checkStream(source);
        checkStream(sink);
        String n = "connection " + (source != null ? source.name() : sink.name());
        return new Connection(n, source, source, sink, sink);
    }

    /** Refuses a socket {@code d} that keeps record boundaries: the framing is a byte stream's. */
    private static void checkStream(Descriptor d) throws IOException {
        if (d == null) {
            return;
        }
        int type = d.withFd(f -> SocketCalls.typeOrNone(f, d.name()));
        if (type >= 0 && type != SocketCalls.SOCK_STREAM) {
            throw new IllegalArgumentException(d.name() + " is a " + (type == SocketCalls.SOCK_SEQPACKET ? "SEQPACKET"
                    : type == SocketCalls.SOCK_DGRAM ? "DATAGRAM" : "type " + type)
                    + " socket; a connection needs a stream socket");
        }
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
     * challenges it, all within {@link #DEFAULT_HANDSHAKE_TIMEOUT}.
     *
     * @param authkey the shared key, or null or empty for none (as a Listener, Python's too, takes an
     *     empty key; Python's Client instead authenticates with it, and waits for a challenge)
     * @throws AuthenticationException if the keys differ
     * @throws SocketTimeoutException if the listener does not accept the connection, or complete the
     *     handshake, in time
     */
    public static Connection connect(Address address, byte[] authkey) throws IOException {
        return connect(address, authkey, DEFAULT_HANDSHAKE_TIMEOUT);
    }

    /**
     * As {@link #connect(Address, byte[])}, with {@code timeout} for connecting and the handshake
     * together, so a listener that accepts and then stays silent cannot hold the caller for ever.
     *
     * @param authkey the shared key, or null or empty for none, as {@link #connect(Address, byte[])} says
     * @param timeout how long connecting and authenticating may take; zero allows no waiting
     * @throws AuthenticationException if the keys differ
     * @throws SocketTimeoutException if the timeout passes first (the connection is then closed)
     */
    public static Connection connect(Address address, byte[] authkey, Duration timeout) throws IOException {
        long deadline = Deadline.of(Objects.requireNonNull(timeout, "timeout"));
        Connection c = over(Socket.connect(address, Socket.Type.STREAM, timeout));
        try {
            if (authkey != null && authkey.length > 0) {
                Handshake.answer(c, authkey, deadline);
                Handshake.deliver(c, authkey, deadline);
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /**
     * The largest message this end accepts; a larger announced frame closes the connection. A
     * message is received into a Java array, so above {@code Integer.MAX_VALUE - 8} bytes (the
     * largest a JVM allocates) none is accepted, whatever this says: Python's largest short-form
     * frame, 0x7FFFFFFF bytes, and its 8-byte-length frames are refused.
     */
    public void setMaxMessageSize(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative size: " + bytes);
        }
        maxMessage = bytes;
    }

    /** Sends {@code data} as one message. */
    public void sendBytes(byte[] data) throws IOException {
        sendBytes(ByteBuffer.wrap(Objects.requireNonNull(data, "data")));
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
            small.clear().putInt(length);
            if (length <= SMALL) {
                writeFully(small.put(data).flip()); // one write(2) per message
            } else {
                writeFully(small.flip());
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
            if (out.write(b) == 0) {
                // a non-blocking descriptor (e.g. inherited so) is full: wait for room, not spin
                writeSide.awaitWritable(null);
            }
        }
    }

    /**
     * Receives one message.
     *
     * <p>A receive that fails inside a message (e.g. a read timeout set on the socket passes
     * after its header) closes the connection, whose place in the stream is lost; one that fails
     * before a whole header has come leaves it open and in step.
     *
     * @throws EOFException at a clean end (the peer closed between messages), or when the peer
     *     closed inside a message (the message says so)
     * @throws ProtocolException if the announced length is larger than this end accepts
     */
    public byte[] recvBytes() throws IOException {
        return recvBytes(Deadline.NEVER);
    }

    /**
     * Receives one message, waiting at most {@code timeout} for all of it, not only for its start:
     * a peer that sends part of a message and stalls cannot hold the caller longer. Zero takes a
     * message already there without waiting.
     *
     * @return the message, or empty if no whole header came in time, or another thread's receive
     *     held the connection all that time (the connection stays open and in step: what came of a
     *     header is kept for the next receive)
     * @throws SocketTimeoutException if the timeout passed inside a message; the connection is
     *     then closed, as its place in the stream is lost
     * @throws EOFException as {@link #recvBytes()}
     * @throws IllegalArgumentException if {@code timeout} is negative, before any wait
     */
    public Optional<byte[]> recvBytes(Duration timeout) throws IOException {
        long deadline = Deadline.of(Objects.requireNonNull(timeout, "timeout"));
        try {
            return Optional.of(recvBytes(deadline));
        } catch (SocketTimeoutException e) {
            if (isOpen()) {
                return Optional.empty();
            }
            SocketTimeoutException inside = new SocketTimeoutException(name + ": a message began but did not"
                    + " end within " + timeout + "; the connection is closed (its place in the stream is lost)");
            inside.initCause(e);
            throw inside;
        }
    }

    /** {@link #recvBytes()}, waiting for the peer until {@code deadline} (a {@link Deadline}). */
    byte[] recvBytes(long deadline) throws IOException {
        lockForReceive(deadline);
        try {
            long length = readHeader(deadline);
            try {
                return readMessage(length, deadline);
            } catch (Throwable t) {
                abandon(t);
                throw t;
            }
        } finally {
            recvLock.unlock();
        }
    }

    /**
     * Takes {@link #recvLock}, waiting for another thread's receive at most until {@code deadline}
     * (a {@link Deadline}), so that it cannot hold a timed receive past its timeout; an interrupt in
     * that wait ends it as one in the receive would, closing the connection.
     *
     * @throws SocketTimeoutException if the other receive held it past the deadline
     */
    private void lockForReceive(long deadline) throws IOException {
        if (deadline == Deadline.NEVER) {
            recvLock.lock();
            return;
        }
        if (recvLock.tryLock()) {
            return; // also at a deadline already passed, without taking a pending interrupt
        }
        boolean locked = false;
        if (!Deadline.passed(deadline)) {
            try {
                locked = recvLock.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                close();
                throw new ClosedByInterruptException();
            }
        }
        if (!locked) {
            throw new SocketTimeoutException(name + ": another thread's receive held the connection past the timeout");
        }
    }

    /**
     * Closes the connection after a receive failed inside a message (a read timeout set on the
     * socket, an error, no memory): its header and part of its payload are taken, so the next
     * receive would read the rest of the payload as frames.
     */
    private void abandon(Throwable cause) {
        try {
            close();
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    /**
     * Reads a message of {@code length} bytes into an array that grows as the bytes arrive, so a
     * peer that announces a large frame and stalls holds only what it really sent.
     */
    private byte[] readMessage(long length, long deadline) throws IOException {
        byte[] data = new byte[(int) Math.min(length, FIRST_CHUNK)];
        int got = 0;
        while (got < length) {
            if (got == data.length) {
                data = java.util.Arrays.copyOf(data, (int) Math.min(length, 2L * data.length));
            }
            readPayload(data, got, null, data.length - got, length, deadline);
            got = data.length;
        }
        return data;
    }

    /**
     * Receives one message into {@code dst}.
     *
     * @return its length
     * @throws java.nio.BufferOverflowException if it does not fit (the message is then read and
     *     dropped, so the stream stays in step)
     * @throws java.nio.ReadOnlyBufferException if {@code dst} is read-only (nothing is received)
     */
    public int recvBytesInto(ByteBuffer dst) throws IOException {
        if (dst.isReadOnly()) {
            throw new java.nio.ReadOnlyBufferException();
        }
        recvLock.lock();
        try {
            long length = readHeader(Deadline.NEVER);
            boolean fits = length <= dst.remaining();
            int limit = dst.limit();
            try {
                if (fits) {
                    dst.limit(dst.position() + (int) length);
                }
                readPayload(null, 0, fits ? dst : null, length, length, Deadline.NEVER);
            } catch (Throwable t) {
                abandon(t);
                throw t;
            } finally {
                dst.limit(limit);
            }
            if (!fits) {
                throw new java.nio.BufferOverflowException();
            }
            return (int) length;
        } finally {
            recvLock.unlock();
        }
    }

    /** Receives one message as UTF-8 text. */
    public String recv() throws IOException {
        return new String(recvBytes(), StandardCharsets.UTF_8);
    }

    /**
     * Whether a message (or the end) is there to receive, waiting at most {@code timeout}; zero
     * checks without waiting. A message already read ahead counts, though the descriptor has
     * nothing more to read. While another thread is inside a receive, what is read ahead is its
     * message, and only the descriptor is asked.
     */
    public boolean poll(Duration timeout) throws IOException {
        Objects.requireNonNull(timeout, "timeout");
        checkReadable();
        if (recvLock.tryLock()) {
            try {
                if (frameBuffered()) {
                    return true;
                }
            } finally {
                recvLock.unlock();
            }
        }
        return readSide.awaitReadable(timeout);
    }

    private void checkReadable() throws ClosedChannelException {
        if (in == null) {
            throw new java.nio.channels.NonReadableChannelException();
        }
        if (!readSide.isOpen()) {
            throw new ClosedChannelException(); // with no read(2), though messages may be buffered
        }
    }

    /** Whether the read-ahead buffer holds a whole frame, or a header that is an error. */
    private boolean frameBuffered() {
        int have = buffered.remaining();
        if (have < 4) {
            return false;
        }
        long length = buffered.getInt(buffered.position());
        int header = 4;
        if (length == -1) {
            if (have < 12) {
                return false;
            }
            length = buffered.getLong(buffered.position() + 4);
            header = 12;
        }
        return length < 0 || length > accepted() || have - header >= length;
    }

    /** The largest message received: the limit set, but never above the largest Java array. */
    private long accepted() {
        return Math.min(maxMessage, LARGEST_ARRAY);
    }

    private long readHeader(long deadline) throws IOException {
        checkReadable();
        if (!ensureBuffered(4, deadline)) {
            throw new EOFException(name + ": the peer closed the connection");
        }
        long length = buffered.getInt(buffered.position());
        int header = 4;
        if (length == -1) {
            ensureBuffered(12, deadline);
            length = buffered.getLong(buffered.position() + 4);
            header = 12;
        }
        if (header == 4 && length < 0) {
            close();
            throw new ProtocolException(name, "a frame length of " + length + " announced (CPython sends no negative"
                    + " length but -1, in front of an 8-byte length)");
        }
        long accepted = accepted();
        if (length < 0 || length > accepted) {
            close();
            throw new ProtocolException(name, "a frame of " + Long.toUnsignedString(length)
                    + " bytes announced, more than this end accepts (" + accepted
                    + (accepted < maxMessage ? ", the largest Java array" : "") + ")");
        }
        buffered.position(buffered.position() + header);
        return length;
    }

    /** Reads ahead until {@code n} bytes are buffered; false if the stream ended with none. */
    private boolean ensureBuffered(int n, long deadline) throws IOException {
        while (buffered.remaining() < n) {
            if (!fill(deadline)) {
                if (!buffered.hasRemaining()) {
                    return false;
                }
                throw new TruncatedMessageException(name + ": the peer closed inside a message header: expected " + n
                        + " bytes, got " + buffered.remaining());
            }
        }
        return true;
    }

    /**
     * Moves the {@code length}-byte payload into {@code array} or else {@code dst} (both null drop
     * it): first what is read ahead, then through the buffer, except that a large rest is read
     * straight into its place. No allocation but for a large rest of an array.
     */
    private void readPayload(byte[] array, int offset, ByteBuffer dst, long length, long message, long deadline)
            throws IOException {
        long left = length;
        while (left > 0) {
            int done = offset + (int) (length - left);
            if (!buffered.hasRemaining()) {
                if ((array != null || dst != null) && left >= READ_AHEAD / 2) {
                    int n = read(array != null ? ByteBuffer.wrap(array, done, (int) left) : dst, deadline);
                    if (n < 0) {
                        throw truncated(message, message - (offset + length - left));
                    }
                    left -= n;
                    continue;
                }
                if (!fill(deadline)) {
                    throw truncated(message, message - (offset + length - left));
                }
            }
            int take = (int) Math.min(left, buffered.remaining());
            if (array != null) {
                buffered.get(array, done, take);
            } else {
                if (dst != null) {
                    dst.put(dst.position(), buffered, buffered.position(), take);
                    dst.position(dst.position() + take);
                }
                buffered.position(buffered.position() + take);
            }
            left -= take;
        }
    }

    private TruncatedMessageException truncated(long length, long left) {
        return new TruncatedMessageException(name + ": the peer closed inside a message: expected " + length
                + " bytes, got " + (length - left));
    }

    /** One read into the read-ahead buffer, after what it holds; false at end of file. */
    private boolean fill(long deadline) throws IOException {
        buffered.compact();
        try {
            return read(buffered, deadline) >= 0;
        } finally {
            buffered.flip();
        }
    }

    /** One read(2) into {@code dst}, which has room: the bytes read, or -1 at end of file. */
    private int read(ByteBuffer dst, long deadline) throws IOException {
        for (;;) {
            if (deadline != Deadline.NEVER
                    && !readSide.awaitReadable(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))) {
                throw new SocketTimeoutException(name + ": the peer sent nothing within the handshake timeout");
            }
            int n = in.read(dst);
            if (n != 0) {
                return n;
            }
            if (deadline == Deadline.NEVER) {
                // a non-blocking descriptor (e.g. inherited so) had nothing: wait for it, not spin
                readSide.awaitReadable(null);
            }
        }
    }

    /**
     * The descriptor this connection receives on (or sends on, for a write-only end), e.g. to hand
     * it to a child process. A receive may read several messages at once; those not yet received
     * are held here, where a new owner of the descriptor would never see them.
     *
     * @throws IllegalStateException if bytes read ahead are still held (receive them first)
     */
    @Override
    public Descriptor descriptor() {
        // not under recvLock, which a blocked receive holds: the thread handing the descriptor over
        // is the one that received, or came after it
        if (buffered != null && buffered.hasRemaining()) {
            throw new IllegalStateException(name + ": " + buffered.remaining()
                    + " bytes already read from the descriptor are not received yet");
        }
        return readSide != null ? readSide : writeSide;
    }

    /** Whether the connection is open. */
    public boolean isOpen() {
        return (readSide != null ? readSide : writeSide).isOpen();
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
