package io.ipcbridge.bench;

import static io.ipcbridge.bench.BenchSupport.against;
import static io.ipcbridge.bench.BenchSupport.check;
import static io.ipcbridge.bench.BenchSupport.closeAll;
import static io.ipcbridge.bench.BenchSupport.peerNanos;
import static io.ipcbridge.bench.BenchSupport.readAll;
import static io.ipcbridge.bench.BenchSupport.timeRoundTrips;
import static io.ipcbridge.cli.BoundedBuffer.OFF_DATA;
import static io.ipcbridge.cli.BoundedBuffer.OFF_EMPTY;
import static io.ipcbridge.cli.BoundedBuffer.OFF_FULL;
import static io.ipcbridge.cli.BoundedBuffer.OFF_HEAD;
import static io.ipcbridge.cli.BoundedBuffer.OFF_MUTEX;
import static io.ipcbridge.cli.BoundedBuffer.OFF_TAIL;

import io.ipcbridge.bench.BenchSupport.Options;
import io.ipcbridge.bench.BenchSupport.Peer;
import io.ipcbridge.bench.BenchSupport.Results;
import io.ipcbridge.cli.BoundedBuffer;
import io.ipcbridge.internal.posix.Syscalls;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/**
 * Shared memory and semaphore benchmark (not a test): side by side in one run, for C &harr; C
 * ({@code shm_peer bench-cc}), Java &harr; C (ipcbridge against the C peers) and Java &harr; Java (two
 * threads, each with its own mapping and handles, as two processes would have):
 *
 * <ul>
 *   <li>the round trip of a ping-pong over two named semaphores (post ping, wait pong), Java side
 *       through {@link Semaphore}, against {@code sem_peer echo};
 *   <li>the round trip of a spin flag: an int in a shared memory segment that one side sets to
 *       2i+1 (release store) and the other answers with 2i+2, each spinning (acquire loads, with a
 *       CPU pause) until it sees its value; Java side through {@link SharedMemory#setIntRelease} and
 *       {@link SharedMemory#getIntAcquire} with {@link Thread#onSpinWait()}, against
 *       {@code shm_peer spin-pong}; plus the JDK's own way for reference, a {@link MappedByteBuffer}
 *       of {@code /dev/shm/NAME} with {@link VarHandle} acquire/release;
 *   <li>the throughput of the bounded buffer of {@code native-tests/include/ipcb_bounded.h} (16
 *       slots of 64 KiB, the unnamed semaphores in its header), with the protocol of
 *       {@code shm_peer ring-source} and {@code ring-sink}: the producer fills the data area once,
 *       then writes only each record's 8-byte sequence number, the consumer checks only that.
 * </ul>
 *
 * <p>With the ratios to C &harr; C and a MET / NOT MET line per target. Rounds interleave the pairs
 * (the ipcbridge and JDK spin pairs swap places every other round), and the tables give the median
 * of the rounds and their min-max spread, as {@link PipeBench} does. Run it with
 * {@code scripts/bench-shm [options]}:
 *
 * <pre>
 * --bytes N       bytes per throughput run (default 1 GiB, a multiple of 64 KiB; K, M, G suffixes)
 * --pings N       timed round trips per run (default 100000; after 10000 warm-up ones)
 * --repeat N      rounds (default 5: the medians of 3 vary by more than the targets' margins here)
 * --native-dir D  where shm_peer and sem_peer are (default: system property ipcbridge.native.dir)
 * --quick         64 MiB, 10000 pings, 1 round: a smoke run
 * --cpus LIST     (the script's own) everything under taskset -c LIST
 * </pre>
 *
 * <p>On a single CPU (e.g. {@code --cpus 0}) a spinner gives the CPU up only when the scheduler
 * preempts it, so a spin round trip there is two scheduler ticks (8 ms at 250 Hz) for C and Java
 * alike: the spin pairs then run {@value #ONE_CPU_SPIN_PINGS} round trips after
 * {@value #ONE_CPU_SPIN_WARMUP} warm-up ones, and bench-cc, which runs its semaphore and spin
 * ping-pongs with one count, gets that count too (its 1000 warm-up spins alone take 8 s there).
 *
 * <p>Every object has a name of its own ({@code /ipcb-bench-<pid>-<n>-<tag>}) and is unlinked when
 * its run ends, or by a shutdown hook when the benchmark is interrupted. Every run is checked: the
 * sequence numbers (by the C sink or by Java), every round trip's value, exit statuses. A C peer
 * that dies stops its Java side (a semaphore does not tell).
 */
public final class ShmBench {
    private static final int SLOTS = 16;
    private static final int RECORD = 64 * 1024;
    private static final int WARMUP = 10_000;
    private static final int CC_WARMUP = 1000;
    private static final int ONE_CPU_SPIN_PINGS = 200;
    private static final int ONE_CPU_SPIN_WARMUP = 20;
    private static final int SPIN_SEGMENT = 4096;

    private static final String RING_CC = "C -> C (bench-cc)";
    private static final String RING_CC2 = "  ref: C -> C (ring-source -> ring-sink)";
    private static final String RING_JC = "Java -> C (ipcbridge -> ring-sink)";
    private static final String RING_JC_RAW = "  ref: Java -> C (raw sem_wait/sem_post)";
    private static final String RING_CJ = "C -> Java (ring-source -> ipcbridge)";
    private static final String RING_CJ_RAW = "  ref: C -> Java (raw sem_wait/sem_post)";
    private static final String RING_JJ = "Java -> Java (ipcbridge, 2 threads)";
    private static final String SEM_CC = "C <-> C (bench-cc)";
    private static final String SEM_CC2 = "  ref: C <-> C (sem_peer ping/echo)";
    private static final String SEM_JC = "Java <-> C (ipcbridge Semaphore)";
    private static final String SEM_RAW = "  ref: Java <-> C (raw sem_post/sem_wait)";
    private static final String SEM_JJ = "Java <-> Java (ipcbridge, 2 threads)";
    private static final String SPIN_CC = "C <-> C (bench-cc)";
    private static final String SPIN_JC = "Java <-> C (ipcbridge SharedMemory)";
    private static final String SPIN_JDK = "Java <-> C (JDK MappedByteBuffer+VarHandle)";
    private static final String SPIN_JJ = "Java <-> Java (ipcbridge, 2 threads)";

    private final Peer shm;
    private final Peer sem;
    private final long bytes;
    private final long records;
    private final int pings;
    private final boolean oneCpu;
    private final int spinPings;
    private final int spinWarmup;
    /** The ring and semaphore results. */
    private final Results results;
    /** The spin results: a table of their own. */
    private final Results spin;

    private ShmBench(Peer shm, Peer sem, long bytes, int pings, int repeat, boolean oneCpu) {
        this.shm = shm;
        this.sem = sem;
        this.bytes = bytes;
        this.records = bytes / RECORD;
        this.pings = pings;
        this.oneCpu = oneCpu;
        spinPings = oneCpu ? Math.min(pings, ONE_CPU_SPIN_PINGS) : pings;
        spinWarmup = oneCpu ? ONE_CPU_SPIN_WARMUP : WARMUP;
        results = new Results(bytes, repeat);
        spin = new Results(bytes, repeat);
    }

    /**
     * Runs the benchmark; see the class description for the options.
     *
     * @param args the options
     * @throws Exception if a run fails: a child failed, or a check of what went through
     */
    public static void main(String[] args) throws Exception {
        Options o = BenchSupport.options("bench-shm", args, RECORD, 5, "shm_peer", "sem_peer");
        if (o == null) {
            return;
        }
        BenchSupport.cleanUpOnExit("bench-shm");
        Peer shm = o.peer("shm_peer");
        Peer sem = o.peer("sem_peer");
        boolean oneCpu = Runtime.getRuntime().availableProcessors() == 1;
        // One untimed round of the Java pairs first, so that no pair pays for the JIT compiling the
        // code it shares with another (the semaphore calls, the spin loop, the ring loops).
        new ShmBench(shm, sem, o.bytes(), Math.min(o.pings(), 20_000), 1, oneCpu).round("[warm-up] ", false);
        ShmBench bench = new ShmBench(shm, sem, o.bytes(), o.pings(), o.repeat(), oneCpu);
        BenchSupport.rounds(o.repeat(), r -> bench.round(r, true));
        bench.report(System.out);
    }

    /** Rounds run so far. */
    private int rounds;

    /**
     * Runs every pair once (bench-cc only {@code withCc}); {@code r} prefixes the progress lines. The
     * ipcbridge and JDK spin pairs swap places every other round.
     */
    private void round(String r, boolean withCc) throws Exception {
        int n = ++rounds;
        if (withCc) {
            Map<String, Double> v = Results.benchCcValues(r, shm, "shm_peer bench-cc", spinPings, bytes);
            results.addRt(r, SEM_CC, Results.value(v, "sem_roundtrip_ns_median"),
                    Results.value(v, "sem_roundtrip_ns_mean"));
            spin.addRt(r, SPIN_CC, Results.value(v, "spin_roundtrip_ns_median"),
                    Results.value(v, "spin_roundtrip_ns_mean"));
            results.addRate(r, RING_CC, Results.value(v, "ring_bytes_per_sec"));
        }
        // The round trips first: right after bench-cc's, in the same conditions as far as can be.
        results.putRt(r, SEM_JC, () -> semJavaC(false));
        results.putRt(r, SEM_RAW, () -> semJavaC(true));
        results.putRt(r, SEM_JJ, this::semJavaJava);
        results.putMeanRt(r, SEM_CC2, this::semCToC);
        BenchSupport.alternate(n, () -> spin.putRt(r, SPIN_JC, () -> spinJavaC(false)),
                () -> spin.putRt(r, SPIN_JDK, () -> spinJavaC(true)));
        spin.putRt(r, SPIN_JJ, this::spinJavaJava);
        results.put(r, RING_CC2, this::ringCToC);
        results.put(r, RING_JC, () -> ringJavaC(false));
        results.put(r, RING_JC_RAW, () -> ringJavaC(true));
        results.put(r, RING_CJ, () -> ringCJava(false));
        results.put(r, RING_CJ_RAW, () -> ringCJava(true));
        results.put(r, RING_JJ, this::ringJavaJava);
    }

    // ---- objects ------------------------------------------------------------------------------

    /** A named semaphore of value 0 under a fresh name; closing it closes and unlinks it. */
    private static final class NamedSemaphore implements AutoCloseable {
        final String name = BenchSupport.uniqueName("sem");
        final Semaphore semaphore;

        NamedSemaphore() throws IOException {
            BenchSupport.track(name, () -> Semaphore.unlink(name));
            try {
                semaphore = Semaphore.createExclusively(name, 0);
            } catch (IOException | RuntimeException e) {
                BenchSupport.forget(name); // not ours: never unlink it
                throw e;
            }
        }

        /** Its 32 bytes, mapped from {@code /dev/shm/sem.NAME} as glibc's sem_open maps them. */
        ByteBuffer map() throws IOException {
            try (FileChannel ch = FileChannel.open(Path.of("/dev/shm/sem." + name.substring(1)),
                    StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                return ch.map(FileChannel.MapMode.READ_WRITE, 0, Semaphore.SIZE);
            }
        }

        @Override
        public void close() throws IOException {
            try {
                semaphore.close();
            } finally {
                BenchSupport.remove(name);
            }
        }
    }

    /** A shared memory segment of {@code size} zero bytes under a fresh name; closing it unlinks it. */
    private static final class Segment implements AutoCloseable {
        final String name = BenchSupport.uniqueName("spin");
        final SharedMemory memory;

        Segment(int size) throws IOException {
            BenchSupport.track(name, () -> SharedMemory.unlink(name));
            try {
                memory = SharedMemory.createExclusively(name, size);
            } catch (IOException | RuntimeException e) {
                BenchSupport.forget(name);
                throw e;
            }
        }

        @Override
        public void close() throws IOException {
            try {
                memory.close();
            } finally {
                BenchSupport.remove(name);
            }
        }
    }

    /**
     * A bounded buffer of SLOTS records of RECORD bytes with unnamed semaphores, made by
     * {@link BoundedBuffer#create} (the layout's one definition on the Java side); closing it
     * unlinks it.
     */
    private static final class Ring implements AutoCloseable {
        final String name = BenchSupport.uniqueName("ring");
        final BoundedBuffer buffer;

        Ring() throws IOException {
            BenchSupport.track(name, () -> BoundedBuffer.unlink(name));
            try {
                buffer = BoundedBuffer.create(name, SLOTS, RECORD, false);
            } catch (IOException | RuntimeException e) {
                BenchSupport.forget(name);
                throw e;
            }
        }

        @Override
        public void close() throws IOException {
            try {
                buffer.close();
            } finally {
                BenchSupport.remove(name);
            }
        }
    }

    // ---- semaphores ---------------------------------------------------------------------------

    /** One side's handle on a semaphore; closing it makes a blocked {@link #down()} fail. */
    private interface Sem extends AutoCloseable {
        /** sem_wait. */
        void down() throws IOException, InterruptedException;

        /** sem_post. */
        void up() throws IOException;

        @Override
        void close() throws IOException;
    }

    /** Through ipcbridge's {@link Semaphore}: what is measured. */
    private record Ipcbridge(Semaphore semaphore) implements Sem {
        @Override
        public void down() throws IOException, InterruptedException {
            semaphore.acquire();
        }

        @Override
        public void up() throws IOException {
            semaphore.release();
        }

        @Override
        public void close() throws IOException {
            semaphore.close();
        }
    }

    /**
     * glibc's sem_wait and sem_post straight on the sem_t's address, without {@link Semaphore}:
     * the floor under it. Closing posts once and makes the woken {@link #down()} fail.
     */
    private static final class Raw implements Sem {
        /** The mapping {@link #address} is in, kept reachable while it is used. */
        private final ByteBuffer mapping;
        private final long address;
        private final String name;
        private volatile boolean stopped;

        Raw(ByteBuffer mapping, int offset, String name) {
            this.mapping = mapping;
            this.address = Syscalls.address(mapping) + offset;
            this.name = name;
        }

        @Override
        public void down() throws IOException {
            int r;
            while ((r = Syscalls.semWait(address, -1, name)) == Syscalls.INTERRUPTED) {
                // EINTR: again
            }
            Reference.reachabilityFence(mapping);
            check(r == 0 && !stopped, "sem_wait " + name + (stopped ? ": stopped" : ": " + r));
        }

        @Override
        public void up() throws IOException {
            Syscalls.semPost(address, name);
            Reference.reachabilityFence(mapping);
        }

        @Override
        public void close() throws IOException {
            stopped = true;
            up();
        }
    }

    /** WARMUP untimed, then {@link #pings} timed round trips: post {@code ping}, wait {@code pong}. */
    private long[] semPingPong(Sem ping, Sem pong) throws Exception {
        return timeRoundTrips(WARMUP, pings, -1, i -> {
            ping.up();
            pong.down();
            return i;
        });
    }

    /** Java pings {@code sem_peer echo PING PONG}; with {@code raw}, without {@link Semaphore}. */
    private long[] semJavaC(boolean raw) throws Exception {
        try (NamedSemaphore ping = new NamedSemaphore(); NamedSemaphore pong = new NamedSemaphore();
             ChildProcess echo = sem.command("echo", ping.name, pong.name, WARMUP + pings).start()) {
            Sem a = raw ? new Raw(ping.map(), 0, ping.name) : new Ipcbridge(ping.semaphore);
            Sem b = raw ? new Raw(pong.map(), 0, pong.name) : new Ipcbridge(pong.semaphore);
            long[] t = against(sem, echo, "echo", () -> semPingPong(a, b), b);
            sem.expectSuccess(echo, "echo");
            return t;
        }
    }

    /** As {@link #semJavaC}, with a Java echo thread on handles of its own. */
    private long[] semJavaJava() throws Exception {
        try (NamedSemaphore ping = new NamedSemaphore(); NamedSemaphore pong = new NamedSemaphore();
             Semaphore in = Semaphore.open(ping.name); Semaphore out = Semaphore.open(pong.name)) {
            return BenchSupport.withWorker("bench-sem-echo", () -> {
                for (int i = 0; i < WARMUP + pings; i++) {
                    in.acquire();
                    out.release();
                }
            }, () -> closeAll(in, pong.semaphore),
                    () -> semPingPong(new Ipcbridge(ping.semaphore), new Ipcbridge(pong.semaphore)));
        }
    }

    /** {@code sem_peer ping} against {@code sem_peer echo}: C &harr; C between two processes, its mean. */
    private double semCToC() throws Exception {
        try (NamedSemaphore ping = new NamedSemaphore(); NamedSemaphore pong = new NamedSemaphore();
             Pipe out = Pipe.open();
             ChildProcess echo = sem.command("echo", ping.name, pong.name, pings).start();
             ChildProcess pinger = sem.command("ping", ping.name, pong.name, pings).stdout(out.sink()).start()) {
            out.sink().close();
            BenchSupport.watch(sem, echo, "echo", pinger::kill);
            BenchSupport.watch(sem, pinger, "ping", echo::kill);
            String line = readAll(out.source());
            sem.expectSuccess(pinger, "ping");
            sem.expectSuccess(echo, "echo");
            return (double) peerNanos(line, pings, "sem_peer ping") / pings;
        }
    }

    // ---- spin flag ----------------------------------------------------------------------------

    /** The int at offset 0 of a segment, as one side sees it. */
    private interface Flag {
        int getAcquire();

        void setRelease(int value);
    }

    /** Through ipcbridge's {@link SharedMemory}: what is measured. */
    private record ShmFlag(SharedMemory memory) implements Flag {
        @Override
        public int getAcquire() {
            return memory.getIntAcquire(0);
        }

        @Override
        public void setRelease(int value) {
            memory.setIntRelease(0, value);
        }
    }

    /** The JDK's own way: a {@link MappedByteBuffer} of /dev/shm/NAME and a {@link VarHandle}. */
    private record JdkFlag(MappedByteBuffer map) implements Flag {
        private static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class,
                ByteOrder.nativeOrder());

        static JdkFlag map(String name) throws IOException {
            try (FileChannel ch = FileChannel.open(Path.of("/dev/shm", name.substring(1)), StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                return new JdkFlag(ch.map(FileChannel.MapMode.READ_WRITE, 0, SPIN_SEGMENT));
            }
        }

        @Override
        public int getAcquire() {
            return (int) INTS.getAcquire(map, 0);
        }

        @Override
        public void setRelease(int value) {
            INTS.setRelease(map, 0, value);
        }
    }

    /** Ends a spin whose other side has gone: the spinner looks at it every 65536 turns. */
    private static final class SpinStop implements AutoCloseable {
        private volatile boolean stopped;

        @Override
        public void close() {
            stopped = true;
        }
    }

    /** Spins (with {@link Thread#onSpinWait()}) until {@code flag} holds {@code want}. */
    private static void spinUntil(Flag flag, int want, SpinStop stop) {
        int turns = 0;
        while (flag.getAcquire() != want) {
            Thread.onSpinWait();
            if (++turns == 1 << 16) {
                turns = 0;
                check(!stop.stopped, "spin: stopped while waiting for " + want);
            }
        }
    }

    /** spinWarmup untimed, then spinPings timed round trips: set 2k+1, wait for 2k+2. */
    private long[] spinPing(Flag flag, SpinStop stop) throws Exception {
        return timeRoundTrips(spinWarmup, spinPings, -1, i -> {
            int k = i + spinWarmup;
            flag.setRelease(2 * k + 1);
            spinUntil(flag, 2 * k + 2, stop);
            return i;
        });
    }

    /** Java pings {@code shm_peer spin-pong}, through ipcbridge or, with {@code jdk}, the JDK's MappedByteBuffer. */
    private long[] spinJavaC(boolean jdk) throws Exception {
        try (Segment segment = new Segment(SPIN_SEGMENT);
             ChildProcess pong = shm.command("spin-pong", segment.name, 0, spinWarmup + spinPings).start()) {
            Flag flag = jdk ? JdkFlag.map(segment.name) : new ShmFlag(segment.memory);
            SpinStop stop = new SpinStop();
            long[] t = against(shm, pong, "spin-pong", () -> spinPing(flag, stop), stop);
            shm.expectSuccess(pong, "spin-pong");
            return t;
        }
    }

    /** As {@link #spinJavaC}, with a Java thread answering on a mapping of its own. */
    private long[] spinJavaJava() throws Exception {
        try (Segment segment = new Segment(SPIN_SEGMENT); SharedMemory other = SharedMemory.open(segment.name)) {
            Flag pongFlag = new ShmFlag(other);
            SpinStop stop = new SpinStop();
            return BenchSupport.withWorker("bench-spin-pong", () -> {
                for (int k = 0; k < spinWarmup + spinPings; k++) {
                    spinUntil(pongFlag, 2 * k + 1, stop);
                    pongFlag.setRelease(2 * k + 2);
                }
            }, stop::close, () -> spinPing(new ShmFlag(segment.memory), stop));
        }
    }

    // ---- ring ---------------------------------------------------------------------------------

    /**
     * One side of the ring, as a process of its own would have it: its own mapping of the segment
     * and its own handles on the three semaphores in the header (through ipcbridge, or raw).
     */
    private static final class RingSide implements AutoCloseable {
        final SharedMemory memory;
        /** The mapping, little-endian: the sequence numbers are. */
        final ByteBuffer data;
        final Sem empty;
        final Sem full;
        final Sem mutex;

        RingSide(String name, boolean raw) throws IOException {
            memory = SharedMemory.open(name);
            try {
                data = memory.buffer().order(ByteOrder.LITTLE_ENDIAN);
                empty = sem(raw, OFF_EMPTY);
                full = sem(raw, OFF_FULL);
                mutex = sem(raw, OFF_MUTEX);
            } catch (IOException | RuntimeException e) {
                memory.close();
                throw e;
            }
        }

        private Sem sem(boolean raw, int offset) throws IOException {
            return raw ? new Raw(memory.buffer(), offset, memory.name() + "+" + offset)
                    : new Ipcbridge(Semaphore.attach(memory, offset));
        }

        /** ring-source's first step: the whole data area 0x5a. */
        void fill() {
            byte[] chunk = new byte[RECORD];
            Arrays.fill(chunk, (byte) 0x5a);
            for (int i = 0; i < SLOTS; i++) {
                data.put(OFF_DATA + i * RECORD, chunk);
            }
        }

        static int recordOffset(long i) {
            return OFF_DATA + (int) (i % SLOTS) * RECORD;
        }

        /** Makes the blocked side fail (for the watcher, or when the other thread fails). */
        void stop() throws IOException {
            closeAll(empty, full, mutex);
        }

        @Override
        public void close() throws IOException {
            try {
                stop();
            } finally {
                memory.close();
            }
        }
    }

    /** ring-source's loop: records 0..records-1, each its sequence number only. */
    private static void produce(RingSide s, long records) throws Exception {
        for (long n = 0; n < records; n++) {
            s.empty.down();
            s.mutex.down();
            long head = s.memory.getLong(OFF_HEAD);
            s.data.putLong(RingSide.recordOffset(head), n);
            s.memory.setLong(OFF_HEAD, head + 1);
            s.mutex.up();
            s.full.up();
        }
    }

    /**
     * ring-sink's loop: takes records 0..records-1 and checks their sequence numbers.
     *
     * @return ring-sink's time: from taking the first record to releasing the last, in ns
     */
    private static long consume(RingSide s, long records) throws Exception {
        long t0 = 0;
        for (long n = 0; n < records; n++) {
            s.full.down();
            if (n == 0) {
                t0 = System.nanoTime();
            }
            s.mutex.down();
            long tail = s.memory.getLong(OFF_TAIL);
            long seq = s.data.getLong(RingSide.recordOffset(tail));
            if (seq != n) {
                throw new IllegalStateException("ring: expected record " + n + ", got record " + seq);
            }
            s.memory.setLong(OFF_TAIL, tail + 1);
            s.mutex.up();
            s.empty.up();
        }
        return System.nanoTime() - t0;
    }

    /** {@code shm_peer ring-source} into {@code ring-sink}: the C side of the Java pairs, without Java. */
    private long ringCToC() throws Exception {
        try (Ring ring = new Ring(); Pipe out = Pipe.open();
             ChildProcess sink = shm.command("ring-sink", ring.name, bytes).stdout(out.sink()).start();
             ChildProcess source = shm.command("ring-source", ring.name, bytes).start()) {
            out.sink().close();
            BenchSupport.watch(shm, sink, "ring-sink", source::kill);
            BenchSupport.watch(shm, source, "ring-source", sink::kill);
            String line = readAll(out.source());
            shm.expectSuccess(source, "ring-source");
            shm.expectSuccess(sink, "ring-sink");
            return peerNanos(line, bytes, "shm_peer ring-sink");
        }
    }

    /** Java produces into {@code shm_peer ring-sink}, which checks and times; with {@code raw}, without {@link Semaphore}. */
    private long ringJavaC(boolean raw) throws Exception {
        try (Ring ring = new Ring(); RingSide side = new RingSide(ring.name, raw); Pipe out = Pipe.open();
             ChildProcess sink = shm.command("ring-sink", ring.name, bytes).stdout(out.sink()).start()) {
            out.sink().close();
            side.fill();
            String line = against(shm, sink, "ring-sink", () -> {
                produce(side, records);
                return readAll(out.source());
            }, side::stop);
            shm.expectSuccess(sink, "ring-sink");
            return peerNanos(line, bytes, "shm_peer ring-sink");
        }
    }

    /** {@code shm_peer ring-source} into Java, which checks and times; with {@code raw}, without {@link Semaphore}. */
    private long ringCJava(boolean raw) throws Exception {
        try (Ring ring = new Ring(); RingSide side = new RingSide(ring.name, raw);
             ChildProcess source = shm.command("ring-source", ring.name, bytes).start()) {
            long ns = against(shm, source, "ring-source", () -> consume(side, records), side::stop);
            shm.expectSuccess(source, "ring-source");
            return ns;
        }
    }

    /** A Java producer thread and a Java consumer, each with its own mapping and handles. */
    private long ringJavaJava() throws Exception {
        try (Ring ring = new Ring(); RingSide producer = new RingSide(ring.name, false);
             RingSide consumer = new RingSide(ring.name, false)) {
            producer.fill();
            return BenchSupport.withWorker("bench-producer", () -> produce(producer, records), () -> {
                producer.stop();
                consumer.stop();
            }, () -> consume(consumer, records));
        }
    }

    // ---- report -------------------------------------------------------------------------------

    private void report(PrintStream out) {
        Results.header(out, shm.path() + ", " + sem.path());
        results.throughputTable(out, String.format(Locale.ROOT, "in %d records of 64 KiB through the bounded buffer"
                + " (%d slots, unnamed semaphores)", records, SLOTS), RING_CC);
        out.printf(Locale.ROOT, "(the producer fills the data area once, then writes each record's 8-byte sequence"
                + " number only; the consumer checks it. Time: the consumer's, from taking the first record to"
                + " releasing the last; bench-cc: from its fork to the last record)%n");
        String cc = oneCpu ? String.format(Locale.ROOT, "; bench-cc: %d after %d, as for the spin flag", spinPings,
                CC_WARMUP) : String.format(Locale.ROOT, " (bench-cc: %d)", CC_WARMUP);
        results.roundTripTable(out, String.format(Locale.ROOT, "Semaphore round trip (post ping, wait pong; two named"
                + " semaphores): %d timed round trips after %d warm-up%s", pings, WARMUP, cc), SEM_CC);
        spin.roundTripTable(out, String.format(Locale.ROOT, "Spin-flag round trip (store 2i+1 with release, spin with"
                + " acquire loads and a pause until 2i+2; an int in a segment): %d timed round trips after %d"
                + " warm-up (bench-cc: %d)", spinPings, spinWarmup, CC_WARMUP), SPIN_CC);
        out.printf(Locale.ROOT, "(ref.: not an API pair, shown for comparison; raw = glibc's sem_wait/sem_post on the"
                + " same sem_t without io.ipcbridge.sem.Semaphore; a median of \"-\": the C peer times its whole loop,"
                + " its mean only)%n");
        if (oneCpu) {
            out.printf(Locale.ROOT, "note: one CPU: a spinner yields only when the scheduler preempts it, so a spin"
                    + " round trip is two scheduler ticks for C and Java alike, not the cost of the flag%n");
        }

        out.println();
        results.roundTripTarget(out, "sem round trip Java <-> C <= 1.10x C <-> C (medians)", SEM_JC, SEM_CC, 1.10);
        String spinTarget = "spin round trip Java <-> C <= 1.5x C <-> C (medians)";
        if (oneCpu) {
            BenchSupport.notApplicable(out, spinTarget, "one CPU: every spin round trip is two scheduler ticks; run"
                    + " on two CPUs or more, e.g. --cpus 0,1");
        } else {
            spin.roundTripTarget(out, spinTarget, SPIN_JC, SPIN_CC, 1.5);
        }
        results.rateTarget(out, "ring throughput Java -> C >= 0.8x C -> C", RING_JC, RING_CC, 0.8);
        results.rateTarget(out, "ring throughput C -> Java >= 0.8x C -> C", RING_CJ, RING_CC, 0.8);
        double[] jdk = spin.roundTrip(SPIN_JDK);
        double[] ipcb = spin.roundTrip(SPIN_JC);
        out.printf(Locale.ROOT, "info: spin round trip Java <-> C, ipcbridge SharedMemory / JDK MappedByteBuffer: %s;"
                + " means %.3fx%n", BenchSupport.ratio(ipcb[0], jdk[0], 1e3, "us"), ipcb[1] / jdk[1]);
        double[] semJc = results.roundTrip(SEM_JC);
        double[] semRaw = results.roundTrip(SEM_RAW);
        double[] semCc2 = results.roundTrip(SEM_CC2);
        out.printf(Locale.ROOT, "info: semaphore round trip Java <-> C through Semaphore / raw sem calls: %.3fx"
                + " (%+.2f us); means: Java <-> C / C <-> C between two processes (sem_peer) %.3fx%n",
                semJc[0] / semRaw[0], (semJc[0] - semRaw[0]) / 1e3, semJc[1] / semCc2[1]);
        double cc2 = results.rate(RING_CC2);
        out.printf(Locale.ROOT, "info: ring like for like (the same C peers, the same clock): ring-source -> ring-sink"
                + " / bench-cc %.3fx; Java -> C / C -> C into the same ring-sink %.3fx; C -> Java / C -> C from"
                + " the same ring-source %.3fx%n", cc2 / results.rate(RING_CC), results.rate(RING_JC) / cc2,
                results.rate(RING_CJ) / cc2);
        out.printf(Locale.ROOT, "info: ring through Semaphore / raw sem calls: Java -> C %.3fx, C -> Java %.3fx%n",
                results.rate(RING_JC) / results.rate(RING_JC_RAW), results.rate(RING_CJ) / results.rate(RING_CJ_RAW));
        results.placement(out, "scripts/bench-shm", spin);
    }
}
