package io.ipcbridge.mq;

import io.ipcbridge.Descriptor;
import io.ipcbridge.HasDescriptor;
import io.ipcbridge.IpcError;
import io.ipcbridge.IpcResourceLimitException;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.MessageTooLargeException;
import io.ipcbridge.internal.posix.CreateOrOpen;
import io.ipcbridge.internal.posix.Deadline;
import io.ipcbridge.internal.posix.Errors;
import io.ipcbridge.internal.posix.FileInfo;
import io.ipcbridge.internal.posix.Names;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.internal.posix.UnlinkOnClose;
import io.ipcbridge.pipe.Pipe;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.Channel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.IllegalBlockingModeException;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A POSIX message queue (mq_overview(7)), either end of a queue a C program also uses.
 *
 * <p>Messages are delivered highest priority first, in send order within a priority. A receive
 * never fails with EMSGSIZE: {@link #receive()} sizes its buffer from the queue's own message size,
 * and {@link #receive(ByteBuffer)}, which receives into a buffer of the caller's without
 * allocating, checks that the buffer has that much room before any call. A message longer than
 * that size is refused with {@link MessageTooLargeException} before any call, and nothing is sent.
 *
 * <p>Blocking calls answer {@link #close()} and {@link Thread#interrupt()} like the JDK's channels
 * (see {@link Descriptor}); timed calls take a relative {@link Duration}, honoured in monotonic time
 * even when the wall clock steps, and report a timeout as {@code false} or an empty
 * {@link Optional}. On Linux the queue is a descriptor, so readiness is a poll(2) on it:
 * {@link #awaitMessage}, {@link #awaitSpace} and the {@link #onMessage} listener never involve
 * mq_notify's SIGEV_THREAD, which would start native threads inside the JVM.
 *
 * <p>Thread safety: any number of threads may send and receive through one handle at once, as
 * through handles of their own: each message is sent whole and received whole, by one receiver.
 *
 * <p>Closing does not remove the queue; {@link #unlink} does, or the close itself after
 * {@link #unlinkOnClose()}:
 *
 * <pre>{@code
 * try (MessageQueue q = MessageQueue.createExclusively("/orders")) {
 *     q.send("hello".getBytes(UTF_8), 5);
 *     Message m = q.receive();           // "hello", priority 5
 * } finally {
 *     MessageQueue.unlink("/orders");
 * }
 * }</pre>
 */
public final class MessageQueue implements Channel, HasDescriptor {
    /** Priorities run from 0 to PRIO_MAX - 1 (Linux's MQ_PRIO_MAX). */
    public static final int PRIO_MAX = 32768;
    /**
     * The largest message size {@link #open(String, Access)} accepts in a queue someone else may
     * have created: 1 MiB (SEC-08).
     */
    public static final int DEFAULT_MAX_MESSAGE_SIZE = 1 << 20;
    /** The mode queues are created with unless another is given. */
    public static final int DEFAULT_MODE = 0600;
    private static final Path MQUEUE_FS = Path.of("/dev/mqueue");
    private static final ThreadLocal<ByteBuffer[]> BUFFER = ThreadLocal.withInitial(() -> new ByteBuffer[1]);
    /** The priority of this thread's untimed send, for {@link #sendCall}. */
    private static final ThreadLocal<int[]> SEND_PRIORITY = ThreadLocal.withInitial(() -> new int[1]);

    /** How a queue is opened. */
    public enum Access {
        /** O_RDONLY: receive only. */
        READ(Syscalls.O_RDONLY),
        /** O_WRONLY: send only. */
        WRITE(Syscalls.O_WRONLY),
        /** O_RDWR. */
        READ_WRITE(Syscalls.O_RDWR);

        private final int flag;

        Access(int flag) {
            this.flag = flag;
        }
    }

    /**
     * mq_getattr(3) of a queue.
     *
     * @param maxMessages how many messages the queue holds
     * @param messageSize the longest message, in bytes
     * @param currentMessages how many are in it now
     * @param nonBlocking whether this descriptor is in non-blocking mode
     */
    public record Attributes(long maxMessages, long messageSize, long currentMessages, boolean nonBlocking) {
    }

    private final String name;
    private final Access access;
    private final Descriptor mqd;
    private final int messageSize;
    private volatile boolean nonBlocking;
    /** The untimed receive (a timed one too long to measure has its deadline, but reports "empty"). */
    private final Descriptor.BufferCall receiveCall = (fd, b) -> untimed(receiveOnce(fd, b, Deadline.NEVER));
    /**
     * The untimed send, which reads its priority from {@link #SEND_PRIORITY}: a call that captured it
     * would be allocated at every send.
     */
    private final Descriptor.BufferCall sendCall =
            (fd, b) -> untimed(sendOnce(fd, b, SEND_PRIORITY.get()[0], Deadline.NEVER));
    /** The write ends of the stop pipes of the running {@link #onMessage} listeners, closed by {@link #close()}. */
    private final Set<Descriptor> listeners = new HashSet<>();
    private final UnlinkOnClose unlinking;

    private MessageQueue(String name, Access access, Descriptor mqd, int messageSize) {
        this.name = name;
        this.access = access;
        this.mqd = mqd;
        this.messageSize = messageSize;
        this.unlinking = new UnlinkOnClose(MQUEUE_FS + name, () -> unlink(name));
    }

    /** Creates queue {@code name} with the system's default sizes and mode 0600; fails if it exists. */
    public static MessageQueue createExclusively(String name) throws IOException {
        return createExclusively(name, 0, 0, DEFAULT_MODE);
    }

    /**
     * mq_open(3) with O_CREAT|O_EXCL: creates queue {@code name} with exactly {@code mode} (set again
     * with fchmod after creation, since the umask only narrows it), open for reading and writing.
     *
     * @param maxMessages capacity in messages, or 0 for the system default (msg_default, at most msg_max)
     * @param messageSize the longest message, or 0 for the system default (msgsize_default, at most
     *     msgsize_max)
     * @throws java.nio.file.FileAlreadyExistsException if the queue exists (EEXIST)
     * @throws IpcResourceLimitException when a system limit refuses it; the message names the limit
     *     and its value (msg_max, msgsize_max, queues_max, RLIMIT_MSGQUEUE)
     * @throws IllegalArgumentException for a bad name, size or mode, before any call
     */
    public static MessageQueue createExclusively(String name, long maxMessages, long messageSize, int mode)
            throws IOException {
        String n = Names.check(name, Names.NAME_MAX);
        long[] attr = attributesFor(maxMessages, messageSize);
        checkMode(mode);
        int fd;
        try {
            fd = Syscalls.mqOpen(n, Syscalls.O_RDWR | Syscalls.O_CREAT | Syscalls.O_EXCL, mode, attr);
        } catch (IOException e) {
            throw explainLimits(n, e, attr);
        }
        try {
            Descriptor d = adopt(fd, n);
            try {
                Syscalls.fchmod(fd, mode, n);
                return wrap(n, Access.READ_WRITE, d);
            } catch (IOException | RuntimeException e) {
                d.close();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            // the queue this call created is not left behind, half made, to make the next try EEXIST
            try {
                Syscalls.mqUnlink(n);
            } catch (IOException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
    }

    /**
     * Creates queue {@code name} as {@link #createExclusively(String, long, long, int)} does, or opens
     * it for reading and writing if it exists, provided this user owns it and its mode grants nothing
     * beyond {@code mode} (any user could have planted a queue by that name in the shared namespace,
     * or sent into one more open). A queue removed between the create's EEXIST and the open is
     * created again.
     *
     * @throws IpcSecurityException if the existing queue belongs to another user or is more open
     *     than {@code mode} (SEC-02)
     */
    public static MessageQueue createOrOpen(String name, long maxMessages, long messageSize, int mode)
            throws IOException {
        // a queue this call would have created with messageSize (0: the system default, which an
        // administrator may have set past the 1 MiB cap) is no foreign one to refuse
        long created = messageSize == 0 ? systemDefault("msgsize") : messageSize;
        return CreateOrOpen.run(() -> createExclusively(name, maxMessages, messageSize, mode),
                () -> ownedOrClosed(open(name, Access.READ_WRITE, Math.max(DEFAULT_MAX_MESSAGE_SIZE, created)), mode));
    }

    /** {@code q} if this user owns it and it grants nothing beyond {@code mode}; else it is closed and refused. */
    private static MessageQueue ownedOrClosed(MessageQueue q, int mode) throws IOException {
        try {
            FileInfo info = Syscalls.fstat(q.mqd.fd(), q.name);
            int me = Syscalls.geteuid();
            if (info.uid() != me) {
                throw new IpcSecurityException(q.name, "is owned by uid " + Integer.toUnsignedString(info.uid())
                        + ", not by this user (uid " + Integer.toUnsignedString(me) + "); refused");
            }
            CreateOrOpen.checkMode(q.name, info, mode);
            return q;
        } catch (IOException | RuntimeException failure) {
            q.close();
            throw failure;
        }
    }


    /**
     * mq_open(3) of an existing queue; for reading, refused if its message size passes
     * {@link #DEFAULT_MAX_MESSAGE_SIZE}: see {@link #open(String, Access, long)}.
     *
     * @throws java.nio.file.NoSuchFileException if there is no such queue (ENOENT)
     * @throws java.nio.file.AccessDeniedException if its mode refuses this user (EACCES)
     * @throws IpcSecurityException if its message size passes {@link #DEFAULT_MAX_MESSAGE_SIZE}
     */
    public static MessageQueue open(String name, Access access) throws IOException {
        return open(name, access, DEFAULT_MAX_MESSAGE_SIZE);
    }

    /**
     * mq_open(3) of an existing queue, whose creator chose its message size (up to 16 MiB): every
     * receive needs a buffer of that size, so a queue opened for reading whose message size passes
     * {@code maxMessageSize} is refused (SEC-08) and its descriptor closed again. A queue opened
     * for writing only is never refused: a send needs no such buffer.
     *
     * @param maxMessageSize the largest message size accepted, in bytes (at least 1)
     * @throws IpcSecurityException if the queue's message size passes {@code maxMessageSize}
     * @throws IllegalArgumentException if {@code maxMessageSize} is below 1, before any call
     */
    public static MessageQueue open(String name, Access access, long maxMessageSize) throws IOException {
        String n = Names.check(name, Names.NAME_MAX);
        Objects.requireNonNull(access, "access");
        if (maxMessageSize < 1) {
            throw new IllegalArgumentException("the largest message size accepted must be at least 1: "
                    + maxMessageSize);
        }
        MessageQueue q = wrap(n, access, adopt(Syscalls.mqOpen(n, access.flag, 0, null), n));
        if (access != Access.WRITE && q.messageSize > maxMessageSize) {
            q.close();
            throw new IpcSecurityException(n, "its message size, " + q.messageSize + " bytes, passes the "
                    + maxMessageSize + " bytes accepted (each receive needs a buffer that large); refused");
        }
        return q;
    }

    /**
     * mq_unlink(3): removes the name; descriptors already open keep working until closed.
     *
     * @throws java.nio.file.NoSuchFileException if there is no such queue
     */
    public static void unlink(String name) throws IOException {
        Syscalls.mqUnlink(Names.check(name, Names.NAME_MAX));
    }

    /**
     * The queues on this host, read from the mqueue filesystem.
     *
     * @throws java.nio.file.NoSuchFileException if it is not mounted at /dev/mqueue (mount it with
     *     {@code mount -t mqueue none /dev/mqueue}); queues work without it, only listing needs it
     */
    public static List<String> list() throws IOException {
        if (!Syscalls.mqueueMounted(MQUEUE_FS)) {
            throw new java.nio.file.NoSuchFileException(MQUEUE_FS.toString(), null,
                    "the mqueue filesystem is not mounted: mount -t mqueue none /dev/mqueue");
        }
        try (Stream<Path> entries = Files.list(MQUEUE_FS)) {
            return entries.map(p -> "/" + p.getFileName()).sorted().toList();
        } catch (IOException e) {
            throw Syscalls.explainDirectory(MQUEUE_FS.toString(), e);
        }
    }

    private static Descriptor adopt(int fd, String name) throws IOException {
        try {
            return Descriptor.adopt(fd, name);
        } catch (IOException | RuntimeException e) {
            Syscalls.close(fd);
            throw e;
        }
    }

    private static MessageQueue wrap(String name, Access access, Descriptor d) throws IOException {
        try {
            long[] attr = d.withFd(fd -> Syscalls.mqGetattr(fd, name));
            return new MessageQueue(name, access, d, (int) attr[2]);
        } catch (IOException | RuntimeException e) {
            d.close();
            throw e;
        }
    }

    private static long[] attributesFor(long maxMessages, long messageSize) {
        if (maxMessages < 0) {
            throw new IllegalArgumentException("maxMessages must be 0 (the system default) or more: " + maxMessages);
        }
        if (messageSize < 0) {
            // a size past the kernel's (msgsize_max, at most 16 MiB) goes to mq_open, whose EINVAL names the limit
            throw new IllegalArgumentException("messageSize must be 0 (the system default) or more: " + messageSize);
        }
        if (maxMessages == 0 && messageSize == 0) {
            return null;
        }
        return new long[] {
            maxMessages == 0 ? systemDefault("msg") : maxMessages,
            messageSize == 0 ? systemDefault("msgsize") : messageSize};
    }

    /** What the kernel takes for a queue created without sizes: {@code KIND_default}, but at most {@code KIND_max}. */
    private static long systemDefault(String kind) {
        long max = readLimit(kind + "_max");
        long value = readLimit(kind + "_default");
        return max < 0 ? value : Math.min(value, max);
    }

    private static void checkMode(int mode) {
        if ((mode & ~0777) != 0) {
            throw new IllegalArgumentException("mode must be within 0777: 0" + Integer.toOctalString(mode));
        }
    }

    /** Rewrites a creation failure to name the system limit that caused it. */
    private static IOException explainLimits(String name, IOException e, long[] attr) {
        if (!(e instanceof IpcError error)) {
            return e;
        }
        String limit = null;
        if (error.errno() == Errors.EINVAL && attr != null) {
            long msgMax = readLimit("msg_max");
            long msgsizeMax = readLimit("msgsize_max");
            if (attr[0] > msgMax) {
                limit = attr[0] + " messages exceed /proc/sys/fs/mqueue/msg_max (" + msgMax + ")";
            } else if (attr[1] > msgsizeMax) {
                limit = attr[1] + "-byte messages exceed /proc/sys/fs/mqueue/msgsize_max (" + msgsizeMax + ")";
            }
        } else if (error.errno() == Errors.ENOSPC) {
            limit = "the system-wide number of queues, /proc/sys/fs/mqueue/queues_max (" + readLimit("queues_max")
                    + ")";
        } else if (error.errno() == Errors.EMFILE) {
            limit = "the open-descriptor limit (RLIMIT_NOFILE) or the per-user queue byte limit RLIMIT_MSGQUEUE ("
                    + Syscalls.messageQueueLimit() + ")";
        }
        return limit == null ? e : new IpcResourceLimitException("mq_open", name, error.errno(), limit);
    }

    private static long readLimit(String file) {
        try {
            // not Files.readString: it trusts the size of a /proc file, which is 0, and reads one byte
            return Long.parseLong(Files.readAllLines(Path.of("/proc/sys/fs/mqueue", file)).get(0).trim());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    /** The queue's name, with its leading slash. */
    public String name() {
        return name;
    }

    /** How this descriptor was opened. */
    public Access access() {
        return access;
    }

    /** The longest message the queue takes, in bytes. */
    public int messageSize() {
        return messageSize;
    }

    /** The queue descriptor, e.g. to hand it to a child process on a chosen fd. */
    @Override
    public Descriptor descriptor() {
        return mqd;
    }

    /**
     * Sends {@code message}, blocking while the queue is full.
     *
     * @throws MessageTooLargeException if it is longer than {@link #messageSize()}; nothing is sent
     * @throws IllegalArgumentException for a priority outside 0 .. PRIO_MAX - 1
     * @throws NonWritableChannelException if the queue was opened for reading only
     * @throws IllegalBlockingModeException in non-blocking mode (use {@link #trySend})
     */
    public void send(ByteBuffer message, int priority) throws IOException {
        requireBlocking();
        SEND_PRIORITY.get()[0] = priority;
        send(message, priority, sendCall, Deadline.NEVER);
    }

    /** Sends {@code message} as {@link #send(ByteBuffer, int)} does. */
    public void send(byte[] message, int priority) throws IOException {
        send(ByteBuffer.wrap(Objects.requireNonNull(message, "message")), priority);
    }

    /**
     * mq_timedsend(3): sends {@code message}, waiting at most {@code timeout} for room.
     *
     * @return false if the queue stayed full (or is in non-blocking mode and full); nothing was sent
     */
    public boolean send(ByteBuffer message, int priority, Duration timeout) throws IOException {
        long deadline = Deadline.of(Objects.requireNonNull(timeout, "timeout"));
        return send(message, priority, (fd, b) -> sendOnce(fd, b, priority, deadline), deadline);
    }

    /** Sends {@code message} if there is room now; false (nothing sent) if the queue is full. */
    public boolean trySend(ByteBuffer message, int priority) throws IOException {
        return send(message, priority, Duration.ZERO);
    }

    /** Sends {@code message} with {@code call}, waiting until {@code deadline}, once it is checked. */
    private boolean send(ByteBuffer message, int priority, Descriptor.BufferCall call, long deadline)
            throws IOException {
        ensureOpen();
        if (access == Access.READ) {
            throw new NonWritableChannelException();
        }
        if (priority < 0 || priority >= PRIO_MAX) {
            throw new IllegalArgumentException("priority " + priority + " is outside 0.." + (PRIO_MAX - 1));
        }
        int length = message.remaining();
        if (length > messageSize) {
            throw new MessageTooLargeException("mq_send", name, length, messageSize, "the queue's message size");
        }
        ByteBuffer direct = message;
        if (!message.isDirect()) {
            direct = buffer(length);
            direct.put(message.duplicate()).flip();
        }
        // a result >= 0 is an effect: a send that went through as a close or an interrupt came is
        // reported, even for an empty message, which moves no bytes
        boolean sent = make(direct, call, deadline) == 1;
        if (sent && direct != message) {
            message.position(message.limit());
        }
        return sent;
    }

    /** mq_timedsend(3) of direct {@code message}: 1 when sent, -1 when full or timed out, or RETRY. */
    private int sendOnce(int fd, ByteBuffer message, int priority, long deadline) throws IOException {
        int r = Syscalls.mqSend(fd, message, priority, deadline == Deadline.NEVER, name);
        if (r == 0) {
            return 1;
        }
        return afterTry(fd, r, Syscalls.POLLOUT, deadline);
    }

    /**
     * Receives the oldest message of the highest priority, blocking while the queue is empty.
     *
     * @throws NonReadableChannelException if the queue was opened for writing only
     * @throws IllegalBlockingModeException in non-blocking mode (use {@link #tryReceive})
     */
    public Message receive() throws IOException {
        requireBlocking();
        return receive(receiveCall, Deadline.NEVER).orElseThrow(AsynchronousCloseException::new);
    }

    /**
     * mq_timedreceive(3): receives a message, waiting at most {@code timeout}; zero returns at once.
     *
     * @return empty if none came in time (or the queue is in non-blocking mode and empty)
     */
    public Optional<Message> receive(Duration timeout) throws IOException {
        long deadline = Deadline.of(Objects.requireNonNull(timeout, "timeout"));
        return receive(timedReceive(deadline), deadline);
    }

    /** Receives a message if one is there now. */
    public Optional<Message> tryReceive() throws IOException {
        return receive(Duration.ZERO);
    }

    /**
     * Receives the oldest message of the highest priority into {@code dst} at its position, blocking
     * while the queue is empty; {@code dst}'s position advances by the message's length. With a
     * direct buffer the kernel writes straight into it, and nothing is allocated.
     *
     * @param dst a buffer with at least {@link #messageSize()} bytes remaining, however short the
     *     message: the kernel refuses a smaller one (EMSGSIZE), so it is checked before any call
     * @return the message's priority
     * @throws IllegalArgumentException if {@code dst} has less room or is read-only; nothing is received
     * @throws NonReadableChannelException if the queue was opened for writing only
     * @throws IllegalBlockingModeException in non-blocking mode (use {@link #receive(ByteBuffer, Duration)})
     */
    public int receive(ByteBuffer dst) throws IOException {
        checkRoom(dst);
        requireBlocking();
        int priority = receive(dst, receiveCall, Deadline.NEVER);
        if (priority < 0) {
            throw new AsynchronousCloseException();
        }
        return priority;
    }

    /**
     * mq_timedreceive(3) into {@code dst}, as {@link #receive(ByteBuffer)}, waiting at most
     * {@code timeout}; zero returns at once.
     *
     * @return the message's priority, or empty if none came in time (or the queue is in non-blocking
     *     mode and empty); {@code dst} is unchanged then
     */
    public OptionalInt receive(ByteBuffer dst, Duration timeout) throws IOException {
        checkRoom(dst);
        long deadline = Deadline.of(Objects.requireNonNull(timeout, "timeout"));
        int priority = receive(dst, timedReceive(deadline), deadline);
        return priority < 0 ? OptionalInt.empty() : OptionalInt.of(priority);
    }

    private void checkRoom(ByteBuffer dst) {
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("read-only buffer");
        }
        if (dst.remaining() < messageSize) {
            throw new IllegalArgumentException("a receive buffer needs room for the queue's message size, "
                    + messageSize + " bytes; " + dst.remaining() + " remain");
        }
    }

    /** mq_timedreceive(3) until {@code deadline} has passed, as a call for {@link #receiveDirect}. */
    private Descriptor.BufferCall timedReceive(long deadline) {
        return (fd, b) -> receiveOnce(fd, b, deadline);
    }

    private Optional<Message> receive(Descriptor.BufferCall call, long deadline) throws IOException {
        ByteBuffer buf = buffer(messageSize);
        int priority = receiveDirect(buf, call, deadline);
        if (priority < 0) {
            return Optional.empty();
        }
        byte[] data = new byte[buf.position()];
        buf.flip().get(data);
        return Optional.of(new Message(data, priority));
    }

    /** Receives into {@code dst}, which has room for a message; the priority, or -1 if none came in time. */
    private int receive(ByteBuffer dst, Descriptor.BufferCall call, long deadline) throws IOException {
        if (dst.isDirect()) {
            return receiveDirect(dst, call, deadline);
        }
        ByteBuffer buf = buffer(messageSize);
        int priority = receiveDirect(buf, call, deadline);
        if (priority >= 0) {
            dst.put(buf.flip());
        }
        return priority;
    }

    /**
     * {@code call} ({@link #receiveCall} or a {@link #timedReceive}) into direct {@code dst}, waiting
     * until {@code deadline}; the priority, or -1.
     */
    private int receiveDirect(ByteBuffer dst, Descriptor.BufferCall call, long deadline) throws IOException {
        ensureOpen();
        if (access == Access.WRITE) {
            throw new NonReadableChannelException();
        }
        // a priority >= 0 is an effect: a message taken as a close or an interrupt came is returned, not lost
        return make(dst, call, deadline);
    }

    /**
     * Makes a send or receive {@code call} that waits until {@code deadline}. One that cannot wait
     * (non-blocking mode, or a deadline already passed: trySend, tryReceive, a zero timeout) takes no
     * pending interrupt and leaves the queue open, as the JDK's non-blocking channels do
     * ({@link Descriptor#once}); a result >= 0 is an effect, kept even if a close comes meanwhile.
     */
    private int make(ByteBuffer buffer, Descriptor.BufferCall call, long deadline) throws IOException {
        return nonBlocking || Deadline.passed(deadline) ? mqd.once(buffer, call, true) : mqd.blocking(buffer, call, true);
    }

    private int receiveOnce(int fd, ByteBuffer dst, long deadline) throws IOException {
        int r = Syscalls.mqReceive(fd, dst, deadline == Deadline.NEVER, name);
        if (r >= 0) {
            return Syscalls.mqPriority();
        }
        return afterTry(fd, r, Syscalls.POLLIN, deadline);
    }

    /**
     * After an mq_timed* call {@code r} that found the queue empty or full: -1 in non-blocking mode
     * or once {@code deadline} has passed, else {@link Descriptor#RETRY} once poll(2) has seen
     * {@code events} or the deadline come. A timed wait is measured by the monotonic clock:
     * the calls themselves are given an absolute time long past and never wait, since the kernel
     * would measure their timeout by the wall clock, which a step back would stretch.
     */
    private int afterTry(int fd, int r, int events, long deadline) throws IOException {
        if (r == Syscalls.AGAIN || r == Syscalls.TIMED_OUT && Deadline.passed(deadline)) {
            return -1;
        }
        if (r == Syscalls.TIMED_OUT) {
            Syscalls.poll(fd, events, Deadline.remainingMillis(deadline), name); // EINTR: the retry looks at a close
        }
        return Descriptor.RETRY;
    }

    /**
     * The result of an untimed call: -1, a full or empty queue, comes only in non-blocking mode, set
     * after the call's {@link #requireBlocking()}; such a call cannot report it.
     */
    private static int untimed(int result) {
        if (result == -1) {
            throw new IllegalBlockingModeException();
        }
        return result;
    }

    /** A per-thread direct buffer of at least {@code size} bytes, cleared and limited to it. */
    private static ByteBuffer buffer(int size) {
        ByteBuffer[] holder = BUFFER.get();
        if (holder[0] == null || holder[0].capacity() < size) {
            holder[0] = ByteBuffer.allocateDirect(Math.max(size, 8192));
        }
        return holder[0].clear().limit(size);
    }

    private void requireBlocking() throws ClosedChannelException {
        ensureOpen();
        if (nonBlocking) {
            throw new IllegalBlockingModeException();
        }
    }

    /**
     * Throws ClosedChannelException once closed: checked before the access and blocking modes and
     * the message size, as FileChannel checks it before its access mode (MQ-19).
     */
    private void ensureOpen() throws ClosedChannelException {
        mqd.fd();
    }

    /** mq_getattr(3). */
    public Attributes attributes() throws IOException {
        long[] a = mqd.withFd(fd -> Syscalls.mqGetattr(fd, name));
        return new Attributes(a[1], a[2], a[3], (a[0] & Syscalls.O_NONBLOCK) != 0);
    }

    /** The queue's permission bits, from fstat(2) on the queue descriptor. */
    public int mode() throws IOException {
        return mqd.withFd(fd -> Syscalls.fstat(fd, name)).permissions();
    }

    /**
     * mq_setattr(3) of O_NONBLOCK: in non-blocking mode only {@link #trySend}, {@link #tryReceive}
     * and the timed calls may be used, and they report a full or empty queue at once.
     */
    public void setNonBlocking(boolean on) throws IOException {
        mqd.withFd(fd -> {
            Syscalls.mqSetNonBlocking(fd, on, name);
            nonBlocking = on;
            return null;
        });
    }

    /**
     * Waits until a message is there to receive, without taking it (poll(2) POLLIN on the queue).
     *
     * @return false if the timeout passed first
     */
    public boolean awaitMessage(Duration timeout) throws IOException {
        return mqd.awaitReadable(timeout);
    }

    /**
     * Waits until there is room to send (poll(2) POLLOUT on the queue).
     *
     * @return false if the timeout passed first
     */
    public boolean awaitSpace(Duration timeout) throws IOException {
        return mqd.awaitWritable(timeout);
    }

    /**
     * Calls {@code callback} on a daemon thread whenever messages are waiting. Built on poll(2) of
     * the queue descriptor, not on mq_notify: no signal and no native thread is involved, and other
     * receivers are not disturbed. The callback is called again for as long as messages stay in the
     * queue, so it should receive them. The listener holds no descriptor of the queue of its own:
     * Linux drops this process's {@link #requestNotification} registration whenever any descriptor
     * of the queue closes, and a listener's end must not.
     *
     * <p>The listener ends when the returned listener or this queue is closed, or when the callback
     * throws (the exception then goes to the thread's uncaught-exception handler): its thread
     * returns once a callback in progress has returned.
     *
     * @throws ClosedChannelException if the queue is closed
     */
    public AutoCloseable onMessage(Consumer<MessageQueue> callback) throws IOException {
        Objects.requireNonNull(callback, "callback");
        Pipe stop = Pipe.open();
        Descriptor stopper = stop.sink().descriptor();
        synchronized (listeners) {
            if (!isOpen()) { // closed meanwhile, after close() took the listeners it had to close
                stop.close();
                throw new ClosedChannelException();
            }
            listeners.add(stopper);
        }
        int stopFd = stop.source().descriptor().fd(); // closed by the thread, at its end
        Thread thread = new Thread(() -> {
            try {
                while (messageOrStop(stopFd) && isOpen()) {
                    callback.accept(this);
                }
            } catch (IOException ended) {
                // the queue was closed
            } finally {
                forget(stop);
            }
        }, "ipcbridge-mq-listener " + name);
        thread.setDaemon(true);
        try {
            thread.start();
        } catch (RuntimeException | Error e) {
            forget(stop);
            throw e;
        }
        return stopper::close;
    }

    /**
     * poll(2) of the queue descriptor and of {@code stop}, the read end of a listener's pipe: true
     * when a message is waiting, false once the pipe's write end has closed (POLLHUP).
     */
    private boolean messageOrStop(int stop) throws IOException {
        int[] entries = new int[4];
        return mqd.blocking(n -> {
            entries[0] = n;
            entries[1] = Syscalls.POLLIN;
            entries[2] = stop;
            entries[3] = Syscalls.POLLIN;
            if (Syscalls.poll(entries, 2, -1, name) == Syscalls.INTERRUPTED) {
                return null;
            }
            return entries[3] >>> 16 == 0;
        });
    }

    /** Closes the pipe of a listener that has ended. */
    private void forget(Pipe stop) {
        synchronized (listeners) {
            listeners.remove(stop.sink().descriptor());
        }
        try {
            stop.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * mq_notify(3), one-shot, for the semantics C programs rely on: takes the queue's single
     * notification registration, so that another process that asks gets EBUSY, until the kernel
     * consumes it (a message arriving in the empty queue while nobody is blocked in a receive) or
     * {@link Notification#close()} gives it up. The registration uses SIGEV_NONE: nothing is
     * delivered into the JVM; {@link Notification#fired()} tells whether the kernel consumed it.
     *
     * <p>The kernel keeps the registration per process, whichever descriptor took it: a new one
     * from this process, through any handle, means the previous one was spent, and closing that
     * previous {@link Notification} then leaves the new one standing. Linux also drops it when any
     * descriptor of the queue in this process closes (another handle of the same queue, opened
     * separately, included): {@link Notification#fired()} then says true though no message came, so
     * keep one handle open while a registration matters.
     *
     * @throws NotificationBusyException if a registration exists (EBUSY), this process's included
     */
    public Notification requestNotification() throws IOException {
        FileInfo queue = mqd.withFd(fd -> Syscalls.fstat(fd, name));
        QueueKey key = new QueueKey(queue.device(), queue.inode());
        synchronized (REGISTRATIONS) {
            int r = mqd.withFd(fd -> Syscalls.mqNotify(fd, true, name));
            if (r == Syscalls.BUSY) {
                throw new NotificationBusyException(name);
            }
            REGISTRATIONS.values().removeIf(ref -> ref.get() == null);
            Notification n = new Notification(key);
            // one this replaces had been consumed, or the kernel would have said EBUSY
            REGISTRATIONS.put(key, new WeakReference<>(n));
            return n;
        }
    }

    /** A queue, by the device and inode of its mqueue file. */
    private record QueueKey(long device, long inode) {
    }

    /**
     * This process's standing registration per queue, as far as this JVM made it, so that a spent
     * {@link Notification} never withdraws a newer one (mq_notify(NULL) would). Weak: a forgotten
     * notification must not keep its queue's descriptor from its Cleaner.
     */
    private static final Map<QueueKey, WeakReference<Notification>> REGISTRATIONS = new HashMap<>();

    /** This process's mq_notify registration on the queue; see {@link #requestNotification()}. */
    public final class Notification implements AutoCloseable {
        private final QueueKey key;

        private Notification(QueueKey key) {
            this.key = key;
        }

        /** Whether this is still the registration this JVM last took on the queue. */
        private boolean standing() {
            WeakReference<Notification> current = REGISTRATIONS.get(key);
            return current != null && current.get() == this;
        }

        /**
         * Whether the kernel has consumed the registration. On a queue open for reading, the queue's
         * status line tells which process holds the registration, if any: another process may have
         * taken it since ours fired. On a write-only queue it probes by registering again: EBUSY
         * means a registration stands, which cannot be told from another process's; success means
         * it had fired, and the probe's own registration is withdrawn at once.
         */
        public boolean fired() throws IOException {
            synchronized (REGISTRATIONS) {
                if (!standing()) {
                    return true;
                }
                if (access != Access.WRITE) {
                    if (mqd.withFd(fd -> Syscalls.mqNotifyPid(fd, name)) == ProcessHandle.current().pid()) {
                        return false;
                    }
                } else if (mqd.withFd(fd -> Syscalls.mqNotify(fd, true, name)) == Syscalls.BUSY) {
                    return false;
                } else {
                    mqd.withFd(fd -> Syscalls.mqNotify(fd, false, name));
                }
                REGISTRATIONS.remove(key);
                return true;
            }
        }

        /**
         * Withdraws the registration if it still stands; one that was spent, or dropped by the close
         * of the queue (also one from another thread meanwhile), is left alone.
         */
        @Override
        public void close() throws IOException {
            synchronized (REGISTRATIONS) {
                if (standing()) {
                    REGISTRATIONS.remove(key);
                    try {
                        mqd.withFd(fd -> Syscalls.mqNotify(fd, false, name));
                    } catch (ClosedChannelException closed) {
                        // the queue's close, before or during this call, dropped the registration
                    }
                }
            }
        }
    }

    @Override
    public boolean isOpen() {
        return mqd.isOpen();
    }

    /**
     * Makes {@link #close()} remove the queue's name too (mq_unlink(3)), as the JDK's
     * DELETE_ON_CLOSE does for files, so that a process restarted again and again cannot exhaust
     * queues_max (SEC-14; one killed before its close still leaves the name: see
     * {@link io.ipcbridge.Reaper}). Only the first close removes it, and only if the name still
     * names the queue this handle opened (lstat(2) of /dev/mqueue/NAME finds the device and inode
     * fstat(2) gives its descriptor now): one another process made under the name since is left
     * alone, and a name already gone is no failure. A queue another process unlinks and makes again
     * in the instant between that lstat and the unlink is removed all the same.
     *
     * @return this handle
     * @throws ClosedChannelException if this handle is closed
     * @throws java.nio.file.NoSuchFileException if /dev/mqueue is not the mqueue filesystem of this
     *     process's IPC namespace, where the name is to be checked (mount it with
     *     {@code mount -t mqueue none /dev/mqueue}); the close is then left as it was
     */
    public MessageQueue unlinkOnClose() throws IOException {
        FileInfo queue = mqd.withFd(fd -> Syscalls.fstat(fd, name));
        if (!Syscalls.mqueueMounted(MQUEUE_FS) || Syscalls.lstat(MQUEUE_FS.toString()).device() != queue.device()) {
            throw new java.nio.file.NoSuchFileException(MQUEUE_FS.toString(), null, "not the mqueue filesystem of "
                    + "this IPC namespace, where close() would check the queue's name; mount it: "
                    + "mount -t mqueue none /dev/mqueue");
        }
        unlinking.request(queue);
        return this;
    }

    /**
     * Closes the descriptor (mq_close) and ends the {@link #onMessage} listeners; the queue itself
     * stays until {@link #unlink}, unless {@link #unlinkOnClose()} asked for its removal now.
     *
     * @throws IOException if mq_unlink(3) fails, other than for a name already gone; the descriptor
     *     is closed and the listeners ended all the same
     */
    @Override
    public void close() throws IOException {
        IOException failure = null;
        try {
            mqd.close();
        } catch (IOException e) {
            failure = e;
        }
        List<Descriptor> watches;
        synchronized (listeners) {
            watches = List.copyOf(listeners);
            listeners.clear();
        }
        for (Descriptor watch : watches) {
            try {
                watch.close(); // the listener's poll sees POLLHUP on its pipe
            } catch (IOException e) {
                failure = add(failure, e);
            }
        }
        try {
            unlinking.close();
        } catch (IOException e) {
            failure = add(failure, e);
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** {@code failure}, or {@code e} if none, with {@code e} added as suppressed. */
    private static IOException add(IOException failure, IOException e) {
        if (failure == null) {
            return e;
        }
        failure.addSuppressed(e);
        return failure;
    }

    @Override
    public String toString() {
        return "MessageQueue[" + name + ", " + access + (isOpen() ? "" : ", closed") + "]";
    }
}
