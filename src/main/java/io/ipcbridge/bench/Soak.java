package io.ipcbridge.bench;

import io.ipcbridge.cli.BoundedBuffer;
import io.ipcbridge.cli.RingRecords;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.pipe.PipeSink;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.ring.PeerDiedException;
import io.ipcbridge.ring.Ring;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.ServerSocket;
import io.ipcbridge.socket.Socket;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The soak of RELIABILITY.md LOAD-10 (run by {@code scripts/soak}): rounds of a mixed workload
 * over every mechanism against the C peers, each checked for loss, with two peers SIGKILLed
 * mid-transfer every round (a pipe writer and a ring producer); every interval it prints this process's descriptors, mappings, RSS and
 * its entries in /dev/shm and /dev/mqueue, and at the end it fails if any of them drifted after the
 * warm-up (descriptors and entries: not at all; mappings and RSS: by more than 5%, first third of
 * the samples against the last).
 *
 * <p>usage: {@code Soak [--minutes N] [--interval SECONDS] [--native-dir DIR]}
 */
public final class Soak {
    private static final String USAGE = "scripts/soak [--minutes N] [--interval SECONDS] [--native-dir DIR]";
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int PIPE_BYTES = 4 << 20;
    private static final int MESSAGES = 2000;
    private static final int RECORDS = 20_000;
    private static final int PINGS = 2000;
    private static final int RING_RECORDS = 20_000;
    private static final int RING_MAX = 4096;
    /** What names of this process's objects contain (other processes' entries come and go). */
    private static final String OURS = "ipcb-bench-" + ProcessHandle.current().pid() + "-";

    private Soak() {
    }

    /** One sample of the process's resources. */
    private record Sample(long fds, long maps, long rssKb, long devShm, long mqueues) {
        static Sample now() throws IOException {
            return new Sample(count(Path.of("/proc/self/fd"), ""), lines(Path.of("/proc/self/maps")), readRssKb(),
                    count(Path.of("/dev/shm"), OURS), Files.isDirectory(Path.of("/dev/mqueue"))
                            ? count(Path.of("/dev/mqueue"), OURS) : -1);
        }

        /** The entries of {@code dir} whose name contains {@code part}. */
        private static long count(Path dir, String part) throws IOException {
            try (Stream<Path> s = Files.list(dir)) {
                return s.filter(p -> p.getFileName().toString().contains(part)).count();
            }
        }

        private static long lines(Path file) throws IOException {
            try (Stream<String> s = Files.lines(file)) {
                return s.count();
            }
        }

        private static long readRssKb() throws IOException {
            try (Stream<String> s = Files.lines(Path.of("/proc/self/status"))) {
                return s.filter(l -> l.startsWith("VmRSS:")).mapToLong(l -> Long.parseLong(l.replaceAll("\\D", "")))
                        .findFirst().orElse(-1);
            }
        }

        /** What differs from {@code base} in what must not move at all (descriptors, entries), or null. */
        String moved(Sample base) {
            StringBuilder d = new StringBuilder();
            if (fds != base.fds) {
                d.append(" fds ").append(base.fds).append(" -> ").append(fds);
            }
            if (devShm != base.devShm || mqueues != base.mqueues) {
                d.append(" entries ").append(base.devShm).append('/').append(base.mqueues).append(" -> ")
                        .append(devShm).append('/').append(mqueues);
            }
            return d.length() == 0 ? null : d.toString().trim();
        }

        String line(double minutes, long rounds) {
            return String.format(Locale.ROOT, "%8.2f %8d %6d %6d %9d %7d %8d", minutes, rounds, fds, maps, rssKb,
                    devShm, mqueues);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = BenchSupport.options(args, "soak", USAGE, "--minutes", "--interval", "--native-dir");
        double minutes = BenchSupport.positive(o, "--minutes", 30, "soak", USAGE);
        long interval = BenchSupport.number(o, "--interval", 10, 1, Long.MAX_VALUE / 1_000_000_000L, "soak", USAGE);
        String unmeasurable = unmeasurable(minutes, interval);
        if (unmeasurable != null) {
            BenchSupport.usageError("soak", unmeasurable, USAGE);
        }
        String nativeDir = o.getOrDefault("--native-dir",
                System.getProperty("ipcbridge.native.dir", "target/native-tests"));
        BenchSupport.cleanUpOnExit("soak");
        System.exit(run(nativeDir, minutes, interval, System.out));
    }

    private static int run(String nativeDir, double minutes, long interval, PrintStream out) throws Exception {
        Path fifoDir = Files.createTempDirectory("ipcb-soak");
        BenchSupport.track(fifoDir.toString(), () -> {
            Files.deleteIfExists(fifoDir.resolve("f"));
            Files.deleteIfExists(fifoDir);
        });
        long start = System.nanoTime();
        long end = start + (long) (minutes * 60e9);
        long warmUp = start + warmUpNanos(minutes);
        long nextSample = start;
        long rounds = 0;
        List<Sample> steady = new ArrayList<>();
        Sample last;
        out.println("# minutes   rounds    fds   maps    rss_kB devshm mqueues");
        try {
            while (System.nanoTime() < end) {
                round(nativeDir, fifoDir, rounds);
                rounds++;
                long now = System.nanoTime();
                if (now >= nextSample) {
                    last = Sample.now();
                    out.println(last.line((now - start) / 60e9, rounds));
                    out.flush();
                    nextSample = now + interval * 1_000_000_000L;
                    if (now >= warmUp) {
                        steady.add(last);
                    }
                }
            }
        } finally {
            BenchSupport.remove(fifoDir.toString());
        }
        last = Sample.now();
        out.println(last.line((System.nanoTime() - start) / 60e9, rounds));
        steady.add(last);
        String drift = drift(steady);
        out.println(drift == null ? "soak: " + rounds + " rounds, " + 2 * rounds + " peers killed, nothing lost, no drift"
                : "soak: DRIFT after warm-up: " + drift);
        return drift == null ? 0 : 1;
    }

    /** The warm-up of a run of {@code minutes}: its first tenth, at least a minute. */
    private static long warmUpNanos(double minutes) {
        return Math.max((long) (minutes * 60e9 / 10), 60_000_000_000L);
    }

    /**
     * Why a run of {@code minutes}, sampled every {@code interval} seconds, cannot measure drift, or
     * null: what follows the warm-up must last at least as long as the warm-up, and hold three
     * samples (the drift compares the first third of them with the last third).
     */
    static String unmeasurable(double minutes, long interval) {
        double warmUp = warmUpNanos(minutes);
        double measured = minutes * 60e9 - warmUp;
        if (measured < warmUp) {
            return String.format(Locale.ROOT, "--minutes %s leaves %.0f s after the %.0f s warm-up, less than"
                    + " the warm-up: give at least 2", minutes, Math.max(measured, 0) / 1e9, warmUp / 1e9);
        }
        if (measured < 3 * interval * 1e9) {
            return String.format(Locale.ROOT, "--interval %d takes fewer than 3 samples in the %.0f s after the"
                    + " warm-up", interval, measured / 1e9);
        }
        return null;
    }

    /**
     * Drift over the samples after the warm-up: descriptors and entries must never move; mappings
     * and RSS, which the JVM's own threads, GC and compiler move up and down by 10% or more from one
     * sample to the next, must not grow by more than 5% from the mean of the first third to the
     * mean of the last third. Null when nothing drifted.
     */
    private static String drift(List<Sample> steady) {
        Sample base = steady.get(0);
        for (Sample s : steady) {
            String moved = s.moved(base);
            if (moved != null) {
                return moved;
            }
        }
        int third = Math.max(1, steady.size() / 3);
        List<Sample> first = steady.subList(0, third);
        List<Sample> lastThird = steady.subList(steady.size() - third, steady.size());
        double mapsBefore = first.stream().mapToLong(Sample::maps).average().orElse(0);
        double mapsAfter = lastThird.stream().mapToLong(Sample::maps).average().orElse(0);
        double rssBefore = first.stream().mapToLong(Sample::rssKb).average().orElse(0);
        double rssAfter = lastThird.stream().mapToLong(Sample::rssKb).average().orElse(0);
        StringBuilder d = new StringBuilder();
        if (mapsAfter > mapsBefore * 1.05) {
            d.append(String.format(Locale.ROOT, " maps %.0f -> %.0f", mapsBefore, mapsAfter));
        }
        if (rssAfter > rssBefore * 1.05) {
            d.append(String.format(Locale.ROOT, " rss %.0f -> %.0f kB", rssBefore, rssAfter));
        }
        return d.length() == 0 ? null : d.toString().trim();
    }

    /** One round: every mechanism once, each transfer checked, two peers killed mid-transfer. */
    static void round(String nativeDir, Path fifoDir, long round) throws Exception {
        BenchSupport.Peer pipePeer = new BenchSupport.Peer(Path.of(nativeDir, "pipe_peer").toString());
        BenchSupport.Peer fifoPeer = new BenchSupport.Peer(Path.of(nativeDir, "fifo_peer").toString());
        BenchSupport.Peer mqPeer = new BenchSupport.Peer(Path.of(nativeDir, "mq_peer").toString());
        BenchSupport.Peer shmPeer = new BenchSupport.Peer(Path.of(nativeDir, "shm_peer").toString());
        BenchSupport.Peer sockPeer = new BenchSupport.Peer(Path.of(nativeDir, "sock_peer").toString());
        BenchSupport.Peer ringPeer = new BenchSupport.Peer(Path.of(nativeDir, "ring_peer").toString());
        ByteBuffer chunk = BenchSupport.pattern(round + 1, 1 << 16);
        long crc = BenchSupport.crcOfRepeated(chunk, PIPE_BYTES);

        // a pipe to a C sink, checked by count and CRC
        try (Pipe p = Pipe.open(); Pipe out = Pipe.open();
                ChildProcess sink = pipePeer.command("sink", 3).fd(3, p.source()).stdout(out.sink()).start()) {
            p.source().close();
            out.sink().close();
            BenchSupport.sendAll(chunk, PIPE_BYTES, b -> p.sink().write(b));
            p.sink().close();
            pipePeer.checkSink("sink", BenchSupport.readLine(out.source()), PIPE_BYTES, crc);
            pipePeer.expectSuccess(sink, "sink");
        }

        // a FIFO to a C sink
        Path f = fifoDir.resolve("f");
        Fifo.create(f);
        try (Pipe out = Pipe.open(); ChildProcess sink = fifoPeer.command("sink", f).stdout(out.sink()).start()) {
            out.sink().close();
            try (PipeSink w = Fifo.openWriter(f, WAIT).orElseThrow(() -> new IOException("no FIFO reader"))) {
                BenchSupport.sendAll(chunk, PIPE_BYTES, w::write);
            }
            fifoPeer.checkSink("sink", BenchSupport.readLine(out.source()), PIPE_BYTES, crc);
            fifoPeer.expectSuccess(sink, "sink");
        } finally {
            Fifo.delete(f);
        }

        // a queue to a C receiver that checks every message's sequence and contents
        String q = BenchSupport.uniqueName("soak-q");
        BenchSupport.track(q, () -> MessageQueue.unlink(q)); // removed by the exit hook if interrupted
        try (MessageQueue mq = MessageQueue.createExclusively(q);
                ChildProcess receiver = mqPeer.discarding("receive", q, MESSAGES).start()) {
            for (long seq = 0; seq < MESSAGES; seq++) {
                int fill = (int) (seq % 64);
                ByteBuffer m = ByteBuffer.allocate(8 + fill).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(seq);
                while (m.hasRemaining()) {
                    m.put((byte) seq);
                }
                BenchSupport.check(mq.send(m.flip(), 0, WAIT), "the C receiver stopped taking messages");
            }
            mqPeer.expectSuccess(receiver, "receive");
        } finally {
            BenchSupport.remove(q);
        }

        // shared memory and semaphores: a C producer's records through the bounded buffer
        String bbName = BenchSupport.uniqueName("soak-bb");
        BenchSupport.track(bbName, () -> BoundedBuffer.unlink(bbName));
        try (BoundedBuffer bb = BoundedBuffer.create(bbName, 16, 64, round % 2 == 0);
                ChildProcess producer = shmPeer.command("bb-produce", bbName, RECORDS,
                        round % 2 == 0 ? "named" : "unnamed").start()) {
            for (long n = 0; n < RECORDS; n++) {
                BoundedBuffer.Taken t = bb.consume(n, WAIT).orElseThrow(() -> new IOException("bounded buffer stuck"));
                BenchSupport.check(t.ok(), "bounded buffer: " + t.wrong());
            }
            shmPeer.expectSuccess(producer, "bb-produce");
        } finally {
            BenchSupport.remove(bbName);
        }

        // a socket ping-pong with a C echo
        try (Socket.Pair pair = Socket.pair(Socket.Type.SEQPACKET);
                ChildProcess echo = sockPeer.command("echo-fd", 3).fd(3, pair.second()).start()) {
            pair.second().close();
            ByteBuffer ping = ByteBuffer.allocateDirect(64);
            ByteBuffer pong = ByteBuffer.allocateDirect(64);
            for (int i = 0; i < PINGS; i++) {
                ping.clear().putInt(0, i);
                pair.first().write(ping);
                pong.clear();
                int n = pair.first().read(pong);
                BenchSupport.check(n == 64 && pong.getInt(0) == i, "echo " + i + ": read " + n + " bytes, int "
                        + (n >= 4 ? pong.getInt(0) : -1) + ", echo peer " + echo.exitStatus());
            }
            pair.first().shutdownOutput();
            sockPeer.expectSuccess(echo, "echo-fd");
        }

        // an AF_UNIX stream to a C sink, checked by count and CRC
        try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM); Pipe out = Pipe.open();
                ChildProcess sink = sockPeer.command("sink-fd", 3).fd(3, pair.second()).stdout(out.sink()).start()) {
            pair.second().close();
            out.sink().close();
            BenchSupport.sendAll(chunk, PIPE_BYTES, b -> pair.first().write(b)); // a blocking write writes all
            pair.first().shutdownOutput();
            sockPeer.checkSink("sink-fd", BenchSupport.readLine(out.source()), PIPE_BYTES, crc);
            sockPeer.expectSuccess(sink, "sink-fd");
        }

        // TCP over loopback: a C client's messages echoed by an accepted socket, checked by the client
        try (ServerSocket server = ServerSocket.listen(Address.inet("127.0.0.1", 0), Socket.Type.STREAM);
                ChildProcess client = sockPeer.discarding("echo-client", "tcp:" + server.localAddress(), "stream", PINGS)
                        .start();
                Socket accepted = server.accept(WAIT).orElseThrow(() -> new IOException("no TCP client"))) {
            ByteBuffer b = ByteBuffer.allocateDirect(4096);
            while (accepted.read(b.clear()) >= 0) {
                accepted.write(b.flip()); // a blocking write writes all
            }
            accepted.shutdownOutput(); // the client reads to its end of file
            sockPeer.expectSuccess(client, "echo-client");
        }

        // the shared-memory ring, futex waits: a C producer's records of random sizes, each checked;
        // then a C producer SIGKILLed mid-stream: every record before its death whole and in order,
        // then PeerDiedException (the pidfd watcher's thread and descriptors come and go each time)
        String r = BenchSupport.uniqueName("soak-r");
        BenchSupport.track(r, () -> Ring.unlink(r));
        try {
            ByteBuffer record = ByteBuffer.allocateDirect(RING_MAX);
            for (long count : new long[] {RING_RECORDS, Long.MAX_VALUE}) {
                boolean kill = count == Long.MAX_VALUE;
                try (Ring ring = Ring.create(r, 1 << 16, RING_MAX, false, 0600);
                        ChildProcess producer = ringPeer.discarding("produce", r, count, round, "--wait", "block")
                                .start()) {
                    long seq = 0;
                    try {
                        for (; seq < count; seq++) {
                            BenchSupport.check(ring.poll(record.clear(), WAIT) >= 0, "ring: no record " + seq);
                            String wrong = RingRecords.check(record.flip(), 0, round, seq, 0, RING_MAX);
                            BenchSupport.check(wrong == null, "ring record " + seq + ": " + wrong);
                            if (kill && seq == RING_RECORDS / 10) {
                                producer.kill();
                            }
                        }
                        ringPeer.expectSuccess(producer, "produce");
                    } catch (PeerDiedException e) {
                        BenchSupport.check(kill && e.pid() == producer.pid(), "ring: " + e.getMessage());
                    }
                    BenchSupport.check(!kill || seq > RING_RECORDS / 10, "ring: the killed producer was not seen");
                }
                Ring.unlink(r);
            }
        } finally {
            BenchSupport.remove(r);
        }

        // a C writer SIGKILLed mid-transfer: the reader reaches end of file, with a pattern prefix
        try (Pipe p = Pipe.open();
                ChildProcess writer = pipePeer.command("source", 3, 1L << 40, 1).fd(3, p.sink()).start()) {
            p.sink().close();
            ByteBuffer b = ByteBuffer.allocateDirect(1 << 16);
            ByteBuffer expect = BenchSupport.pattern(1, 1 << 20);
            long got = 0;
            for (int n; (n = p.source().read(b.clear())) >= 0; got += n) {
                if (got == 0 && n > 0) {
                    writer.kill();
                }
                b.flip();
                for (int i = 0; i < n && got + i < expect.capacity(); i++) {
                    BenchSupport.check(b.get(i) == expect.get((int) (got + i)), "killed writer's data at " + (got + i));
                }
            }
            BenchSupport.check(writer.waitFor().signal() == 9, "the writer was killed");
        }
    }
}
