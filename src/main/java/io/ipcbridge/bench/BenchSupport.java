package io.ipcbridge.bench;

import io.ipcbridge.pipe.PipeSource;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.process.ExitStatus;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

/**
 * What {@link Soak} uses around its transfers: the C peers it spawns and checks, the sinks' count
 * and CRC lines, the pattern the C peers send, and the names it creates, removed when done or by a
 * shutdown hook if it is interrupted; and the option parsing of the programs that scripts run.
 */
final class BenchSupport {
    private BenchSupport() {
    }

    /**
     * The {@code --name value} options of a program run by a script, each of {@code names}; on
     * anything else, prints "{@code program}: the problem" and {@code usage} to stderr and exits 2.
     */
    static Map<String, String> options(String[] args, String program, String usage, String... names) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            String problem = !List.of(names).contains(args[i]) ? "unknown option " + args[i]
                    : i + 1 == args.length ? "missing value for " + args[i] : null;
            if (problem != null) {
                usageError(program, problem, usage);
            }
            options.put(args[i], args[i + 1]);
        }
        return options;
    }

    /**
     * The whole number given as option {@code name} in {@code options} ({@code fallback} when it is
     * not), from {@code min} to {@code max}; anything else is a usage error (exit 2), as an unknown
     * option is, not a NumberFormatException's stack trace.
     */
    static long number(Map<String, String> options, String name, long fallback, long min, long max, String program,
            String usage) {
        String text = options.get(name);
        if (text == null) {
            return fallback;
        }
        try {
            long n = Long.parseLong(text.strip());
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        usageError(program, name + " takes a whole number from " + min + " to " + max + ", not '" + text + "'",
                usage);
        throw new AssertionError("usageError exits");
    }

    /** A positive, finite decimal given as option {@code name} ({@code fallback} when it is not); else exit 2. */
    static double positive(Map<String, String> options, String name, double fallback, String program, String usage) {
        String text = options.get(name);
        if (text == null) {
            return fallback;
        }
        try {
            double d = Double.parseDouble(text.strip());
            if (Double.isFinite(d) && d > 0) {
                return d;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        usageError(program, name + " takes a positive number, not '" + text + "'", usage);
        throw new AssertionError("usageError exits");
    }

    /** Prints "{@code program}: {@code problem}" and {@code usage} to stderr and exits 2. */
    static void usageError(String program, String problem, String usage) {
        System.err.println(program + ": " + problem + "\nusage: " + usage);
        System.exit(2);
    }

    /**
     * A C peer program of native-tests.
     *
     * @param path its absolute path
     */
    record Peer(String path) {
        /** What a sink prints: a count of at most 18 digits (a long) and a CRC-32 in 8 hex digits. */
        private static final Pattern SINK_LINE = Pattern.compile("\\d{1,18} [0-9a-fA-F]{8}");

        /** The program's file name, for messages. */
        String name() {
            return Path.of(path).getFileName().toString();
        }

        /** The peer with {@code args} (turned into strings). */
        Command command(Object... args) {
            List<String> argv = new ArrayList<>();
            argv.add(path);
            for (Object a : args) {
                argv.add(a.toString());
            }
            return Command.of(argv);
        }

        /**
         * The peer with {@code args}, its stdout sent to /dev/null (through {@code sh -c exec}, as
         * ipcbridge cannot open a file): {@code pipe_peer echo FD 1} so becomes a reader of FD that
         * does no more than a counting reader, one write(2) to /dev/null per read.
         */
        Command discarding(Object... args) {
            StringBuilder script = new StringBuilder("exec \"$0\"");
            for (Object a : args) {
                script.append(' ').append(a);
            }
            return Command.of("sh", "-c", script.append(" >/dev/null").toString(), path);
        }

        /** Waits for {@code child}; fails unless it exited 0. */
        void expectSuccess(ChildProcess child, String what) throws IOException, InterruptedException {
            ExitStatus status = child.waitFor();
            check(status.success(), name() + " " + what + " ended with " + status);
        }

        /**
         * Checks the line its sink {@code what} printed, "&lt;count&gt; &lt;crc32, 8 hex digits&gt;"
         * (pipe_peer sink, sock_peer sink-fd), against {@code bytes} and, unless {@code crc} is -1,
         * that CRC; any other line fails naming the peer and quoting it.
         */
        void checkSink(String what, String line, long bytes, long crc) {
            String got = line.strip();
            boolean ok = SINK_LINE.matcher(got).matches();
            if (ok) {
                String[] f = got.split(" ");
                ok = Long.parseLong(f[0]) == bytes && (crc < 0 || Long.parseLong(f[1], 16) == crc);
            }
            String expected = crc < 0 ? bytes + " <crc32>" : String.format(Locale.ROOT, "%d %08x", bytes, crc);
            check(ok, name() + " " + what + " printed '" + got + "', expected '" + expected + "'");
        }
    }

    /** One line from {@code source} (without its newline), read byte by byte so nothing after it is taken. */
    static String readLine(PipeSource source) throws IOException {
        ByteBuffer b = ByteBuffer.allocateDirect(1);
        StringBuilder line = new StringBuilder();
        while (source.read(b.clear()) == 1 && b.get(0) != '\n') {
            line.append((char) (b.get(0) & 0xff));
        }
        return line.toString();
    }

    private static final AtomicInteger NEXT = new AtomicInteger();
    /** What this JVM created and has not removed yet, by key, for {@link #cleanUpOnExit}. */
    private static final Map<String, Remover> LEFTOVERS = new ConcurrentHashMap<>();

    /** A fresh name for an IPC object of this JVM: {@code /ipcb-bench-<pid>-<n>-<tag>}. */
    static String uniqueName(String tag) {
        return "/ipcb-bench-" + ProcessHandle.current().pid() + "-" + NEXT.incrementAndGet() + "-" + tag;
    }

    /** Removes something this JVM created (unlinks a name, deletes a directory). */
    @FunctionalInterface
    interface Remover {
        void remove() throws IOException;
    }

    /**
     * Registers {@code key} (an object about to be created) to be removed by {@link #remove}, or by
     * the hook of {@link #cleanUpOnExit} if the benchmark is interrupted first.
     */
    static void track(String key, Remover remover) {
        LEFTOVERS.put(key, remover);
    }

    /** Removes {@code key} if it is still registered; an object already gone is fine. */
    static void remove(String key) throws IOException {
        Remover remover = LEFTOVERS.remove(key);
        if (remover != null) {
            try {
                remover.remove();
            } catch (NoSuchFileException e) {
                // gone already
            }
        }
    }

    /**
     * Installs the shutdown hook of {@code program}: it ends this JVM's children (C peers blocked on
     * an object: SIGTERM first, SIGKILL after 2 s), then removes what is still registered.
     */
    static void cleanUpOnExit(String program) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            List<ProcessHandle> children = ProcessHandle.current().children().toList();
            children.forEach(ProcessHandle::destroy);
            long deadline = System.nanoTime() + 2_000_000_000L;
            for (ProcessHandle child : children) {
                try {
                    child.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException | ExecutionException | TimeoutException e) {
                    child.destroyForcibly();
                }
            }
            for (String key : LEFTOVERS.keySet()) {
                try {
                    remove(key);
                } catch (IOException | RuntimeException e) {
                    System.err.println(program + ": could not remove " + key + ": " + e.getMessage());
                }
            }
        }, program + "-cleanup"));
    }

    /**
     * The first {@code size} bytes (a multiple of 8) of the C peers' pattern for {@code seed}
     * (native-tests/include/peer.h: xorshift64, little-endian words), in a direct buffer.
     */
    static ByteBuffer pattern(long seed, int size) {
        ByteBuffer pattern = ByteBuffer.allocateDirect(size).order(ByteOrder.LITTLE_ENDIAN);
        long s = seed == 0 ? 0x9E3779B97F4A7C15L : seed;
        for (int i = 0; i < size; i += 8) {
            s ^= s << 13;
            s ^= s >>> 7;
            s ^= s << 17;
            pattern.putLong(i, s);
        }
        return pattern;
    }

    /** The CRC-32 of {@code bytes} bytes made of {@code chunk} over and over, as {@link #sendAll} sends them. */
    static long crcOfRepeated(ByteBuffer chunk, long bytes) {
        CRC32 crc = new CRC32();
        for (long left = bytes; left > 0; left -= chunk.capacity()) {
            crc.update(chunk.duplicate().clear().limit((int) Math.min(left, chunk.capacity())));
        }
        return crc.getValue();
    }

    /** Sends one buffer: a write, a message. */
    @FunctionalInterface
    interface Sender {
        void send(ByteBuffer buffer) throws IOException;
    }

    /** Sends {@code bytes} bytes as {@code chunk} (all of its capacity) over and over, the last one cut short. */
    static void sendAll(ByteBuffer chunk, long bytes, Sender sender) throws IOException {
        ByteBuffer buf = chunk.duplicate();
        for (long left = bytes; left > 0; left -= buf.capacity()) {
            buf.clear().limit((int) Math.min(left, buf.capacity()));
            sender.send(buf);
        }
    }

static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalStateException(message);
        }
    }
}
