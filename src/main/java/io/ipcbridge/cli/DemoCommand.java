package io.ipcbridge.cli;

import io.ipcbridge.Reaper;
import io.ipcbridge.conn.Connection;
import io.ipcbridge.mq.Message;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.pipe.PipeSink;
import io.ipcbridge.pipe.PipeSource;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.process.ExitStatus;
import io.ipcbridge.process.Pipeline;
import io.ipcbridge.process.Stage;
import io.ipcbridge.ring.Ring;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.socket.Socket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ipcbridge demo}: the tour. Each exchange moves data through one mechanism between Java and a
 * C peer or a shell tool, checks it end to end, and prints one table row to stdout: mechanism,
 * direction and peer, bytes, MB/s (10^6 bytes per second, spawn included), OK or FAILED. Details of a
 * failure, and notes such as skipped C exchanges, go to stderr. Exit 0 when every exchange that ran
 * was OK, else 1.
 */
@CommandLine.Command(name = "demo", mixinStandardHelpOptions = true, version = Main.VERSION,
        description = {"The tour: pipes, FIFOs, AF_UNIX stream and seqpacket sockets, a message connection, a "
                + "message queue, shared memory with semaphores and the shared-memory message ring between Java "
                + "and the C peers of native-tests/, the reaper after a C creator, a pipe into sha256sum, and the "
                + "pipeline du -sk DIR/* | sort -rn | head -10 compared with bash running it; every exchange is "
                + "verified.",
            "Socket rows use socketpair(2), one end on the C peer's fd 3; the seqpacket row sends 64 KiB "
                + "messages that the peer echoes, each compared with what was sent.",
            "The conn row frames messages as Python's multiprocessing.connection does, over socketpair(2) "
                + "(Connection.pipe) with one end on conn_peer's fd 3: every size from 0 to 1 MiB (at most "
                + "--size), each echoed and compared.",
            "Shared memory rows go through the bounded buffer of native-tests/include/ipcb_bounded.h "
                + "(16 slots of 64 KiB records, counted by process-shared semaphores inside the segment); "
                + "their bytes are whole records. Queues and segments are named /ipcb-demo-PID-* and "
                + "always removed.",
            "Ring rows go through the shared-memory message ring of native-tests/include/ipcbridge_ring.h "
                + "(1 MiB, records of random sizes up to 64 KiB, each checked byte for byte and in order by "
                + "the receiver, ring_peer or Java).",
            "The reap row: owned_peer names a segment, a semaphore and a queue after itself "
                + "(PREFIX.PID.START.PIDNS.LABEL) and ends without unlinking them; Reaper.reap must remove "
                + "exactly those (the queue only where /dev/mqueue is mounted, else the demo unlinks it).",
            "The C peers are looked up in -Dipcbridge.native.dir, $IPCBRIDGE_NATIVE_DIR, "
                + "target/native-tests next to the jar, then native-tests/build; they are built "
                + "with make when the sources are at hand, else those rows are skipped."})
final class DemoCommand implements Callable<Integer> {
    private static final int CHUNK = 1 << 20;
    private static final Duration PEER_WAIT = Duration.ofSeconds(10);
    private static final Duration SLICE = Duration.ofMillis(100);
    private static final Optional<Boolean> SENT = Optional.of(Boolean.TRUE);
    private static final String ROW = "%-14s  %-38s  %10s  %9s  %s%n";
    private static final String SHELL_PIPELINE = "du -sk \"$1\"/* | sort -rn | head -10";
    private static final int BB_SLOTS = 16;
    private static final int BB_RECORD = 64 * 1024;
    private static final int SEQPACKET_MESSAGE = 64 * 1024;
    private static final int CONN_LARGEST = 1 << 20;
    private static final int RING_CAPACITY = 1 << 20;
    private static final int RING_MESSAGE = 64 * 1024;

    @Spec
    CommandSpec spec;

    @Option(names = "--size", paramLabel = "S", defaultValue = "64MiB", converter = Sizes.class,
            description = "Bytes per exchange (4096, 4k, 64KiB, 1MiB, 1GiB; default: ${DEFAULT-VALUE}).")
    long size;

    private PrintWriter out;
    private PrintWriter err;
    private boolean allOk = true;

    /** What one exchange found. */
    private record Outcome(long bytes, long nanos, boolean ok, String detail) {
    }

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        err = spec.commandLine().getErr();
        if (size == Long.MAX_VALUE) { // where Sizes saturates: past what a byte count here can hold
            throw CommandFailure.refused("--size: the demo streams at most " + (Long.MAX_VALUE - 1) + " bytes");
        }
        Optional<Path> peers = NativePeers.locate(err);
        warmUp();
        Path work = Files.createTempDirectory("ipcbridge-demo-"); // 0700: the FIFO is private to us
        try {
            out.printf(ROW, "MECHANISM", "DIRECTION / PEER", "BYTES", "MB/s", "RESULT");
            out.flush();
            Optional<Path> pipePeer = peers.map(d -> d.resolve("pipe_peer"));
            Optional<Path> fifoPeer = peers.map(d -> d.resolve("fifo_peer"));
            row("pipe", "Java -> C (pipe_peer sink, fd 3)", pipePeer, p -> pipeToC(p));
            row("pipe", "C -> Java (pipe_peer source, fd 3)", pipePeer, p -> pipeFromC(p));
            Path fifo = work.resolve("demo.fifo");
            row("fifo", "Java -> C (fifo_peer sink)", fifoPeer, p -> fifoToC(p, fifo));
            row("fifo", "C -> Java (fifo_peer source)", fifoPeer, p -> fifoFromC(p, fifo));
            Optional<Path> sockPeer = peers.map(d -> d.resolve("sock_peer"));
            row("unix-stream", "Java -> C (sock_peer sink-fd 3)", sockPeer, p -> streamToC(p));
            row("unix-stream", "C -> Java (sock_peer source-fd 3)", sockPeer, p -> streamFromC(p));
            row("unix-seqpacket", "Java <-> C (sock_peer echo-fd 3)", sockPeer, p -> seqpacketEcho(p));
            row("conn", "Java <-> C (conn_peer echo 3)", peers.map(d -> d.resolve("conn_peer")), p -> connEcho(p));
            Optional<Path> mqPeer = peers.map(d -> d.resolve("mq_peer"));
            Optional<Path> shmPeer = peers.map(d -> d.resolve("shm_peer"));
            String prefix = "/ipcb-demo-" + ProcessHandle.current().pid();
            row("mq", "Java -> C (mq_peer sink)", mqPeer, p -> mqToC(p, prefix + "-mq1"));
            row("mq", "C -> Java (mq_peer source)", mqPeer, p -> mqFromC(p, prefix + "-mq2"));
            row("shm+sem", "Java -> C (shm_peer bb-consume)", shmPeer, p -> shmToC(p, prefix + "-bb1"));
            row("shm+sem", "C -> Java (shm_peer bb-produce)", shmPeer, p -> shmFromC(p, prefix + "-bb2"));
            Optional<Path> ringPeer = peers.map(d -> d.resolve("ring_peer"));
            row("ring", "Java -> C (ring_peer consume)", ringPeer, p -> ringToC(p, prefix + "-ring1"));
            row("ring", "C -> Java (ring_peer produce)", ringPeer, p -> ringFromC(p, prefix + "-ring2"));
            row("reap", "C creator ended (owned_peer) -> Java", peers.map(d -> d.resolve("owned_peer")),
                    p -> reapAfterC(p, prefix + "-owned"));
            row("pipe", "Java -> shell (sha256sum stdin)", Optional.of(Path.of("sha256sum")), p -> sha256());
            row("pipeline", "du | sort -rn | head -10 vs bash -c", Optional.of(Path.of("bash")),
                    p -> pipeline(work.resolve("tree")));
        } finally {
            deleteTree(work);
        }
        return allOk ? ExitCodes.OK : ExitCodes.FAILED;
    }

    /**
     * Runs the pattern generator and CRC-32 over a few MiB, so that the JIT has compiled them before
     * the first row is timed (else the first row shows the interpreter, not the pipe).
     */
    private static void warmUp() {
        PatternStream pattern = new PatternStream(0);
        CRC32 crc = new CRC32();
        ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024);
        for (int i = 0; i < 128; i++) {
            pattern.fill(buffer.clear());
            crc.update(buffer.flip());
        }
    }

    /** Runs an exchange that needs {@code program} (skipped when absent) and prints its row. */
    private void row(String mechanism, String direction, Optional<Path> program, Exchange exchange) {
        if (program.isEmpty()) {
            out.printf(ROW, mechanism, direction, "-", "-", "SKIPPED");
            out.flush();
            return;
        }
        Outcome outcome;
        try {
            outcome = exchange.run(program.get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            outcome = new Outcome(0, 0, false, "interrupted");
        } catch (Exception e) {
            outcome = new Outcome(0, 0, false, ExitCodes.describe(e));
        }
        String rate = outcome.nanos() > 0 && outcome.bytes() > 0 && !"pipeline".equals(mechanism)
                ? String.format(Locale.ROOT, "%.1f", outcome.bytes() * 1e3 / outcome.nanos()) : "-";
        out.printf(ROW, mechanism, direction, outcome.bytes(), rate, outcome.ok() ? "OK" : "FAILED");
        out.flush();
        if (!outcome.ok()) {
            allOk = false;
            err.println("ipcbridge: demo: " + mechanism + " " + direction + ": " + outcome.detail());
            err.flush();
        }
    }

    /** One exchange, given the program it needs; it throws when it cannot even finish. */
    @FunctionalInterface
    private interface Exchange {
        Outcome run(Path program) throws Exception;
    }

    private Outcome pipeToC(Path peer) throws Exception {
        long seed = 1;
        try (Pipe data = Pipe.open(); Pipe reply = Pipe.open()) {
            long start = System.nanoTime();
            try (ChildProcess child = Command.of(peer.toString(), "sink", "3")
                    .fd(3, data.source()).stdout(reply.sink()).start()) {
                data.source().close(); // the child holds the read end now: EOF reaches it when we close ours
                reply.sink().close();
                CRC32 crc = new CRC32();
                send(data.sink(), seed, crc::update);
                String answer = readReply(reply.source());
                ExitStatus status = awaitExit(child);
                return verdict(System.nanoTime() - start, status, answer, size + " " + hex(crc));
            }
        }
    }

    private Outcome pipeFromC(Path peer) throws Exception {
        long seed = 2;
        String expected = size + " " + expectedCrc(seed);
        try (Pipe data = Pipe.open()) {
            long start = System.nanoTime();
            try (ChildProcess child = Command.of(peer.toString(), "source", "3", Long.toString(size),
                    Long.toString(seed)).fd(3, data.sink()).start()) {
                data.sink().close();
                String got = receive(data.source());
                ExitStatus status = awaitExit(child);
                return verdict(System.nanoTime() - start, status, got, expected);
            }
        }
    }

    private Outcome fifoToC(Path peer, Path fifo) throws Exception {
        long seed = 3;
        Fifo.create(fifo);
        try (Pipe reply = Pipe.open()) {
            long start = System.nanoTime();
            try (ChildProcess child = Command.of(peer.toString(), "sink", fifo.toString())
                    .stdout(reply.sink()).start()) {
                reply.sink().close();
                CRC32 crc = new CRC32();
                try (PipeSink sink = Fifo.openWriter(fifo, PEER_WAIT)
                        .orElseThrow(() -> CommandFailure.timedOut("open(" + fifo + "): fifo_peer did not open it"))) {
                    send(sink, seed, crc::update);
                }
                String answer = readReply(reply.source());
                ExitStatus status = awaitExit(child);
                return verdict(System.nanoTime() - start, status, answer, size + " " + hex(crc));
            }
        } finally {
            Fifo.delete(fifo);
        }
    }

    private Outcome fifoFromC(Path peer, Path fifo) throws Exception {
        long seed = 4;
        String expected = size + " " + expectedCrc(seed);
        Fifo.create(fifo);
        try {
            long start = System.nanoTime();
            try (ChildProcess child = Command.of(peer.toString(), "source", fifo.toString(),
                    Long.toString(size), Long.toString(seed)).start()) {
                String got;
                try (PipeSource source = Fifo.openReader(fifo, PEER_WAIT)
                        .orElseThrow(() -> CommandFailure.timedOut("open(" + fifo + "): fifo_peer did not open it"))) {
                    got = receive(source);
                }
                ExitStatus status = awaitExit(child);
                return verdict(System.nanoTime() - start, status, got, expected);
            }
        } finally {
            Fifo.delete(fifo);
        }
    }

    /** AF_UNIX stream: a socketpair, one end on the peer's fd 3; the peer prints "COUNT CRC32" of what came. */
    private Outcome streamToC(Path peer) throws Exception {
        long seed = 8;
        try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM); Pipe reply = Pipe.open()) {
            long start = System.nanoTime();
            try (ChildProcess child = Command.of(peer.toString(), "sink-fd", "3")
                    .fd(3, pair.second()).stdout(reply.sink()).start()) {
                pair.second().close(); // the child holds it now: EOF reaches it when we close ours
                reply.sink().close();
                CRC32 crc = new CRC32();
                send(pair.first(), seed, crc::update);
                String answer = readReply(reply.source());
                ExitStatus status = awaitExit(child);
                return verdict(System.nanoTime() - start, status, answer, size + " " + hex(crc));
            }
        }
    }

    /** AF_UNIX stream: the peer writes pattern(seed) on its fd 3, shuts it down; Java checks count and CRC. */
    private Outcome streamFromC(Path peer) throws Exception {
        long seed = 9;
        String expected = size + " " + expectedCrc(seed);
        try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM)) {
            long start = System.nanoTime();
            try (ChildProcess child = Command.of(peer.toString(), "source-fd", "3", Long.toString(size),
                    Long.toString(seed)).fd(3, pair.second()).start()) {
                pair.second().close();
                pair.first().setReadTimeout(PEER_WAIT); // a peer that stalls fails the row, it does not hang it
                String got = receive(pair.first());
                ExitStatus status = awaitExit(child);
                return verdict(System.nanoTime() - start, status, got, expected);
            }
        }
    }

    /**
     * AF_UNIX seqpacket: Java sends pattern(seed) in 64 KiB messages, one at a time, and the peer
     * echoes each; every echo must be one message equal to the one sent (boundaries kept, UDS-11),
     * and after Java's shutdown the peer closes: end of file.
     */
    private Outcome seqpacketEcho(Path peer) throws Exception {
        long seed = 10;
        try (Socket.Pair pair = Socket.pair(Socket.Type.SEQPACKET)) {
            long start = System.nanoTime();
            try (ChildProcess child = Command.of(peer.toString(), "echo-fd", "3").fd(3, pair.second()).start()) {
                pair.second().close();
                Socket socket = pair.first();
                socket.setReadTimeout(PEER_WAIT);
                ByteBuffer echo = ByteBuffer.allocateDirect(SEQPACKET_MESSAGE);
                long[] messages = {0};
                String[] wrong = {null};
                generate(seed, SEQPACKET_MESSAGE, message -> {
                    socket.write(message.duplicate());
                    int n = socket.read(echo.clear());
                    if (wrong[0] == null && (n != message.remaining() || !echo.flip().equals(message))) {
                        wrong[0] = "the echo of message " + messages[0] + " (" + message.remaining() + " bytes) was "
                                + (n < 0 ? "end of file" : "a different message of " + n + " bytes");
                    }
                    messages[0]++;
                });
                socket.shutdownOutput();
                int after = socket.read(echo.clear());
                ExitStatus status = awaitExit(child);
                long nanos = System.nanoTime() - start;
                if (wrong[0] == null && after >= 0) {
                    wrong[0] = "a message of " + after + " bytes came after the last echo";
                }
                if (wrong[0] != null) {
                    return new Outcome(size, nanos, false, wrong[0]);
                }
                return verdict(nanos, status, messages[0] + " echoes", messages[0] + " echoes");
            }
        }
    }

    /**
     * multiprocessing.connection framing: a {@link Connection#pipe Connection.pipe(true)} pair, one
     * end on the peer's fd 3; messages of pattern(seed + i) of every size from 0 to 1 MiB (at most
     * --size: 0, then 2^k - 1, 2^k, 2^k + 1), each echoed by the peer and compared with what was
     * sent; after Java closes, the peer reports "echoed N". Bytes: the total sent.
     */
    private Outcome connEcho(Path peer) throws Exception {
        long seed = 11;
        List<Integer> sizes = connSizes((int) Math.min(CONN_LARGEST, size));
        try (Connection.Pair pair = Connection.pipe(true); Pipe reply = Pipe.open()) {
            long start = System.nanoTime();
            try (ChildProcess child = Command.of(peer.toString(), "echo", "3").fd(3, pair.second())
                    .stdout(reply.sink()).start()) {
                pair.second().close(); // the child holds it now: EOF reaches it when we close ours
                reply.sink().close();
                Connection c = pair.first();
                long bytes = 0;
                for (int i = 0; i < sizes.size(); i++) {
                    byte[] message = new byte[sizes.get(i)];
                    new PatternStream(seed + i).fill(ByteBuffer.wrap(message));
                    c.sendBytes(message);
                    if (!c.poll(PEER_WAIT)) { // a peer that stalls fails the row, it does not hang it
                        throw CommandFailure.timedOut("no echo of message " + i + " within "
                                + Durations.format(PEER_WAIT));
                    }
                    byte[] echo = c.recvBytes();
                    if (!Arrays.equals(echo, message)) {
                        return new Outcome(bytes, System.nanoTime() - start, false, "the echo of message " + i
                                + " (" + message.length + " bytes) was a different message of " + echo.length + " bytes");
                    }
                    bytes += message.length;
                }
                c.close();
                String answer = readReply(reply.source());
                ExitStatus status = awaitExit(child);
                return verdict(System.nanoTime() - start, bytes, status, answer, "echoed " + sizes.size());
            }
        }
    }

    /** 0, then 2^k - 1, 2^k and 2^k + 1 up to {@code largest}, each once, ascending. */
    static List<Integer> connSizes(int largest) {
        java.util.TreeSet<Integer> sizes = new java.util.TreeSet<>(List.of(0));
        for (long p = 1; p <= largest; p <<= 1) {
            for (long s = p - 1; s <= p + 1; s++) {
                if (s <= largest) {
                    sizes.add((int) s);
                }
            }
        }
        return List.copyOf(sizes);
    }

    private Outcome mqToC(Path peer, String name) throws Exception {
        long seed = 6;
        MessageQueue queue = MessageQueue.createExclusively(name); // the kernel's sizes: 10 x 8192 here
        try (queue; Pipe reply = Pipe.open()) {
            long start = System.nanoTime();
            try (ChildProcess child = Command.of(peer.toString(), "sink", name, Long.toString(size))
                    .stdout(reply.sink()).start()) {
                reply.sink().close();
                CRC32 crc = new CRC32();
                generate(seed, queue.messageSize(), message -> {
                    crc.update(message.duplicate());
                    if (whilePeerRuns(child, wait -> queue.send(message, 0, wait) ? SENT : Optional.empty()).isEmpty()) {
                        throw stalled(child, "took no message");
                    }
                });
                String answer = readReply(reply.source());
                ExitStatus status = awaitExit(child);
                return verdict(System.nanoTime() - start, size, status, answer, size + " " + hex(crc));
            }
        } finally {
            removeQuietly(() -> MessageQueue.unlink(name));
        }
    }

    private Outcome mqFromC(Path peer, String name) throws Exception {
        long seed = 7;
        String expected = size + " " + expectedCrc(seed);
        MessageQueue queue = MessageQueue.createExclusively(name);
        try (queue) {
            long start = System.nanoTime();
            try (ChildProcess child = Command.of(peer.toString(), "source", name, Long.toString(size),
                    Long.toString(seed), Integer.toString(queue.messageSize())).start()) {
                CRC32 crc = new CRC32();
                long count = 0;
                while (count < size) {
                    Message m = whilePeerRuns(child, queue::receive).orElseThrow(() -> stalled(child, "sent no message"));
                    crc.update(m.data());
                    count += m.data().length;
                }
                ExitStatus status = awaitExit(child);
                return verdict(System.nanoTime() - start, size, status, count + " " + hex(crc), expected);
            }
        } finally {
            removeQuietly(() -> MessageQueue.unlink(name));
        }
    }

    /**
     * owned_peer names a segment, a semaphore and a queue after itself (Reaper's form) and ends
     * without unlinking them; {@link Reaper#reap} then removes exactly those three (the segment and
     * the semaphore only where the mqueue filesystem is not mounted: queues cannot be listed there).
     */
    private Outcome reapAfterC(Path peer, String prefix) throws Exception {
        long start = System.nanoTime();
        List<String> names = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        try {
            ExitStatus status;
            try (Pipe in = Pipe.open(); Pipe answers = Pipe.open();
                 ChildProcess child = Command.of(peer.toString(), "create", prefix)
                         .stdin(in.source()).stdout(answers.sink()).start()) {
                in.source().close(); // the child holds its end; closing ours gives it end of file at once
                in.sink().close();
                answers.sink().close();
                readAll(answers.source()).lines().filter(line -> !line.equals("ready")).forEach(names::add);
                status = awaitExit(child);
            }
            Reaper.reap(prefix).forEach(r -> removed.add(r.name()));
            String expected = names.size() != 3 ? "a segment, a semaphore and a queue"
                    : String.join(" ", names.subList(0, queuesListed() ? 3 : 2).stream().sorted().toList());
            return verdict(System.nanoTime() - start, 0, status, String.join(" ", removed.stream().sorted().toList()),
                    expected);
        } finally {
            List<Removal> unlinks = List.of(() -> SharedMemory.unlink(names.get(0)),
                    () -> Semaphore.unlink(names.get(1)), () -> MessageQueue.unlink(names.get(2)));
            for (int i = 0; i < names.size() && i < 3; i++) {
                if (!removed.contains(names.get(i))) {
                    removeQuietly(unlinks.get(i));
                }
            }
        }
    }

    /** Whether queues can be listed: the mqueue filesystem is mounted at /dev/mqueue. */
    private static boolean queuesListed() throws IOException {
        try {
            MessageQueue.list();
            return true;
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    /** Records of the bounded buffer: 64 KiB, or the whole size when smaller (at least 8 bytes). */
    private int recordSize() {
        return (int) Math.max(BoundedBuffer.SEQ_SIZE, Math.min(BB_RECORD, size));
    }

    private Outcome shmToC(Path peer, String name) throws Exception {
        int record = recordSize();
        long records = (size + record - 1) / record;
        BoundedBuffer buffer = BoundedBuffer.create(name, BB_SLOTS, record, false);
        try (buffer; Pipe reply = Pipe.open()) {
            long start = System.nanoTime();
            try (ChildProcess child = Command.of(peer.toString(), "bb-consume", name, Long.toString(records), "unnamed")
                    .stdout(reply.sink()).start()) {
                reply.sink().close();
                for (long n = 0; n < records; n++) {
                    long next = n;
                    if (whilePeerRuns(child, wait -> buffer.produce(next, wait) ? SENT : Optional.empty()).isEmpty()) {
                        throw stalled(child, "took no record");
                    }
                }
                String answer = readReply(reply.source());
                ExitStatus status = awaitExit(child);
                return verdict(System.nanoTime() - start, records * record, status, answer, "received " + records);
            }
        } finally {
            removeQuietly(() -> SharedMemory.unlink(name));
        }
    }

    private Outcome shmFromC(Path peer, String name) throws Exception {
        int record = recordSize();
        long records = (size + record - 1) / record;
        BoundedBuffer buffer = BoundedBuffer.create(name, BB_SLOTS, record, false);
        try (buffer) {
            long start = System.nanoTime();
            try (ChildProcess child = Command.of(peer.toString(), "bb-produce", name, Long.toString(records),
                    "unnamed").start()) {
                for (long n = 0; n < records; n++) {
                    long expected = n;
                    BoundedBuffer.Taken taken = whilePeerRuns(child, wait -> buffer.consume(expected, wait))
                            .orElseThrow(() -> stalled(child, "produced no record"));
                    if (!taken.ok()) {
                        return new Outcome(n * record, System.nanoTime() - start, false, taken.wrong());
                    }
                }
                ExitStatus status = awaitExit(child);
                return verdict(System.nanoTime() - start, records * record, status, "", "");
            }
        } finally {
            removeQuietly(() -> SharedMemory.unlink(name));
        }
    }

    /** Records through the ring: random sizes up to 64 KiB, about {@link #size} bytes in all. */
    private long ringRecords() {
        return Math.max(1, size / (RING_MESSAGE / 2));
    }

    private Outcome ringToC(Path peer, String name) throws Exception {
        long seed = 8;
        long records = ringRecords();
        Ring ring = Ring.create(name, RING_CAPACITY, RING_MESSAGE, false, Ring.DEFAULT_MODE);
        try (ring; Pipe reply = Pipe.open()) {
            long start = System.nanoTime();
            try (ChildProcess child = Command.of(peer.toString(), "consume", name, Long.toString(records),
                    Long.toString(seed)).stdout(reply.sink()).start()) {
                reply.sink().close();
                ByteBuffer record = ByteBuffer.allocateDirect(RING_MESSAGE);
                long bytes = 0;
                for (long n = 0; n < records; n++) {
                    RingRecords.fill(record, 0, seed, n, 0, RING_MESSAGE);
                    bytes += record.remaining();
                    if (whilePeerRuns(child, wait -> ring.offer(record, wait) ? SENT : Optional.empty()).isEmpty()) {
                        throw stalled(child, "took no record");
                    }
                }
                String answer = readReply(reply.source());
                ExitStatus status = awaitExit(child);
                return verdict(System.nanoTime() - start, bytes, status, answer, "ok " + records);
            }
        } finally {
            removeQuietly(() -> Ring.unlink(name));
        }
    }

    private Outcome ringFromC(Path peer, String name) throws Exception {
        long seed = 9;
        long records = ringRecords();
        Ring ring = Ring.create(name, RING_CAPACITY, RING_MESSAGE, false, Ring.DEFAULT_MODE);
        try (ring) {
            long start = System.nanoTime();
            try (ChildProcess child = Command.of(peer.toString(), "produce", name, Long.toString(records),
                    Long.toString(seed)).start()) {
                long[] next = {0};
                long[] bytes = {0};
                String[] wrong = {null};
                Ring.Handler check = m -> {
                    if (wrong[0] == null) {
                        bytes[0] += m.remaining();
                        wrong[0] = RingRecords.check(m, 0, seed, next[0]++, 0, RING_MESSAGE);
                    }
                };
                while (next[0] < records && wrong[0] == null) {
                    whilePeerRuns(child, wait -> ring.poll(check, wait) > 0 ? SENT : Optional.empty())
                            .orElseThrow(() -> stalled(child, "produced no record"));
                }
                if (wrong[0] != null) {
                    return new Outcome(bytes[0], System.nanoTime() - start, false, wrong[0]);
                }
                ExitStatus status = awaitExit(child);
                return verdict(System.nanoTime() - start, bytes[0], status, "", "");
            }
        } finally {
            removeQuietly(() -> Ring.unlink(name));
        }
    }

    /** A wait of at most the given time that may yield a result. */
    @FunctionalInterface
    private interface Attempt<T> {
        Optional<T> within(Duration wait) throws IOException, InterruptedException;
    }

    /**
     * Repeats {@code attempt} in short waits until it yields, the peer has ended (then tries once
     * more: it may have left its last message behind), or {@link #PEER_WAIT} has passed: a peer that
     * died is noticed at once, not after the whole wait.
     */
    private static <T> Optional<T> whilePeerRuns(ChildProcess peer, Attempt<T> attempt)
            throws IOException, InterruptedException {
        long start = System.nanoTime();
        for (;;) {
            Optional<T> result = attempt.within(SLICE);
            if (result.isPresent()) {
                return result;
            }
            if (peer.exitStatus().isPresent()) {
                return attempt.within(Duration.ZERO);
            }
            if (System.nanoTime() - start > PEER_WAIT.toNanos()) {
                return Optional.empty();
            }
        }
    }

    /** Why an exchange stalled: the peer ended, or it did not {@code what} for {@link #PEER_WAIT}. */
    private static CommandFailure stalled(ChildProcess peer, String what) {
        try {
            Optional<ExitStatus> status = peer.exitStatus();
            if (status.isPresent()) {
                return CommandFailure.refused("the peer ended with " + status.get() + " before the end (its stderr "
                        + "is above)");
            }
        } catch (IOException unknown) {
            // say what is known
        }
        return CommandFailure.timedOut("the peer " + what + " for " + Durations.format(PEER_WAIT));
    }

    /** Removes a named object this demo created; a failure is noted on stderr (the row has its verdict). */
    private void removeQuietly(Removal removal) {
        try {
            removal.run();
        } catch (IOException e) {
            err.println("ipcbridge: demo: " + ExitCodes.describe(e));
            err.flush();
        }
    }

    /** An unlink call. */
    @FunctionalInterface
    private interface Removal {
        void run() throws IOException;
    }

    private Outcome sha256() throws Exception {
        long seed = 5;
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (Pipe input = Pipe.open(); Pipe output = Pipe.open()) {
            long start = System.nanoTime();
            try (ChildProcess child = Command.of("sha256sum").stdin(input.source()).stdout(output.sink()).start()) {
                input.source().close();
                output.sink().close();
                send(input.sink(), seed, sha::update);
                String answer = readReply(output.source());
                ExitStatus status = awaitExit(child);
                String first = answer.isEmpty() ? "" : answer.split("\\s+")[0];
                return verdict(System.nanoTime() - start, status, first, HexFormat.of().formatHex(sha.digest()));
            }
        }
    }

    private Outcome pipeline(Path tree) throws Exception {
        List<String> du = new ArrayList<>(List.of("du", "-sk"));
        Files.createDirectory(tree);
        for (int i = 1; i <= 12; i++) {
            Path dir = Files.createDirectory(tree.resolve(String.format("d%02d", i)));
            byte[] content = new byte[i * 12 * 1024];
            Arrays.fill(content, (byte) i); // not sparse: du counts what is allocated
            Files.write(dir.resolve("data"), content);
            du.add(dir.toString()); // DIR/* expanded here; sort -rn makes the order irrelevant
        }
        long start = System.nanoTime();
        String fromJava;
        List<ExitStatus> statuses;
        try (Pipeline.Run run = Pipeline.of(Stage.command(du.toArray(String[]::new)),
                Stage.command("sort", "-rn"), Stage.command("head", "-10")).start()) {
            fromJava = readAll(run.output());
            statuses = run.waitFor();
        }
        long nanos = System.nanoTime() - start;
        String fromShell;
        ExitStatus shellStatus;
        try (Pipe output = Pipe.open();
             ChildProcess bash = Command.of("bash", "-c", SHELL_PIPELINE, "bash", tree.toString())
                     .stdout(output.sink()).start()) {
            output.sink().close();
            fromShell = readAll(output.source());
            shellStatus = awaitExit(bash);
        }
        long bytes = fromJava.getBytes(StandardCharsets.UTF_8).length;
        // Like bash without pipefail: the last stage counts; the others may end by SIGPIPE once head is done.
        boolean stagesOk = statuses.get(2).success() && statuses.subList(0, 2).stream()
                .allMatch(s -> s.success() || s.signal() == ExitStatus.SIGPIPE);
        if (!stagesOk || !shellStatus.success()) {
            return new Outcome(bytes, nanos, false, "statuses " + statuses + ", bash " + shellStatus);
        }
        if (!fromJava.equals(fromShell) || fromJava.lines().count() != 10) {
            return new Outcome(bytes, nanos, false, "Java's pipeline gave " + quote(fromJava)
                    + " but bash gave " + quote(fromShell));
        }
        return new Outcome(bytes, nanos, true, null);
    }

    private Outcome verdict(long nanos, ExitStatus status, String got, String expected) {
        return verdict(nanos, size, status, got, expected);
    }

    private static Outcome verdict(long nanos, long bytes, ExitStatus status, String got, String expected) {
        if (!status.success()) {
            return new Outcome(bytes, nanos, false, "the peer ended with " + status + " (its stderr is above)");
        }
        if (!got.equals(expected)) {
            return new Outcome(bytes, nanos, false, "expected " + quote(expected) + ", got " + quote(got));
        }
        return new Outcome(bytes, nanos, true, null);
    }

    /** Writes {@link #size} bytes of pattern({@code seed}) to {@code sink}, shown to {@code observer}, then closes it. */
    private void send(WritableByteChannel sink, long seed, Consumer<ByteBuffer> observer)
            throws IOException, CommandFailure, InterruptedException {
        try (sink) {
            generate(seed, CHUNK, buffer -> {
                observer.accept(buffer.duplicate());
                while (buffer.hasRemaining()) {
                    sink.write(buffer);
                }
            });
        }
    }

    /** Where {@link #generate} puts each chunk. */
    @FunctionalInterface
    private interface Chunks {
        void accept(ByteBuffer chunk) throws IOException, CommandFailure, InterruptedException;
    }

    /** Hands {@link #size} bytes of pattern({@code seed}) to {@code chunks}, {@code chunkSize} bytes at a time. */
    private void generate(long seed, int chunkSize, Chunks chunks)
            throws IOException, CommandFailure, InterruptedException {
        PatternStream pattern = new PatternStream(seed);
        ByteBuffer buffer = ByteBuffer.allocateDirect(chunkSize);
        for (long left = size; left > 0; ) {
            int n = (int) Math.min(chunkSize, left);
            buffer.clear().limit(n);
            pattern.fill(buffer);
            chunks.accept(buffer.flip());
            left -= n;
        }
    }

    /** Reads {@code source} to its end: "COUNT CRC32", as the C sinks print it. */
    private static String receive(ReadableByteChannel source) throws IOException {
        CRC32 crc = new CRC32();
        ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK);
        long count = 0;
        for (int n; (n = source.read(buffer.clear())) >= 0; ) {
            crc.update(buffer.flip());
            count += n;
        }
        return count + " " + hex(crc);
    }

    private String expectedCrc(long seed) throws IOException, CommandFailure, InterruptedException {
        CRC32 crc = new CRC32();
        generate(seed, CHUNK, crc::update);
        return hex(crc);
    }

    /** A peer's one-line answer, stripped; waits at most {@link #PEER_WAIT} for each part of it. */
    private static String readReply(PipeSource source) throws IOException, CommandFailure {
        return readAll(source).strip();
    }

    /** All of {@code source} as text; waits at most {@link #PEER_WAIT} for each part of it. */
    private static String readAll(PipeSource source) throws IOException, CommandFailure {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        ByteBuffer buffer = ByteBuffer.allocate(4096);
        for (;;) {
            if (!source.await(PEER_WAIT)) {
                throw CommandFailure.timedOut("no output from the peer within " + Durations.format(PEER_WAIT));
            }
            int n = source.read(buffer.clear());
            if (n < 0) {
                return all.toString(StandardCharsets.UTF_8);
            }
            all.write(buffer.array(), 0, n);
        }
    }

    private static ExitStatus awaitExit(ChildProcess child) throws IOException, InterruptedException, CommandFailure {
        return child.waitFor(PEER_WAIT).orElseThrow(() -> CommandFailure.timedOut(
                child + " still running after " + Durations.format(PEER_WAIT)));
    }

    private static String hex(CRC32 crc) {
        return String.format("%08x", crc.getValue());
    }

    private static String quote(String s) {
        return "'" + s.replace("\n", "\\n").replace("\t", "\\t") + "'";
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
