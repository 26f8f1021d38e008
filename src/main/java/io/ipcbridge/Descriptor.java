package io.ipcbridge;

import io.ipcbridge.internal.posix.Deadline;
import io.ipcbridge.internal.posix.NativeThread;
import io.ipcbridge.internal.posix.Syscalls;
import java.io.IOException;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ByteChannel;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.spi.AbstractInterruptibleChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;

/**
 * An owned file descriptor: the one descriptor type under every ipcbridge mechanism.
 *
 * <p>It closes exactly once ({@link #close()} is idempotent and thread-safe), never issues a system
 * call on a closed or reused number (use after close throws {@link ClosedChannelException}), is
 * close-on-exec when ipcbridge created it, and a {@link Cleaner} closes it if it is forgotten.
 *
 * <p><b>Ending a blocked call.</b> Like the JDK's channels, a call blocks in the plain system call,
 * with no {@code poll} before it: each system call costs about 1 us here, and a ping-pong round trip
 * only about 20 us, so an extra call per read would cost 5% of the latency. To end a blocked call,
 * {@link #close()} (or {@link Thread#interrupt()}, which closes the descriptor as the JDK's channels
 * do) first makes the number refer to a dead socket with {@code dup3} (so a thread that is just
 * about to enter a call finds end of file at once, and the number cannot be reused under it), then
 * sends the JDK's NIO wake-up signal to each thread inside a call, which makes the call return
 * EINTR; the real {@code close} happens when the last thread has left. The blocked call then throws
 * {@link java.nio.channels.AsynchronousCloseException} or
 * {@link java.nio.channels.ClosedByInterruptException}, unless the call had already ended with
 * bytes moved: a read, receive or send that completed as the close or interrupt came returns its
 * result (the descriptor is closed all the same, and an interrupted thread keeps its interrupt
 * status), where the JDK's channels throw and the bytes, or a message taken off a queue, would be
 * lost. A write cut short throws, its buffer's position telling how much went out. The cost on the fast path is a
 * {@code pthread_self} (5 ns through jnr-ffi) and two uncontended locks per call: measured pinned to
 * one CPU, a 1-byte write plus read costs about 0.90 us through the bare jnr-posix calls, about
 * 1.0 us through {@code Descriptor}, and 0.7 us in C (a poll before each read would add 1 us).
 *
 * <p>Blocking reads and writes are complete in the sense of the JDK's channels: a blocking
 * {@link #write(ByteBuffer)} writes the whole buffer, looping when the kernel takes part of it.
 */
public final class Descriptor extends AbstractInterruptibleChannel implements ByteChannel, HasDescriptor {
    /** What a {@link BufferCall} returns when it should be made again (after EINTR, EBADF, or a wait for readiness). */
    public static final int RETRY = Integer.MIN_VALUE;

    private static final Cleaner CLEANER = Cleaner.create();
    private static final int TEMP_CAPACITY = 64 * 1024;
    private static final ThreadLocal<ByteBuffer> TEMP =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(TEMP_CAPACITY));
    /**
     * The dead socket a close puts under a blocked call, made by the first {@link #adopt}: not in a
     * static initialiser, where a failure (EMFILE at RLIMIT_NOFILE) would be an
     * ExceptionInInitializerError, and every later use of the class a NoClassDefFoundError.
     */
    private static volatile int dead = -1;

    private final int fd;
    private final String name;
    private final Cleaner.Cleanable cleanable;
    private final Object lock = new Object();
    private long[] threads = new long[2];
    private int users;
    private boolean closing;
    private volatile boolean nonBlocking;
    private final BufferCall readCall = this::readOnce;
    private final BufferCall writeCall = this::writeOnce;

    private Descriptor(int fd, String name, boolean nonBlocking) {
        this.fd = fd;
        this.name = name;
        this.nonBlocking = nonBlocking;
        this.cleanable = CLEANER.register(this, new Release(fd));
    }

    /**
     * Takes ownership of an open descriptor number, e.g. fd 3 inherited from a parent process.
     * From then on only this object may close it.
     *
     * @param fd an open descriptor
     * @param name what the descriptor is, for messages (a path, "pipe", "fd 3")
     * @throws IllegalArgumentException if {@code fd} is not an open descriptor
     */
    public static Descriptor adopt(int fd, String name) throws IOException {
        Objects.requireNonNull(name, "name");
        if (fd < 0) {
            throw new IllegalArgumentException("not a descriptor: " + fd);
        }
        boolean nonBlocking;
        try {
            nonBlocking = Syscalls.isNonBlocking(fd, name);
        } catch (IllegalStateException ebadf) {
            throw new IllegalArgumentException("fd " + fd + " is not open", ebadf);
        }
        // what ending a blocked call needs, set up once; a failure is this call's, tried again next time
        deadSocket();
        NativeThread.ensureReady();
        return new Descriptor(fd, name, nonBlocking);
    }

    private static int deadSocket() throws IOException {
        int d = dead;
        if (d < 0) {
            synchronized (Descriptor.class) {
                d = dead;
                if (d < 0) {
                    d = Syscalls.deadSocket();
                    dead = d;
                }
            }
        }
        return d;
    }

    /** The descriptor number, for passing to native code of your own; valid until {@link #close()}. */
    public int fd() throws ClosedChannelException {
        if (!isOpen()) {
            throw new ClosedChannelException();
        }
        return fd;
    }

    /** This descriptor itself. */
    @Override
    public Descriptor descriptor() {
        return this;
    }

    /** What the descriptor is, as used in messages. */
    public String name() {
        return name;
    }

    /**
     * Runs {@code call} with the descriptor number, holding off a concurrent {@link #close()} until
     * it returns, so the number cannot be closed or reused meanwhile. For short, non-blocking calls.
     */
    public <T> T withFd(FdCall<T> call) throws IOException {
        long self = enter();
        try {
            return call.apply(fd);
        } catch (IOException | RuntimeException e) {
            if (isOpen()) {
                throw e;
            }
            // a close from another thread made the number refer to the dead socket meanwhile (the
            // number is not reused), and a call such as fcntl(F_GETPIPE_SZ) then fails there with
            // EBADF, which is no bug of the caller's: report the close, as a blocking call does
            throw asynchronousClose(e);
        } finally {
            leave(self);
        }
    }

    /** The failure of a call that a close from another thread made fail. */
    private static AsynchronousCloseException asynchronousClose(Exception failure) {
        AsynchronousCloseException closed = new AsynchronousCloseException();
        closed.initCause(failure);
        return closed;
    }

    /** A call made by {@link #withFd}. */
    @FunctionalInterface
    public interface FdCall<T> {
        /** Runs with the open descriptor number {@code fd}. */
        T apply(int fd) throws IOException;
    }

    /**
     * Sets or clears O_NONBLOCK. Non-blocking reads return 0 and writes write what fits; they never
     * wait, so, as with the JDK's non-blocking channels, an interrupt neither ends nor closes them.
     */
    public void setNonBlocking(boolean on) throws IOException {
        withFd(n -> {
            Syscalls.setNonBlocking(n, on, name);
            nonBlocking = on;
            return null;
        });
    }

    /** Whether O_NONBLOCK is set through this object. */
    public boolean isNonBlocking() {
        return nonBlocking;
    }

    /**
     * read(2) into {@code dst}.
     *
     * @return the bytes read, -1 at end of file, 0 in non-blocking mode when nothing is there
     */
    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("read-only buffer");
        }
        if (!dst.hasRemaining()) {
            fd();
            return 0;
        }
        if (!dst.isDirect()) {
            ByteBuffer temp = TEMP.get().clear().limit(Math.min(dst.remaining(), TEMP_CAPACITY));
            int n = read(temp);
            if (n > 0) {
                dst.put(temp.flip());
            }
            return n;
        }
        return nonBlocking ? once(dst, readCall, false) : blocking(dst, readCall);
    }

    /**
     * write(2) of {@code src}: all of it in blocking mode; what fits in non-blocking mode.
     *
     * @return the bytes written
     * @throws PeerClosedException if the reading end is gone (EPIPE); SIGPIPE never reaches the JVM
     */
    @Override
    public int write(ByteBuffer src) throws IOException {
        if (!src.isDirect()) {
            ByteBuffer temp = TEMP.get();
            int total = 0;
            do {
                int length = Math.min(src.remaining(), TEMP_CAPACITY);
                temp.clear().put(src.slice().limit(length)).flip();
                int n;
                try {
                    write(temp);
                } finally {
                    // also when the write throws (EPIPE, a close, an interrupt) after part of the
                    // temporary went out: src's position tells the caller how much did
                    n = temp.position();
                    src.position(src.position() + n);
                    total += n;
                }
                if (n < length) {
                    break;
                }
            } while (src.hasRemaining());
            return total;
        }
        if (!src.hasRemaining()) {
            fd();
            return 0;
        }
        int start = src.position();
        if (nonBlocking) {
            once(src, writeCall, false);
        } else {
            blocking(src, writeCall);
        }
        return src.position() - start;
    }

    /**
     * Waits until a read would not block (data, end of file or an error is there).
     *
     * @param timeout how long to wait (null: for ever); zero checks without waiting (so, as with
     *     {@link java.nio.channels.Selector#selectNow()}, an interrupt is not taken)
     * @return false if the timeout passed first
     */
    public boolean awaitReadable(Duration timeout) throws IOException {
        return await(Syscalls.POLLIN, timeout);
    }

    /**
     * Waits until a write would not block (room, or the reading end is gone).
     *
     * @param timeout how long to wait (null: for ever); zero checks without waiting (so, as with
     *     {@link java.nio.channels.Selector#selectNow()}, an interrupt is not taken)
     * @return false if the timeout passed first
     */
    public boolean awaitWritable(Duration timeout) throws IOException {
        return await(Syscalls.POLLOUT, timeout);
    }

    private boolean await(int events, Duration timeout) throws IOException {
        long deadline = Deadline.of(timeout);
        if (Deadline.passed(deadline)) {
            return once(null, (n, unused) -> {
                int revents = Syscalls.poll(n, events, 0, name);
                return revents == Syscalls.INTERRUPTED ? RETRY : revents;
            }, false) > 0;
        }
        return blocking(n -> {
            int revents = Syscalls.poll(n, events, Deadline.remainingMillis(deadline), name);
            if (revents > 0) {
                return true;
            }
            return revents == 0 && Deadline.passed(deadline) ? false : null;
        });
    }

    /**
     * Runs a blocking system call of your own on the descriptor, with what {@link #read} has: a
     * concurrent {@link #close()} or {@link Thread#interrupt()} ends it. {@code call} makes the call
     * once and returns null when it should be made again: when it returned EINTR, or EBADF (the
     * number refers to a dead socket once a close has begun). It is made again while the
     * descriptor is open.
     *
     * @throws java.nio.channels.AsynchronousCloseException if closed meanwhile by another thread
     * @throws java.nio.channels.ClosedByInterruptException if the thread was interrupted
     */
    public <T> T blocking(FdCall<T> call) throws IOException {
        Object[] result = new Object[1];
        blocking(null, (n, unused) -> {
            result[0] = call.apply(n);
            return result[0] == null ? RETRY : 0;
        });
        @SuppressWarnings("unchecked")
        T t = (T) result[0];
        return t;
    }

    /**
     * {@link #blocking(FdCall)} for a call that moves the bytes of {@code buffer}, returning an
     * {@code int} ({@link #RETRY} to be made again): with a {@code call} kept in a field, a read or
     * write allocates nothing, as with the JDK's channels.
     */
    public int blocking(ByteBuffer buffer, BufferCall call) throws IOException {
        return blocking(buffer, call, false);
    }

    /**
     * {@link #blocking(ByteBuffer, BufferCall)}; with {@code resultIsEffect}, a result of 0 or more
     * says the call took effect even when it moved no bytes (an empty message sent or received: a
     * call whose every failure on the dead socket is an exception, as mq_timedsend's EBADF), and a
     * negative one that it did not.
     */
    public int blocking(ByteBuffer buffer, BufferCall call, boolean resultIsEffect) throws IOException {
        long self = enter();
        try {
            int start = buffer == null ? 0 : buffer.position();
            boolean completed = false;
            boolean moved = false;
            begin();
            try {
                for (;;) {
                    int result = call.apply(fd, buffer);
                    // a call that ended having moved bytes (the dead socket moves none), or said it took
                    // effect, counts even if a close or an interrupt came meanwhile: a message taken off
                    // a queue is not lost
                    moved = tookEffect(result, buffer, start, resultIsEffect);
                    if (!isOpen() && !moved) {
                        return 0; // the result may come from the dead socket (an end of file): end() throws
                    }
                    if (result != RETRY) {
                        completed = true;
                        return result;
                    }
                }
            } finally {
                try {
                    end(completed);
                } catch (ClosedByInterruptException e) {
                    if (!moved) {
                        throw e;
                    }
                    // the thread stays interrupted, and the descriptor closed
                }
            }
        } finally {
            leave(self);
        }
    }

    /** Whether a call's {@code result} moved bytes of {@code buffer}, or says it took effect. */
    private static boolean tookEffect(int result, ByteBuffer buffer, int start, boolean resultIsEffect) {
        return result != RETRY && (resultIsEffect ? result >= 0 : buffer != null && buffer.position() != start);
    }

    /**
     * {@link #blocking(ByteBuffer, BufferCall, boolean)} for a {@code call} that cannot wait (a
     * non-blocking read, write, send, receive, accept or connect, a poll with no timeout), made
     * until it is not to be made again. As with the JDK's non-blocking channels, there is no blocked
     * call for an interrupt to end: it is made, the descriptor stays open and the interrupt stays
     * set. A close from another thread meanwhile ends it with {@link AsynchronousCloseException},
     * unless it had taken effect.
     */
    public int once(ByteBuffer buffer, BufferCall call, boolean resultIsEffect) throws IOException {
        long self = enter();
        try {
            int start = buffer == null ? 0 : buffer.position();
            for (;;) {
                int result;
                try {
                    result = call.apply(fd, buffer);
                } catch (IOException | RuntimeException e) {
                    if (isOpen()) {
                        throw e;
                    }
                    throw asynchronousClose(e); // as withFd: a call failing on the dead socket
                }
                if (!isOpen() && !tookEffect(result, buffer, start, resultIsEffect)) {
                    throw new AsynchronousCloseException(); // the result may come from the dead socket
                }
                if (result != RETRY) {
                    return result;
                }
            }
        } finally {
            leave(self);
        }
    }

    /** A call made by {@link #blocking(ByteBuffer, BufferCall)} or {@link #once}. */
    @FunctionalInterface
    public interface BufferCall {
        /** Makes the call once with the open descriptor number {@code fd}: its result, or {@link #RETRY}. */
        int apply(int fd, ByteBuffer buffer) throws IOException;
    }

    private int readOnce(int n, ByteBuffer dst) throws IOException {
        int r = Syscalls.read(n, dst, name);
        if (r == Syscalls.AGAIN) {
            if (nonBlocking) {
                return 0;
            }
            awaitBlocked(Syscalls.POLLIN);
            return RETRY;
        }
        return r == Syscalls.INTERRUPTED ? RETRY : r;
    }

    /** Writes until {@code src} is empty (blocking) or the kernel takes no more (non-blocking); 0 when done. */
    private int writeOnce(int n, ByteBuffer src) throws IOException {
        int r = Syscalls.write(n, src, name);
        if (r >= 0) {
            return nonBlocking || !src.hasRemaining() ? 0 : RETRY;
        }
        if (r == Syscalls.AGAIN) {
            if (nonBlocking) {
                return 0;
            }
            awaitBlocked(Syscalls.POLLOUT);
        }
        return RETRY;
    }

    /** Inside a call: waits for readiness of a descriptor whose open file is non-blocking elsewhere. */
    private void awaitBlocked(int events) throws IOException {
        Syscalls.poll(fd, events, -1, name);
    }

    private long enter() throws ClosedChannelException {
        long self = NativeThread.current();
        synchronized (lock) {
            if (closing || !isOpen()) {
                throw new ClosedChannelException();
            }
            if (users == threads.length) {
                threads = Arrays.copyOf(threads, users * 2);
            }
            threads[users++] = self;
        }
        return self;
    }

    private void leave(long self) {
        synchronized (lock) {
            for (int i = 0; i < users; i++) {
                if (threads[i] == self) {
                    threads[i] = threads[--users];
                    break;
                }
            }
            if (closing && users == 0) {
                cleanable.clean();
            }
        }
    }

    @Override
    protected void implCloseChannel() throws IOException {
        synchronized (lock) {
            closing = true;
            if (users == 0) {
                cleanable.clean();
                return;
            }
            Syscalls.dup3(dead, fd, name);
            for (int i = 0; i < users; i++) {
                NativeThread.signal(threads[i]);
            }
        }
    }

    @Override
    public String toString() {
        return "Descriptor[" + name + (isOpen() ? ", fd " + fd : ", closed") + "]";
    }

    /** The Cleaner's action: holds the number only, never the descriptor. */
    private static final class Release implements Runnable {
        private final int fd;

        Release(int fd) {
            this.fd = fd;
        }

        @Override
        public void run() {
            Syscalls.close(fd);
        }
    }
}
