package io.ipcbridge.testing;

import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.MessageTooLargeException;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.ring.Ring;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.socket.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A program that misuses every handle ITERATIONS times (RELIABILITY.md FAULT-07, and FAULT-04's
 * truncation under reads), run by a test in its own JVM so that a crash would show as the JVM's
 * death and an hs_err file rather than take the test run down. Each misuse must end in the
 * exception the library documents for it; the program prints "ok COUNT" and exits 0, or prints
 * each unexpected outcome and exits 1.
 */
public final class MisuseFuzz {
    private static final List<String> WRONG = new ArrayList<>();
    private static long count;

    private MisuseFuzz() {
    }

    @FunctionalInterface
    private interface Misuse {
        void run() throws Exception;
    }

    /** Runs {@code misuse}, which must throw one of {@code allowed}. */
    @SafeVarargs
    private static void expect(String what, Misuse misuse, Class<? extends Throwable>... allowed) {
        count++;
        try {
            misuse.run();
            WRONG.add(what + ": no exception");
        } catch (Throwable e) {
            for (Class<? extends Throwable> a : allowed) {
                if (a.isInstance(e)) {
                    return;
                }
            }
            WRONG.add(what + ": " + e);
        }
    }

    public static void main(String[] args) throws Exception {
        int iterations = Integer.parseInt(args[0]);
        Random random = new Random(42);
        String mq = Names.unique("fuzzq");
        String shm = Names.unique("fuzzm");
        String sem = Names.unique("fuzzs");
        String ring = Names.unique("fuzzr");
        try {
            for (int i = 0; i < iterations; i++) {
                afterClose(random, mq, shm, sem);
                badArguments(random, mq, shm, sem);
                closeWhileBlocked();
                plantedSemaphores(sem, i);
            }
            truncatedWhileRead(shm, iterations);
            truncatedUnderAtomics(shm, sem, iterations);
            truncatedRing(ring, iterations);
        } finally {
            for (Misuse cleanup : new Misuse[] {() -> MessageQueue.unlink(mq), () -> SharedMemory.unlink(shm),
                () -> Semaphore.unlink(sem), () -> Ring.unlink(ring)}) {
                try {
                    cleanup.run();
                } catch (Exception gone) {
                    // not there
                }
            }
        }
        if (!WRONG.isEmpty()) {
            WRONG.stream().distinct().forEach(System.out::println);
            System.exit(1);
        }
        System.out.println("ok " + count);
    }

    /** Use after close and double close of every handle type: ClosedChannelException, no call. */
    private static void afterClose(Random random, String mq, String shm, String sem) throws Exception {
        Pipe p = Pipe.open();
        p.close();
        p.close();
        ByteBuffer b = ByteBuffer.allocateDirect(1 + random.nextInt(100));
        expect("read a closed pipe", () -> p.source().read(b), ClosedChannelException.class);
        expect("write a closed pipe", () -> p.sink().write(b), ClosedChannelException.class);
        expect("capacity of a closed pipe", () -> p.sink().capacity(), ClosedChannelException.class);
        MessageQueue q = MessageQueue.createExclusively(mq, 2, 16, 0600);
        MessageQueue.unlink(mq);
        q.close();
        q.close();
        expect("send on a closed queue", () -> q.send(new byte[1], random.nextInt(10)), ClosedChannelException.class);
        expect("receive on a closed queue", q::tryReceive, ClosedChannelException.class);
        expect("attributes of a closed queue", q::attributes, ClosedChannelException.class);
        SharedMemory s = SharedMemory.createExclusively(shm, 4096);
        SharedMemory.unlink(shm);
        s.close();
        s.close();
        expect("read a closed segment", () -> s.getLong(8 * random.nextInt(512)), IllegalStateException.class);
        expect("CAS on a closed segment", () -> s.compareAndSetInt(0, 0, 1), IllegalStateException.class);
        expect("resize a closed segment", () -> s.resize(8192), ClosedChannelException.class);
        Semaphore m = Semaphore.createExclusively(sem, 1);
        Semaphore.unlink(sem);
        m.close();
        m.close();
        expect("acquire a closed semaphore", m::tryAcquire, ClosedChannelException.class);
        expect("release a closed semaphore", m::release, ClosedChannelException.class);
        expect("value of a closed semaphore", m::value, ClosedChannelException.class);
        Socket.Pair pair = Socket.pair(Socket.Type.values()[random.nextInt(3)]);
        pair.close();
        pair.close();
        expect("write a closed socket", () -> pair.first().write(b), ClosedChannelException.class);
        expect("read a closed socket", () -> pair.second().read(b), ClosedChannelException.class);
    }

    /** Negative and huge sizes, null and read-only buffers, offsets past the end: refused before any call. */
    private static void badArguments(Random random, String mq, String shm, String sem) throws Exception {
        long huge = random.nextBoolean() ? Long.MAX_VALUE : (1L << 31) + random.nextInt(1 << 20);
        long negative = -1 - random.nextInt(Integer.MAX_VALUE);
        expect("shm of a negative size", () -> SharedMemory.createExclusively(shm, negative),
                IllegalArgumentException.class);
        expect("shm of a huge size", () -> SharedMemory.createExclusively(shm, huge), IllegalArgumentException.class);
        expect("queue of negative sizes", () -> MessageQueue.createExclusively(mq, negative, negative, 0600),
                IllegalArgumentException.class);
        expect("semaphore of a negative value", () -> Semaphore.createExclusively(sem, (int) Math.max(negative,
                Integer.MIN_VALUE)), IllegalArgumentException.class);
        try (Pipe p = Pipe.open(); SharedMemory s = SharedMemory.createExclusively(shm, 4096);
                MessageQueue q = MessageQueue.createExclusively(mq, 2, 16, 0600)) {
            SharedMemory.unlink(shm);
            MessageQueue.unlink(mq);
            expect("read into null", () -> p.source().read(null), NullPointerException.class);
            expect("read into a read-only buffer", () -> p.source().read(ByteBuffer.allocate(4).asReadOnlyBuffer()),
                    IllegalArgumentException.class);
            expect("pipe capacity below zero", () -> p.sink().setCapacity((int) Math.max(negative, Integer.MIN_VALUE)),
                    IllegalArgumentException.class);
            int past = 4096 - 3 + random.nextInt(Integer.MAX_VALUE - 4096);
            expect("int past the end", () -> s.getInt(past), IndexOutOfBoundsException.class);
            expect("long at a negative offset", () -> s.setLong(-8 * (1 + random.nextInt(1000)), 1),
                    IndexOutOfBoundsException.class);
            expect("offset + length overflow", () -> s.buffer().get(Integer.MAX_VALUE - random.nextInt(8),
                    new byte[16]), IndexOutOfBoundsException.class);
            expect("message longer than msgsize", () -> q.send(new byte[17 + random.nextInt(1 << 16)], 0),
                    MessageTooLargeException.class);
            expect("priority out of range", () -> q.send(new byte[1], 32768 + random.nextInt(1000)),
                    IllegalArgumentException.class);
        }
    }

    /** Close while another thread is blocked: that thread gets AsynchronousCloseException. */
    private static void closeWhileBlocked() throws Exception {
        Pipe p = Pipe.open();
        Blocked.Call<Integer> reader = Blocked.start(() -> p.source().read(ByteBuffer.allocateDirect(8)),
                Blocked.READ, Blocked.POLL);
        p.close();
        expect("read closed under a blocked reader", () -> {
            try {
                reader.result().get();
            } catch (java.util.concurrent.ExecutionException e) {
                throw (Exception) e.getCause();
            }
        }, AsynchronousCloseException.class);
        reader.thread().join();
    }

    /** Planted /dev/shm/sem.NAME files: empty, garbage, a symbolic link, another user's. */
    private static void plantedSemaphores(String sem, int i) throws Exception {
        Path f = Path.of("/dev/shm/sem." + sem.substring(1));
        Path target = Path.of("/dev/shm/" + sem.substring(1) + "-target");
        switch (i % 4) {
            case 0 -> Files.write(f, new byte[0]);
            case 1 -> {
                byte[] garbage = new byte[32];
                new Random(i).nextBytes(garbage);
                garbage[0] = (byte) 0xff;
                garbage[3] = (byte) 0xff; // a value above SEM_VALUE_MAX: never valid
                Files.write(f, garbage);
            }
            case 2 -> {
                Files.write(target, new byte[32]);
                Files.createSymbolicLink(f, target);
            }
            default -> {
                Files.write(f, new byte[32]);
                UserPrincipalLookupService users = f.getFileSystem().getUserPrincipalLookupService();
                Files.setOwner(f, users.lookupPrincipalByName("nobody"));
            }
        }
        try {
            expect("planted semaphore file " + i % 4, () -> Semaphore.open(sem).close(), IpcSecurityException.class);
        } finally {
            Files.deleteIfExists(f);
            Files.deleteIfExists(target);
        }
    }

    /**
     * FAULT-04: a second handle shrinks the object while reads run: the JVM raises InternalError (a
     * fault in an unsafe memory access) on the reading thread, at once or a little later, and lives on.
     */
    private static void truncatedWhileRead(String shm, int iterations) throws Exception {
        for (int i = 0; i < iterations; i++) {
            try (SharedMemory s = SharedMemory.createExclusively(shm, 1 << 16); SharedMemory peer = SharedMemory.open(shm)) {
                SharedMemory.unlink(shm);
                AtomicReference<Throwable> raised = new AtomicReference<>();
                Thread reader = new Thread(() -> {
                    long sum = 0;
                    for (int k = 0; k < 100; k++) {
                        sum += s.getLong(8192 + 8 * k) + s.getIntAcquire(32768);
                    }
                    raised.set(new AssertionError("no fault after truncation: " + sum));
                });
                reader.setUncaughtExceptionHandler((t, e) -> raised.set(e));
                peer.resize(1);
                reader.start();
                reader.join();
                count++;
                if (!(raised.get() instanceof InternalError)) {
                    WRONG.add("truncated segment read: " + raised.get());
                }
            }
        }
    }

    /**
     * SHM-11 for what the JDK does not guard: compare-and-set and get-and-add on a segment another
     * handle shrank (refused: IllegalStateException), and glibc's sem_post/sem_trywait/sem_getvalue
     * on a semaphore in a shrunk segment and on a named one whose file a peer truncated
     * (InternalError). Each round first uses them, so the code runs warm into the fault, and each
     * misuse runs on a thread of its own, which also takes the JDK's later InternalError.
     */
    private static void truncatedUnderAtomics(String shm, String sem, int iterations) throws Exception {
        for (int i = 0; i < iterations; i++) {
            try (SharedMemory s = SharedMemory.createExclusively(shm, 1 << 16); SharedMemory peer = SharedMemory.open(shm)) {
                Semaphore inSegment = Semaphore.initialize(s, 8192, 1);
                Semaphore named = Semaphore.createExclusively(sem, 1);
                for (int k = 0; k < 40; k++) {
                    s.compareAndSetInt(16384, k, k + 1);
                    s.getAndAddLong(24576, 1);
                    inSegment.release();
                    inSegment.tryAcquire();
                    named.release();
                    named.tryAcquire();
                    named.value();
                }
                peer.resize(1);
                try (FileChannel f = FileChannel.open(Path.of("/dev/shm/sem." + sem.substring(1)),
                        StandardOpenOption.WRITE)) {
                    f.truncate(0);
                }
                Semaphore.unlink(sem);
                SharedMemory.unlink(shm);
                int k = i;
                Misuse[] updates = {() -> s.compareAndSetInt(8192 + 4 * (k % 64), 0, 1), () -> s.getAndAddInt(16384, 1),
                    () -> s.compareAndSetLong(24576, 0, 1), () -> s.getAndAddLong(32768 + 8 * (k % 64), 1)};
                for (Misuse m : updates) {
                    onItsOwnThread("atomic update of a shrunk segment", m, IllegalStateException.class);
                }
                Misuse[] semaphores = {inSegment::release, inSegment::tryAcquire, inSegment::value, named::release,
                    named::tryAcquire, named::value};
                for (Misuse m : semaphores) {
                    onItsOwnThread("semaphore of a shrunk object", m, InternalError.class);
                }
                inSegment.close();
                named.close();
            }
        }
    }

    /** {@link #expect} on a new thread, whose death takes whatever the JDK raises later. */
    private static void onItsOwnThread(String what, Misuse misuse, Class<? extends Throwable> allowed)
            throws InterruptedException {
        AtomicReference<Throwable> raised = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                misuse.run();
            } catch (Throwable e) {
                raised.compareAndSet(null, e);
            }
        });
        t.setUncaughtExceptionHandler((thread, e) -> raised.compareAndSet(null, e));
        t.start();
        t.join();
        count++;
        if (!allowed.isInstance(raised.get())) {
            WRONG.add(what + ": " + raised.get());
        }
    }

    /**
     * FAULT-04 (SHM-11) for the ring: a peer truncates a ring's object to 0 bytes under its handles,
     * whose next calls would make compare-and-set and get-and-add on words of the vanished header (a
     * fault the JVM survives in plain reads, not in those run by the interpreter or C1). Each call must
     * raise InternalError, at once or a little later, and the JVM live on. Rounds of use before the
     * truncation take the ring's code through the interpreter, C1 and C2 over the iterations.
     */
    private static void truncatedRing(String name, int iterations) throws Exception {
        for (int i = 0; i < iterations; i++) {
            boolean multi = i % 4 != 3;
            try (Ring consumer = Ring.create(name, 4096, 64, multi, 0600); Ring producer = Ring.open(name);
                    FileChannel peer = FileChannel.open(Path.of("/dev/shm" + name), StandardOpenOption.WRITE)) {
                Ring.unlink(name);
                ByteBuffer message = ByteBuffer.allocateDirect(64);
                for (int k = 0; k < 40; k++) {
                    producer.offer(message.clear());
                    producer.claim(8, Duration.ZERO);
                    producer.commit();
                    consumer.poll(m -> { }, Duration.ZERO);
                }
                peer.truncate(0);
                Misuse[] misuses = {() -> producer.offer(message.clear()), () -> producer.claim(8, Duration.ZERO),
                    () -> consumer.poll(Duration.ZERO), producer::close, consumer::close};
                for (int m = 0; m < misuses.length; m++) {
                    Misuse misuse = misuses[m];
                    AtomicReference<Throwable> raised = new AtomicReference<>();
                    Thread t = new Thread(() -> {
                        try {
                            misuse.run();
                        } catch (Exception e) {
                            raised.set(e);
                            return;
                        }
                        raised.set(new AssertionError("no fault after truncation"));
                    });
                    t.setUncaughtExceptionHandler((thread, e) -> raised.set(e));
                    t.start();
                    t.join();
                    count++;
                    if (!(raised.get() instanceof InternalError)) {
                        WRONG.add("truncated " + (multi ? "multi-producer " : "") + "ring, call " + m + ": "
                                + raised.get());
                    }
                }
            }
        }
    }
}
